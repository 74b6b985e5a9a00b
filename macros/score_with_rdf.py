#!/usr/bin/env python3
"""Score a NanoAOD file through the RDataFrame path and write the scores (PyROOT).

Usage::

    python3 macros/score_with_rdf.py input.root --model exports/six_object_heavy_higgs_vs_ttbar/0.1 -o out.root
    python3 macros/score_with_rdf.py input.root --model MODEL -o out.scores.root --friend   # aligned friend tree
    python3 macros/score_with_rdf.py input.root --model MODEL -o out.root --keep 'nJet' --imt 2
    python3 macros/score_with_rdf.py input.root --model MODEL -o out.root --outputs all   # score_<label> per label

Default: ``define_score`` on ``ROOT.RDataFrame(tree, input)`` and a ``Snapshot`` of
run, luminosityBlock, event, the score and any ``--keep`` columns (under ``--imt`` the
rows are in no fixed order: join by event identity); a per-object model (a jet tagger) writes
``Jet_<name>`` instead, one score per jet (keep ``nJet`` beside it).  ``--friend``: one float
branch per input entry (a tagger: ``nJet`` + ``Jet_<name>``), in entry order, for ``TTree::AddFriend``.
``--outputs all`` (or labels, ``--outputs ttH,ttbar_dilep``) writes one column per label instead,
``<name>_<label>`` (the names of ``hepfm skim-and-score --outputs``), all from one inference pass.
Uses only the public API
(``hepfm_root.rdf``); the output appears only when complete (Snapshot goes to a
temporary name that is renamed at the end).

Exit codes are hepfm's, read from the error's class (``hepfm_root.errors``): 0 success, 2 bad
arguments, 3 bad input (missing/mistyped branch, empty tree, unreadable file), 4 bad model or spec,
5 output problem (exists, is an input, not a regular file, disk full), 128+N killed by signal N
(SIGTERM, SIGINT, SIGHUP; the temporary is removed).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("input", type=Path)
    ap.add_argument("--model", required=True, help="export folder, model.onnx or checkpoint")
    ap.add_argument("-o", "--output", required=True, type=Path)
    ap.add_argument("--tree", default="Events")
    ap.add_argument("--name", default="score", help="score column/branch name")
    ap.add_argument("--outputs", help="class probabilities to write: 'all' or labels ('tt,ttH'), one column "
                                      "<name>_<label> each (default: P(score label) as <name>)")
    ap.add_argument("--keep", nargs="*", default=[], help="more columns to write (not with --friend)")
    ap.add_argument("--friend", action="store_true", help="write an aligned friend tree instead of a Snapshot")
    ap.add_argument("--imt", type=int, default=0, help="ROOT ImplicitMT threads (0: off)")
    ap.add_argument("--step-size", type=int, default=100_000)
    ap.add_argument("--overwrite", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)

    import ROOT

    from hepfm_root.errors import HepfmError, InvalidArgumentError
    from hepfm_root.io import Terminated, atomic_output, check_input, plan_outputs, terminate_on_signals
    from hepfm_root.rdf import define_score, write_score_friend

    if args.imt:
        ROOT.EnableImplicitMT(args.imt)
    t0 = time.perf_counter()
    stack = contextlib.ExitStack()
    try:
        stack.enter_context(terminate_on_signals())  # SIGTERM/SIGHUP: clean up the temporary, exit 128+signal
        if args.friend:
            if args.keep:
                raise InvalidArgumentError("--keep cannot be used with --friend (a friend holds only the score)")
            write_score_friend(args.input, args.model, args.output, args.name, tree=args.tree,
                               step_size=args.step_size, overwrite=args.overwrite, outputs=args.outputs)
        else:
            plan_outputs([args.output], [args.input, args.model], overwrite=args.overwrite)  # not an input, not a device
            # whole file, tree, entries > 0, the event identity the Snapshot writes
            with check_input(args.input, args.tree, keys=("run", "luminosityBlock", "event"), purpose="score") as checked:
                where = checked.where
            df = ROOT.RDataFrame(args.tree, str(args.input))
            missing = [c for c in args.keep if c not in [str(n) for n in df.GetColumnNames()]]
            if missing:
                raise InvalidArgumentError(f"--keep {missing[0]!r} is not a column of {where}")
            before = {str(c) for c in df.GetColumnNames()}
            scored = define_score(df, args.model, args.name, step_size=args.step_size, outputs=args.outputs)
            # the score column(s) (--outputs: <name>_<label>), or a per-object model's Jet_<name> (an RVec of nJet)
            added = [str(c) for c in scored.GetColumnNames() if str(c) not in before]
            cols = ["run", "luminosityBlock", "event", *added, *(k for k in args.keep if k not in added)]
            with atomic_output(args.output, overwrite=args.overwrite) as tmp:
                scored.Snapshot(args.tree, str(tmp), cols)
    except Terminated as err:
        print(f"error: {err}; no output was left under its final name", file=sys.stderr)
        return err.exit_code
    except HepfmError as err:  # the error family's exit code: 2 arguments, 3 input, 4 model/spec, 5 output
        print(f"error: {type(err).__name__}: {err}", file=sys.stderr)
        return err.exit_code
    finally:
        stack.close()
    logging.info("wrote %s in %.1f s", args.output, time.perf_counter() - t0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
