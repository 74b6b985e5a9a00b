"""``score_views``: every scorer on every view, keyed by (model, view), equal to scoring each by hand."""

from __future__ import annotations

import numpy as np
import uproot
from _corrections_data import jerc_config
from _files import SHIPPED_MODEL

from hepfm_root.corrections import NOMINAL, Corrector
from hepfm_root.infer import Scorer, score_views
from hepfm_root.spec import resolve
from hepfm_root.tensors import tensorize


def test_score_views_equals_each_scorer_on_each_view_by_hand(sample):
    path = sample("nano_tt_v12.root")
    events = uproot.open(path)["Events"].arrays()
    views = Corrector(jerc_config(sample)).apply(events, ["jes_Total_up", "jer_down"])
    scorers = {"v01": Scorer(SHIPPED_MODEL), "v02": Scorer(SHIPPED_MODEL.parent / "0.2")}
    timings: dict[str, float] = {}
    got = score_views(views, scorers, where=path.name, timings=timings)
    assert list(got) == [(m, v) for m in scorers for v in (NOMINAL, "jes_Total_up", "jer_down")]
    for (m, v), scores in got.items():
        expected = scorers[m].score(tensorize(views[v], scorers[m].spec))
        np.testing.assert_array_equal(scores, expected, err_msg=f"{m} {v}")
        assert scores.dtype == np.float32 and len(scores) == len(events)
    assert not np.array_equal(got["v01", NOMINAL], got["v01", "jes_Total_up"], equal_nan=True)  # the views differ
    assert set(timings) == {"tensorize", "inference"} and min(timings.values()) > 0

    # Resolutions bound once (as skim-and-score does per input) give the very same scores.
    names = uproot.open(path)["Events"].keys()
    bound = {m: resolve(s.spec, names, where=path.name) for m, s in scorers.items()}
    again = score_views(views, scorers, resolutions=bound, where=path.name)
    assert all(np.array_equal(again[k], got[k], equal_nan=True) for k in got)
