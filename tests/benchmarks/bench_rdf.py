"""Benchmark: the RDataFrame path — define_objects vs the awkward path, define_score vs a plain Snapshot.

Run by hand (not part of the test suite; from a worktree, ``PYTHONPATH=.`` so that its
``hepfm_root`` is the one imported):

    python tests/benchmarks/bench_rdf.py                       # generates 30k tt̄ events (~5 min)
    python tests/benchmarks/bench_rdf.py --input ttbar.root    # or any NanoAOD-schema file
    python tests/benchmarks/bench_rdf.py --json tests/benchmarks/results/bench_rdf.json

One core each (ImplicitMT off, ONNX Runtime with one thread, BLAS with one thread):

(a) ``define_objects`` (generated C++, in an RDataFrame event loop that reads the
    spec's branches and evaluates the tensors) against the awkward path (``uproot``
    read of the same branches + ``tensorize``), and ``tensorize`` alone; the ratio in wall
    time and in CPU time (the one to read on a busy machine);
(b) ``define_score`` end to end — the scoring pass (read → tensors → temporary file →
    chunks → ONNX Runtime) plus a ``Snapshot`` of run, luminosityBlock, event, nJet and
    the score — against a plain ``Snapshot`` of the same columns without the score;
    the ratio (also against a Snapshot that adds the spec's input branches), and the
    share of the total spent inside ``Scorer.predict``.

Each timing is the best of ``--repeat`` runs on a fresh dataframe / freshly opened file,
after one warm-up (cling's jitting of the generated code is excluded: it is paid once per
process, ~1–2 s, and reported separately).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import numpy as np  # noqa: E402
import ROOT  # noqa: E402
import uproot  # noqa: E402

from hepfm_root import Scorer, load_spec, resolve, tensorize  # noqa: E402
from hepfm_root.rdf import define_objects, define_score  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
MODEL = REPO / "exports" / "six_object_heavy_higgs_vs_ttbar" / "0.1"
KEYS = ["run", "luminosityBlock", "event"]


def generate(n: int, folder: Path) -> Path:
    out = folder / f"ttbar_semilep_{n}.root"
    subprocess.run([sys.executable, "-m", "hepfm_root.cli", "generate", "--process", "ttbar_semilep", "--events",
                    str(n), "--seed", "11", "-o", str(out)], check=True)
    return out


#: CPU seconds of the best run of each timing (``best_of``): on a machine shared with other jobs, wall time
#: also counts the time the process waited for a core; both paths here run on one thread.
CPU: dict[str, float] = {}


def best_of(fn, repeat: int, name: str | None = None) -> float:
    """Best wall time of ``repeat`` runs after a warm-up; with ``name``, also the best CPU time into ``CPU``."""
    fn()  # warm-up: jitting, file cache
    times, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    if name is not None:
        CPU[name] = min(cpu)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--input", type=Path, help="NanoAOD-schema file (default: generate --events tt̄ events)")
    ap.add_argument("--events", type=int, default=30_000)
    ap.add_argument("--spec", default="six_object")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    ROOT.DisableImplicitMT()

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        path = args.input or generate(args.events, tmp)
        tree = uproot.open(path)["Events"]
        n = int(tree.num_entries)
        spec = load_spec(args.spec)
        res = resolve(spec, tree.keys(), where=path.name)
        branches = res.branches()

        # (a) tensors: RDataFrame + generated C++ vs uproot + tensorize
        t0 = time.perf_counter()
        define_objects(ROOT.RDataFrame("Events", str(path)), spec).Filter("hepfm_selected").Count().GetValue()
        t_first = time.perf_counter() - t0  # includes declaring (compiling) the generated C++

        def rdf_objects():
            df = define_objects(ROOT.RDataFrame("Events", str(path)), spec)
            return df.Filter("hepfm_selected").Count().GetValue()

        def awkward_path():
            arrays = uproot.open(path)["Events"].arrays(branches)
            return tensorize(arrays, spec, resolution=res)

        t_rdf = best_of(rdf_objects, args.repeat, "rdf")
        t_awk = best_of(awkward_path, args.repeat, "awkward")
        arrays = uproot.open(path)["Events"].arrays(branches)
        t_tensorize = best_of(lambda: tensorize(arrays, spec, resolution=res), args.repeat)
        t_uproot = best_of(lambda: uproot.open(path)["Events"].arrays(branches), args.repeat)

        # (b) define_score end to end vs a plain Snapshot of the same columns
        scorer = Scorer(MODEL, threads=1)
        inference = [0.0]
        predict = scorer.predict  # define_score's one inference pass (Scorer.score goes through it as well)

        def timed_predict(tensors):
            t = time.perf_counter()
            out = predict(tensors)
            inference[0] += time.perf_counter() - t
            return out

        scorer.predict = timed_predict  # type: ignore[method-assign]
        cols = [*KEYS, "nJet"]

        def plain():
            ROOT.RDataFrame("Events", str(path)).Snapshot("Events", str(tmp / "plain.root"), cols)

        def scored():
            df = define_score(ROOT.RDataFrame("Events", str(path)), scorer, scratch_dir=tmp)
            df.Snapshot("Events", str(tmp / "scored.root"), [*cols, "score"])

        def plain_inputs():  # the columns + every branch the spec reads (what the score is computed from)
            ROOT.RDataFrame("Events", str(path)).Snapshot("Events", str(tmp / "plain_in.root"),
                                                          sorted(set(cols) | set(branches)))

        t_plain = best_of(plain, args.repeat)
        t_plain_inputs = best_of(plain_inputs, args.repeat)
        inference[0] = 0.0
        times = []
        scored()  # warm-up
        for _ in range(args.repeat):
            inference[0] = 0.0
            t0 = time.perf_counter()
            scored()
            times.append((time.perf_counter() - t0, inference[0]))
        t_scored, t_infer = min(times)
        check = uproot.open(tmp / "scored.root")["Events"]["score"].array(library="np")
        assert len(check) == n and np.isfinite(check).any()

    result = {
        "spec": args.spec, "model": str(MODEL.relative_to(REPO)), "events": n, "branches": len(branches),
        "input": "generated ttbar_semilep (hepfm generate, seed 11)" if args.input is None else path.name,
        "machine": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
        "threads": 1, "root": str(ROOT.gROOT.GetVersion()),
        "a_define_objects_events_per_s": n / t_rdf,
        "a_awkward_read_plus_tensorize_events_per_s": n / t_awk,
        "a_uproot_read_events_per_s": n / t_uproot,
        "a_tensorize_in_memory_events_per_s": n / t_tensorize,
        "a_define_objects_over_awkward_time": t_rdf / t_awk,
        "a_define_objects_over_awkward_cpu_time": CPU["rdf"] / CPU["awkward"],
        "a_first_define_objects_seconds_incl_compile": t_first,
        "b_plain_snapshot_seconds": t_plain,
        "b_define_score_plus_snapshot_seconds": t_scored,
        "b_define_score_plus_snapshot_events_per_s": n / t_scored,
        "b_ratio_to_plain_snapshot": t_scored / t_plain,
        "b_plain_snapshot_with_spec_branches_seconds": t_plain_inputs,
        "b_ratio_to_plain_snapshot_with_spec_branches": t_scored / t_plain_inputs,
        "b_non_inference_seconds": t_scored - t_infer,
        "b_inference_seconds": t_infer,
        "b_inference_share": t_infer / t_scored,
    }
    for k, v in result.items():
        print(f"{k:48s} {v:,.3f}" if isinstance(v, float) else f"{k:48s} {v}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
