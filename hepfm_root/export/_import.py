"""``import_model``: a model trained elsewhere becomes an export folder like any other.

The foreign ONNX graph (torch.onnx, onnxmltools for XGBoost/LightGBM, skl2onnx, tf2onnx …) is
wrapped by :func:`~._adapt.adapt_graph` to the spec's input names and one ``probabilities``
``(N, C)`` output, given the same metadata as ``hepfm export`` writes (spec, labels, score label,
inputs, outputs, weights hash, provenance), checked on real tensors from a file the user names
(``check_on``: one row per event, finite, in [0, 1], rows summing to 1) and, with a ``reference``
in a second runtime (XGBoost's own ``predict``), held to it within ``tolerance`` (exit 6).  The
folder is written atomically and opened by :class:`~hepfm_root.infer.Scorer` before it gets its
final name: a failure anywhere leaves nothing.

Example::

    from hepfm_root.export import import_model
    import_model("bdt.onnx", spec="event_bdt", labels=["dy", "tt"], score_label="tt",
                 folder="exports/my_bdt/1.0", check_on="nano_tt_v12.root", reference="bdt.json")
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from .._extras import require
from .._version import __version__
from ..errors import EmptyInputError, HepfmError, InvalidArgumentError, ModelSpecMismatchError, ParityError, first_line
from ..infer import KEYS, Scorer, model_inputs_for
from ..infer._metadata import ONNX_FORMAT, input_arrays
from ..infer._output_decl import output_decl
from ..infer._torch_file import KEPT_TORCH_FILES
from ..io import atomic_folder, file_sha256, iter_tensors, plan_outputs
from ..spec import FeatureSpec, load_spec
from ._adapt import OUTPUT_NAME, adapt_graph
from ._card import model_card
from ._parity import DEFAULT_TOLERANCE
from ._torch_import import TORCH_EXPORT_SUFFIXES, TORCHSCRIPT_SUFFIXES, convert_torch, torch_parity

__all__ = ["ImportResult", "import_model"]

log = logging.getLogger(__name__)

#: Events of the check file the model is run on (the first ones passing the spec's selection).
CHECK_EVENTS = 20_000
#: How far a row of probabilities may sum from 1 (float32 softmax / trees).
ROW_SUM_TOLERANCE = 1e-3

_ONNX_SUFFIXES = (".onnx",)
_XGBOOST_SUFFIXES = (".json", ".ubj", ".xgb", ".model", ".bin")


@dataclass
class ImportResult:
    folder: Path
    onnx_path: Path
    input_map: dict[str, str]
    output: str
    form: str
    checked_events: int = 0
    parity: dict[str, Any] = field(default_factory=dict)


def _load_onnx(path: Path) -> onnx.ModelProto:
    if path.suffix.lower() not in _ONNX_SUFFIXES:
        raise ModelSpecMismatchError(
            f"{path.name}: unknown model format {path.suffix or '(no suffix)'!r}; expected an ONNX file (.onnx), "
            f"TorchScript ({', '.join(TORCHSCRIPT_SUFFIXES)}) or a torch.export program (.pt2): "
            "convert the model first (torch.onnx.export, onnxmltools.convert_xgboost, skl2onnx, tf2onnx)")
    try:
        return onnx.load(str(path))
    except Exception as err:  # noqa: BLE001 - protobuf raises its own types for a file that is not ONNX
        raise ModelSpecMismatchError(f"{path.name}: not a readable ONNX model ({first_line(err)})") from None


def _example(wanted: Sequence[Mapping[str, Any]], n: int = 8) -> dict[str, np.ndarray]:
    """Random example tensors of the spec's shapes (all objects real), for converting a torch module."""
    rng = np.random.default_rng(0)
    return {w["name"]: (np.ones((n, *w["shape"][1:]), np.bool_) if w["dtype"] == "bool"
                        else rng.normal(size=(n, *w["shape"][1:])).astype(np.float32)) for w in wanted}


