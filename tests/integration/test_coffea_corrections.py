"""HistogramProcessor with corrections: one ``systematic`` category per variation, scale factors as weights."""

from __future__ import annotations

import gzip
import json
import pickle

import awkward as ak
import numpy as np
import pytest
import uproot
from _corrections_data import jerc_config, muon_sf_file, weights_config
from _files import SHIPPED_MODEL

from hepfm_root.corrections import Corrector
from hepfm_root.infer import Scorer
from hepfm_root.tensors import tensorize

MODEL = SHIPPED_MODEL


def test_processor_fills_one_category_per_variation_with_weights(sample, tmp_path):
    from coffea.nanoevents import NanoAODSchema
    from coffea.processor import IterativeExecutor, Runner

    from hepfm_root.processors import HistogramProcessor

    NanoAODSchema.warn_missing_crossrefs = False
    cfg = jerc_config(sample)
    jerc = json.loads(gzip.open(cfg["file"], "rt").read())
    jerc["corrections"] += json.loads(muon_sf_file(tmp_path / "sf.json").read_text())["corrections"]
    with gzip.open(tmp_path / "merged.json.gz", "wt") as f:
        json.dump(jerc, f)
    cfg = {**cfg, "file": str(tmp_path / "merged.json.gz"), "weights": weights_config("x")["weights"]}
    proc = HistogramProcessor({"hh": str(MODEL)}, corrections=cfg, variations=["jes_Total_up", "jes_Total_down"])
    proc = pickle.loads(pickle.dumps(proc))  # what Runner does per chunk; no correction set travels
    path = str(sample("nano_tt_v12.root"))
    out = Runner(IterativeExecutor(status=False), chunksize=70, schema=NanoAODSchema)({"tt": {"files": {path: "Events"}}}, proc)
    h = out["tt"]["scored"]["hist"]["hh"]
    assert sorted(h.axes["systematic"]) == ["jes_Total_down", "jes_Total_up", "nominal"]

    events = uproot.open(path)["Events"].arrays()
    corr = Corrector(cfg)
    views = corr.apply(events, ["jes_Total_up"])
    w = corr.weights(events)
    weight = w["weight_muon"] * w["weight_pileup"]
    scorer = Scorer(MODEL)
    for v in ("nominal", "jes_Total_up"):
        s = scorer.score(tensorize(views[v], scorer.spec))
        ok = np.isfinite(s)
        expected, _ = np.histogram(s[ok], bins=50, range=(0, 1), weights=weight[ok])
        got = h[{"dataset": "tt", "systematic": v}].values()
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-9, err_msg=v)
    assert out["tt"]["scored"]["n_scored"]["hh"] == int(np.isfinite(scorer.score(tensorize(views["nominal"], scorer.spec))).sum())
    nominal = h[{"dataset": "tt", "systematic": "nominal"}].values()
    assert not np.allclose(nominal, h[{"dataset": "tt", "systematic": "jes_Total_up"}].values())
    assert ak.sum(ak.num(events.Jet_pt)) > 0


def test_processor_with_corrections_refuses_dask_events_naming_the_runner(sample):
    from coffea.nanoevents import NanoAODSchema, NanoEventsFactory

    from hepfm_root.errors import InvalidArgumentError
    from hepfm_root.processors import HistogramProcessor

    NanoAODSchema.warn_missing_crossrefs = False
    proc = HistogramProcessor({"hh": str(MODEL)}, corrections=jerc_config(sample), variations=["jes_Total_up"])
    events = NanoEventsFactory.from_root({str(sample("nano_tt_v12.root")): "Events"}, schemaclass=NanoAODSchema,
                                         mode="dask", metadata={"dataset": "tt"}).events()
    with pytest.raises(InvalidArgumentError, match=r"corrections run per chunk with coffea\.processor\.Runner.*skim-and-score"):
        proc.process(events)
