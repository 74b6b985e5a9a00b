"""Benchmark: CPU scoring efficiency of the six-object transformer (ONNX Runtime and torch).

Run by hand:

    python tests/benchmarks/bench_scoring.py [--threads 1 2] [--batches 256 1024 4096 16384]

Efficiency = achieved model FLOP/s (analytic matrix-product FLOP per event x
events/s) / the machine's own float32 matrix-multiply FLOP/s, measured in the
same run with the same number of threads (numpy GEMM on large square matrices).
Shows events/s against batch size, thread count and ONNX Runtime graph
optimisation level, and the speed and accuracy of int8 dynamic quantisation.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path


def _set_threads(n: int) -> None:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)


def matmul_flops(threads: int, size: int = 2048, repeat: int = 5) -> float:
    """float32 GEMM FLOP/s of numpy with ``threads`` BLAS threads (threadpoolctl when available)."""
    import numpy as np

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scipy/sklearn stacks
        threadpool_limits = None
    a = np.random.default_rng(0).random((size, size), dtype=np.float32)
    b = np.random.default_rng(1).random((size, size), dtype=np.float32)
    ctx = threadpool_limits(threads) if threadpool_limits else open(os.devnull)
    with ctx:
        a @ b
        best = min(_timed(lambda: a @ b) for _ in range(repeat))
    return 2 * size**3 / best


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--batches", type=int, nargs="+", default=[64, 256, 1024, 4096, 16384])
    ap.add_argument("--events", type=int, default=65536, help="events scored per measurement")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    import numpy as np
    import onnxruntime as ort
    import torch

    from hepfm_root.export import export_model
    from hepfm_root.infer import Scorer
    from hepfm_root.models import Checkpoint, ObjectTransformer
    from hepfm_root.models._flops import object_transformer_flops
    from hepfm_root.spec import load_spec

    spec = load_spec("six_object")
    torch.manual_seed(0)
    model = ObjectTransformer(spec.n_features, 2)
    flops_per_event = object_transformer_flops(model.config, spec.n_objects)
    rng = np.random.default_rng(0)
    objects = rng.normal(size=(args.events, spec.n_objects, spec.n_features)).astype(np.float32)
    mask = rng.random((args.events, spec.n_objects)) < 0.9
    mask[:, 0] = True
    results: dict = {"flops_per_event": flops_per_event, "parameters": sum(p.numel() for p in model.parameters()),
                     "cpu_count": os.cpu_count(), "runs": []}
    print(f"model: {results['parameters']:,} parameters, {flops_per_event / 1e6:.1f} MFLOP/event", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        ck = Checkpoint.from_model(model, "object_transformer", spec, ["bkg", "sig"],
                                   example={"objects": objects[:1024], "mask": mask[:1024]})
        folder = Path(tmp) / "m" / "1"
        export_model(ck, folder)
        onnx_path = folder / "model.onnx"
        int8_path = Path(tmp) / "int8.onnx"
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(str(onnx_path), str(int8_path), weight_type=QuantType.QInt8)

        def ort_rate(path: Path, threads: int, batch: int, level: str) -> float:
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
            opts.graph_optimization_level = {"basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
                                             "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL}[level]
            s = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
            n = (args.events // batch) * batch
            s.run(None, {"objects": objects[:batch], "mask": mask[:batch]})

            def once() -> None:
                for i in range(0, n, batch):
                    s.run(None, {"objects": objects[i : i + batch], "mask": mask[i : i + batch]})

            return n / min(_timed(once) for _ in range(3))  # best of 3: this box is noisy

        fp32 = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
        q8 = ort.InferenceSession(str(int8_path), providers=["CPUExecutionProvider"])
        p32 = fp32.run(None, {"objects": objects[:4096], "mask": mask[:4096]})[0]
        p8 = q8.run(None, {"objects": objects[:4096], "mask": mask[:4096]})[0]
        results["int8_max_abs_prob_diff"] = float(np.abs(p32 - p8).max())

        for threads in args.threads:
            _set_threads(threads)
            peak = matmul_flops(threads)
            try:
                from threadpoolctl import threadpool_info

                blas = [(i.get("internal_api"), i.get("num_threads")) for i in threadpool_info()]
            except ImportError:
                blas = []
            print(f"\nthreads={threads}: numpy float32 GEMM {peak / 1e9:.1f} GFLOP/s (BLAS pools {blas})", flush=True)
            torch.set_num_threads(threads)
            for batch in args.batches:
                row = {"threads": threads, "batch": batch, "gemm_flops": peak}
                for label, path, level in (("ort_all", onnx_path, "all"), ("ort_basic", onnx_path, "basic"),
                                           ("ort_int8", int8_path, "all")):
                    row[label] = ort_rate(path, threads, batch, level)
                scorer = Scorer(folder, backend="torch", device="cpu", batch_size=batch, threads=threads)
                from hepfm_root.tensors import Tensors

                t = Tensors(objects, mask, np.ones(len(objects), bool), {}, spec)
                scorer.predict(t.take(np.arange(batch)))
                row["torch"] = len(objects) / min(_timed(lambda s=scorer, t=t: s.predict(t)) for _ in range(3))
                for k in ("ort_all", "ort_basic", "ort_int8", "torch"):
                    row[f"{k}_efficiency"] = row[k] * flops_per_event / peak
                results["runs"].append(row)
                print(f"  batch {batch:6d}: ORT(all) {row['ort_all']:9,.0f} ev/s eff {row['ort_all_efficiency']:.2f} | "
                      f"ORT(basic) {row['ort_basic']:9,.0f} | int8 {row['ort_int8']:9,.0f} | "
                      f"torch {row['torch']:9,.0f} eff {row['torch_efficiency']:.2f}", flush=True)
    print(f"\nint8 dynamic quantisation: max |P_fp32 - P_int8| = {results['int8_max_abs_prob_diff']:.3g}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    sys.exit(main())
