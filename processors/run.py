"""Run :class:`~hepfm_root.processors.HistogramProcessor` over a fileset JSON, locally or on a Dask cluster.

    python3 -m hepfm_root.processors.run fileset.json --model hh=exports/six_object_heavy_higgs_vs_ttbar/0.1 \\
        --executor dask --workers 2 --step-size 100000 -o scores.coffea

``fileset.json``: ``{"ttbar": ["a.root", "b.root"], "dy": {"files": {"c.root": "Events"}, "metadata": {...}}}``.
Executors: ``dask`` (``apply_to_fileset`` + ``dask.compute``; with ``--workers N`` on a
``distributed.LocalCluster``, else in this process), ``iterative`` / ``futures``
(``coffea.processor.Runner``).  ``--scheduler tcp://host:8786`` uses an existing cluster
(e.g. one started through dask-jobqueue, see ``docs/coffea.md``).  The output is saved with
``coffea.util.save`` (a dict ``{dataset: {"scored": {"hist": {model: Hist}}, ...}}``; with
``--outputs all`` or ``--outputs tt,ttH`` one histogram per label, keyed ``<model>_<label>``).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

log = logging.getLogger("hepfm_root.processors.run")


def _parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python3 -m hepfm_root.processors.run", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("fileset", type=Path)
    ap.add_argument("--model", action="append", required=True, metavar="NAME=PATH", help="repeatable")
    ap.add_argument("--executor", choices=["dask", "iterative", "futures"], default="dask")
    ap.add_argument("--workers", type=int, default=0, help="dask: LocalCluster workers (0: this process); futures: processes")
    ap.add_argument("--scheduler", help="dask: address of a running scheduler (overrides --workers)")
    ap.add_argument("--step-size", type=int, default=100_000)
    ap.add_argument("--skip-bad-files", action="store_true", help="leave out (and list) unreadable/empty/incomplete files")
    ap.add_argument("--min-jets", type=int, default=0, help="selection: at least N jets with pT > 25 GeV, |eta| < 2.5")
    ap.add_argument("--weight", help="weight the histograms with this branch (e.g. genWeight)")
    ap.add_argument("--outputs", help="class probabilities to histogram per model: 'all' or labels ('tt,ttH'), one "
                                      "histogram <model>_<label> each (default: P(score label), keyed <model>)")
    ap.add_argument("-o", "--output", type=Path, required=True)
    return ap.parse_args(argv)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from coffea.util import save

    from hepfm_root.coffea import check_fileset, runner_fileset

    from . import HistogramProcessor, ObjectCut

    models = dict(m.split("=", 1) for m in args.model)
    selection = [ObjectCut("Jet", min_count=args.min_jets, pt_min=25.0, abs_eta_max=2.5)] if args.min_jets else []
    proc = HistogramProcessor(models, selection=selection, weight=args.weight, outputs=args.outputs)
    fileset, report = check_fileset(json.loads(args.fileset.read_text()), proc.specs, step_size=args.step_size,
                                    skip_bad_files=args.skip_bad_files, corrector=proc.corrector)
    print(report, file=sys.stderr)
    if args.executor == "dask":
        import dask
        from coffea.dataset_tools import apply_to_fileset

        graph = apply_to_fileset(proc, fileset)
        if args.scheduler or args.workers:
            from distributed import Client, LocalCluster

            if args.scheduler:
                with Client(args.scheduler):
                    (out,) = dask.compute(graph)
            else:
                # dashboard on a free port: a fixed 8787 warns (an error under -W error) when another cluster holds it
                with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, Client(cluster):
                    (out,) = dask.compute(graph)
        else:
            (out,) = dask.compute(graph, scheduler="sync")
    else:
        from coffea.processor import FuturesExecutor, IterativeExecutor, Runner

        executor = IterativeExecutor() if args.executor == "iterative" else FuturesExecutor(workers=max(args.workers, 1))
        out = Runner(executor, chunksize=args.step_size)(runner_fileset(fileset), proc)
    out = dict(out)
    out["_report"] = {"events": report.events, "bad_files": [vars(b) for b in report.bad]}
    save(out, str(args.output))
    return out


def main(argv: list[str] | None = None) -> int:
    from hepfm_root.errors import HepfmError

    args = _parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        out = run(args)
    except HepfmError as err:  # the error family's exit code: 2 arguments, 3 input, 4 model/spec, 5 output
        print(f"error: {type(err).__name__}: {err}", file=sys.stderr)
        return err.exit_code
    for ds, v in out.items():
        if not ds.startswith("_"):
            print(f"{ds}: {int(v['n_events'])} events, {int(v['n_selected'])} selected, scored {v['scored']['n_scored']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