def _parse_labels(labels: str | Sequence[str], score_label: str | None, where: str) -> tuple[list[str], str]:
    items = [p.strip() for p in labels.split(",")] if isinstance(labels, str) else [str(p) for p in labels]
    if len(items) < 2 or any(not p for p in items) or len(set(items)) != len(items):
        raise InvalidArgumentError(f"{where}: --labels {','.join(items)!r}: expected two or more distinct names, in "
                                   "the model's output-column order")
    score = score_label if score_label is not None else items[-1]
    if score not in items:
        raise InvalidArgumentError(f"{where}: --score-label {score!r} is not one of the labels {items}")
    return items, score


def _xgboost_reference(path: Path, n_labels: int) -> Callable[[dict[str, np.ndarray]], np.ndarray]:
    xgb = require("xgboost", extra="import")
    booster = xgb.Booster()
    try:
        booster.load_model(str(path))
    except Exception as err:  # noqa: BLE001 - xgboost raises XGBoostError for a file it cannot read
        raise ModelSpecMismatchError(f"reference {path.name}: not an XGBoost model file ({first_line(err)})") from None

    def run(inputs: dict[str, np.ndarray]) -> np.ndarray:
        x = inputs["event_features"]
        p = np.asarray(booster.predict(xgb.DMatrix(x)), np.float64)
        if p.ndim == 1:   # binary:logistic gives P(class 1): the columns are [1 - p, p] in label order
            return np.stack([1.0 - p, p], axis=1)
        return p

    return run


def _reference(path: str | os.PathLike | None, n_labels: int) -> Callable[[dict[str, np.ndarray]], np.ndarray] | None:
    if path is None:
        return None
    p = Path(path)
    if not p.is_file():
        raise InvalidArgumentError(f"--reference {p}: no such file")
    if p.suffix.lower() in _XGBOOST_SUFFIXES:
        return _xgboost_reference(p, n_labels)
    raise ModelSpecMismatchError(f"reference {p.name}: unknown format {p.suffix!r}; expected an XGBoost model file "
                                 f"({', '.join(_XGBOOST_SUFFIXES)})")


def _check_tensors(path: str | os.PathLike, spec: FeatureSpec, tree: str) -> dict[str, np.ndarray]:
    """The model inputs of the first events of ``path`` that pass the spec's selection."""
    feeds: list[dict[str, np.ndarray]] = []
    n = 0
    for chunk in iter_tensors([path], spec, tree=tree, step_size=CHECK_EVENTS):
        t = chunk.tensors.take(chunk.tensors.selected)
        arrays = input_arrays(t)
        feeds.append({i["name"]: arrays[i["name"]] for i in model_inputs_for(spec)})
        n += len(t)
        if n >= CHECK_EVENTS:
            break
    if n == 0:
        raise EmptyInputError(f"--check-on {Path(path).name}: no event passes the selection of spec {spec.name!r}")
    return {k: np.concatenate([f[k] for f in feeds])[:CHECK_EVENTS] for k in feeds[0]}


