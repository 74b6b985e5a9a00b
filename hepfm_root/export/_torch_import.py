"""TorchScript and ``torch.export`` programs into ONNX, for ``import_model``, with a torch-vs-ONNX Runtime gate.

A TorchScript file (``torch.jit.save``: ``.pt``, ``.ts``, ``.jit``) is converted with torch's
TorchScript exporter (``torch.onnx.export(..., dynamo=False)``: the dynamo exporter takes no
``ScriptModule``); a ``torch.export`` program (``.pt2``) with the dynamo exporter, which keeps the
program's dynamic batch dim.  The module's arguments become the spec's tensors (same name, else in
the spec's order when the counts agree, else ``--input ARG=tensor``), so the converted graph
already takes the spec's input names.  :func:`torch_parity` then runs torch and ONNX Runtime on
the same real tensors and refuses (exit 6) a difference above the tolerance.  torch is imported
only here, on use.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from .._extras import require
from ..errors import ModelSpecMismatchError, ParityError, first_line
from ..infer._torch_file import TORCH_EXPORT_SUFFIXES, TORCHSCRIPT_SUFFIXES, load_torch_file

__all__ = ["TORCHSCRIPT_SUFFIXES", "TORCH_EXPORT_SUFFIXES", "convert_torch", "torch_parity"]



@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    names = ("torch.onnx", "torch._dynamo", "torch.export", "onnxscript")
    levels = [logging.getLogger(n).level for n in names]
    for n in names:
        logging.getLogger(n).setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for n, lvl in zip(names, levels, strict=True):
            logging.getLogger(n).setLevel(lvl)


def _bind(args: list[str], wanted: Sequence[Mapping[str, Any]], explicit: Mapping[str, str],
          where: str) -> dict[str, str]:
    """argument name → spec tensor name: explicit, then by name, then positionally when the counts agree."""
    spec_names = [w["name"] for w in wanted]
    out = {a: t for a, t in explicit.items() if a in args}
    for a in args:
        if a not in out and a in spec_names and a not in out.values():
            out[a] = a
    left = [a for a in args if a not in out]
    if left and len(args) == len(spec_names) and not out:
        return dict(zip(args, spec_names, strict=True))
    if left:
        raise ModelSpecMismatchError(f"{where}: cannot match argument {left[0]!r} of the module's forward {args} to a "
                                     f"tensor of the spec ({spec_names}); name it with --input {left[0]}=TENSOR")
    return out


def convert_torch(path: Path, wanted: Sequence[Mapping[str, Any]], feed: Mapping[str, np.ndarray],
                  explicit: Mapping[str, str], where: str
                  ) -> tuple[onnx.ModelProto, Callable[..., np.ndarray], str, list[str]]:
    """Convert the torch file at ``path`` to ONNX whose inputs are named after the spec's tensors.

    Returns ``(model, torch_fn, kind, names)``: ``torch_fn(feed)`` runs the original module on a feed of
    spec tensors (the parity reference); ``names`` are the spec tensors in the order of ``forward``'s
    arguments (recorded for the torch backend).
    """
    torch = require("torch", extra="train")
    module, args, kind = load_torch_file(path)
    binding = _bind(args, wanted, explicit, where)
    names = [binding[a] for a in args]
    sample = tuple(torch.from_numpy(np.ascontiguousarray(feed[n][:4])) for n in names)
    with tempfile.TemporaryDirectory() as d, _quiet():
        out = Path(d) / "model.onnx"
        try:
            if kind == "torch.export":
                torch.onnx.export(module, sample, str(out), input_names=names, dynamo=True, external_data=False)
            else:
                torch.onnx.export(module, sample, str(out), input_names=names, output_names=["output"],
                                  dynamic_axes={**{n: {0: "batch"} for n in names}, "output": {0: "batch"}},
                                  dynamo=False)
        except Exception as err:  # noqa: BLE001 - the exporters raise many types for a module they cannot convert
            raise ModelSpecMismatchError(f"{where}: torch.onnx.export of the {kind} module failed: "
                                         f"{first_line(err)}") from None
        model = onnx.load(str(out))
    call = module.module() if kind == "torch.export" else module

    def torch_fn(inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        with torch.no_grad():   # not inference_mode: TorchScript modules may refuse inference tensors
            try:
                y = call(*(torch.from_numpy(np.ascontiguousarray(inputs[n])) for n in names))
            except Exception as err:  # noqa: BLE001 - the user's module raises what it raises
                raise ModelSpecMismatchError(f"{where}: the {kind} module fails on the spec's tensors {names}: "
                                             f"{first_line(err)}") from None
        y = y[0] if isinstance(y, (tuple, list)) else y
        return y.detach().float().numpy()

    return model, torch_fn, kind, names


def torch_parity(model: onnx.ModelProto, torch_fn: Callable[..., np.ndarray], feed: Mapping[str, np.ndarray],
                 tolerance: float, where: str, what: str) -> dict[str, Any]:
    """torch vs ONNX Runtime on the converted graph's first output, on ``feed`` (exit 6 above ``tolerance``)."""
    ort = require("onnxruntime", extra="onnx")
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    inits = {i.name for i in model.graph.initializer}
    names = [i.name for i in model.graph.input if i.name not in inits]
    got = np.asarray(sess.run(None, {n: feed[n] for n in names})[0], np.float64)
    want = np.asarray(torch_fn(feed), np.float64)
    if got.shape != want.shape:
        raise ParityError(f"{where}: ONNX Runtime gives shape {list(got.shape)}, torch {list(want.shape)} on {what}; "
                          "nothing was written")
    diff = float(np.abs(got - want).max()) if got.size else 0.0
    if not diff <= tolerance:
        raise ParityError(f"{where}: ONNX Runtime differs from torch by {diff:.3g} on {what} (tolerance "
                          f"{tolerance:g}); nothing was written")
    return {"reference": "torch", "events": int(len(got)), "max_abs_diff": diff, "tolerance": tolerance}
