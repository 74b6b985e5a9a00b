"""Processor throughput with and without scoring, and the model's own inference time (run by hand).

    python3 tests/benchmarks/bench_coffea.py --events 100000            # generates ttbar_semilep once
    python3 tests/benchmarks/bench_coffea.py --input big.root           # or takes a NanoAOD(-schema) file

Runs ``HistogramProcessor`` on one core with coffea's ``Runner(IterativeExecutor())`` (virtual
NanoEvents, chunks of ``--chunk`` events) twice: with the shipped six-object model, and with
a model-free variant (same selection and histogram filling of a constant) — and times the
model's own inference (``Scorer.predict``) on the very tensors of the scored run.  The
scoring overhead is (t_with - t_without - t_inference) / t_inference.

The named peer: the same processor with the score made the way coffea's own docs do it — a
``coffea.ml_tools.torch_wrapper`` around a TorchScript trace of the same model, fed by the
six-object tensor written by hand (``peers/six_object_by_hand.py``) for the events the
six-object selection keeps.  Its scores are checked against ``add_scores`` on one chunk
(within 1e-5: torch and ONNX Runtime round differently) before its time is reported as
``hepfm_over_torch_wrapper_time``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent / "peers"))

MODEL = ROOT / "exports" / "six_object_heavy_higgs_vs_ttbar" / "0.1"


def tempfile_dir() -> str:
    import atexit
    import shutil
    import tempfile

    d = tempfile.mkdtemp(prefix="bench_coffea_peer_")
    atexit.register(shutil.rmtree, d, ignore_errors=True)
    return d


def _torchscript(checkpoint: Path, out: Path) -> str:
    """A TorchScript trace of the shipped model giving P(signal), as a user would make for torch_wrapper."""
    import torch

    from hepfm_root.models import load_checkpoint

    ck = load_checkpoint(checkpoint)
    model = ck.build().eval()
    index = ck.labels.index(ck.score_label)

    class Prob(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, objects: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            return torch.softmax(self.model(objects, mask), dim=-1)[:, index]

    example = ck.example
    with torch.no_grad():
        traced = torch.jit.trace(Prob(), (torch.from_numpy(example["objects"][:8]), torch.from_numpy(example["mask"][:8])))
    traced.save(str(out))
    return str(out)


def _peer_scores(events, wrapper):  # noqa: ANN001, ANN202
    import awkward as ak
    import numpy as np
    from six_object_by_hand import six_object

    objects, mask, ok = six_object(events.Electron, events.Muon, events.MET.pt, events.MET.phi, events.Jet)
    out = np.full(len(objects), np.nan, np.float32)
    if ok.any():
        out[ok] = ak.to_numpy(wrapper(ak.from_numpy(objects[ok]), ak.from_numpy(mask[ok])))
    return ak.mask(ak.Array(out), ~np.isnan(out))


def _peer_wrapper(torchscript: str):  # noqa: ANN202
    """coffea's torch_wrapper around the TorchScript file, fed the hand-built (objects, mask) as they are."""
    from coffea.ml_tools import torch_wrapper

    class Identity(torch_wrapper):
        def prepare_awkward(self, objects, mask):  # noqa: ANN001, ANN202
            return (objects, mask), {}

    return Identity(torchscript)


def _torch_wrapper_processor(base, torchscript: str):  # noqa: ANN001, ANN202
    wrapper = _peer_wrapper(torchscript)

    class TorchWrapperPeer(base):
        """The same processor; the score from coffea's torch_wrapper on hand-built tensors."""

        def _scores(self, selected, dataset):  # noqa: ANN001, ANN202
            return {"hh": _peer_scores(selected, wrapper)}

    return TorchWrapperPeer


def _check_peer(path: str, scorer, torchscript: str) -> None:  # noqa: ANN001
    import numpy as np
    from coffea.nanoevents import NanoAODSchema, NanoEventsFactory

    from hepfm_root.coffea import add_scores

    events = NanoEventsFactory.from_root({path: "Events"}, schemaclass=NanoAODSchema, mode="eager",
                                         entry_stop=2000).events()
    ours = np.asarray(add_scores(events, scorer, missing="nan"), dtype=np.float64)
    theirs = np.asarray(ak_fill_nan(_peer_scores(events, _peer_wrapper(torchscript))), dtype=np.float64)
    if not np.allclose(ours, theirs, atol=1e-5, equal_nan=True):
        raise SystemExit(f"the torch_wrapper peer's scores differ from add_scores: max |diff| "
                         f"{np.nanmax(np.abs(ours - theirs)):.2e}")
    print(f"torch_wrapper peer: scores equal to add_scores within 1e-5 on {len(events)} events")


