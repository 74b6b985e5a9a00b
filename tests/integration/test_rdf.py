"""RDataFrame path (``hepfm_root.rdf``) against the awkward path, event by event.

Events are matched by (run, luminosityBlock, event) — under ImplicitMT entries
arrive in no fixed order and ``rdfentry_`` is not the entry number.
"""

from __future__ import annotations

import subprocess
import sys

import awkward as ak
import numpy as np
import pytest
import ROOT  # the root extra is part of the test set-up; fail, never skip
import uproot
from _files import clustered_copy, mktree_columns

from hepfm_root import load_spec, resolve, tensorize
from hepfm_root.errors import BranchNotFoundError, CollectionNotFoundError
from hepfm_root.rdf import define_objects  # noqa: E402
from hepfm_root.spec import spec_from_dict
from hepfm_root.tensors._cuts import CUT_OPS
from hepfm_root.tensors._derived import DERIVED
from hepfm_root.tensors._transforms import TRANSFORMS

ATOL = 1e-6
KEYS = ["run", "luminosityBlock", "event"]


def _stack(col, shape):
    return np.stack([np.asarray(v, dtype=np.asarray(v).dtype) for v in col]).reshape((len(col), *shape)) if len(col) \
        else np.zeros((0, *shape))


def rdf_tensors(path, spec, **kw):
    """{name: array} from the RDataFrame path, rows in the order the event loop delivered them."""
    spec = load_spec(spec)
    f = ROOT.TFile.Open(str(path))  # kept alive while the tree is in use
    df = define_objects(ROOT.RDataFrame(f.Get("Events")), spec, **kw)
    prefix = kw.get("prefix", "hepfm_")
    # where each kept row came from (collection id, index inside it): fields of the struct column
    df = df.Define("hepfm_test_sources", f"{prefix}tensors.sources").Define("hepfm_test_indices", f"{prefix}tensors.indices")
    df = df.Define("hepfm_test_sizes", f"{prefix}tensors.sizes")  # objects per collection (Tensors.collections)
    cols = ["hepfm_objects", "hepfm_mask", "hepfm_selected", "hepfm_test_sources", "hepfm_test_indices",
            "hepfm_test_sizes"]
    if spec.constituents is not None:
        cols += ["hepfm_constituents", "hepfm_constituent_mask"]
    if spec.n_event_features:
        cols.append("hepfm_event_features")
    got = df.AsNumpy([*KEYS, *cols])
    n_par = spec.block(spec.constituents.parent).max_objects if spec.constituents else 0
    shapes = {
        "hepfm_objects": (spec.n_objects, spec.n_features), "hepfm_mask": (spec.n_objects,),
        "hepfm_test_sources": (spec.n_objects,), "hepfm_test_indices": (spec.n_objects,),
        "hepfm_test_sizes": (len(got["hepfm_test_sizes"][0]) if len(got["hepfm_test_sizes"]) else 0,),
        "hepfm_constituents": (n_par, spec.constituents.max_constituents if spec.constituents else 0,
                               len(spec.constituent_feature_names)),
        "hepfm_constituent_mask": (n_par, spec.constituents.max_constituents if spec.constituents else 0),
        "hepfm_event_features": (spec.n_event_features,),
    }
    out = {k: np.asarray(got[k]) for k in [*KEYS, "hepfm_selected"]}
    out.update({k: _stack(got[k], shapes[k]) for k in cols if k in shapes})
    del f
    return out


def awkward_tensors(path, spec):
    tree = uproot.open(path)["Events"]
    res = resolve(load_spec(spec), tree.keys(), where=f"Events of {path}")
    return tensorize(tree.arrays(res.branches()), spec, resolution=res)


def _order(keys):
    idx = np.lexsort([np.asarray(keys[k], dtype=np.int64) for k in reversed(KEYS)])
    ids = np.stack([np.asarray(keys[k], dtype=np.int64)[idx] for k in KEYS], axis=1)
    assert len(np.unique(ids, axis=0)) == len(ids), "event ids must be unique to match events"
    return idx, ids


