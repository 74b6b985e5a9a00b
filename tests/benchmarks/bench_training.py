"""Benchmark: training throughput (events/s) of the event backbones, against the machine's GEMM ceiling.

Measures full training steps (forward + backward + AdamW) of the object
transformer and the graph network at their default sizes on spec-shaped random
tensors held on the device (no data loading in the loop, as in ``fit``), for
several batch sizes.  Efficiency = analytic FLOP per event x 3 (forward +
backward) x events/s / the float32 (CPU) or bf16 (CUDA) matrix-multiply FLOP/s
measured in the same run.

Run by hand, CPU:   python tests/benchmarks/bench_training.py --json tests/benchmarks/results/training_cpu.json
On the GPU machine: python tests/benchmarks/bench_training.py --device cuda --batches 8192 65536 262144 \
                        --compile --json $OUT/training_gpu.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import date
from pathlib import Path

import torch

from hepfm_root import load_spec
from hepfm_root.models import build_model, model_config
from hepfm_root.models._flops import graph_network_flops, object_transformer_flops


def gemm_flops(device: torch.device, dtype: torch.dtype, size: int = 4096 if torch.cuda.is_available() else 2048) -> float:
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    for _ in range(2):
        a @ b
    best = float("inf")
    for _ in range(5):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        a @ b
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    return 2 * size**3 / best


def measure(arch: str, batch: int, device: torch.device, *, bf16: bool, compile_: bool, steps: int) -> float:
    spec = load_spec("six_object")
    cfg = model_config(arch, spec, 12)
    model = build_model(arch, cfg).to(device)
    step_model = torch.compile(model) if compile_ else model
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x = torch.randn(batch, spec.n_objects, spec.n_features, device=device)
    x[..., 2], x[..., 3] = torch.sin(x[..., 2]), torch.cos(x[..., 2])
    m = torch.rand(batch, spec.n_objects, device=device) > 0.1
    y = torch.randint(0, 12, (batch,), device=device)

    def step() -> None:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            loss = torch.nn.functional.cross_entropy(step_model(x, m).float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return batch * steps / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batches", type=int, nargs="+", default=[256, 1024, 4096])
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--compile", action="store_true", help="torch.compile the model (CUDA)")
    ap.add_argument("--json", type=Path, required=True)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    bf16 = device.type == "cuda"
    ceiling = gemm_flops(device, torch.bfloat16 if bf16 else torch.float32)
    spec = load_spec("six_object")
    rows = []
    for arch, flops in (("object_transformer", object_transformer_flops), ("graph_network", graph_network_flops)):
        per_event = 3 * flops(model_config(arch, spec, 12), spec.n_objects)
        for batch in args.batches:
            eps = measure(arch, batch, device, bf16=bf16, compile_=args.compile, steps=args.steps)
            rows.append({"architecture": arch, "batch": batch, "events_per_second": round(eps, 1),
                         "train_flop_per_event": per_event, "efficiency_vs_gemm": round(eps * per_event / ceiling, 4)})
            print(json.dumps(rows[-1]), flush=True)
    out = {"benchmark": "training_throughput", "date": date.today().isoformat(),
           "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                       "threads": args.threads, "device": str(device),
                       "gpu": torch.cuda.get_device_name() if device.type == "cuda" else None, "torch": torch.__version__},
           "precision": "bf16 autocast" if bf16 else "fp32", "compiled": args.compile,
           "gemm_flops_per_second": ceiling, "rows": rows}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
