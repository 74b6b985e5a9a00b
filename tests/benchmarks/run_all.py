"""Run every benchmark in one go on one machine, each path against its baseline; write JSON + markdown.

    python3 tests/benchmarks/run_all.py                      # default sizes (--scale 0.5: ~3 min on 2 cores)
    python3 tests/benchmarks/run_all.py --scale 0.2          # a quick pass (5x smaller inputs)
    python3 tests/benchmarks/run_all.py --only scoring skim  # some sections
    python3 tests/benchmarks/run_all.py --out tests/benchmarks/results/h200   # on the GPU machine

Sections (each in its own subprocess, with a time limit; a failure is recorded, not fatal):

- ``gemm``: numpy float32 GEMM GFLOP/s on 1 and all threads: the machine's matrix-multiply ceiling.
- ``tensorize``: ``bench_tensorize.py`` — awkward ``tensorize`` (in memory and streaming) vs a plain
  uproot read of the same branches (real tt̄ events, tiled).
- ``rdf``: the C++ RDataFrame path.  Runs ``bench_rdf.py`` on 30,000 × ``--scale`` events tiled from
  ``--source`` when it exists (the RDataFrame
  issue's own benchmark); until then a *minimal hook*: one ``define_objects`` event loop vs an
  event loop reading the same branches, on the same input as ``tensorize``.
- ``scoring``: ``bench_scoring.py`` — ONNX Runtime CPU (fp32, int8) and torch CPU events/s, as a
  fraction of the GEMM ceiling measured in the same process.
- ``scoring_gpu``: ``bench_scoring_gpu.py`` when torch sees CUDA; else "not measured: no GPU".
- ``skim``: ``bench_skim.py`` — ``skim-and-score`` vs a plain read + select + write.
- ``coffea``: ``bench_coffea.py`` — the ``HistogramProcessor`` with vs without scoring.
- ``memory``: peak RSS of ``skim-and-score`` (and of the plain read + write) on 1x, 2x, 4x the
  input, each in a fresh process: flat when streaming.

The generated input (``ttbar_semilep``, 2000 events, seed 11) is made once and cached in
``$HEPFM_CACHE_DIR/bench`` (default ``~/.cache/hepfm_root/bench``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
MODEL = REPO / "exports" / "six_object_heavy_higgs_vs_ttbar" / "0.1"
SECTIONS = ("gemm", "tensorize", "rdf", "scoring", "scoring_gpu", "skim", "coffea", "memory")
SOURCE_EVENTS, SOURCE_SEED = 2000, 11


# ----------------------------------------------------------------------------- machine

def machine() -> dict[str, Any]:
    import importlib.metadata as md

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    versions = {}
    for pkg in ("numpy", "awkward", "uproot", "onnxruntime", "onnxruntime-gpu", "torch", "coffea", "ROOT", "hepfm_root"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    gpu = _gpu()
    return {"cpu": cpu, "logical_cores": os.cpu_count(),
            "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
            "memory_gib": mem, "python": platform.python_version(), "platform": platform.platform(),
            "gpu": gpu or "none", "versions": versions}


def _gpu() -> str | None:
    code = "import torch; print(torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')"
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    except subprocess.TimeoutExpired:
        return None
    return out.stdout.strip() or None


# ----------------------------------------------------------------------------- helpers

def _run_script(args: list[str], json_path: Path, timeout: float, env: dict | None = None) -> dict[str, Any]:
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, *args, "--json", str(json_path)], capture_output=True, text=True,
                              timeout=timeout, cwd=REPO, env={**os.environ, **(env or {})}, check=False)
    except subprocess.TimeoutExpired:
        return {"status": f"failed: timed out after {timeout:.0f} s", "seconds": time.perf_counter() - t0}
    seconds = time.perf_counter() - t0
    if proc.returncode != 0 or not json_path.exists():
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-8:]
        return {"status": f"failed: exit code {proc.returncode}", "seconds": seconds, "log_tail": tail}
    return {"status": "ok", "seconds": seconds, "result": json.loads(json_path.read_text())}


def _self(section: str, args: argparse.Namespace, json_path: Path, timeout: float, extra: list[str] = ()) -> dict:
    return _run_script([str(Path(__file__)), "--_inner", section, "--scale", str(args.scale),
                        "--source", str(args.source), *extra], json_path, timeout)


def source_file(cache: Path) -> Path:
    path = cache / f"ttbar_semilep_{SOURCE_EVENTS}_seed{SOURCE_SEED}.root"
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        print(f"generating the benchmark input {path} ({SOURCE_EVENTS} ttbar_semilep events) ...", flush=True)
        subprocess.run([sys.executable, "-m", "hepfm_root.cli", "generate", "--process", "ttbar_semilep", "--events",
                        str(SOURCE_EVENTS), "--seed", str(SOURCE_SEED), "--jobs", str(os.cpu_count() or 1), "-q",
                        "-o", str(path)], check=True, cwd=REPO, stdout=subprocess.DEVNULL)
    return path


# ----------------------------------------------------------------------------- inner sections (own process)

def inner_gemm(args: argparse.Namespace) -> dict:
    sys.path.insert(0, str(HERE))
    from bench_scoring import matmul_flops

    cores = os.cpu_count() or 1
    return {f"gemm_gflops_{t}_threads": matmul_flops(t) / 1e9 for t in sorted({1, cores})}


def inner_rdf_minimal(args: argparse.Namespace) -> dict:
    """Minimal hook until bench_rdf.py exists: define_objects event loop vs a plain read loop, single thread."""
    sys.path.insert(0, str(HERE))
    import ROOT
    from bench_tensorize import make_input

    from hepfm_root import load_spec, resolve
    from hepfm_root.rdf import define_objects

    n = max(1000, int(200_000 * args.scale))
    spec = load_spec("six_object")
    with tempfile.TemporaryDirectory() as tmp:
        path = make_input(n, "six_object", Path(tmp))

        def loop(with_tensors: bool) -> float:
            f = ROOT.TFile.Open(str(path))
            df = ROOT.RDataFrame(f.Get("Events"))
            if with_tensors:
                d = define_objects(df, spec).Define("hepfm_sum", "ROOT::VecOps::Sum(hepfm_objects) * hepfm_selected")
                col = "hepfm_sum"
            else:   # read every branch the spec resolves to, and touch every value
                res = resolve(spec, [str(c) for c in df.GetColumnNames()], where=path.name)
                terms = [f"ROOT::VecOps::Sum({b})" if "RVec" in str(df.GetColumnType(b)) else f"double({b})"
                         for b in res.branches()]
                d = df.Define("plain_sum", " + ".join(terms))
                col = "plain_sum"
            t0 = time.perf_counter()
            d.Sum(col).GetValue()
            dt_ = time.perf_counter() - t0
            del f
            return dt_

        first = loop(True)           # includes the generated code's JIT compilation
        t_rdf = min(loop(True) for _ in range(2))
        t_plain = min(loop(False) for _ in range(2))
    return {"hook": "minimal measurement in run_all.py (bench_rdf.py not present)", "events": n, "threads": 1,
            "define_objects_events_per_s": n / t_rdf, "plain_rdf_read_events_per_s": n / t_plain,
            "define_objects_time_over_plain_read": t_rdf / t_plain, "first_loop_seconds_incl_jit": first}


_MEMORY_CHILD = r"""
import json, resource, sys, time
import onnxruntime  # noqa: F401 - part of the baseline, not of the job
mode, inp, out, step, model = sys.argv[1:6]
sys.path.insert(0, sys.argv[6])
from hepfm_root.skim import SkimOptions, skim_and_score
from bench_skim import plain_copy
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
if mode == "skim":
    skim_and_score([inp], [model], out, SkimOptions(step_size=int(step), device="cpu", overwrite=True))
