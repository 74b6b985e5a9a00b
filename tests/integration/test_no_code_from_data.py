"""Nothing from a file (model metadata, corrections config, checkpoint) or a user's names ever becomes code.

Every hostile string (``tests/_hostile.py``) would run ``std::system("touch <marker>")`` (and
declare ``hepfm_pwned``) if it reached cling as code.  Each is driven through every string field
of an exported model's metadata (and its embedded spec) and of a corrections config, and through
the names a user passes, into every path that generates C++ (``define_objects``, ``define_score``,
``write_score_friend``, ``define_corrections``, the macro, the generated source the distributed
set-up ships); every string field of a spec itself is in ``test_no_code_from_spec_fields.py``.
A field that must be a name is refused with a family error before anything runs; a field
that may hold any text (a description, a file path, a correctionlib key) reaches C++ only
as a string literal: the code compiles, computes the same numbers, and the marker never
appears.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import correctionlib.schemav2 as cs
import numpy as np
import onnx
import pytest
from _hostile import BRANCHES, HOSTILE_IDS, SAMPLE, SPEC_FIELDS, hostile, no_side_effect, put, spec_json

import hepfm_root
from hepfm_root.errors import (
    CorrectionNotFoundError,
    HepfmError,
    InvalidArgumentError,
    InvalidConfigError,
    InvalidSpecError,
)
from hepfm_root.rdf import define_corrections, define_objects, define_score, write_score_friend
from hepfm_root.spec import load_spec

ROOT_DIR = Path(__file__).resolve().parents[2]
EXPORT = ROOT_DIR / "exports" / "six_object_heavy_higgs_vs_ttbar" / "0.2"
MACRO = ROOT_DIR / "macros" / "score_with_rdf.py"
KEYS = ("run", "luminosityBlock", "event")


def test_cpp_string_compiles_in_cling_to_exactly_the_text(tmp_path):
    import ROOT

    from hepfm_root._cpp_text import cpp_string

    marker = tmp_path / "pwned"
    texts = [*hostile(marker), "é ü 𝛼", "tab\there", "a\\\n"]
    body = "\n".join(f"  case {i}: return std::string({cpp_string(t)});" for i, t in enumerate(texts))
    assert ROOT.gInterpreter.Declare("#include <string>\nnamespace hepfm_probe_literals {\n"
                                     f"std::string text(int i) {{\n switch (i) {{\n{body}\n }}\n return {{}};\n}}\n}}")
    for i, t in enumerate(texts):
        assert str(ROOT.hepfm_probe_literals.text(i)) == t
    no_side_effect(marker)


# ---- user names: column names and prefixes -------------------------------------------------------

@pytest.mark.parametrize("which", range(len(HOSTILE_IDS)), ids=HOSTILE_IDS)
def test_hostile_column_names_and_prefixes_are_refused_at_every_entry_point(which, df_of, sample, tmp_path):
    from hepfm_root.rdf import score_table, tensor_batches

    marker = tmp_path / "pwned"
    text = hostile(marker)[which]
    df = df_of()
    calls = {
        "define_objects(prefix=)": lambda: define_objects(df, "six_object", prefix=text),
        "define_score(name=)": lambda: define_score(df, EXPORT, text),
        "define_score(prefix=)": lambda: define_score(df, EXPORT, prefix=text),
        "score_table(prefix=)": lambda: score_table(df, None, prefix=text),
        "tensor_batches(prefix=)": lambda: next(tensor_batches(df, "six_object", prefix=text)),
        "define_corrections(column=)": lambda: define_corrections(df, {}, column=text),
        "write_score_friend(name=)": lambda: write_score_friend(sample(SAMPLE), EXPORT, tmp_path / "f.root", text),
    }
    for what, call in calls.items():
        with pytest.raises(InvalidArgumentError, match=r"not allowed; expected an identifier") as err:
            call()
        assert what in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "f.root").exists()
    no_side_effect(marker)


# ---- model metadata: a real export with rewritten metadata_props ---------------------------------

@pytest.fixture(scope="module")
def shipped_onnx():
    return onnx.load(str(EXPORT / "model.onnx"))


def _export(model: onnx.ModelProto, folder: Path, changes: dict[str, str]) -> Path:
    m = onnx.ModelProto()
    m.CopyFrom(model)
    meta = {p.key: p.value for p in m.metadata_props}
    meta.update(changes)
    del m.metadata_props[:]
    for k, v in meta.items():
        m.metadata_props.add(key=k, value=v)
    folder.mkdir(parents=True, exist_ok=True)
    onnx.save(m, str(folder / "model.onnx"))
    return folder / "model.onnx"


def _meta(model: onnx.ModelProto) -> dict[str, str]:
    return {p.key: p.value for p in model.metadata_props}


@pytest.fixture(scope="module")
def reference_scores(df_of):
    cols = define_score(df_of(), EXPORT / "model.onnx", "ref").AsNumpy([*KEYS, "ref"])
    return {tuple(int(cols[k][i]) for k in KEYS): cols["ref"][i] for i in range(len(cols["ref"]))}


def _same_scores(cols: dict, name: str, reference: dict) -> None:
    got = np.asarray(cols[name])
    want = np.array([reference[tuple(int(cols[k][i]) for k in KEYS)] for i in range(len(got))])
    np.testing.assert_array_equal(got, want)


#: The shipped model embeds six_object 1.0, which has no working points (test_no_code_from_spec_fields.py refuses those).
MODEL_SPEC_FIELDS = [f for f in sorted(SPEC_FIELDS) if SPEC_FIELDS[f][0] == "six_object" and "working_point" not in f]


@pytest.mark.parametrize("field", MODEL_SPEC_FIELDS)
@pytest.mark.parametrize("which", [0, 1, 3, 6], ids=[HOSTILE_IDS[i] for i in (0, 1, 3, 6)])
def test_hostile_embedded_spec_is_refused_by_define_score_and_write_score_friend(
        field, which, shipped_onnx, df_of, sample, tmp_path):
    marker = tmp_path / "pwned"
    meta = _meta(shipped_onnx)
    base, path = SPEC_FIELDS[field]
    spec = put(json.loads(meta["hepfm.spec"]), path, hostile(marker)[which])
    model = _export(shipped_onnx, tmp_path / "evil", {"hepfm.spec": json.dumps(spec)})
    with pytest.raises(InvalidSpecError, match="embedded spec"):
        define_score(df_of(), model, "score")
    with pytest.raises(InvalidSpecError, match="embedded spec"):
        write_score_friend(sample(SAMPLE), model, tmp_path / "friend.root")
    assert not (tmp_path / "friend.root").exists()
    no_side_effect(marker)


TEXT_METADATA = ["hepfm.model_name", "hepfm.model_version", "hepfm.architecture", "hepfm.weights_sha256",
                 "hepfm.source_checkpoint", "hepfm.library_version", "hepfm.parity", "hepfm.labels[0]",
                 "hepfm.score_label"]


@pytest.mark.parametrize("key", TEXT_METADATA)
def test_hostile_text_metadata_stays_data_and_scores_are_unchanged(key, shipped_onnx, df_of, sample, tmp_path,
                                                                  reference_scores):
    import uproot

    marker = tmp_path / "pwned"
    text = " ".join(hostile(marker))
    meta = _meta(shipped_onnx)
    labels = json.loads(meta["hepfm.labels"])
    if key == "hepfm.labels[0]":
        other = next(i for i, x in enumerate(labels) if x != meta["hepfm.score_label"])
        labels[other] = text
        changes = {"hepfm.labels": json.dumps(labels)}
    elif key == "hepfm.score_label":
        labels[labels.index(meta["hepfm.score_label"])] = text
        changes = {"hepfm.labels": json.dumps(labels), "hepfm.score_label": text}
    else:
        changes = {key: text}
    model = _export(shipped_onnx, tmp_path / "odd", changes)
    cols = define_score(df_of(), model, "s").AsNumpy([*KEYS, "s"])
    _same_scores(cols, "s", reference_scores)
    out = write_score_friend(sample(SAMPLE), model, tmp_path / "friend.root", "s")
    friend = uproot.open(out)["Events"].arrays(["s"], library="np")["s"]
    keys = uproot.open(sample(SAMPLE))["Events"].arrays(list(KEYS), library="np")
    _same_scores({**keys, "s": friend}, "s", reference_scores)
    no_side_effect(marker)


def test_metadata_that_is_not_json_is_refused_with_a_family_error(shipped_onnx, df_of, tmp_path):
    for key in ("hepfm.spec", "hepfm.labels", "hepfm.inputs"):
        model = _export(shipped_onnx, tmp_path / key, {key: 'x"); system("touch /tmp/x'})
        with pytest.raises(HepfmError, match="JSON"):
            define_score(df_of(), model, "score")


# ---- the macro, as a user runs it ----------------------------------------------------------------

def _macro(*args, cwd):
    env = {**os.environ, "PYTHONPATH": str(Path(hepfm_root.__file__).parents[1])}
    return subprocess.run([sys.executable, str(MACRO), *map(str, args)], capture_output=True, text=True,
                          timeout=600, cwd=cwd, env=env)


@pytest.mark.parametrize("case", ["spec.version", "spec.features.name", "spec.sources.collection[]", "--name",
                                  "--name --friend"])
def test_macro_refuses_hostile_models_and_names_with_no_output(case, shipped_onnx, sample, tmp_path):
    marker = tmp_path / "pwned"
    text = hostile(marker)[0]
    model, extra = EXPORT / "model.onnx", []
    if case.startswith("spec."):
        spec = put(json.loads(_meta(shipped_onnx)["hepfm.spec"]), SPEC_FIELDS[case[5:]][1], text)
        model = _export(shipped_onnx, tmp_path / "evil", {"hepfm.spec": json.dumps(spec)})
    else:
        extra = ["--name", text] + (["--friend"] if "friend" in case else [])
    out = tmp_path / "out.root"
    done = _macro(sample(SAMPLE), "--model", model, "-o", out, *extra, cwd=tmp_path)
    # the error family's codes: a hostile embedded spec is a bad model (4), a hostile --name a bad argument (2)
    assert done.returncode == (InvalidSpecError.exit_code if case.startswith("spec.") else 2), done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert ("InvalidSpecError" in done.stderr) if case.startswith("spec.") else ("identifier" in done.stderr)
    assert not out.exists() and not marker.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.root")]


# ---- corrections configs -------------------------------------------------------------------------

def _sf_file(path: Path, key: str, syst: str) -> Path:
    sf = cs.Correction(
        name=key, version=1,
        inputs=[cs.Variable(name="pt", type="real"), cs.Variable(name="syst", type="string")],
        output=cs.Variable(name="weight", type="real"),
        data=cs.Category(nodetype="category", input="syst", content=[
            cs.CategoryItem(key=syst, value=cs.Binning(nodetype="binning", input="pt", edges=[0.0, 30.0, 1e4],
                                                       content=[0.9, 1.1], flow="clamp"))]))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(cs.CorrectionSet(schema_version=2, corrections=[sf]).model_dump_json(exclude_unset=True))
    return path


def _weights_cfg(file: Path, key: str = "sf", syst: str = "nominal") -> dict:
    return {"schema_version": 1, "file": str(file), "weights": [
        {"name": "w", "correction": key, "collection": "Muon", "cuts": [{"branch": "Muon_pt", "op": ">", "value": 5}],
         "inputs": {"pt": "Muon_pt", "syst": syst}}]}


def _jets_cfg(sample) -> dict:
    return {"schema_version": 1, "file": str(sample("jet_jerc_Summer22_V3.json.gz")), "jets": {
        "jec": "Summer22_22Sep2023_V3_MC_L1L2L3Res_AK4PFPuppi",
        "jes": {"key": "Summer22_22Sep2023_V3_MC_{source}_AK4PFPuppi", "sources": ["Total"]},
        "jer": {"scale_factor": "Summer22_22Sep2023_JRV1_MC_ScaleFactor_AK4PFPuppi",
                "resolution": "Summer22_22Sep2023_JRV1_MC_PtResolution_AK4PFPuppi"}}}


#: (config builder, path, kind): "name" must be an identifier; "key" any text without control characters.
CONFIG_FIELDS = {
    "jets.collection": ("jets", ["jets", "collection"], "name"),
    "jets.raw_factor": ("jets", ["jets", "raw_factor"], "name"),
    "jets.jec": ("jets", ["jets", "jec"], "key"),
    "jets.jes.key": ("jets", ["jets", "jes", "key"], "key"),
    "jets.jes.sources[]": ("jets", ["jets", "jes", "sources", 0], "name"),
    "jets.jer.scale_factor": ("jets", ["jets", "jer", "scale_factor"], "key"),
    "jets.jer.resolution": ("jets", ["jets", "jer", "resolution"], "key"),
    "jets.jer.systematics{}": ("jets", ["jets", "jer", "systematics"], "key"),
    "weights.name": ("weights", ["weights", 0, "name"], "name"),
    "weights.correction": ("weights", ["weights", 0, "correction"], "key"),
    "weights.collection": ("weights", ["weights", 0, "collection"], "name"),
    "weights.cuts.branch": ("weights", ["weights", 0, "cuts", 0, "branch"], "name"),
    "weights.inputs{value}": ("weights", ["weights", 0, "inputs", "syst"], "key"),
    "inputs[]": ("weights", ["inputs"], "name"),
}


def _hostile_config(field: str, text: str, sample, tmp_path: Path) -> dict:
    builder, path, _ = CONFIG_FIELDS[field]
    cfg = _jets_cfg(sample) if builder == "jets" else _weights_cfg(_sf_file(tmp_path / "sf.json", "sf", "nominal"))
    if field == "jets.jer.systematics{}":
        return put(cfg, path, {"nominal": text, "up": "up", "down": "down"})
    if field == "inputs[]":
        return put(cfg, path, {"Rho": [text]})
    if field == "jets.jes.key":
        text += "{source}"
    return put(cfg, path, text)


@pytest.mark.parametrize("field", sorted(CONFIG_FIELDS))
@pytest.mark.parametrize("which", range(len(HOSTILE_IDS)), ids=HOSTILE_IDS)
def test_hostile_corrections_config_field_is_refused(field, which, sample, df_of, tmp_path):
    marker = tmp_path / "pwned"
    text = hostile(marker)[which]
    cfg = _hostile_config(field, text, sample, tmp_path)
    kind = CONFIG_FIELDS[field][2]
    if field == "jets.jes.key":
        text += "{source}"
    printable = text and not any(ord(c) < 0x20 for c in text)
    variations = "all" if CONFIG_FIELDS[field][0] == "jets" else None
    number = field == "weights.inputs{value}" and text.strip() == "1.0"  # read as the number 1.0: data
    if number or (kind == "key" and printable and field in ("weights.inputs{value}", "jets.jer.systematics{}")):
        # a printable string value is legitimate: it is declared as a literal (and evaluated in the test below)
        assert define_corrections(df_of(), cfg, variations)
        no_side_effect(marker)
        return
    expected = CorrectionNotFoundError if kind == "key" and printable else InvalidConfigError
    with pytest.raises(expected) as err:
        define_corrections(df_of(), cfg, variations)
    assert "\n" not in str(err.value).split(" is invalid:")[0]
    no_side_effect(marker)


@pytest.mark.parametrize("value", [math.nan, math.inf], ids=["nan", "inf"])
def test_non_finite_corrections_numbers_are_refused(value, sample, df_of, tmp_path):
    cfg = _weights_cfg(_sf_file(tmp_path / "sf.json", "sf", "nominal"))
    for path in (["weights", 0, "cuts", 0, "value"], ["weights", 0, "inputs", "pt"], ["defaults"]):
        bad = put(cfg, path, {"Rho": value} if path == ["defaults"] else value)
        with pytest.raises(InvalidConfigError, match="finite"):
            define_corrections(df_of(), bad)


PRINTABLE = [i for i, t in enumerate(hostile(Path("/m"))) if t and not any(ord(c) < 0x20 for c in t)]


@pytest.mark.parametrize("which", PRINTABLE, ids=[HOSTILE_IDS[i] for i in PRINTABLE])
def test_hostile_correction_keys_strings_and_paths_compile_as_inert_literals(which, sample, df_of, tmp_path):
    import ROOT

    marker = tmp_path / "pwned"
    text = hostile(marker)[which]
    clean = define_corrections(df_of(), _weights_cfg(_sf_file(tmp_path / "clean" / "sf.json", "sf", "nominal")))
    want = clean["nominal"].AsNumpy([*KEYS, "weight_w"])
    # the key, the category string and the file's folder all carry the payload (a newline in a folder name too)
    folder = tmp_path / ('we"ird;\n' + text.replace("/", "|"))
    cfg = _weights_cfg(_sf_file(folder / "sf.json", text, text), key=text, syst=text)
    nodes = define_corrections(df_of(), cfg, column="hepfm_corrections_odd")
    got = nodes["nominal"].AsNumpy([*KEYS, "weight_w"])
    for k in (*KEYS, "weight_w"):
        np.testing.assert_array_equal(got[k], want[k])
    assert len(set(np.asarray(got["weight_w"]).tolist())) > 1  # the weights were really evaluated
    no_side_effect(marker)
    assert ROOT.gInterpreter.Declare(f"int hepfm_probe_after_corrections_{which} = 1;")  # cling is still sane


# ---- the generated code a distributed dataframe ships ---------------------------------------------

def test_code_and_tables_for_distributed_workers_carry_hostile_text_only_as_data(tmp_path):
    """What ``_distributed`` ships: ``_guarded_source`` of the checked code, and tables whose name is data."""
    import ROOT

    from hepfm_root.rdf._define import _guarded_source
    from hepfm_root.rdf._lookup import LOOKUP_NS, Table, install_table, lookup_objects_expr
    from hepfm_root.spec import resolve
    from hepfm_root.tensors._cpp import generate

    marker = tmp_path / "pwned"
    spec = load_spec(put(spec_json("six_object"), ["version"], "7.4"))
    shipped = _guarded_source(generate(spec, resolve(spec, BRANCHES, where=hostile(marker)[0])))
    assert ROOT.gInterpreter.Declare(shipped) and ROOT.gInterpreter.Declare(shipped)  # a worker may declare it twice
    for i, name in enumerate(hostile(marker)):
        one = np.ones(1)
        install_table(Table(2**61 + i, one, one, one, one, (name,)))  # the name is a C++ argument, never code
        assert str(getattr(ROOT, LOOKUP_NS).find(2**61 + i).name) == name
        # a per-object table's column names too (``Jet_<name>``); its Define text holds only tokens and identifiers
        install_table(Table.of_objects(2**60 + i, one, one, one, {name: (np.array([2]), np.ones(2, np.float32))}))
        assert str(getattr(ROOT, LOOKUP_NS).find(2**60 + i).name) == name
    with pytest.raises(InvalidArgumentError, match="identifier"):
        lookup_objects_expr(1, 0, hostile(marker)[0])
    no_side_effect(marker)


# ---- loading never unpickles ----------------------------------------------------------------------

class _Payload:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _evil_checkpoint(tmp_path: Path) -> tuple[Path, Path]:
    import torch

    marker = tmp_path / "unpickled"
    path = tmp_path / "evil.pt"
    torch.save({"format": "hepfm-checkpoint-1", "payload": _Payload(str(marker))}, path)
    assert not marker.exists()
    return path, marker


def test_scorer_refuses_a_checkpoint_with_a_pickled_object_and_runs_nothing(tmp_path):
    from hepfm_root import Scorer

    path, marker = _evil_checkpoint(tmp_path)
    with pytest.raises(HepfmError, match=r"evil.pt is not a hepfm checkpoint: it holds a pickled Python object") as err:
        Scorer(path, backend="torch")
    assert "\n" not in str(err.value) and "weights_only=False" not in str(err.value)
    assert not marker.exists()


def test_cli_export_refuses_a_checkpoint_with_a_pickled_object_and_runs_nothing(tmp_path):
    from hepfm_root.cli._common import EXIT

    path, marker = _evil_checkpoint(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(Path(hepfm_root.__file__).parents[1])}
    done = subprocess.run([sys.executable, "-m", "hepfm_root.cli", "export", str(path), "-o", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    assert done.returncode in (EXIT["bad_input"], EXIT["spec"]), done.stderr[-2000:]
    assert "Traceback" not in done.stderr and "evil.pt" in done.stderr and "pickled Python object" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not marker.exists() and not (tmp_path / "out").exists()


def test_rdf_define_score_refuses_a_pickled_checkpoint(df_of, tmp_path):
    path, marker = _evil_checkpoint(tmp_path)
    with pytest.raises(HepfmError):
        define_score(df_of(), path, "score")
    assert not marker.exists()