def _check_outputs(probs: np.ndarray, n: int, labels: list[str], where: str, check_name: str) -> None:
    got = list(np.shape(probs))
    if got != [n, len(labels)]:
        raise ModelSpecMismatchError(f"{where}: on {n} events of {check_name} the output has shape {got}; expected "
                                     f"[{n}, {len(labels)}] (one row per event, one column per label {labels})")
    bad = ~np.isfinite(probs).all(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ParityError(f"{where}: output {OUTPUT_NAME!r} is not finite on {int(bad.sum())} of {n} events of "
                          f"{check_name} (first: row {i}, {probs[i].tolist()}); expected probabilities in [0, 1]")
    lo, hi = float(probs.min()), float(probs.max())
    if lo < 0 or hi > 1:
        raise ParityError(f"{where}: output {OUTPUT_NAME!r} ranges over [{lo:.4g}, {hi:.4g}] on {check_name}; expected "
                          "probabilities in [0, 1] (are these logits? add a softmax or sigmoid to the model)")
    if len(labels) > 1:
        s = probs.astype(np.float64).sum(axis=1)
        worst = float(np.abs(s - 1).max())
        if worst > ROW_SUM_TOLERANCE:
            raise ParityError(f"{where}: output rows sum to values up to {worst:.3g} away from 1 on {check_name}; "
                              f"expected one probability per label {labels} summing to 1 (a softmax output)")


def _command_line(model: Path, spec_ref: str, labels: list[str], score_label: str, folder: Path,
                  inputs: Mapping[str, str], output: str | None, check_on: Any, reference: Any) -> str:
    """How the model was imported, as a ``hepfm import`` line with file names only (no machine paths)."""
    parts = ["hepfm import", model.name, "--spec", spec_ref, "--labels", ",".join(labels), "--score-label", score_label,
             "-o", f"{folder.parent.name}/{folder.name}"]
    for k, v in inputs.items():
        parts += ["--input", f"{k}={v}"]
    if output:
        parts += ["--output", output]
    if check_on is not None:
        parts += ["--check-on", Path(check_on).name]
    if reference is not None:
        parts += ["--reference", Path(reference).name]
    return " ".join(parts)


def import_model(
    model: str | os.PathLike,
    folder: str | os.PathLike,
    *,
    spec: FeatureSpec | str | os.PathLike,
    labels: str | Sequence[str],
    score_label: str | None = None,
    inputs: Mapping[str, str] | None = None,
    output: str | None = None,
    check_on: str | os.PathLike | None = None,
    reference: str | os.PathLike | None = None,
    tree: str = "Events",
    name: str | None = None,
    version: str | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    overwrite: bool = False,
    command: str | None = None,
) -> ImportResult:
    """Import a foreign ONNX ``model`` into ``folder`` (``exports/NAME/VERSION``), as ``hepfm export`` writes it.

    Args:
        model: the ONNX file, a TorchScript file (``.pt``) or a ``torch.export`` program (``.pt2``): those are
            converted to ONNX, held to torch on the same tensors (exit 6 on a mismatch) and kept beside it.
        folder: output folder; written atomically (nothing on any failure).
        spec: the spec that builds the model's inputs (name, file or object).
        labels: class names in the model's output-column order (``"bkg,sig"`` or a list).
        score_label: the label whose probability is the score (default: the last label).
        inputs: ``{model input name: spec tensor}`` where the automatic match is ambiguous.
        output: the graph output holding the probabilities (default: the one float output).
        check_on: a ROOT file: the model runs on its events (finite, in [0, 1], one row per event).
        reference: the model in its own library (an XGBoost ``.json``/``.ubj``): parity on ``check_on``.
        tree: the tree of ``check_on``.
        name, version: default the folder's parent and own names.
        tolerance: largest absolute difference between ONNX Runtime and the reference on the probabilities.
        overwrite: replace an existing export folder of hepfm's.
        command: how the import was asked for, for the card (the CLI passes its line).

    Raises:
        ModelSpecMismatchError: (exit 4) unknown format, inputs that do not match the spec, outputs that
            are not one row of probabilities per event.
        ParityError: (exit 6) non-finite or out-of-range outputs on ``check_on``, or a reference mismatch.
    """
    src = Path(model)
    folder = Path(folder)
    if not src.is_file():
        raise InvalidArgumentError(f"{src}: no such model file")
    if reference is not None and check_on is None:
        raise InvalidArgumentError("--reference needs --check-on FILE: the parity gate runs on that file's events")
    # before anything is read (the folder's parent, exports/NAME, is made only once everything passed)
    plan_outputs([], [src, *([check_on] if check_on else []), *([reference] if reference else [])],
                 folders=[folder] if folder.parent.is_dir() else [], overwrite=overwrite)
    where = src.name
    spec_ref = spec.name if isinstance(spec, FeatureSpec) else (Path(spec).name if Path(str(spec)).suffix else str(spec))
    spec_obj = load_spec(spec)
    label_list, score = _parse_labels(labels, score_label, where)
    wanted = model_inputs_for(spec_obj)
    feed = _check_tensors(check_on, spec_obj, tree) if check_on is not None else None
    suffix = src.suffix.lower()
    torch_kind, kept, torch_args = None, {}, []
    if suffix in TORCHSCRIPT_SUFFIXES + TORCH_EXPORT_SUFFIXES:
        if reference is not None:
            raise InvalidArgumentError(f"{where}: --reference is for ONNX models; a torch model is its own reference")
        example = feed if feed is not None else _example(wanted)
        proto, torch_fn, torch_kind, torch_args = convert_torch(src, wanted, example, dict(inputs or {}), where)
        what = f"{len(next(iter(example.values())))} events of {Path(check_on).name}" if feed is not None else \
            "random example tensors"
        torch_parity_report = torch_parity(proto, torch_fn, example, tolerance, where, what)
        inputs = None   # the converted graph takes the spec's names already
        kept = {KEPT_TORCH_FILES[torch_kind]: src}
    else:
        proto = _load_onnx(src)
        torch_parity_report = {}
    adapted = adapt_graph(proto, wanted, labels=label_list, score_label=score, where=where, inputs=inputs,
                          output=output)
    ref_fn = _reference(reference, len(label_list))
    name = name or folder.parent.name or "model"
    version = version or folder.name
    source_sha = file_sha256(src)
    ort = require("onnxruntime", extra="onnx")
    try:
        session = ort.InferenceSession(adapted.model.SerializeToString(), providers=["CPUExecutionProvider"])
    except Exception as err:  # noqa: BLE001 - onnxruntime raises its own types for a graph it cannot load
        raise ModelSpecMismatchError(f"{where}: ONNX Runtime cannot load the model ({first_line(err)})") from None

    checked, parity = 0, torch_parity_report
    if feed is not None and check_on is not None:
        checked = len(next(iter(feed.values())))
        check_name = Path(check_on).name
        try:
            probs = session.run(None, feed)[0]
        except Exception as err:  # noqa: BLE001
            raise ModelSpecMismatchError(f"{where}: the model fails on {checked} events of {check_name}: "
                                         f"{first_line(err)}") from None
        _check_outputs(probs, checked, label_list, where, check_name)
        if ref_fn is not None:
            want = ref_fn(feed)
            if want.shape != probs.shape:
                raise ParityError(f"{where}: reference {Path(str(reference)).name} gives shape {list(want.shape)} on "
                                  f"{check_name}, the ONNX model {list(probs.shape)}; nothing was written")
            diff = float(np.abs(want - probs.astype(np.float64)).max())
            parity = {"reference": Path(str(reference)).name, "reference_sha256": file_sha256(str(reference)),
                      "events": checked, "max_abs_diff": diff, "tolerance": tolerance}
            if not diff <= tolerance:
                raise ParityError(f"{where}: ONNX Runtime differs from reference {Path(str(reference)).name} by "
                                  f"{diff:.3g} on {checked} events of {check_name} (tolerance {tolerance:g}); "
                                  "nothing was written")
    del session

    producer = {"name": proto.producer_name, "version": proto.producer_version}
    # the torch backend loads the kept file only while its hash is this one (loading it runs its code)
    torch_rec = ({"file": KEPT_TORCH_FILES[torch_kind], "sha256": source_sha, "arguments": torch_args,
                  "output_index": [o.name for o in proto.graph.output].index(adapted.output_name)}
                 if torch_kind else None)
    imported = {"converted_from": torch_kind, "kept": sorted(kept), "source": src.name, "sha256": source_sha, "producer": producer,
                "command": command or _command_line(src, spec_ref, label_list, score, folder, dict(inputs or {}), output,
                                                    check_on, reference),
                "input_map": adapted.input_map, "output": adapted.output_name, "form": adapted.form,
                **({"torch": torch_rec} if torch_rec else {}),
                "checked_on": ({"file": Path(check_on).name, "events": checked} if check_on is not None else None)}
    declared_inputs = model_inputs_for(spec_obj)
    meaning = (f"class probabilities for labels {label_list} (from output {adapted.output_name!r} of the imported "
               f"model, {'a single sigmoid = P(' + score + ')' if adapted.form == 'sigmoid' else 'one column per label'})")
    outputs = [output_decl("events", len(label_list), spec_obj, None, meaning, name=OUTPUT_NAME)]
    architecture = f"imported ({producer['name'] or 'unknown producer'} {producer['version']})".replace(" )", ")")
    meta = {
        **{p.key: p.value for p in proto.metadata_props if not p.key.startswith("hepfm.")},
        KEYS["format"]: ONNX_FORMAT,
        KEYS["spec"]: spec_obj.to_json(),
        KEYS["labels"]: json.dumps(label_list),
        KEYS["score_label"]: score,
        KEYS["inputs"]: json.dumps(declared_inputs),
        KEYS["outputs"]: json.dumps(outputs),
        KEYS["name"]: name,
        KEYS["version"]: version,
        KEYS["architecture"]: architecture,
        KEYS["weights_sha256"]: source_sha,   # the weights are the source file's: its hash names them
        KEYS["source_checkpoint"]: src.name,
        KEYS["source_checkpoint_sha256"]: source_sha,
        KEYS["library_version"]: __version__,
        KEYS["imported"]: json.dumps(imported, sort_keys=True),
        **({KEYS["parity"]: json.dumps(parity)} if parity else {}),
    }
    out = adapted.model
    del out.metadata_props[:]
    onnx.helper.set_model_props(out, meta)

    made = [p for p in folder.parents if not p.exists()]   # exports/NAME/VERSION: NAME may be new
    folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        _write(folder, out, kept, overwrite=overwrite, where=where, spec_obj=spec_obj, header_base={
            "name": name, "version": version, "architecture": architecture, "spec": spec_obj.provenance(),
            "labels": label_list, "score_label": score, "inputs": declared_inputs, "outputs": outputs,
            "weights_sha256": source_sha, "source_checkpoint": {"name": src.name, "sha256": source_sha},
            "imported": imported}, parity=parity, card_meta={
            "description": f"A model imported with `hepfm import` from {src.name} "
                           f"({producer['name'] or 'unknown producer'} {producer['version']}).",
            "training_data": None, "metrics": None,
            "intended_use": f"Score events selected by spec {spec_obj.name!r}: P({score}).",
            "limitations": "Trained outside hepfm_root: its training data and metrics are the producer's to record."})
    except BaseException:
        for p in made:   # deepest first: only the folders this call made, and only while empty
            with contextlib.suppress(OSError):
                p.rmdir()
        raise
    log.info("imported %s as %s %s into %s", src.name, name, version, folder)
    return ImportResult(folder, folder / "model.onnx", adapted.input_map, adapted.output_name, adapted.form,
                        checked, parity)


def _write(folder: Path, out: onnx.ModelProto, kept: dict[str, Path], *, overwrite: bool, where: str, spec_obj: FeatureSpec,
           header_base: dict[str, Any], parity: dict[str, Any], card_meta: dict[str, Any]) -> None:
    """The folder, atomically: model.onnx, spec.json, README.md, after the scorer's own checks passed."""
    with atomic_folder(folder, overwrite=overwrite, kind="import") as tmp:
        onnx_path = tmp / "model.onnx"
        onnx.save(out, str(onnx_path))
        (tmp / "spec.json").write_text(json.dumps(json.loads(spec_obj.to_json()), indent=2) + "\n")
        for kept_name, kept_src in kept.items():   # the torch file, for the torch backend (hash in hepfm.imported)
            shutil.copyfile(kept_src, tmp / kept_name)
            if file_sha256(tmp / kept_name) != header_base["weights_sha256"]:
                raise ModelSpecMismatchError(f"{where}: the file changed while it was imported; nothing was written")
        try:   # the very checks every scorer runs (graph against spec and labels, padded-event probe)
            Scorer(onnx_path, backend="onnxruntime", device="cpu")
        except HepfmError as err:
            raise type(err)(str(err).replace(str(onnx_path), where)) from None
        header = {**header_base, "onnx_sha256": file_sha256(onnx_path), **({"parity": parity} if parity else {}),
                  "hepfm_root_version": __version__}
        (tmp / "README.md").write_text(model_card(header, card_meta))