else:
    plain_copy(inp, out, int(step))
print(json.dumps({"peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "peak_rss_before_job_mib": before / 1024, "seconds": time.perf_counter() - t0}))
"""


def inner_memory(args: argparse.Namespace) -> dict:
    sys.path.insert(0, str(HERE))
    from bench_skim import make_input

    base = max(2000, int(20_000 * args.scale))
    step = max(500, base // 4)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for k in (1, 2, 4):
            inp = Path(tmp) / f"in_{k}.root"
            make_input(Path(args.source), k * base, inp)
            row: dict[str, Any] = {"multiple": k, "events": k * base, "input_mib": inp.stat().st_size / 2**20, "step_size": step}
            for mode in ("skim", "plain"):
                proc = subprocess.run([sys.executable, "-c", _MEMORY_CHILD, mode, str(inp), str(Path(tmp) / f"out_{mode}.root"),
                                       str(step), str(MODEL), str(HERE)], capture_output=True, text=True, check=True, cwd=REPO)
                row[mode] = json.loads(proc.stdout.strip().splitlines()[-1])
            rows.append(row)
    return {"rows": rows, "skim_peak_growth_4x_over_1x": rows[-1]["skim"]["peak_rss_mib"] / rows[0]["skim"]["peak_rss_mib"]}


# ----------------------------------------------------------------------------- outer driver

def run_sections(args: argparse.Namespace, tmp: Path) -> dict[str, dict]:
    s = args.scale
    out: dict[str, dict] = {}
    rdf_script = HERE / "bench_rdf.py"
    for name in args.only or SECTIONS:
        print(f"[{dt.datetime.now():%H:%M:%S}] {name} ...", flush=True)
        j = tmp / f"{name}.json"
        if name == "gemm":
            r = _self("gemm", args, j, 600)
        elif name == "tensorize":
            r = _run_script([str(HERE / "bench_tensorize.py"), "--events", str(max(10_000, int(300_000 * s))), "--repeat", "2"],
                            j, 900)
        elif name == "rdf":
            if rdf_script.exists():
                # The scaled input, made from --source like the skim and memory sections (bench_rdf.py alone
                # would generate its default 30,000 events with Pythia, whatever --scale says).
                sys.path.insert(0, str(HERE))
                from bench_skim import make_input

                n = max(2000, int(30_000 * s))
                make_input(Path(args.source), n, tmp / f"rdf_input_{n}.root")
                r = _run_script([str(rdf_script), "--input", str(tmp / f"rdf_input_{n}.root"), "--events", str(n)], j, 900)
            else:
                r = _self("rdf_minimal", args, j, 900)
        elif name == "scoring":
            r = _run_script([str(HERE / "bench_scoring.py"), "--threads", *sorted({"1", str(os.cpu_count() or 1)}),
                             "--batches", "1024", "--events", str(max(4096, int(16384 * s)))], j, 1200)
        elif name == "scoring_gpu":
            if machine_info["gpu"] == "none":
                r = {"status": "not measured: no GPU (torch.cuda.is_available() is False)"}
            else:
                r = _run_script([str(HERE / "bench_scoring_gpu.py"), "--device", "cuda", "--batches", "16384", "65536",
                                 "262144", "--precisions", "fp32", "bf16"], j, 1200)
        elif name == "skim":
            r = _run_script([str(HERE / "bench_skim.py"), "--events", str(max(5000, int(40_000 * s))), "--source",
                             str(args.source), "--step-size", "20000"], j, 1200)
        elif name == "coffea":
            r = _run_script([str(HERE / "bench_coffea.py"), "--input", str(args.source), "--copies",
                             str(max(2, int(10 * s))), "--chunk", "20000"], j, 1200, env={"OMP_NUM_THREADS": "1"})
        elif name == "memory":
            r = _self("memory", args, j, 1200)
        else:
            raise SystemExit(f"unknown section {name!r}; choose from {SECTIONS}")
        print(f"    {r['status']} ({r.get('seconds', 0):.0f} s)", flush=True)
        out[name] = r
    return out


def _f(x: float | None, digits: int = 0) -> str:
    return "–" if x is None else f"{x:,.{digits}f}"


def markdown(report: dict) -> str:
    m, secs = report["machine"], report["sections"]
    lines = [f"# hepfm_root benchmarks, {report['date']}", "",
             f"Machine: {m['cpu']}, {m['usable_cores']} usable cores ({m['logical_cores']} logical), "
             f"{m['memory_gib']} GiB, GPU: {m['gpu']}; Python {m['python']}; "
             + ", ".join(f"{k} {v}" for k, v in m["versions"].items()) + f".  Scale {report['config']['scale']}; "
             f"total {report['seconds']:.0f} s.", "",
             "| benchmark | path | baseline | ratio / note |", "|---|---|---|---|"]

    def res(name: str) -> dict | None:
        sec = secs.get(name)
        if sec is None:
            return None
        if sec["status"] != "ok":
            lines.append(f"| {name} | {sec['status']} | | |")
            return None
        return sec["result"]

    if (g := res("gemm")) is not None:
        lines.append("| float32 GEMM ceiling (numpy) | " + ", ".join(f"{v:.1f} GFLOP/s ({k.split('_')[2]} thr)"
                                                              for k, v in g.items()) + " | | matrix-multiply ceiling |")
    if (t := res("tensorize")) is not None:
        lines.append(f"| tensor building, awkward `tensorize` in memory ({t['events']:,} real tt̄, `{t['spec']}`) | "
                     f"{_f(t['tensorize_in_memory_events_per_s'])} ev/s | uproot read of the same {t['branches']} branches "
                     f"{_f(t['uproot_read_events_per_s'])} ev/s | time {t['tensorize_time_over_read_time']:.2f}× the read |")
        lines.append(f"| read + tensorize, streaming (`iter_tensors`) | {_f(t['read_plus_tensorize_streaming_events_per_s'])} ev/s "
                     f"| same uproot read | time {t['streaming_time_over_read_time']:.2f}× the read |")
    if (r := res("rdf")) is not None:
        if "define_objects_events_per_s" in r:
            lines.append(f"| tensor building, C++ RDataFrame `define_objects` ({r['events']:,} ev, 1 thread; {r['hook']}) | "
                         f"{_f(r['define_objects_events_per_s'])} ev/s | RDataFrame loop reading the same branches "
                         f"{_f(r['plain_rdf_read_events_per_s'])} ev/s | time {r['define_objects_time_over_plain_read']:.2f}× "
                         f"(first loop incl. JIT {r['first_loop_seconds_incl_jit']:.1f} s) |")
        elif "a_define_objects_events_per_s" in r:  # tests/benchmarks/bench_rdf.py
            lines.append(f"| tensor building, C++ RDataFrame `define_objects` ({r['events']:,} ev, 1 thread) | "
                         f"{_f(r['a_define_objects_events_per_s'])} ev/s | uproot read + awkward `tensorize` "
                         f"{_f(r['a_awkward_read_plus_tensorize_events_per_s'])} ev/s | time "
                         f"{r['a_define_objects_over_awkward_time']:.2f}× the awkward path (first call incl. C++ "
                         f"compile {r['a_first_define_objects_seconds_incl_compile']:.1f} s) |")
            lines.append(f"| RDataFrame `define_score` + Snapshot ({r['events']:,} ev) | "
                         f"{_f(r['b_define_score_plus_snapshot_events_per_s'])} ev/s | plain Snapshot of the same "
                         f"columns + the spec's branches {r['b_plain_snapshot_with_spec_branches_seconds']:.2f} s | time "
                         f"{r['b_ratio_to_plain_snapshot_with_spec_branches']:.1f}×; inference "
                         f"{100 * r['b_inference_share']:.0f} % of the job |")
        else:
            lines.append("| RDataFrame (bench_rdf.py) | see JSON | | |")
    if (sc := res("scoring")) is not None:
        mflop = sc["flops_per_event"] / 1e6
        for row in sc["runs"]:
            lines.append(f"| scoring, {row['threads']} thread(s), batch {row['batch']} ({mflop:.1f} MFLOP/event) | "
                         f"ORT fp32 {_f(row['ort_all'])} ev/s (eff. {row['ort_all_efficiency']:.2f}); torch "
                         f"{_f(row['torch'])} ev/s (eff. {row['torch_efficiency']:.2f}); ORT int8 {_f(row['ort_int8'])} ev/s | "
                         f"GEMM {row['gemm_flops'] / 1e9:.1f} GFLOP/s | efficiency = model FLOP/s ÷ GEMM FLOP/s |")
    gpu = secs.get("scoring_gpu")
    if gpu is not None:
        if gpu["status"] == "ok":
            best = max(gpu["result"]["runs"], key=lambda x: x["events_per_s"])
            lines.append(f"| scoring on GPU, torch ({best['precision']}, batch {best['batch']}) | {_f(best['events_per_s'])} ev/s "
                         f"({best['tflops']:.1f} TFLOP/s) | with host↔device copies "
                         f"{_f(best['events_per_s_with_transfer'])} ev/s | |")
        else:
            lines.append(f"| scoring on GPU (ORT CUDA, torch CUDA) | {gpu['status']} | | |")
    if (k := res("skim")) is not None:
        lines.append(f"| `skim-and-score` ({k['events']:,} ev, {k['branches']} branches, all kept) | "
                     f"{_f(k['skim_and_score_events_per_s'])} ev/s | plain read + select + write "
                     f"{_f(k['plain_events_per_s'])} ev/s | "
                     f"time {k['skim_over_plain_time']:.2f}×; inference {100 * k['inference_share']:.0f} % of the job |")
    if (c := res("coffea")) is not None:
        lines.append(f"| coffea `HistogramProcessor` with scoring ({c['events']:,} ev, 1 core) | "
                     f"{_f(c['with_scoring_events_per_s'])} ev/s | "
                     f"without scoring {_f(c['without_scoring_events_per_s'])} ev/s | time {c['with_over_without_time']:.2f}×; "
                     f"overhead beyond inference {100 * c['scoring_overhead_over_inference']:+.0f} % of inference |")
    if (mm := res("memory")) is not None:
        cells = "; ".join(f"{r['multiple']}× ({r['events']:,} ev, {r['input_mib']:.0f} MiB): {r['skim']['peak_rss_mib']:.0f} MiB"
                          for r in mm["rows"])
        plain = "; ".join(f"{r['multiple']}×: {r['plain']['peak_rss_mib']:.0f} MiB" for r in mm["rows"])
        lines.append(f"| peak RSS, `skim-and-score` (step {mm['rows'][0]['step_size']:,}) | {cells} | plain read + write {plain} | "
                     f"4× / 1× = {mm['skim_peak_growth_4x_over_1x']:.2f} (flat = streaming) |")
    return "\n".join(lines) + "\n"


machine_info: dict[str, Any] = {}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__)
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies every input size (0.5: ~3 min on 2 cores)")
    ap.add_argument("--only", nargs="+", choices=SECTIONS, help="run only these sections")
    ap.add_argument("--out", type=Path, default=HERE / "results", help="folder for run_all.json and run_all.md")
    ap.add_argument("--source", type=Path, help="generated NanoAOD-schema input (default: generate and cache one)")
    ap.add_argument("--_inner", help=argparse.SUPPRESS)
    ap.add_argument("--json", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._inner:
        result = {"gemm": inner_gemm, "rdf_minimal": inner_rdf_minimal, "memory": inner_memory}[args._inner](args)
        args.json.write_text(json.dumps(result, indent=2))
        return
    cache = Path(os.environ.get("HEPFM_CACHE_DIR", Path.home() / ".cache" / "hepfm_root")) / "bench"
    args.source = args.source or source_file(cache)
    t0 = time.perf_counter()
    machine_info.update(machine())
    with tempfile.TemporaryDirectory() as tmp:
        sections = run_sections(args, Path(tmp))
    report = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "machine": machine_info,
              "config": {"scale": args.scale, "source": str(args.source), "model": str(MODEL.relative_to(REPO))},
              "seconds": time.perf_counter() - t0, "sections": sections}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "run_all.json").write_text(json.dumps(report, indent=2) + "\n")
    md = markdown(report)
    (args.out / "run_all.md").write_text(md)
    print("\n" + md)
    print(f"wrote {args.out / 'run_all.json'} and {args.out / 'run_all.md'}")


if __name__ == "__main__":
    main()
