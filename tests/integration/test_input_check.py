"""The one input check (``io.check_input``): one result, one error per bad input, the same in every scoring job.

``skim-and-score``, ``write_score_friend`` and the coffea fileset check all run it, so a bad file is refused
by all three with the same error class and the same message, before any event is read.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import uproot
from _corrections_data import jerc_config
from _files import SHIPPED_MODEL, mktree_columns

from hepfm_root import load_spec
from hepfm_root.coffea import check_fileset
from hepfm_root.corrections import Binding, Corrector
from hepfm_root.errors import (
    BranchNotFoundError,
    CorrectionNotFoundError,
    EmptyInputError,
    HepfmError,
    InvalidInputFileError,
    TreeNotFoundError,
)
from hepfm_root.io import CheckedInput, check_input
from hepfm_root.skim import SkimOptions, skim_and_score

KEYS = ("run", "luminosityBlock", "event")
SIX = load_spec(SHIPPED_MODEL / "spec.json")   # the shipped model's own spec (six_object 1.0)


@pytest.fixture(scope="module")
def bad(tmp_path_factory, sample) -> dict[str, Path]:
    """One file per way an input can be bad (and the good one, ``tt``)."""
    d = tmp_path_factory.mktemp("bad_inputs")
    tt = sample("nano_tt_v12.root")
    files = {"tt": tt, "missing": d / "missing.root", "text": d / "text.root", "truncated": d / "truncated.root",
             "no_tree": d / "no_tree.root", "empty": sample("nano_dy_empty.root"), "no_keys": d / "no_keys.root",
             "no_btag": d / "no_btag.root"}
    files["text"].write_text("run,event\n1,2\n")
    files["truncated"].write_bytes(tt.read_bytes()[: tt.stat().st_size // 2])
    with uproot.recreate(files["no_tree"]) as f:
        f["Other"] = {"x": [1, 2, 3]}
    events = uproot.open(tt)["Events"]
    six = [b for b in events.keys() if b.split("_")[0] in ("MET", "Jet", "Electron", "Muon") and "_" in b
           and b.split("_")[1] in ("pt", "eta", "phi", "mass", "btagDeepFlavB")]
    for name, drop in (("no_keys", {"run"}), ("no_btag", {"Jet_btagDeepFlavB"})):
        branches = [b for b in [*KEYS, *six] if b not in drop]
        cols = mktree_columns(events.arrays(branches))
        with uproot.recreate(files[name]) as f:  # NanoAOD naming (nJet, Jet_pt)
            types = {k: (v.dtype if isinstance(v, np.ndarray) else v.type) for k, v in cols.items()}
            f.mktree("Events", types, field_name=lambda o, i: f"{o}_{i}")
            f["Events"].extend(cols)
    return files


def test_the_check_returns_one_open_result_with_entries_branches_resolutions_and_binding(bad, sample):
    corrector = Corrector(jerc_config(sample))
    with check_input(bad["tt"], specs=[SIX, load_spec("six_object")], keys=KEYS, corrector=corrector) as checked:
        assert isinstance(checked, CheckedInput)
        assert (checked.entries, checked.where, checked.tree, checked.path) == (200, "Events of nano_tt_v12.root",
                                                                               "Events", Path(bad["tt"]))
        assert set(KEYS) <= set(checked.branches) and "Jet_btagDeepFlavB" in checked.branches
        assert [r.spec.name for r in checked.resolutions] == ["six_object", "six_object"]
        assert isinstance(checked.binding, Binding)
        assert len(checked.input.read(["run"], 0, 5)) == 5  # still open: the job reads from it
    assert check_input(bad["tt"]).binding is None  # no corrector: nothing bound


#: (bad file, what the check is asked for, error class, words of the one-line message)
CASES = [
    ("missing", {}, InvalidInputFileError, "missing.root"),
    ("text", {}, InvalidInputFileError, "text.root"),
    ("truncated", {}, InvalidInputFileError, "truncated.root"),
    ("no_tree", {}, TreeNotFoundError, "no tree 'Events' in no_tree.root (it has: Other)"),
    ("empty", {}, EmptyInputError, "Events of nano_dy_empty.root has 0 entries; expected events to score"),
    ("no_keys", {"keys": KEYS}, BranchNotFoundError, "'run' not in Events of no_keys.root (events are joined by run"),
    ("no_btag", {"specs": [SIX]}, BranchNotFoundError, "not in Events of no_btag.root"),
]


@pytest.mark.parametrize(("name", "asked", "cls", "words"), CASES, ids=[c[0] for c in CASES])
def test_each_bad_input_is_one_error_naming_the_file_and_leaves_no_file_open(bad, name, asked, cls, words):
    fds = len(os.listdir("/proc/self/fd"))
    for _ in range(3):
        with pytest.raises(cls) as err:
            check_input(bad[name], **asked)
        assert words in str(err.value) and "\n" not in str(err.value), str(err.value)
    assert len(os.listdir("/proc/self/fd")) == fds  # a failed check closed what it opened


def test_corrections_that_do_not_bind_are_refused_alike_by_the_check_the_skim_and_the_fileset_check(
        bad, sample, tmp_path):
    cfg = jerc_config(sample)
    cfg["jets"]["jec"] = cfg["jets"]["jec"] + "_typo"
    corrector = Corrector(cfg)  # the key is checked against an input's branches and the file when bound
    want = _error(lambda: check_input(bad["tt"], corrector=corrector))
    assert isinstance(want, CorrectionNotFoundError) and "_typo" in str(want)
    skim = _error(lambda: skim_and_score([bad["tt"]], [SHIPPED_MODEL], tmp_path / "s.root",
                                         SkimOptions(corrections=cfg)))
    fileset = _error(lambda: check_fileset({"d": [str(bad["tt"])]}, [SIX], corrector=corrector))
    assert (type(skim), str(skim)) == (type(fileset), str(fileset)) == (type(want), str(want))
    _, report = check_fileset({"d": [str(bad["tt"])]}, [SIX], corrector=corrector, skip_bad_files=True)
    assert [b.error for b in report.bad] == [str(want)]
    assert list(tmp_path.iterdir()) == []


def _error(call) -> HepfmError:
    with pytest.raises(HepfmError) as err:
        call()
    return err.value


@pytest.mark.parametrize("name", ["missing", "truncated", "no_tree", "empty", "no_btag"])
def test_skim_friend_and_fileset_check_refuse_a_bad_file_with_the_checks_error(bad, tmp_path, name):
    from hepfm_root.rdf import write_score_friend

    path = bad[name]
    want = _error(lambda: check_input(path, specs=[SIX]))
    got = {
        "skim-and-score": _error(lambda: skim_and_score([path], [SHIPPED_MODEL], tmp_path / "s.root", SkimOptions())),
        "write_score_friend": _error(lambda: write_score_friend(path, SHIPPED_MODEL, tmp_path / "f.root")),
        "check_fileset": _error(lambda: check_fileset({"d": [str(path)]}, [SIX])),
    }
    for job, err in got.items():
        assert type(err) is type(want), job
        # the same message, but for what the events were for ("skim" / "score")
        assert str(err).replace("to skim", "to score") == str(want), job
    assert list(tmp_path.iterdir()) == []
