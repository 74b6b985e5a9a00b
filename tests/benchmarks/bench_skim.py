"""Benchmark: `skim-and-score` against its named peer and a plain read + select + write (no model).

Run by hand:

    python tests/benchmarks/bench_skim.py --events 100000 [--source gen.root]

The named peer is ``peers/uproot_onnx_skim.py``, a competent hand-written uproot + awkward +
ONNX Runtime script doing the same job; both run as whole processes (``hepfm skim-and-score``
on the command line, start-up and imports included), and their scores are checked equal
event by event before the ratio is reported.

The input is N generated tt̄ events (a `hepfm generate` sample, tiled to N with distinct
event numbers, written in 10k-entry baskets like real NanoAOD).  Both jobs read the same
branches, apply the same selection and write the same branches through the same writer;
the skim-and-score job also builds the model's tensors and scores with ONNX Runtime on the
CPU.  Reported: events/s of each, their ratio, and the share of the job's time spent in
inference (the rest is I/O and tensor building).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import awkward as ak
import numpy as np
import uproot

from hepfm_root.io import NtupleWriter, layout_of, open_events
from hepfm_root.skim import SelectionExpression, SkimOptions, skim_and_score

MODEL = Path(__file__).resolve().parents[2] / "exports" / "six_object_heavy_higgs_vs_ttbar" / "0.1"
SELECTION = "count(Jet_pt > 30) >= 4 && MET_pt > 20"


def make_input(source: Path, n: int, out: Path) -> None:
    with open_events(source) as inp:
        names = inp.branch_names()
        layout = layout_of(inp, names)
        base = inp.read(names, 0, inp.num_entries)
    idx = np.tile(np.arange(len(base)), -(-n // len(base)))[:n]
    with NtupleWriter(out, layout) as w:
        for start in range(0, n, 10_000):
            chunk = base[idx[start : start + 10_000]]
            chunk = ak.with_field(chunk, np.arange(start, start + len(chunk), dtype=np.uint64) + 1, "event")
            w.write(chunk)


def plain_copy(path: Path, out: Path, step: int) -> int:
    sel = SelectionExpression.parse(SELECTION)
    with open_events(path) as inp:
        names = inp.branch_names()
        layout = layout_of(inp, names)
        with NtupleWriter(out, layout, overwrite=True) as w:
            for start in range(0, inp.num_entries, step):
                a = inp.read(names, start, min(inp.num_entries, start + step))
                w.write(a[sel.evaluate(a)])
        return inp.num_entries


PEER = Path(__file__).resolve().parent / "peers" / "uproot_onnx_skim.py"


def _whole_process(path: Path, tmp: Path, step: int) -> tuple[float, float, str]:
    """Wall time of `hepfm skim-and-score` and of the peer script, whole processes; their scores compared."""
    cli = [sys.executable, "-m", "hepfm_root.cli", "skim-and-score", str(path), "--model", str(MODEL), "-o",
           str(tmp / "cli.root"), "--branch-name", "score", "--selection", SELECTION, "--step-size", str(step),
           "--device", "cpu", "-q"]
    peer = [sys.executable, str(PEER), str(path), "--model", str(MODEL / "model.onnx"), "-o", str(tmp / "peer.root"),
            "--step", str(step)]
    times = []
    for cmd in (cli, peer):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True)
        times.append(time.perf_counter() - t0)
    a = uproot.open(tmp / "cli.root")["Events"].arrays(["event", "score"], library="np")
    b = uproot.open(tmp / "peer.root")["Events"].arrays(["event", "score"], library="np")
    same = np.array_equal(a["event"], b["event"]) and np.allclose(a["score"], b["score"], atol=1e-6, equal_nan=True)
    return times[0], times[1], "equal" if same else "DIFFERENT"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--source", type=Path, help="a generated file to tile (default: generate 2000 tt̄ events)")
    ap.add_argument("--step-size", type=int, default=50_000)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        source = args.source
        if source is None:
            source = tmp / "gen.root"
            subprocess.run([sys.executable, "-m", "hepfm_root.cli", "generate", "--process", "ttbar_semilep",
                            "--events", "2000", "--seed", "11", "--jobs", "2", "-o", str(source), "-q"], check=True)
        path = tmp / "input.root"
        make_input(source, args.events, path)
        n_branches = len(uproot.open(path)["Events"].keys())

        t0 = time.perf_counter()
        n = plain_copy(path, tmp / "plain.root", args.step_size)
        t_plain = time.perf_counter() - t0
        t0 = time.perf_counter()
        s = skim_and_score([path], [MODEL], tmp / "scored.root",
                           SkimOptions(selection=SELECTION, step_size=args.step_size, device="cpu"))
        t_skim = time.perf_counter() - t0
        t_cli, t_peer, peer_check = _whole_process(path, tmp, args.step_size)
    result = {
        "events": n, "branches": n_branches, "selected": s["events_selected"],
        "plain_events_per_s": n / t_plain, "skim_and_score_events_per_s": n / t_skim,
        "skim_over_plain_time": t_skim / t_plain, "inference_share": s["seconds_inference"] / t_skim,
        "non_inference_share": 1 - s["seconds_inference"] / t_skim, "seconds_by_step": s["seconds_by_step"],
        "cli_whole_process_s": t_cli, "peer_whole_process_s": t_peer, "cli_over_peer_time": t_cli / t_peer,
        "peer_scores_equal": peer_check,
    }
    for k, v in result.items():
        print(f"{k:30s} {v:,.3f}" if isinstance(v, float) else f"{k:30s} {v}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