def assert_same(path, spec, atol=ATOL, **kw):
    spec = load_spec(spec)
    ref = awkward_tensors(path, spec)
    got = rdf_tensors(path, spec, **kw)
    ri, rids = _order(ref.keys)
    gi, gids = _order(got)
    np.testing.assert_array_equal(rids, gids)  # same events, matched by (run, lumi, event)
    n = len(ri)
    np.testing.assert_allclose(got["hepfm_objects"][gi], ref.objects[ri], rtol=0, atol=atol)
    np.testing.assert_array_equal(got["hepfm_mask"][gi], ref.mask[ri])
    np.testing.assert_array_equal(got["hepfm_selected"][gi].astype(bool), ref.selected[ri])
    # object provenance (Tensors.sources / indices): the same collection and index in both paths, bit for bit
    assert got["hepfm_test_sources"].dtype == ref.sources.dtype == np.int32
    np.testing.assert_array_equal(got["hepfm_test_sources"][gi], ref.sources[ri])
    np.testing.assert_array_equal(got["hepfm_test_indices"][gi], ref.indices[ri])
    np.testing.assert_array_equal(ref.sources[ri] >= 0, ref.mask[ri])
    sizes = np.stack([np.asarray(v)[ri] for v in ref.collections.values()], axis=1) if ref.collections else None
    if sizes is not None:  # objects of each collection per event (nJet), all of them, numbered as ``sources``
        np.testing.assert_array_equal(got["hepfm_test_sizes"][gi], sizes)
    if spec.constituents is not None:
        np.testing.assert_array_equal(got["hepfm_constituent_mask"][gi], ref.constituent_mask[ri])
        np.testing.assert_allclose(got["hepfm_constituents"][gi], ref.constituents[ri], rtol=0, atol=atol)
    if spec.n_event_features:
        assert ref.event_features.shape == (n, spec.n_event_features)
        np.testing.assert_allclose(got["hepfm_event_features"][gi], ref.event_features[ri], rtol=0, atol=atol)
    return n, ref


#: Every derived field, transform and cut operator of the formula tables (``hepfm_root/tensors``) that
#: the built-in specs leave out, so that the parity tests render each table entry in both paths
#: (``test_the_parity_specs_use_every_table_entry`` keeps it so).  Every cut removes some objects.
EVERY_OBJECT_FORMULA = {
    "schema_version": 1, "name": "every_formula", "object_types": ["jet", "electron", "muon"],
    "blocks": [
        {"name": "jets", "max_objects": 4, "sort_by": "energy", "sources": [
            {"collection": "Jet", "type": "jet", "defaults": {"charge": 0.0},
             "cuts": [{"field": "pt", "op": ">", "value": 20}, {"field": "abs_eta", "op": "<=", "value": 2.5},
                      {"field": "nMuons", "op": "!=", "value": 1}]},
        ]},
        {"name": "leptons", "max_objects": 3, "sort_by": "pz", "sources": [
            {"collection": "Electron", "type": "electron",
             "cuts": [{"field": "pt", "op": ">=", "value": 7}, {"field": "charge", "op": "==", "value": -1}]},
            {"collection": "Muon", "type": "muon",
             "cuts": [{"field": "pt", "op": "<", "value": 60}, {"field": "abs_eta", "op": "<", "value": 2.4}]},
        ]},
    ],
    "features": [
        "pt", "px", "py", {"name": "abs_pz", "transform": "abs", "field": "pz"}, "abs_eta",
        {"name": "log_e", "transform": "log", "field": "energy", "floor": 1.0},
        {"name": "log1p_e0", "transform": "log1p", "field": "energy_massless"},
        "sin_phi", "cos_phi",
        {"name": "forward", "transform": "step", "field": "eta", "threshold": 0.0},
        "one_hot(type)",
        {"name": "q", "transform": "one_hot", "field": "charge", "categories": [1], "use_abs": True, "other": True},
    ],
    "selection": {"min_objects": {"jets": 1}},
}


@pytest.mark.parametrize("name", ["nano_tt_v12.root", "nano_tt_v15.root", "nano_dy.root"])
@pytest.mark.parametrize("spec", ["six_object", "event_graph"])
def test_builtin_specs_match_awkward_on_real_nanoaod(sample, imt, name, spec):
    n, ref = assert_same(sample(name), spec)
    assert n == len(ref) > 0
    assert ref.mask.any()


@pytest.mark.parametrize(("name", "era"), [("nano_tt_v12.root", "2016preVFP"), ("nano_tt_v15.root", "2022EE")])
def test_six_object_at_another_era_matches_awkward_with_that_eras_working_point(sample, imt, name, era):
    spec = load_spec("six_object", era=era)
    n, ref = assert_same(sample(name), spec)  # the generated C++ and numpy cut at the same resolved value
    default = awkward_tensors(sample(name), "six_object")  # era 2018: 0.2783
    assert n == len(default) > 0 and not np.array_equal(ref.counts["bjet"], default.counts["bjet"])


