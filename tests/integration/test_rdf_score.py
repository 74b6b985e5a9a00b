"""``hepfm_root.rdf.define_score`` against ``Scorer.score`` on the awkward path, event by event.

Events are matched by (run, luminosityBlock, event): under ImplicitMT entries arrive in
no fixed order and ``rdfentry_`` is not the entry number.
"""

from __future__ import annotations

import numpy as np
import pytest
import ROOT  # the root extra is part of the test set-up; fail, never skip
import uproot
from _files import SHIPPED_MODEL

from hepfm_root import resolve, tensorize
from hepfm_root.errors import BranchNotFoundError, InvalidArgumentError
from hepfm_root.rdf import define_score  # noqa: E402

MODEL = SHIPPED_MODEL
KEYS = ["run", "luminosityBlock", "event"]
ATOL = 1e-6



@pytest.fixture(scope="module")
def reference(sample, scorer):
    """{(run, lumi, event): score} from the awkward path, plus the raw arrays."""
    path = sample("nano_tt_v12.root")
    tree = uproot.open(path)["Events"]
    res = resolve(scorer.spec, tree.keys(), where=f"Events of {path}")
    tz = tensorize(tree.arrays([*set(res.branches()) | set(KEYS)]), scorer.spec, resolution=res)
    keys = tree.arrays(KEYS, library="np")
    scores = scorer.score(tz)
    table = {tuple(int(keys[k][i]) for k in KEYS): float(scores[i]) for i in range(len(scores))}
    assert len(table) == len(scores) == 200
    assert 0 < np.isnan(scores).sum() < len(scores)  # both selected and rejected events
    return table


def _open(sample):
    f = ROOT.TFile.Open(str(sample("nano_tt_v12.root")))  # kept alive by the caller
    return f, ROOT.RDataFrame(f.Get("Events"))


def _assert_matches(keys, scores, reference):
    assert len(scores) > 0
    expected = np.array([reference[tuple(int(keys[k][i]) for k in KEYS)] for i in range(len(scores))])
    np.testing.assert_array_equal(np.isnan(scores), np.isnan(expected))
    ok = ~np.isnan(expected)
    np.testing.assert_allclose(np.asarray(scores, dtype=np.float64)[ok], expected[ok], rtol=0, atol=ATOL)


def test_score_column_equals_scorer_on_awkward_tensors(sample, scorer, reference, imt):
    f, df = _open(sample)
    out = define_score(df, MODEL)
    got = out.AsNumpy([*KEYS, "score"])
    assert len(got["score"]) == 200
    _assert_matches(got, got["score"], reference)
    # a ready Scorer gives the same column; another name and prefix are honoured
    got2 = define_score(df, scorer, "s2", prefix="x_").AsNumpy([*KEYS, "s2"])
    _assert_matches(got2, got2["s2"], reference)
    del f


def test_score_after_an_earlier_filter(sample, reference, imt):
    f, df = _open(sample)
    out = define_score(df.Filter("nJet >= 5"), MODEL).Filter("!std::isnan(score)")
    got = out.AsNumpy([*KEYS, "score", "nJet"])
    assert 0 < len(got["score"]) < 200 and (got["nJet"] >= 5).all()
    _assert_matches(got, got["score"], reference)
    del f


def test_score_in_histo1d_and_snapshot(sample, reference, imt, tmp_path):
    f, df = _open(sample)
    out = define_score(df, MODEL)
    expected = np.array([v for v in reference.values() if not np.isnan(v)])
    h = out.Filter("!std::isnan(score)").Histo1D(("h", "", 10, 0.0, 1.0), "score")
    assert h.GetEntries() == len(expected)
    counts, _ = np.histogram(expected, bins=10, range=(0.0, 1.0))
    np.testing.assert_array_equal([h.GetBinContent(i + 1) for i in range(10)], counts)

    target = tmp_path / "scored.root"
    out.Snapshot("Events", str(target), [*KEYS, "score"])
    back = uproot.open(target)["Events"].arrays([*KEYS, "score"], library="np")
    assert len(back["score"]) == 200
    _assert_matches(back, back["score"], reference)
    # and read back by ROOT (a fresh dataframe on the written file)
    again = ROOT.RDataFrame("Events", str(target)).AsNumpy([*KEYS, "score"])
    assert len(again["score"]) == 200
    _assert_matches(again, again["score"], reference)
    del f


def test_missing_branch_fails_before_the_event_loop(scorer):
    df = ROOT.RDataFrame(5).Define("run", "1u").Define("luminosityBlock", "1u").Define("event", "(ULong64_t)rdfentry_")
    with pytest.raises(BranchNotFoundError):
        define_score(df, scorer)
    with pytest.raises(BranchNotFoundError, match="luminosityBlock"):
        define_score(ROOT.RDataFrame(5).Define("run", "1u").Define("event", "1ull"), scorer)
    assert df.GetNRuns() == 0


def test_duplicate_event_ids_are_an_error(sample, scorer):
    path = str(sample("nano_tt_v12.root"))
    df = ROOT.RDataFrame("Events", [path, path])  # every event twice
    with pytest.raises(InvalidArgumentError, match="more than once"):
        define_score(df, scorer)


def test_scorer_options_only_with_a_path(sample, scorer):
    f, df = _open(sample)
    with pytest.raises(InvalidArgumentError, match="only when model is a path"):
        define_score(df, scorer, batch_size=7)
    with pytest.raises(InvalidArgumentError, match="already exists"):
        define_score(df.Define("score", "1.f"), scorer)
    del f
