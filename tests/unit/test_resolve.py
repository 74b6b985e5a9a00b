"""Resolving logical names to the branches an input really has."""

from __future__ import annotations

import pytest

from hepfm_root.errors import BranchNotFoundError, CollectionNotFoundError
from hepfm_root.spec import load_spec, resolve

FOUR = ["pt", "eta", "phi", "mass"]


def names(*collections: str, extra: tuple[str, ...] = ()) -> list[str]:
    out = [f"{c}_{f}" for c in collections for f in FOUR] + list(extra)
    return out + ["run", "luminosityBlock", "event"]


def test_met_alias_and_tagger_fallback_are_reported():
    branches = names("Electron", "Muon", "Jet", extra=("PFMET_pt", "PFMET_phi", "Jet_btagPNetB"))
    res = resolve(load_spec("six_object", era="2022"), branches, where="Events of v15.root")
    assert res.blocks["met"][0].collection == "PFMET"
    assert res.blocks["bjet"][0].fields["btag"].branch == "Jet_btagPNetB"
    assert res.blocks["met"][0].fields["eta"].default == 0.0
    report = "\n".join(res.report())
    assert "met: PFMET" in report and "btag=Jet_btagPNetB" in report
    assert "btag btag_medium = 0.245 (btagPNetB, era 2022)" in report  # the fallback tagger's own working point
    assert res.event_keys == ("run", "luminosityBlock", "event")
    assert "Jet_btagPNetB" in res.branches() and "PFMET_pt" in res.branches()


def test_no_tagger_at_all_names_file_collection_and_candidates():
    branches = names("Electron", "Muon", "Jet", extra=("MET_pt", "MET_phi", "Jet_btagCSVV2"))
    with pytest.raises(BranchNotFoundError) as info:
        resolve(load_spec("six_object"), branches, where="Events of nano_v16.root")
    msg = str(info.value)
    assert "'Jet_btagDeepFlavB' not in Events of nano_v16.root" in msg
    assert "Jet_btagUParTAK4B" in msg and "Jet_btagPNetB" in msg  # the candidates
    assert "did you mean 'Jet_btagCSVV2'" in msg  # the nearest existing branch
    assert isinstance(info.value, KeyError)


def test_missing_collection_lists_candidates():
    branches = names("Electron", "Muon", "Jet", extra=("Jet_btagDeepFlavB", "CaloMET_pt", "CaloMET_phi"))
    with pytest.raises(CollectionNotFoundError, match=r"'MET' not in f.root \(looked for: MET, PFMET, PuppiMET\)"):
        resolve(load_spec("six_object"), branches, where="f.root")


def test_optional_source_absent_is_not_an_error():
    branches = names("Electron", "Muon", "Jet", extra=("MET_pt", "MET_phi", "Jet_btagDeepFlavB", "Electron_charge", "Muon_charge"))
    res = resolve(load_spec("event_graph"), branches, where="slim.root")
    photon = res.blocks["objects"][3]
    assert not photon.present
    assert "Photon" in "\n".join(res.report()) and "absent" in "\n".join(res.report())


def test_constituent_link_aliases():
    base = names("Jet", "PFCand", extra=("PFCand_charge", "PFCand_pdgId", "JetPFCand_jetIdx", "JetPFCand_pfCandIdx"))
    res = resolve(load_spec("jet_constituents"), base, where="v15-like")
    assert res.constituents.collection == "PFCand"
    assert res.link.fields["candidate_index"].branch == "JetPFCand_pfCandIdx"