#: The specs the parity tests compare on real files (constituent transforms come from jet_constituents).
PARITY_SPECS = ["six_object", "event_graph", "jet_constituents", spec_from_dict(EVERY_OBJECT_FORMULA)]


def _formulas_used(spec):
    """(transforms, logical fields, cut operators) a spec uses, constituents included."""
    blocks = [(src.cuts, b.sort_by) for b in spec.blocks for src in b.sources]
    features = list(spec.features)
    if spec.constituents is not None:
        blocks.append((spec.constituents.cuts, spec.constituents.sort_by))
        features += spec.constituents.features
    cuts = [c for cs, _ in blocks for c in cs]
    fields = {f.field for f in features if f.field} | {c.field for c in cuts} | {key for _, key in blocks}
    return {f.transform for f in features}, fields, {c.op for c in cuts}


def test_the_parity_specs_use_every_table_entry():
    used = [_formulas_used(load_spec(s)) for s in PARITY_SPECS]
    assert set().union(*(u[0] for u in used)) == set(TRANSFORMS)
    assert set().union(*(u[1] for u in used)) >= set(DERIVED)
    assert set().union(*(u[2] for u in used)) == set(CUT_OPS)


@pytest.mark.parametrize("name", ["nano_tt_v12.root", "nano_tt_v15.root", "nano_dy.root", "pfnano.root"])
def test_every_formula_matches_awkward_on_real_nanoaod(sample, imt, name):
    # bit for bit: both renderings perform the same float64 operations and round to float32 once
    n, ref = assert_same(sample(name), spec_from_dict(EVERY_OBJECT_FORMULA), atol=0)
    assert n == len(ref) > 0 and ref.mask[:, :4].any() and ref.mask[:, 4:].any()  # jets and leptons compared


def test_jet_constituents_match_awkward_on_pfnano(sample, imt):
    n, ref = assert_same(sample("pfnano.root"), "jet_constituents", atol=0)  # bit for bit, as every_formula
    assert ref.constituent_mask.sum() > 1000  # really compares constituents


def _variant(name, edit):
    d = load_spec(name).model_dump(mode="json")
    edit(d)
    return spec_from_dict(d)


def test_ties_and_truncation_follow_the_awkward_order(sample, imt):
    """Sorting by charge makes ties everywhere: inside a source (input order wins), across
    sources (source order wins) and among constituents (link order wins); truncation to 20
    constituents and 5 objects cuts through the ties."""

    def by_charge(d):
        d["blocks"][1]["sort_by"] = "charge"
        d["blocks"][1]["max_objects"] = 5

    def cons_by_charge(d):
        d["constituents"]["sort_by"] = "charge"
        d["constituents"]["max_constituents"] = 20

    for name in ("nano_tt_v12.root", "nano_dy.root"):
        _, ref = assert_same(sample(name), _variant("event_graph", by_charge))
        assert (ref.counts["objects"] > 5).any()
    _, ref = assert_same(sample("pfnano.root"), _variant("jet_constituents", cons_by_charge))
    assert (ref.constituent_mask.sum(axis=2) == 20).any()


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    path = tmp_path_factory.mktemp("gen") / "f.root"
    cmd = [sys.executable, "-m", "hepfm_root.cli", "generate", "--process", "ttbar_semilep",
           "--events", "300", "--seed", "5", "-o", str(path)]
    subprocess.run(cmd, check=True, capture_output=True)
    return path


@pytest.mark.parametrize("spec", ["six_object", "event_graph", "jet_constituents"])
def test_builtin_specs_match_awkward_on_generated_file(generated, imt, spec):
    n, _ = assert_same(generated, spec)
    assert n == 300