def ak_fill_nan(a):  # noqa: ANN001, ANN202
    import awkward as ak

    return ak.to_numpy(ak.fill_none(a, float("nan")))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--input", type=Path)
    ap.add_argument("--chunk", type=int, default=50_000)
    ap.add_argument("--copies", type=int, default=1,
                    help="run over this many copies of the input (e.g. 9 x a 12k-event generated file >= 10^5 events)")
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--cache", type=Path, default=Path(os.environ.get("HEPFM_CACHE_DIR", Path.home() / ".cache" / "hepfm_root")))
    args = ap.parse_args()

    import warnings

    warnings.simplefilter("ignore")  # coffea's cross-reference notices
    import awkward as ak
    import numpy as np
    from coffea.nanoevents import NanoAODSchema
    from coffea.processor import IterativeExecutor, Runner

    from hepfm_root import Tensors, tensorize
    from hepfm_root.coffea import check_fileset, runner_fileset
    from hepfm_root.infer import Scorer
    from hepfm_root.processors import HistogramProcessor, ObjectCut

    NanoAODSchema.warn_missing_crossrefs = False
    path = args.input
    if path is None:
        path = args.cache / f"bench_ttbar_semilep_{args.events}.root"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            print(f"generating {args.events} events into {path} (Pythia 8, ~100 events/s/core) ...", flush=True)
            subprocess.run([sys.executable, "-m", "hepfm_root.cli", "generate", "--process", "ttbar_semilep",
                            "--events", str(args.events), "--seed", "1", "--jobs", str(os.cpu_count() or 1),
                            "-o", str(path)], check=True, cwd=ROOT)

    paths = [str(path)]
    if args.copies > 1:
        import atexit
        import shutil
        import tempfile

        tmp = Path(tempfile.mkdtemp(prefix="bench_coffea_"))
        atexit.register(shutil.rmtree, tmp, ignore_errors=True)
        paths = []
        for i in range(args.copies):
            paths.append(str(tmp / f"{path.stem}_{i}.root"))
            shutil.copy(path, paths[-1])

    scorer = Scorer(MODEL, threads=1)
    selection = [ObjectCut("Jet", min_count=2, pt_min=20.0, abs_eta_max=2.5)]
    with_model = HistogramProcessor({"hh": scorer}, selection=selection)
    checked, report = check_fileset({"ttbar": paths}, with_model.specs, step_size=args.chunk)
    n = sum(report.events["ttbar"].values())

    class NoScore(HistogramProcessor):
        """Same selection and hist filling, a constant instead of the model (the baseline)."""

        def _scores(self, selected, dataset):
            return {"hh": ak.zeros_like(selected.run, dtype=np.float32)}

    without = NoScore({"hh": scorer}, selection=selection)
    peer_model = _torchscript(MODEL / "model.pt", Path(tempfile_dir()) / "six_object_hh.pt")
    wrapper_peer = _torch_wrapper_processor(HistogramProcessor, peer_model)({"hh": scorer}, selection=selection)
    _check_peer(paths[0], scorer, peer_model)
    runner = Runner(IterativeExecutor(status=False), chunksize=args.chunk)
    fs = runner_fileset(checked)
    runner(fs, with_model)  # warm-up: file cache, session, imports
    times = {}
    for name, proc in (("without scoring", without), ("with scoring", with_model), ("torch_wrapper peer", wrapper_peer)):
        t0 = time.perf_counter()
        out = runner(fs, proc)
        times[name] = time.perf_counter() - t0
    n_scored = out["ttbar"]["scored"]["n_scored"]["hh"]

    # the model's own time on the same events: tensors of the selected events, predict() on the spec-selected ones
    import uproot

    from hepfm_root.spec import resolve

    tree = uproot.open(path)["Events"]
    res = resolve(scorer.spec, tree.keys(), where=str(path))
    t = tensorize(tree.arrays(res.branches() + ["nJet"]), scorer.spec, resolution=res)
    jets_ok = ak.sum((tree["Jet_pt"].array() > 20.0) & (abs(tree["Jet_eta"].array()) < 2.5), axis=1) >= 2
    t = Tensors.concatenate([t.take(ak.to_numpy(jets_ok))] * len(paths))
    t0 = time.perf_counter()
    scorer.predict(t)
    t_inf = time.perf_counter() - t0

    print(f"\n{len(paths)} x {path.name}: {n} events, {n_scored} scored, chunk {args.chunk}, "
          "1 core (OMP_NUM_THREADS=1, ORT threads=1)")
    for name, dt in times.items():
        print(f"  processor {name:16s}: {dt:7.2f} s  {n / dt:10.0f} events/s")
    extra = times["with scoring"] - times["without scoring"]
    print(f"  model inference alone       : {t_inf:7.2f} s  {n_scored / t_inf:10.0f} scored events/s")
    print(f"  scoring cost in the processor: {extra:.2f} s = inference {t_inf:.2f} s + overhead {extra - t_inf:.2f} s "
          f"({100 * (extra - t_inf) / t_inf:+.1f} % of inference)")
    if args.json:
        import json

        args.json.write_text(json.dumps({
            "events": n, "scored": int(n_scored), "chunk": args.chunk, "files": len(paths),
            "without_scoring_events_per_s": n / times["without scoring"], "with_scoring_events_per_s": n / times["with scoring"],
            "inference_seconds": t_inf, "inference_scored_events_per_s": n_scored / t_inf,
            "scoring_overhead_over_inference": (extra - t_inf) / t_inf,
            "with_over_without_time": times["with scoring"] / times["without scoring"],
            "torch_wrapper_peer_events_per_s": n / times["torch_wrapper peer"],
            "hepfm_over_torch_wrapper_time": times["with scoring"] / times["torch_wrapper peer"],
        }, indent=2))


if __name__ == "__main__":
    main()
