"""Corrections test data: configs for the real JERC file, and a small scale-factor file made with
correctionlib's own schema (shared by the awkward and RDataFrame tests)."""

from __future__ import annotations

import correctionlib.schemav2 as cs

JEC = "Summer22_22Sep2023_V3_MC_L1L2L3Res_AK4PFPuppi"
JES = "Summer22_22Sep2023_V3_MC_{source}_AK4PFPuppi"
JER_SF = "Summer22_22Sep2023_JRV1_MC_ScaleFactor_AK4PFPuppi"
JER_RES = "Summer22_22Sep2023_JRV1_MC_PtResolution_AK4PFPuppi"


def jerc_config(sample, **jets) -> dict:
    base = {"jec": JEC, "jes": {"key": JES, "sources": ["Total", "Regrouped_Absolute"]},
            "jer": {"scale_factor": JER_SF, "resolution": JER_RES, "seed": 7}}
    return {"schema_version": 1, "file": str(sample("jet_jerc_Summer22_V3.json.gz")), "jets": {**base, **jets}}


def muon_sf_file(path):
    sf = cs.Correction(
        name="muon_sf", version=1,
        inputs=[cs.Variable(name="eta", type="real"), cs.Variable(name="pt", type="real"),
                cs.Variable(name="syst", type="string")],
        output=cs.Variable(name="weight", type="real"),
        data=cs.Category(nodetype="category", input="syst", content=[
            cs.CategoryItem(key="nominal", value=cs.MultiBinning(
                nodetype="multibinning", inputs=["eta", "pt"], edges=[[-2.4, 0.0, 2.4], [10.0, 30.0, 1000.0]],
                content=[0.97, 0.99, 0.95, 1.02], flow="clamp")),
        ]))
    ev = cs.Correction(name="flat", version=1, inputs=[cs.Variable(name="npvs", type="int")],
                       output=cs.Variable(name="w", type="real"),
                       data=cs.Binning(nodetype="binning", input="npvs", edges=[0, 30, 1000], content=[1.1, 0.9],
                                       flow="clamp"))
    path.write_text(cs.CorrectionSet(schema_version=2, corrections=[sf, ev]).model_dump_json(exclude_unset=True))
    return path


def weights_config(path) -> dict:
    return {"schema_version": 1, "file": str(path), "weights": [
        {"name": "muon", "correction": "muon_sf", "collection": "Muon",
         "cuts": [{"branch": "Muon_pt", "op": ">", "value": 15}, {"branch": "Muon_eta", "op": "<", "value": 2.4},
                  {"branch": "Muon_eta", "op": ">", "value": -2.4}],
         "inputs": {"eta": "Muon_eta", "pt": "Muon_pt", "syst": "nominal"}},
        {"name": "pileup", "correction": "flat", "inputs": {"npvs": "PV_npvs"}}]}
