"""Files on disk: bad inputs, atomic outputs, tensor files read back by uproot and ROOT, the CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import uproot
from click.testing import CliRunner

from hepfm_root import tensorize
from hepfm_root.cli import EXIT, cli
from hepfm_root.errors import InvalidInputFileError, OutputExistsError, TreeNotFoundError
from hepfm_root.io import NpzTensorWriter, TensorFileWriter, iter_tensors, open_events, read_tensors


@pytest.fixture
def tt(sample):
    return sample("nano_tt_v12.root")


@pytest.fixture
def damaged(tmp_path, tt):
    data = tt.read_bytes()
    files = {
        "truncated": data[: len(data) // 2],
        "nearly_whole": data[:-100],
        "text": b"run,event\n1,2\n",
        "zero_bytes": b"",
    }
    out = {}
    for name, content in files.items():
        out[name] = tmp_path / f"{name}.root"
        out[name].write_bytes(content)
    return out


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("truncated", r"is truncated: its header says \d+ bytes, the file has \d+"),
        ("nearly_whole", r"is truncated"),
        ("text", r"is not a ROOT file: it starts with b'run,', expected b'root'"),
        ("zero_bytes", r"is empty \(0 bytes\)"),
    ],
)
def test_damaged_inputs_are_named_and_explained(damaged, kind, message):
    with pytest.raises(InvalidInputFileError, match=message) as info:
        open_events(damaged[kind])
    assert f"{kind}.root" in str(info.value)


def test_missing_tree_lists_what_is_there(tt):
    with pytest.raises(TreeNotFoundError, match=r"no tree 'Event' in nano_tt_v12.root \(it has: Events\); did you mean 'Events'"):
        open_events(tt, "Event")


def test_empty_file_yields_no_chunks(sample):
    assert list(iter_tensors([sample("nano_dy_empty.root")], "six_object")) == []


def test_streaming_chunks_equal_one_shot(tt):
    whole = tensorize(uproot.open(tt)["Events"].arrays(), "event_graph")
    chunks = list(iter_tensors([tt], "event_graph", step_size=37))
    assert [c.entry_start for c in chunks] == list(range(0, 200, 37))
    from hepfm_root.tensors import Tensors

    joined = Tensors.concatenate([c.tensors for c in chunks])
    np.testing.assert_array_equal(joined.objects, whole.objects)
    np.testing.assert_array_equal(joined.keys["entry"], np.arange(200))
    np.testing.assert_array_equal(joined.keys["event"], whole.keys["event"])


def test_tensor_file_roundtrip_with_uproot_and_root(tmp_path, sample):
    spec_name, path = "jet_constituents", sample("pfnano.root")
    out = tmp_path / "cons.root"
    chunks = list(iter_tensors([path], spec_name, step_size=4))
    with TensorFileWriter(out, chunks[0].tensors.spec, inputs=[str(path)]) as w:
        for c in chunks:
            w.write(c.tensors, file_index=c.file_index)
    assert not list(tmp_path.glob(".*.part"))
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    assert out.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777  # not the 0600 of a temp file
    back, meta = read_tensors(out)
    whole = tensorize(uproot.open(path)["Events"].arrays(), spec_name)
    np.testing.assert_array_equal(back.objects, whole.objects)
    np.testing.assert_array_equal(back.constituents, whole.constituents)
    np.testing.assert_array_equal(back.constituent_mask, whole.constituent_mask)
    assert meta["n_events"] == 10 and meta["spec_fingerprint"] == whole.spec.fingerprint()

    import ROOT

    f = ROOT.TFile.Open(str(out))  # keep the TFile alive while the tree is used
    tree = f.Get("Tensors")
    assert tree.GetEntries() == 10
    assert tree.GetLeaf("constituents").GetTitle() == "constituents[5][100][14]"
    assert json.loads(f.Get("hepfm_spec").GetString().Data())["name"] == spec_name
    rdf = ROOT.RDataFrame("Tensors", str(out))
    first = np.asarray(rdf.Take["ROOT::RVecF"]("objects").GetValue()[0])
    np.testing.assert_array_equal(first, whole.objects[0].ravel())
    np.testing.assert_array_equal(rdf.AsNumpy(["event"])["event"], whole.keys["event"])
    f.Close()


def test_failed_write_leaves_nothing_and_existing_output_is_kept(tmp_path, tt):
    out = tmp_path / "t.root"
    chunk = next(iter(iter_tensors([tt], "six_object")))
    with pytest.raises(RuntimeError, match="boom"):
        with TensorFileWriter(out, chunk.tensors.spec) as w:
            w.write(chunk.tensors)
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    out.write_text("precious")
    with pytest.raises(OutputExistsError):
        with TensorFileWriter(out, chunk.tensors.spec) as w:
            w.write(chunk.tensors)
    assert out.read_text() == "precious"


# ---- the command line -------------------------------------------------------------


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_cli_tensorize_writes_selected_events(tmp_path, tt):
    out = tmp_path / "six.root"
    r = run("tensorize", str(tt), "--spec", "six_object", "-o", str(out))
    assert r.exit_code == 0, r.output
    t, meta = read_tensors(out)
    assert len(t) == 134 and t.selected.all() and meta["only_selected"] is True
    r = run("tensorize", str(tt), "--spec", "six_object", "-o", str(out), "--all-events", "--overwrite", "-q")
    assert r.exit_code == 0
    assert len(read_tensors(out)[0]) == 200


@pytest.mark.parametrize(
    ("spec_name", "inputs", "extra"),
    [
        ("six_object", ["nano_tt_v12.root", "nano_dy.root"], ["--all-events"]),  # two files: file_index 0 and 1
        ("jet_constituents", ["pfnano.root"], []),                               # constituents
        ("six_object", ["nano_dy_empty.root"], []),                              # no events at all
    ],
)
def test_cli_tensorize_npz_holds_the_same_arrays_as_root(tmp_path, sample, spec_name, inputs, extra):
    paths = [str(sample(n)) for n in inputs]
    for ext in ("root", "npz"):
        r = run("tensorize", *paths, "--spec", spec_name, "-o", str(tmp_path / f"t.{ext}"), "-q", "--step-size", "7", *extra)
        assert r.exit_code == 0, r.output
    with uproot.open(tmp_path / "t.root") as f:
        root = f["Tensors"].arrays(library="np")
        spec_json, meta_json = str(f["hepfm_spec"]), str(f["hepfm_meta"])
    with np.load(tmp_path / "t.npz", allow_pickle=False) as z:  # plain arrays: no pickle needed
        npz = {k: z[k] for k in z.files}
    assert set(npz) == set(root) | {"hepfm_spec", "hepfm_meta"}
    assert {"entry", "file_index", "run", "event", "objects", "object_mask", "selected"} <= set(root)
    for name, column in root.items():
        assert npz[name].dtype == column.dtype and npz[name].shape == column.shape, name
        np.testing.assert_array_equal(npz[name], column, err_msg=name)
    assert npz["hepfm_spec"].shape == () and str(npz["hepfm_spec"]) == spec_json
    assert json.loads(str(npz["hepfm_meta"])) == json.loads(meta_json)
    (a, meta_a), (b, meta_b) = read_tensors(tmp_path / "t.root"), read_tensors(tmp_path / "t.npz")
    assert meta_a == meta_b and a.spec.fingerprint() == b.spec.fingerprint() and len(a) == len(b)
    for name, column in a.arrays().items():
        np.testing.assert_array_equal(b.arrays()[name], column, err_msg=name)
    if len(inputs) == 2:
        assert set(npz["file_index"].tolist()) == {0, 1}
        assert len(a) == sum(uproot.open(p)["Events"].num_entries for p in paths)  # --all-events: every one
    if spec_name == "jet_constituents":
        assert npz["constituents"].ndim == 4 and npz["constituent_mask"].any()


def test_cli_tensorize_refuses_an_unknown_extension_before_reading_anything(tmp_path):
    missing = tmp_path / "no_such_input.root"  # would be exit 3 if it were read first
    for name, named in (("t.h5", "'.h5'"), ("t.parquet", "'.parquet'"), ("tensors", "none")):
        r = run("tensorize", str(missing), "--spec", "six_object", "-o", str(tmp_path / name))
        assert r.exit_code == EXIT["usage"], r.output
        lines = r.output.strip().splitlines()
        assert len(lines) == 1 and "expected .root or .npz" in lines[0] and "Traceback" not in r.output
        assert f"unknown tensor-file extension {named}" in lines[0]
    assert list(tmp_path.iterdir()) == []


def test_npz_writer_leaves_nothing_on_failure_and_a_damaged_npz_is_named(tmp_path, tt):
    out = tmp_path / "t.npz"
    chunk = next(iter(iter_tensors([tt], "six_object")))
    with pytest.raises(RuntimeError, match="boom"):
        with NpzTensorWriter(out, chunk.tensors.spec) as w:
            w.write(chunk.tensors)
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    with NpzTensorWriter(out, chunk.tensors.spec) as w:
        w.write(chunk.tensors)
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    assert out.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777  # placed like every output, not 0600
    data = out.read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(InvalidInputFileError, match=r"cut\.npz: cannot be read as a hepfm tensor file"):
        read_tensors(tmp_path / "cut.npz")
    np.savez(tmp_path / "foreign.npz", x=np.zeros(3))
    with pytest.raises(InvalidInputFileError, match="foreign.npz is not a hepfm tensor file"):
        read_tensors(tmp_path / "foreign.npz")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--spec", "six_objet"], EXIT["spec"], "did you mean 'six_object'"),
        (["--spec", "jet_constituents"], EXIT["bad_input"], "'PFCands' not in Events of nano_tt_v12.root"),
        (["--spec", "six_object", "--tree", "Runs"], EXIT["bad_input"], "no tree 'Runs' in nano_tt_v12.root"),
    ],
)
def test_cli_errors_are_one_line_with_exit_codes(tmp_path, tt, args, code, message):
    out = tmp_path / "x.root"
    r = run("tensorize", str(tt), "-o", str(out), *args)
    assert r.exit_code == code
    assert message in r.output and "Traceback" not in r.output
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_cli_bad_file_among_good_ones_fails_before_writing(tmp_path, tt, damaged):
    out = tmp_path / "x.root"
    r = run("tensorize", str(tt), str(damaged["truncated"]), "--spec", "six_object", "-o", str(out))
    assert r.exit_code == EXIT["bad_input"] and "truncated.root is truncated" in r.output
    assert not out.exists()


def test_cli_existing_output_and_empty_input(tmp_path, sample):
    out = tmp_path / "x.root"
    out.write_text("keep me")
    r = run("tensorize", str(sample("nano_dy.root")), "--spec", "six_object", "-o", str(out))
    assert r.exit_code == EXIT["output"] and out.read_text() == "keep me"
    empty_out = tmp_path / "empty.root"
    r = run("tensorize", str(sample("nano_dy_empty.root")), "--spec", "six_object", "-o", str(empty_out))
    assert r.exit_code == 0
    assert len(read_tensors(empty_out)[0]) == 0  # documented: an empty input gives an empty, valid file


def test_cli_spec_commands(tt):
    r = run("spec", "show", "six_object")
    assert r.exit_code == 0 and "(N, 6, 9)" in r.output and "bjet" in r.output
    r = run("spec", "validate", "event_graph", "--against", str(tt))
    assert r.exit_code == 0 and "Photon absent" in r.output.replace("/", " ")
    r = run("spec", "show", "six_object", "--json")
    assert json.loads(r.output)["schema_version"] == 1


def test_console_script_is_installed():
    exe = shutil.which("hepfm")
    assert exe, "the hepfm console script must be on PATH after `pip install`"
    proc = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and proc.stdout.startswith("hepfm, version")
    proc = subprocess.run([sys.executable, "-m", "hepfm_root.cli", "--help"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and "tensorize" in proc.stdout