@pytest.fixture(scope="module")
def tiled(sample_dir, tmp_path_factory):
    """50 000 events in 25 clusters: nano_tt_v15 tiled, event numbers made distinct (= entry)."""
    src = uproot.open(sample_dir / "nano_tt_v15.root")["Events"]
    res = resolve(load_spec("event_graph"), src.keys(), where="nano_tt_v15")
    arrays = src.arrays(res.branches())
    n0, copies, chunk = len(arrays), 250, 2000
    folder = tmp_path_factory.mktemp("tiled")
    path, flat = folder / "tiled.root", folder / "one_cluster.root"

    big = ak.concatenate([arrays] * (chunk // n0))
    serial = np.arange(chunk, dtype=np.uint64)
    with uproot.recreate(flat) as f:
        tree = None
        for i in range(copies * n0 // chunk):  # one extend per 2000 entries: one cluster each
            part = mktree_columns(big)
            part["event"] = np.uint64(i * chunk) + serial  # distinct ids; entry number = event
            if tree is None:
                types = {k: (v.type if isinstance(v, ak.Array) else v.dtype) for k, v in part.items()}
                tree = f.mktree("Events", types, counter_name=lambda c: f"n{c}",
                                field_name=lambda c, fld: f"{c}_{fld}")
            tree.extend(part)
    # uproot's baskets form one cluster for ROOT; a ROOT copy with auto-flush every 2000
    # entries gives 25 clusters, which ImplicitMT processes as separate, unordered tasks.
    return clustered_copy(flat, path, chunk)


def test_multi_cluster_file_under_imt_matches_by_event_id(tiled):
    assert uproot.open(tiled)["Events"].num_entries == 50_000
    ROOT.EnableImplicitMT(2)
    try:
        f = ROOT.TFile.Open(str(tiled))
        tree = f.Get("Events")
        clusters, it = 0, tree.GetClusterIterator(0)
        while it.Next() < tree.GetEntries():
            clusters += 1
        # Many clusters: under IMT they are processed by several threads in no fixed order (how
        # out of order depends on scheduling, so that is not asserted); the join is by event id.
        assert clusters >= 20
        n, ref = assert_same(tiled, "event_graph")
    finally:
        ROOT.DisableImplicitMT()
    assert n == 50_000 and ref.selected.sum() > 1000


def test_branch_types_come_from_the_file(sample, imt):
    """Jet_jetId / Electron_cutBased are UChar_t in the v12 sample and Int_t in the DY one,
    Electron_charge is Int_t, pt is Float_t: one spec, both files, same answer as awkward."""
    spec = spec_from_dict({
        "schema_version": 1, "name": "typed", "object_types": ["jet", "electron"],
        "blocks": [
            {"name": "jets", "max_objects": 4, "sources": [
                {"collection": "Jet", "type": "jet", "defaults": {"charge": 0.0, "cutBased": 0.0},
                 "cuts": [{"field": "jetId", "op": ">=", "value": 2}]},
                {"collection": "Electron", "type": "electron", "defaults": {"jetId": 0.0},
                 "cuts": [{"field": "charge", "op": "!=", "value": 0}, {"field": "cutBased", "op": ">", "value": 0}]},
            ]},
        ],
        "features": ["log_pt", "jetId", "cutBased", "charge", {"name": "t", "transform": "one_hot", "field": "type"}],
    })
    for name, kind in (("nano_tt_v12.root", "UChar_t"), ("nano_dy.root", "Int_t")):
        f = ROOT.TFile.Open(str(sample(name)))
        assert ROOT.RDataFrame(f.Get("Events")).GetColumnType("Jet_jetId").endswith(f"<{kind}>")
        _, ref = assert_same(sample(name), spec)
        assert set(np.unique(ref.objects[..., 3])) <= {-1.0, 0.0, 1.0}
        assert ref.mask.any()


def test_missing_branch_fails_before_the_event_loop(sample):
    f = ROOT.TFile.Open(str(sample("nano_tt_v12.root")))
    df = ROOT.RDataFrame(f.Get("Events"))
    spec = spec_from_dict({
        "schema_version": 1, "name": "needs_missing", "object_types": ["jet"],
        "blocks": [{"name": "j", "max_objects": 2, "sources": [{"collection": "Jet", "type": "jet"}]}],
        "features": ["log_pt", "no_such_field"],
    })
    with pytest.raises(BranchNotFoundError, match="Jet_no_such_field.*Events of nano_tt_v12"):
        define_objects(df, spec, where="Events of nano_tt_v12.root")
    with pytest.raises(CollectionNotFoundError, match="PFCands"):
        define_objects(df, "jet_constituents")
    assert df.GetNRuns() == 0  # nothing was read


def test_code_is_declared_once_per_spec_and_resolution(sample):
    from hepfm_root.rdf._cling import declared

    f = ROOT.TFile.Open(str(sample("nano_dy.root")))
    df = ROOT.RDataFrame(f.Get("Events"))
    define_objects(df, "six_object")
    before = declared()
    a = define_objects(df, "six_object", prefix="a_")
    assert declared() == before  # same spec + resolution: nothing new declared
    assert a.Count().GetValue() == 40


@pytest.fixture(scope="module")
def with_nan(sample_dir, tmp_path_factory):
    """nano_dy with one jet's pT set to NaN (event 3, second jet)."""
    src = uproot.open(sample_dir / "nano_dy.root")["Events"]
    res = resolve(load_spec("six_object"), src.keys(), where="nano_dy")
    a = src.arrays(res.branches())
    counts = ak.num(a["Jet_pt"])
    flat = ak.to_numpy(ak.flatten(a["Jet_pt"])).copy()
    assert counts[3] >= 2
    flat[int(ak.sum(counts[:3])) + 1] = np.nan
    data = {k: ak.to_numpy(a[k]) for k in a.fields if a[k].ndim == 1}
    groups: dict = {}
    for k in a.fields:
        if a[k].ndim > 1:
            coll, field = k.split("_", 1)
            groups.setdefault(coll, {})[field] = ak.unflatten(flat, counts) if k == "Jet_pt" else a[k]
    data.update({c: ak.zip(f, depth_limit=2) for c, f in groups.items()})
    path = tmp_path_factory.mktemp("nan") / "nan.root"
    with uproot.recreate(path) as f:
        types = {k: (v.type if isinstance(v, ak.Array) else v.dtype) for k, v in data.items()}
        f.mktree("Events", types, counter_name=lambda c: f"n{c}", field_name=lambda c, fld: f"{c}_{fld}").extend(data)
    return path


def test_nonfinite_inputs_drop_like_awkward_or_raise(with_nan, imt):
    tree = uproot.open(with_nan)["Events"]
    res = resolve(load_spec("six_object"), tree.keys())
    arrays = tree.arrays(res.branches())
    ref = tensorize(arrays, "six_object", resolution=res, on_nonfinite="drop")
    got = rdf_tensors(with_nan, "six_object", on_nonfinite="drop")
    (gi, gids), (ri, rids) = _order(got), _order(ref.keys)
    np.testing.assert_array_equal(gids, rids)
    np.testing.assert_allclose(got["hepfm_objects"][gi], ref.objects[ri], rtol=0, atol=ATOL)
    np.testing.assert_array_equal(got["hepfm_mask"][gi], ref.mask[ri])
    assert not np.isnan(got["hepfm_objects"]).any()
    with pytest.raises(Exception, match="NonFiniteInputError.*Jet_pt"):
        rdf_tensors(with_nan, "six_object")


def test_link_index_past_the_parents_stops_the_event_loop(sample):
    f = ROOT.TFile.Open(str(sample("pfnano.root")))
    df = ROOT.RDataFrame(f.Get("Events")).Redefine("JetPFCands_jetIdx", "JetPFCands_jetIdx + 1000")
    df = define_objects(df, "jet_constituents")
    with pytest.raises(Exception, match="InvalidInputFileError: branch 'JetPFCands_jetIdx': index 1000 points past"):
        df.Sum("hepfm_selected").GetValue()


# ---- event features and standardisation (schema version 2) -------------------------------------------

_JET_CUTS = [{"field": "pt", "op": ">", "value": 25}, {"field": "abs_eta", "op": "<", "value": 2.4}]
#: Every reduction kind over a collection and over a block, every transform on an event quantity,
#: scalar branches (present, renamed across versions, absent with a default), and standardisation
#: with and without clipping of both tensors.
EVERY_EVENT_FORMULA = {
    "schema_version": 2, "name": "every_event_formula", "object_types": ["jet", "electron", "muon"],
    "blocks": [
        {"name": "jets", "max_objects": 3, "sources": [{"collection": "Jet", "type": "jet", "cuts": _JET_CUTS}]},
        {"name": "leptons", "max_objects": 2, "sources": [
            {"collection": "Electron", "type": "electron", "cuts": [{"field": "pt", "op": ">", "value": 7}]},
            {"collection": "Muon", "type": "muon", "cuts": [{"field": "pt", "op": ">", "value": 5}]}]},
    ],
    "features": ["log_pt", "eta", "sin_phi", "one_hot(type)"],
    "event_features": [
        {"name": "HT", "kind": "ht", "cuts": _JET_CUTS},
        {"name": "met", "kind": "branch", "branch": ["NoSuch_pt", "MET_pt", "PFMET_pt"], "transform": "log1p"},
        {"name": "absent", "kind": "branch", "branch": ["NoSuchBranch"], "default": 3.5},
        {"name": "n_jets", "kind": "count", "collection": "Jet", "cuts": _JET_CUTS,
         "transform": "one_hot", "categories": [0, 1, 2, 3, 4], "other": True},
        {"name": "n_all_jets", "kind": "count", "collection": "Jet"},
        {"name": "sum_px", "kind": "sum", "collection": "Jet", "field": "px", "cuts": _JET_CUTS},
        {"name": "min_eta", "kind": "min", "collection": ["Muon"], "field": "abs_eta", "default": -1.0},
        {"name": "max_e", "kind": "max", "collection": "Electron", "field": "energy", "transform": "log",
         "floor": 0.5, "default": 0.0},
        {"name": "m_all_jets", "kind": "inv_mass", "collection": "Jet", "cuts": _JET_CUTS},
        {"name": "pt_all_jets", "kind": "vector_pt", "collection": "Jet", "cuts": _JET_CUTS, "transform": "sin"},
        {"name": "n_kept", "kind": "count", "block": "leptons", "transform": "step", "threshold": 2},
        {"name": "lep_pt_sum", "kind": "sum", "block": "leptons", "field": "pt", "transform": "cos"},
        {"name": "jet_min_pt", "kind": "min", "block": "jets", "field": "pt", "default": 25.0},
        {"name": "jet_max_type", "kind": "max", "block": "leptons", "field": "type", "default": -1.0},
        {"name": "m_jets", "kind": "inv_mass", "block": "jets"},
        {"name": "pt_leptons", "kind": "vector_pt", "block": "leptons", "transform": "abs"},
        {"name": "jet2_eta", "kind": "object", "block": "jets", "index": 1, "field": "eta", "default": -9.0},
        {"name": "lep1_pz", "kind": "object", "block": "leptons", "field": "pz"},
    ],
    "scaling": {
        "features": {"log_pt": {"offset": 3.7, "scale": 0.9, "clip": [-2.0, 2.0]}, "eta": {"offset": 0.1, "scale": 1.3}},
        "event_features": {"HT": {"offset": 250.0, "scale": 120.0, "clip": [-1.5, 1.5]},
                           "m_jets": {"offset": 300.0, "scale": 170.0}, "met": {"offset": 3.9, "scale": 0.7}},
    },
    "selection": {"min_objects": {"jets": 1}},
}
PARITY_EVENT_SPECS = ["event_bdt", spec_from_dict(EVERY_EVENT_FORMULA)]


def test_the_event_parity_spec_uses_every_reduction_and_transform():
    from hepfm_root.tensors._reduce import REDUCERS

    spec = spec_from_dict(EVERY_EVENT_FORMULA)
    kinds = {(f.kind, f.block is None) for f in spec.event_features}
    assert {k for k, _ in kinds} == set(REDUCERS) | {"branch", "object"}
    assert {k for k, coll in kinds if not coll} == set(REDUCERS) - {"ht"} | {"object"}  # every block kind
    assert {f.transform for f in spec.event_features} == set(TRANSFORMS) - {"delta", "delta_phi", "log_ratio", "delta_r"}


@pytest.mark.parametrize("name", ["nano_tt_v12.root", "nano_tt_v15.root", "nano_dy.root"])
@pytest.mark.parametrize("spec", range(len(PARITY_EVENT_SPECS)), ids=["event_bdt", "every_event_formula"])
def test_event_features_match_awkward_bit_for_bit(sample, imt, name, spec):
    spec = load_spec(PARITY_EVENT_SPECS[spec])
    n, ref = assert_same(sample(name), spec, atol=0)
    assert n == len(ref) > 0 and np.ptp(ref.event_features, axis=0).max() > 0
    if spec.n_features:  # standardised object features differ from the raw ones, padded rows keep pad_value
        assert (ref.objects[..., 0][ref.mask] <= 2.0).all() and (ref.objects[~ref.mask] == 0).all()


def test_event_features_on_generated_file_and_with_dropped_nonfinite(generated, with_nan, imt):
    n, _ = assert_same(generated, "event_bdt", atol=0)
    assert n == 300
    spec = load_spec(PARITY_EVENT_SPECS[1])
    tree = uproot.open(with_nan)["Events"]
    res = resolve(spec, tree.keys())
    ref = tensorize(tree.arrays(res.branches()), spec, resolution=res, on_nonfinite="drop")
    got = rdf_tensors(with_nan, spec, on_nonfinite="drop")
    (gi, _), (ri, _) = _order(got), _order(ref.keys)
    np.testing.assert_array_equal(got["hepfm_event_features"][gi], ref.event_features[ri])
    assert np.isfinite(ref.event_features).all()
    with pytest.raises(Exception, match="NonFiniteInputError.*Jet_pt"):
        rdf_tensors(with_nan, spec)
