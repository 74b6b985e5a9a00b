"""Real Pythia 8 + fastjet generation: every process, determinism, readers, tensorize, CLI.

The generate extra (pythia8mc, fastjet) is part of ``.[all]``; without it these tests fail
with the install hint rather than skip.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import time
import warnings

import awkward as ak
import numpy as np
import pytest
import uproot
from click.testing import CliRunner

import hepfm_root
from hepfm_root.cli import cli
from hepfm_root.errors import GenerationError
from hepfm_root.generate import PROCESSES, generate
from hepfm_root.generate._processes import COMMON_SETTINGS
from hepfm_root.generate._pythia import PythiaBlockGenerator


@pytest.fixture(scope="module")
def tt_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("gen") / "tt.root"
    generate("ttbar_semilep", 60, path, seed=11, events_per_block=25)   # 3 blocks: 25, 25, 10
    return path


@pytest.fixture(scope="module")
def hh_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("gen") / "hh.root"
    generate("resonance_hh_4b", 20, path, seed=4)   # AK8 process: FatJetPFCands as well
    return path


@pytest.mark.parametrize("name", sorted(PROCESSES))
def test_every_process_generates(tmp_path, name):
    out = tmp_path / f"{name}.root"
    generate(name, 12, out, seed=3)
    tree = uproot.open(out)["Events"]
    assert tree.num_entries == 12
    a = tree.arrays(["hepfm_process", "event", "nJet", "nGenPart", "MET_pt"])
    assert set(a.hepfm_process.tolist()) == {PROCESSES[name].code}
    assert a.event.tolist() == list(range(1, 13))
    assert ak.all(a.nGenPart > 0) and ak.all(np.isfinite(a.MET_pt))
    assert "FatJet_msoftdrop" in tree.keys() and "GenJetAK8_pt" in tree.keys()   # every file, as NanoAOD
    assert ("FatJetPFCands_jetIdx" in tree.keys()) == PROCESSES[name].large_r      # constituents on request
    assert "Jet_btagDeepFlavB" in tree.keys() and "JetPFCands_pFCandsIdx" in tree.keys()


def test_branch_types_follow_nanoaod(tt_file):
    tree = uproot.open(tt_file)["Events"]
    dtype = {k: ak.flatten(tree[k].array(), axis=None).to_numpy().dtype for k in tree.keys()}
    assert (dtype["run"], dtype["luminosityBlock"], dtype["event"]) == (np.uint32, np.uint32, np.uint64)
    for name in ("Electron_charge", "Muon_charge", "Muon_pdgId", "PFCands_pdgId", "JetPFCands_jetIdx",
                 "JetPFCands_pFCandsIdx", "GenPart_genPartIdxMother", "Jet_hadronFlavour", "LowPtElectron_charge"):
        assert dtype[name] == np.int32, name
    # the links added for coffea's cross-references: int16, as in NanoAOD v15
    for name in ("Jet_genJetIdx", "FatJet_genJetAK8Idx", "FatJet_subJetIdx1", "FatJet_subJetIdx2", "Tau_jetIdx",
                 "Tau_genPartIdx", "GenVisTau_genPartIdxMother", "FsrPhoton_muonIdx", "Muon_fsrPhotonIdx",
                 "LowPtElectron_electronIdx", "LowPtElectron_genPartIdx", "LowPtElectron_photonIdx",
                 "GenJet_partonFlavour", "Tau_charge", "GenVisTau_charge"):
        assert dtype[name] == np.int16, name
    for name in ("GenJet_hadronFlavour", "Tau_decayMode", "GenVisTau_status", "Tau_genPartFlav"):
        assert dtype[name] == np.uint8, name
    assert dtype["Jet_rawFactor"] == dtype["FatJet_msoftdrop"] == np.float32
    a = tree.arrays()
    # links are event-local and point inside their targets
    assert ak.all(ak.max(a.JetPFCands_pFCandsIdx, axis=1, mask_identity=False) < a.nPFCands)
    assert ak.all(ak.max(a.JetPFCands_jetIdx, axis=1, mask_identity=False) < a.nJet)
    assert ak.all(ak.sum(a.Jet_nConstituents, axis=1) == a.nJetPFCands)
    assert ak.all(ak.max(a.GenPart_genPartIdxMother, axis=1, mask_identity=False) < a.nGenPart)
    assert ak.all(a.Jet_pt[:, :-1] >= a.Jet_pt[:, 1:])          # pT-ordered, as NanoAOD
    assert set(np.abs(ak.flatten(a.PFCands_pdgId)).tolist()) <= {11, 13, 22, 130, 211}
    # semileptonic tt̄ truth: two last-copy tops per event, W daughters of tops
    meta = uproot.open(tt_file)["hepfm_generate"]
    assert '"process": "ttbar_semilep"' in str(meta)


def _read_all(path) -> dict[str, np.ndarray]:
    tree = uproot.open(path)["Events"]
    out = {}
    for k in tree.keys():
        v = tree[k].array()
        out[k] = ak.flatten(v).to_numpy() if v.ndim > 1 else v.to_numpy()
    return out


def test_same_seed_same_content_any_jobs(tmp_path, tt_file):
    again = tmp_path / "again.root"
    parallel = tmp_path / "parallel.root"
    generate("ttbar_semilep", 60, again, seed=11, events_per_block=25)
    generate("ttbar_semilep", 60, parallel, seed=11, events_per_block=25, jobs=2)
    ref = _read_all(tt_file)
    for other in (again, parallel):
        got = _read_all(other)
        assert got.keys() == ref.keys()
        for k in ref:
            np.testing.assert_array_equal(got[k], ref[k], err_msg=k)
    different = tmp_path / "other_seed.root"
    generate("ttbar_semilep", 60, different, seed=12, events_per_block=25)
    assert not np.array_equal(_read_all(different)["Jet_pt"][:50], ref["Jet_pt"][:50])


def _open_strict(path, monkeypatch):
    """NanoEvents with every coffea warning an error (as a full real NanoAOD v15 file opens)."""
    from coffea.nanoevents import NanoAODSchema, NanoEventsFactory

    monkeypatch.setattr(NanoAODSchema, "warn_missing_crossrefs", True)   # other tests switch it off globally
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return NanoEventsFactory.from_root({str(path): "Events"}, schemaclass=NanoAODSchema, mode="eager").events()


def _check_links(events):
    """Every index branch points inside its target collection, and the targets are what they claim."""
    for source, field, target in [("Jet", "genJetIdx", "GenJet"), ("FatJet", "genJetAK8Idx", "GenJetAK8"),
                                  ("FatJet", "subJetIdx1", "SubJet"), ("FatJet", "subJetIdx2", "SubJet"),
                                  ("Tau", "jetIdx", "Jet"), ("GenVisTau", "genPartIdxMother", "GenPart"),
                                  ("FsrPhoton", "muonIdx", "Muon"), ("Muon", "fsrPhotonIdx", "FsrPhoton"),
                                  ("LowPtElectron", "electronIdx", "Electron"),
                                  ("LowPtElectron", "genPartIdx", "GenPart")]:
        idx = events[source][field]
        assert ak.all(ak.max(idx, axis=1, mask_identity=False) < ak.num(events[target])), (source, field)
        assert ak.all(idx >= -1), (source, field)
    assert set(np.abs(ak.flatten(events.GenVisTau.parent.pdgId)).tolist()) <= {15}
    assert set(np.abs(ak.flatten(events.LowPtElectron.matched_gen.pdgId)).tolist()) <= {11}
    genuine = events.Tau[events.Tau.genPartFlav == 5]
    assert ak.all(genuine.genPartIdx < ak.num(events.GenVisTau))    # NanoAOD: the GenVisTau index
    fat = events.FatJet
    assert ak.all(fat.msoftdrop <= fat.mass * (1 + 1e-5) + 1e-3)    # grooming only removes constituents
    two = fat[(fat.subJetIdx1 >= 0) & (fat.subJetIdx2 >= 0)]
    sd = (two.subjets[:, :, 0] + two.subjets[:, :, 1]).mass
    np.testing.assert_allclose(ak.flatten(sd).to_numpy(), ak.flatten(two.msoftdrop).to_numpy(), rtol=1e-3, atol=0.05)
    assert ak.all(events.Jet.rawFactor < 0.5) and ak.all(events.Jet.rawFactor > -0.5)


def test_coffea_nanoaod_schema(tt_file, monkeypatch):
    events = _open_strict(tt_file, monkeypatch)    # no warning at all, as for a real v15 file
    assert len(events) == 60
    _check_links(events)
    assert ak.sum(ak.num(events.GenJet)) > 60 * 4 and ak.mean(events.Jet.genJetIdx >= 0) > 0.9
    gen = events.GenPart
    tops = gen[(abs(gen.pdgId) == 6) & gen.hasFlags(["isLastCopy"])]
    assert ak.all(ak.num(tops) == 2)          # exactly one last copy of each top (radiating copies are not last)
    w_from_top = gen[(abs(gen.pdgId) == 24) & (abs(gen.distinctParent.pdgId) == 6)]
    assert ak.all(ak.num(w_from_top) >= 2)
    ele = ak.flatten(events.Electron.matched_gen.pdgId)
    assert ak.all(ele == ak.flatten(events.Electron.pdgId))     # genPartIdx points at the very electron
    pf = events.PFCands[events.JetPFCands.pFCandsIdx]
    assert ak.all(ak.num(pf) == ak.sum(events.Jet.nConstituents, axis=1))


def test_coffea_nanoaod_schema_ak8_process(hh_file, monkeypatch):
    events = _open_strict(hh_file, monkeypatch)
    assert len(events) == 20
    _check_links(events)
    fat = events.FatJet
    assert ak.sum(ak.num(fat)) >= 20 and ak.mean(fat.genJetAK8Idx >= 0) > 0.9   # boosted H -> bb: ~2 per event
    assert ak.mean((fat.subJetIdx1 >= 0) & (fat.subJetIdx2 >= 0)) > 0.9
    assert 60 < float(np.median(ak.flatten(fat.msoftdrop[fat.nBHadrons >= 2]))) < 160   # H -> bb: groomed mass ~ m_H
    pf = events.PFCands[events.FatJetPFCands.pFCandsIdx]
    assert ak.all(ak.num(pf) == ak.sum(fat.nConstituents, axis=1))


def test_root_rdataframe_reads_it(tt_file):
    import ROOT  # the root extra is part of the test set-up
    tfile = ROOT.TFile.Open(str(tt_file))   # kept in a variable: PyROOT would collect it otherwise
    assert tfile.Get("Events").GetEntries() == 60
    df = ROOT.RDataFrame("Events", str(tt_file))
    total = df.Define("s", "Sum(Jet_pt)").Sum("s").GetValue()
    assert total == pytest.approx(float(ak.sum(uproot.open(tt_file)["Events"]["Jet_pt"].array())), rel=1e-5)
    tfile.Close()


@pytest.mark.parametrize("spec", ["six_object", "event_graph", "jet_constituents"])
def test_builtin_specs_tensorize_it(tt_file, spec):
    s = hepfm_root.load_spec(spec)
    arrays = uproot.open(tt_file)["Events"].arrays()
    t = hepfm_root.tensorize(arrays, s)
    assert len(t) == 60 and np.isfinite(t.objects).all()
    assert t.mask.any(axis=1).all()
    if spec == "six_object":
        assert 0.1 < t.selected.mean() < 0.6      # 1 lepton, 2 b-tags, 2 light jets: ~20 % of semileptonic tt̄
    if spec == "jet_constituents":
        assert t.constituent_mask.sum() > 60 * 5     # jets carry their PF candidates


def test_cli(tmp_path, tt_file):
    runner = CliRunner()
    res = runner.invoke(cli, ["generate", "--list"])
    assert res.exit_code == 0 and "ttbar_semilep" in res.output and "ttW" in res.output
    assert "heavy_higgs_whpm          23  gg → H⁰(mass) → W∓H±(charged_mass)" in res.output
    assert "[mass=425, charged_mass=325]" in res.output
    res = runner.invoke(cli, ["generate", "--process", "heavy_higgs_whpm", "--param", "mass=390", "--events", "5",
                              "-o", str(tmp_path / "closed.root")])
    assert res.exit_code == 2 and "mass (390 GeV) must exceed charged_mass + m_W + 10 = 415.4 GeV" in res.output
    assert not (tmp_path / "closed.root").exists()
    res = runner.invoke(cli, ["generate", "--show-config"])
    assert res.exit_code == 0 and "working_point: 0.2783" in res.output
    out = tmp_path / "h.root"
    args = ["generate", "--process", "heavy_higgs_tt", "--param", "mass=650", "--events", "5", "--seed", "1", "-o", str(out), "-q"]
    res = runner.invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert '"mass": 650.0' in str(uproot.open(out)["hepfm_generate"])
    assert runner.invoke(cli, args).exit_code == 5                      # exists, no --overwrite
    res = runner.invoke(cli, ["generate", "--process", "ttbarr", "--events", "5", "-o", str(tmp_path / "x.root")])
    assert res.exit_code == 2 and "did you mean 'ttbar'" in res.output
    res = runner.invoke(cli, ["spec", "validate", "jet_constituents", "--against", str(tt_file)])
    assert res.exit_code == 0, res.output


#: One plain progress line of ``hepfm generate`` in a log (stderr not a terminal).
_PROGRESS_LINE = re.compile(r"generate ttbar_semilep: (?P<done>\d+)/60 events \(\d+%\), [\d,.]+ ev/s, "
                            r"elapsed \d+:\d\d:\d\d, (?P<end>ETA \d+:\d\d:\d\d|done)")


def test_cli_in_a_batch_log_prints_throttled_progress_lines_with_rate_and_eta_on_stderr(tmp_path):
    # a real subprocess with stderr piped, as in a batch job's log; 3 blocks of 20 events, lines every 0.2 s at most
    out = tmp_path / "g.root"
    env = {**os.environ, "HEPFM_PROGRESS_INTERVAL": "0.2"}
    argv = [sys.executable, "-m", "hepfm_root.cli", "generate", "--process", "ttbar_semilep", "--events", "60",
            "--events-per-block", "20", "--jobs", "1", "-o", str(out)]
    t0 = time.monotonic()
    res = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600, check=False)
    wall = time.monotonic() - t0
    assert res.returncode == 0, res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("generate ttbar_semilep:")]
    matches = [_PROGRESS_LINE.fullmatch(ln) for ln in lines]
    assert all(matches), lines
    assert matches[0]["done"] == "20" and matches[0]["end"].startswith("ETA")        # after the first block
    assert matches[-1]["done"] == "60" and matches[-1]["end"] == "done"               # the final line
    assert sum(m["end"] == "done" for m in matches) == 1
    assert 2 <= len(lines) <= wall / 0.2 + 2                                           # no flood
    assert "\x1b[" not in res.stderr                                                   # no terminal escapes in a log
    assert "ev/s" not in res.stdout and "generate ttbar_semilep" not in res.stdout     # stdout is for data
    assert uproot.open(out)["Events"].num_entries == 60


def test_failure_leaves_no_file(tmp_path):
    out = tmp_path / "bad.root"
    with pytest.raises(GenerationError, match="refused"):
        generate("ttbar", 5, out, pythia_settings=["Top:notASetting = on"])
    assert list(tmp_path.iterdir()) == []


#: Pythia's event check (energy-momentum conservation to 1e-13) rejects about 60 % of these
#: shower-only tt̄ events (measured: 25 of 40), so ``nextBatch`` returns short batches.
_FAILING_TTBAR = [*COMMON_SETTINGS, "Top:gg2ttbar = on", "Check:epTolErr = 1e-13",
                  "HadronLevel:all = off", "PartonLevel:MPI = off"]


def _record_arrays(rec):
    return {f: getattr(rec, f) for f in rec.__dataclass_fields__}


def test_block_tops_up_events_pythia_drops():
    raw = PythiaBlockGenerator(_FAILING_TTBAR, seed=5).pythia.nextBatch(40)
    assert len(raw) < 40                                   # the failure the top-up exists for
    first = PythiaBlockGenerator(_FAILING_TTBAR, seed=5).generate(40)
    again = PythiaBlockGenerator(_FAILING_TTBAR, seed=5).generate(40)
    assert first.n_events == 40 and len(first.weight) == 40
    assert first.offsets[-1] + first.counts[-1] == len(first.pdg_id)
    for name, values in _record_arrays(first).items():
        np.testing.assert_array_equal(_record_arrays(again)[name], values, err_msg=name)
    other = PythiaBlockGenerator(_FAILING_TTBAR, seed=6).generate(40)
    assert not np.array_equal(other.px[:100], first.px[:100])


def test_block_that_keeps_failing_raises_generation_error():
    always_failing = [*_FAILING_TTBAR, "Check:epTolErr = 0"]    # no event passes an exact check
    with pytest.raises(GenerationError, match=r"failed 200 of 200 events \(got 0, needed 20\)"):
        PythiaBlockGenerator(always_failing, seed=5).generate(20)


def test_topped_up_file_has_every_event_for_any_jobs(tmp_path, caplog):
    # The full chain (hadronisation, emulation, writing) with about half of Pythia's events
    # failing: every block is complete, and the content is the same for one and two workers.
    settings = ["Check:epTolErr = 1e-13"]
    one, two = tmp_path / "one.root", tmp_path / "two.root"
    with caplog.at_level(logging.INFO, logger="hepfm_root.generate._pythia"):
        generate("ttbar", 24, one, seed=5, events_per_block=12, pythia_settings=settings)
    assert sum("topped the block up to 12" in r.getMessage() for r in caplog.records) == 2   # both blocks
    generate("ttbar", 24, two, seed=5, events_per_block=12, pythia_settings=settings, jobs=2)
    ref, got = _read_all(one), _read_all(two)
    assert uproot.open(one)["Events"].num_entries == 24
    assert ref["event"].tolist() == list(range(1, 25))
    assert got.keys() == ref.keys()
    for k in ref:
        np.testing.assert_array_equal(got[k], ref[k], err_msg=k)
