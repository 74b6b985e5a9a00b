"""Inference backends behind :class:`~hepfm_root.infer.Scorer`.

Both create their heavy state (an ONNX Runtime session, a torch model) lazily,
on first use in the current process, and drop it when pickled: a scorer can be
shipped to Dask workers and each worker builds its own session once.  The thread
count is chosen then, in that process (:func:`._threads.inference_threads`: one per
task thread inside a Dask worker or a pool process), and kept as ``used_threads``.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from typing import Any

import numpy as np

from .._extras import require
from ..errors import BackendUnavailableError, InvalidArgumentError
from ._threads import inference_threads, pinned_threads

__all__ = ["SESSIONS_CREATED", "SESSION_THREADS", "OrtBackend", "TorchBackend"]

log = logging.getLogger(__name__)

#: How many sessions/models this process created, by backend (tests use it to show
#: that a worker builds its session once, not once per chunk).
SESSIONS_CREATED: Counter[str] = Counter()
#: Sessions/models this process created, by the thread count each was given (tests use it to show
#: that inside a Dask worker each session uses one thread per task thread).
SESSION_THREADS: Counter[int] = Counter()

_GPU_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider")


class OrtBackend:
    """ONNX Runtime.  ``device``: "cpu", "cuda" or "auto" (GPU providers when installed)."""

    name = "onnxruntime"

    def __init__(self, path: str, *, device: str = "auto", threads: int | None = None,
                 optimization: str = "all") -> None:
        self.path = path
        self.device = device
        self.threads = threads
        self.optimization = optimization
        self._session: Any = None
        self.providers: list[str] = []
        self.used_threads: int | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_session"} | {"_session": None, "used_threads": None}

    def _providers(self, ort: Any) -> list[str]:
        available = ort.get_available_providers()
        gpu = [p for p in _GPU_PROVIDERS if p in available]
        if self.device == "cpu":
            return ["CPUExecutionProvider"]
        if self.device == "cuda" and not gpu:
            raise BackendUnavailableError(
                f"device 'cuda' asked for, but ONNX Runtime here has only {available}; "
                "install onnxruntime-gpu (pip install 'hepfm_root[gpu]') or use the torch backend"
            )
        return gpu + ["CPUExecutionProvider"]

    def session(self) -> Any:
        if self._session is None:
            ort = require("onnxruntime", extra="onnx")
            opts = ort.SessionOptions()
            opts.graph_optimization_level = {
                "none": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
                "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
                "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
                "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
            }[self.optimization]
            self.used_threads = inference_threads(self.threads)
            opts.intra_op_num_threads = self.used_threads
            opts.inter_op_num_threads = 1
            self._session = ort.InferenceSession(self.path, sess_options=opts, providers=self._providers(ort))
            self.providers = self._session.get_providers()
            SESSIONS_CREATED[self.name] += 1
            SESSION_THREADS[self.used_threads] += 1
            log.info("ONNX Runtime session for %s in pid %d with providers %s, %s threads",
                     os.path.basename(self.path), os.getpid(), self.providers, self.used_threads)
        return self._session

    def graph_inputs(self) -> dict[str, list[Any]]:
        return {i.name: list(i.shape) for i in self.session().get_inputs()}

    def run(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        sess = self.session()
        feed = {i.name: inputs[i.name] for i in sess.get_inputs()}
        return sess.run(None, feed)[0]


class TorchBackend:
    """torch, from a checkpoint.  ``device``: "cpu", "cuda" or "auto"; ``precision``: fp32, bf16, fp16."""

    name = "torch"

    def __init__(self, checkpoint_path: str, *, device: str = "auto", precision: str = "fp32",
                 threads: int | None = None) -> None:
        if precision not in ("fp32", "bf16", "fp16"):
            raise InvalidArgumentError(f"precision must be fp32, bf16 or fp16, got {precision!r}")
        self.path = checkpoint_path
        self.device = device
        self.precision = precision
        self.threads = threads
        self._model: Any = None
        self._device: Any = None
        self.used_threads: int | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("_model", "_device")} | {
            "_model": None, "_device": None, "used_threads": None}

    def model(self) -> Any:
        if self._model is None:
            torch = require("torch", extra="train")
            self._device = self._start(torch)
            self._model = self._load(torch)
            SESSIONS_CREATED[self.name] += 1
            SESSION_THREADS[self.used_threads] += 1
            log.info("torch model %s on %s (%s) in pid %d", os.path.basename(self.path), self._device, self.precision,
                     os.getpid())
        return self._model

    def _start(self, torch: Any) -> Any:
        """Pin the threads (when the rule pins them) and choose the device; the same for every torch model."""
        pinned = pinned_threads(self.threads)
        if pinned is not None and torch.get_num_threads() != pinned:
            torch.set_num_threads(pinned)   # process-wide: set only when the rule pins it
        self.used_threads = torch.get_num_threads()
        dev = self.device
        if dev == "auto":
            dev = "cuda" if torch.cuda.is_available() else "cpu"
        if dev == "cuda" and not torch.cuda.is_available():
            raise BackendUnavailableError("device 'cuda' asked for, but torch sees no CUDA device")
        if self.precision == "fp16" and dev == "cpu":
            raise BackendUnavailableError("fp16 inference needs a CUDA device; use fp32 or bf16 on the CPU")
        return torch.device(dev)

    def _load(self, torch: Any) -> Any:
        """The module on ``self._device``: here a hepfm checkpoint, built from its weights."""
        from ..models import load_checkpoint  # torch-only layer, imported only for this backend

        ck = load_checkpoint(self.path)
        self._per_object = ck.output_kind == "objects"  # a jet tagger: object_logits, one row per object
        return ck.build().to(self._device)

    def run(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        import torch

        model = self.model()
        names = getattr(model, "inputs", ("objects", "mask"))
        args = [torch.from_numpy(np.ascontiguousarray(inputs[k])).to(self._device, non_blocking=True) for k in names]
        dtype = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[self.precision]
        call = model.object_logits if getattr(self, "_per_object", False) else model
        with torch.inference_mode():
            if dtype is None:
                logits = call(*args)
            else:
                with torch.autocast(self._device.type, dtype=dtype):
                    logits = call(*args)
            return torch.softmax(logits.float(), dim=-1).cpu().numpy()
