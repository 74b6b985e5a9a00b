"""Benchmark: tensorize throughput vs a plain uproot read of the same branches.

Run by hand (not part of the test suite):

    python tests/benchmarks/bench_tensorize.py --events 1000000 --spec six_object

It builds an input of N real CMS tt̄ events (the 200 events of the coffea
``nano_tt_v12.root`` sample, tiled, with distinct event numbers), then measures
in the same run: (1) ``uproot`` reading exactly the branches the spec resolves to
(the baseline every analysis pays anyway), (2) ``tensorize`` on the arrays held
in memory (single-threaded numpy), and (3) the streaming ``iter_tensors`` path
(read + tensorize in chunks).  Reported as events/s and as ratios to (1).  Each
read opens the file afresh (uproot caches decompressed baskets on an open tree).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")  # one core: the kernels are numpy, single-threaded anyway

import awkward as ak  # noqa: E402
import numpy as np  # noqa: E402
import uproot  # noqa: E402

from hepfm_root import load_spec, resolve, tensorize  # noqa: E402
from hepfm_root.io import iter_tensors  # noqa: E402
from hepfm_root.samples import sample_path  # noqa: E402


def make_input(n_events: int, spec_name: str, folder: Path) -> Path:
    src = uproot.open(sample_path("nano_tt_v12.root"))["Events"]
    res = resolve(load_spec(spec_name), src.keys(), where="nano_tt_v12.root")
    base = src.arrays(res.branches())
    reps = -(-n_events // len(base))
    idx = np.tile(np.arange(len(base)), reps)[:n_events]
    big = base[idx]
    out = folder / f"tt_{n_events}.root"
    data = {}
    for name in big.fields:
        col = big[name]
        data[name] = col if col.ndim > 1 else ak.to_numpy(col)
    data["event"] = np.arange(n_events, dtype=np.uint64)
    with uproot.recreate(out) as f:
        collections = {}
        for name, col in data.items():
            if isinstance(col, ak.Array):
                collections.setdefault(name.split("_", 1)[0], {})[name.split("_", 1)[1]] = col
        flat = {k: v for k, v in data.items() if not isinstance(v, ak.Array)}
        flat.update({c: ak.zip(fields) for c, fields in collections.items()})
        tree = f.mktree(
            "Events", {k: v.type if isinstance(v, ak.Array) else v.dtype for k, v in flat.items()},
            counter_name=lambda c: f"n{c}", field_name=lambda outer, inner: f"{outer}_{inner}",  # NanoAOD naming
        )
        basket = 10_000  # realistic basket size: one extend() call writes one basket per branch
        for start in range(0, n_events, basket):
            tree.extend({k: v[start : start + basket] for k, v in flat.items()})
    return out


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--spec", default="six_object")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = make_input(args.events, args.spec, Path(tmp))
        tree = uproot.open(path)["Events"]
        spec = load_spec(args.spec)
        res = resolve(spec, tree.keys(), where=path.name)
        branches = res.branches()

        # Open afresh each time: uproot caches decompressed baskets on an open tree, which
        # would make repeated reads look far cheaper than any real job's first read.
        t_read = best_of(lambda: uproot.open(path)["Events"].arrays(branches), args.repeat)
        arrays = tree.arrays(branches)
        tensorize(arrays, spec, resolution=res)  # warm-up
        t_tensorize = best_of(lambda: tensorize(arrays, spec, resolution=res), args.repeat)
        t_stream = best_of(lambda: sum(len(c.tensors) for c in iter_tensors([path], spec, step_size=200_000)), 1)

    n = args.events
    result = {
        "spec": args.spec, "events": n, "branches": len(branches), "machine": platform.processor() or platform.machine(),
        "uproot_read_events_per_s": n / t_read,
        "tensorize_in_memory_events_per_s": n / t_tensorize,
        "read_plus_tensorize_streaming_events_per_s": n / t_stream,
        "tensorize_time_over_read_time": t_tensorize / t_read,
        "streaming_time_over_read_time": t_stream / t_read,
    }
    for k, v in result.items():
        print(f"{k:45s} {v:,.3f}" if isinstance(v, float) else f"{k:45s} {v}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
