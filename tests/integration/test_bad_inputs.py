"""Bad data is caught at the door: damaged baskets, counters that lie, branches of the wrong type.

The byte-flip corpus flips one bit inside a *compressed* basket of the real CMS samples (the
payload is checksummed by zlib/LZMA/LZ4/ZSTD, so a flip there is detectable; a flip inside an
uncompressed basket changes a number and no reader can tell).  Every flipped file must give
either exactly the data of the original file or exit code 3 with one line naming the file,
never a traceback, never exit code 1, never a hang, never a file left behind.
"""

from __future__ import annotations

import json
import random
import struct
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot
from _files import SHIPPED_MODEL, mktree_columns
from click.testing import CliRunner

from hepfm_root import load_spec
from hepfm_root.cli import EXIT, cli
from hepfm_root.errors import InvalidInputFileError
from hepfm_root.io import iter_tensors, open_events
from hepfm_root.spec import resolve

#: (sample, spec the flips are read with); the spec decides which branches are read.
CORPUS = [("nano_tt_v12.root", "six_object"), ("nano_dy.root", "six_object"), ("pfnano.root", "jet_constituents")]
FLIPS = 16  # per sample: enough to hit every compressed branch kind, cheap enough for the default suite
CLI_FLIPS = 2
SIX = ["run", "luminosityBlock", "event", "MET_pt", "MET_phi", *(f"{c}_{f}" for c in ("Jet", "Electron", "Muon")
                                                                  for f in ("pt", "eta", "phi", "mass")),
       "Jet_btagDeepFlavB"]


def run(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def compressed_baskets(path: Path, branches: list[str]) -> list[tuple[str, int, int]]:
    """(branch, file offset, size) of every compressed basket of ``branches`` (key header included)."""
    data = path.read_bytes()
    tree = uproot.open(path)["Events"]
    out = []
    for name in branches:
        br = tree[name]
        for i in range(br.num_baskets):
            seek, nbytes = int(br.member("fBasketSeek")[i]), int(br.member("fBasketBytes")[i])
            _, _, objlen, _, keylen = struct.unpack(">iHiIH", data[seek : seek + 16])
            if nbytes - keylen < objlen:  # stored compressed
                out.append((name, seek, nbytes))
    return out


def flipped_copies(path: Path, spec: str, out_dir: Path, n: int, seed: int = 15) -> list[tuple[Path, str]]:
    """``n`` copies of ``path``, each with one bit flipped inside a compressed basket the spec reads."""
    names = open_events(path).branch_names()
    branches = resolve(load_spec(spec), names, where=path.name).branches()
    baskets = compressed_baskets(path, branches)
    assert len(baskets) >= 10, f"{path.name}: too few compressed baskets for a corpus"
    data = path.read_bytes()
    rng = random.Random(seed)
    out = []
    for k in range(n):
        branch, seek, nbytes = rng.choice(baskets)
        buf = bytearray(data)
        buf[seek + rng.randrange(nbytes)] ^= 1 << rng.randrange(8)
        p = out_dir / f"flip{k:02d}_{path.name}"
        p.write_bytes(bytes(buf))
        out.append((p, branch))
    return out


def one_error_line(result) -> str:
    lines = [x for x in result.stderr.splitlines() if x.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


@pytest.fixture(scope="module", params=CORPUS, ids=[c[0] for c in CORPUS])
def corpus(request, sample, tmp_path_factory):
    """(sample, spec, reference tensors, [(flipped copy, damaged branch)]) for one real sample."""
    name, spec = request.param
    src = Path(sample(name))
    reference = [c.tensors for c in iter_tensors([src], spec)]
    return src, spec, reference, flipped_copies(src, spec, tmp_path_factory.mktemp(name.split(".")[0]), FLIPS)


def _same(a, b) -> bool:
    return all(
        (x is None and y is None) or np.array_equal(x, y, equal_nan=True)
        for x, y in [(a.objects, b.objects), (a.mask, b.mask), (a.selected, b.selected),
                     (a.constituents, b.constituents), (a.constituent_mask, b.constituent_mask)]
    )


@pytest.mark.timeout(300)
def test_byte_flips_in_compressed_baskets_read_as_the_original_data_or_a_named_error(corpus):
    src, spec, reference, flips = corpus
    outcomes = {"same": 0, "refused": 0}
    for flipped, branch in flips:
        try:
            got = [c.tensors for c in iter_tensors([flipped], spec)]
        except InvalidInputFileError as err:  # anything else (a bug, exit 1) fails the test
            assert flipped.name in str(err) and repr(branch) in str(err), (branch, str(err))
            assert "\n" not in str(err) and err.__cause__ is not None
            outcomes["refused"] += 1
            continue
        # the flip hit a byte the reader does not use (e.g. a key's date): the data must be untouched
        assert len(got) == len(reference) and all(_same(a, b) for a, b in zip(got, reference, strict=True)), \
            (flipped.name, branch)
        outcomes["same"] += 1
    assert outcomes["refused"] >= FLIPS // 2, outcomes  # most flips land in checksummed payload


@pytest.mark.timeout(300)
def test_byte_flips_through_the_cli_give_exit_0_or_3_one_line_and_no_file_left(corpus, tmp_path):
    # Both commands on the first flips of each sample (opening a 1,500-branch NanoAOD tree dominates
    # the time of one run; the library test above covers the whole corpus through the same boundary).
    # skim-and-score scores with the shipped six_object model (no ONNX jet model ships): on pfnano a
    # flip in a constituent branch it does not read must leave its output whole.
    src, spec, _, flips = corpus
    n_entries = uproot.open(src)["Events"].num_entries
    for flipped, branch in flips[:CLI_FLIPS]:
        out_dir = tmp_path / flipped.stem
        out_dir.mkdir()
        for args in (["tensorize", flipped, "--spec", spec, "-o", out_dir / "t.root", "--step-size", "7", "--all-events"],
                     ["skim-and-score", flipped, "--model", SHIPPED_MODEL, "-o", out_dir / "s.root", "--keep", "Jet_pt"]):
            r = run(*args, "-q")
            assert r.exit_code in (0, EXIT["bad_input"]), (flipped.name, branch, r.output)
            if r.exit_code == 0:
                if args[0] == "skim-and-score":
                    assert uproot.open(out_dir / "s.root")["Events"].num_entries == n_entries
                else:
                    assert uproot.open(out_dir / "t.root")["Tensors"].num_entries == n_entries
            else:
                line = one_error_line(r)
                assert flipped.name in line and repr(branch) in line, line
                assert not any(out_dir.iterdir()), f"{args[0]} left a file behind after exit 3"
        for p in out_dir.iterdir():
            p.unlink()


# ---- files built to be wrong ------------------------------------------------------------------


def _write(path: Path, cols: dict, *, compression=None, chunks: int = 1) -> Path:
    n = len(next(iter(cols.values())))
    edges = np.linspace(0, n, chunks + 1).astype(int)
    with uproot.recreate(path, compression=compression) as f:
        f.mktree("Events", {k: (v.type if isinstance(v, ak.Array) else v.dtype) for k, v in cols.items()})
        for a, b in zip(edges[:-1], edges[1:], strict=True):  # one extend = one basket per branch
            f["Events"].extend({k: v[a:b] for k, v in cols.items()})
    return path


@pytest.fixture(scope="module")
def tt_arrays(sample):
    return uproot.open(sample("nano_tt_v12.root"))["Events"].arrays(SIX)


def _patch_first_value(path: Path, branch: str, delta: int) -> None:
    """Add ``delta`` to the first int32 of an uncompressed basket of ``branch`` (a lying counter)."""
    tree = uproot.open(path)["Events"]
    seek = int(tree[branch].member("fBasketSeek")[0])
    data = bytearray(path.read_bytes())
    keylen = struct.unpack(">H", data[seek + 14 : seek + 16])[0]
    (value,) = struct.unpack(">i", data[seek + keylen : seek + keylen + 4])
    data[seek + keylen : seek + keylen + 4] = struct.pack(">i", value + delta)
    path.write_bytes(bytes(data))


def test_a_counter_that_disagrees_with_its_jagged_branches_is_refused(tt_arrays, tmp_path):
    path = _write(tmp_path / "lying_counter.root", mktree_columns(tt_arrays[:20]))
    _patch_first_value(path, "nJet", +2)
    assert uproot.open(path)["Events"]["nJet"].array()[0] != ak.num(uproot.open(path)["Events"]["Jet_pt"].array())[0]
    with pytest.raises(InvalidInputFileError, match=r"lying_counter.root.*counter 'nJet' disagrees") as info:
        list(iter_tensors([path], "six_object"))
    assert "'Jet_" in str(info.value)
    out = tmp_path / "t.root"
    r = run("tensorize", path, "--spec", "six_object", "-o", out, "-q")
    assert r.exit_code == EXIT["bad_input"] and "nJet" in one_error_line(r) and not out.exists()
    r = run("skim-and-score", path, "--model", SHIPPED_MODEL, "-o", tmp_path / "s.root", "--keep", "Jet_pt", "-q")
    assert r.exit_code == EXIT["bad_input"] and "lying_counter.root" in one_error_line(r)
    assert not (tmp_path / "s.root").exists()


@pytest.mark.parametrize(
    ("branch", "message"),
    [("Jet_pt", "expected a jagged per-object branch"), ("MET_pt", "expected one value per event")],
    ids=["scalar_for_jagged", "jagged_for_scalar"],
)
def test_a_branch_of_the_wrong_shape_gives_exit_3_naming_file_and_branch(tt_arrays, tmp_path, branch, message):
    cols = mktree_columns(tt_arrays)
    if branch == "Jet_pt":  # one float per event where the spec needs one per jet
        cols["Jet"] = ak.zip({f: tt_arrays[f"Jet_{f}"] for f in ("eta", "phi", "mass", "btagDeepFlavB")}, depth_limit=2)
        cols["Jet_pt"] = ak.to_numpy(ak.fill_none(ak.firsts(tt_arrays.Jet_pt), 0.0))
    else:  # a list per event where the spec needs one number (MET is a singleton)
        del cols["MET_pt"]
        cols["MET"] = ak.zip({"pt": tt_arrays.Jet_pt}, depth_limit=2)
    path = _write(tmp_path / "typed.root", cols)
    out = tmp_path / "t.root"
    r = run("tensorize", path, "--spec", "six_object", "-o", out, "-q")
    line = one_error_line(r)
    assert r.exit_code == EXIT["bad_input"], r.output
    assert "typed.root" in line and repr(branch) in line and message in line, line
    assert not out.exists()


# ---- --skip-bad-files: a file found bad mid-read contributes nothing -------------------------------


def test_skip_bad_files_leaves_out_every_event_of_a_file_damaged_past_its_first_chunk(tt_arrays, sample, tmp_path):
    cols = mktree_columns(tt_arrays)
    good = _write(tmp_path / "good.root", mktree_columns(tt_arrays[:50]), compression=uproot.ZLIB(1))
    bad = _write(tmp_path / "late_damage.root", cols, compression=uproot.ZLIB(1), chunks=4)
    # damage the last Jet_pt basket only: the first chunks of the file read fine
    name, seek, nbytes = [b for b in compressed_baskets(bad, ["Jet_pt"])][-1]
    data = bytearray(bad.read_bytes())
    data[seek + nbytes - 5] ^= 0x10
    bad.write_bytes(bytes(data))
    with pytest.raises(InvalidInputFileError):
        list(iter_tensors([bad], "six_object", step_size=20))
    first = next(iter(iter_tensors([bad], "six_object", step_size=20)))
    assert first.entry_start == 0  # the first chunk of the bad file is readable: damage is mid-file

    out = tmp_path / "s.root"
    # the bad file first: its first chunks are written before the damage is met
    r = run("skim-and-score", bad, good, "--model", SHIPPED_MODEL, "-o", out, "--keep", "Jet_pt", "--step-size", "20",
            "--skip-bad-files")
    assert r.exit_code == 0, r.output
    got = uproot.open(out)["Events"].arrays(["event", "Jet_pt"])
    assert got.event.tolist() == tt_arrays.event[:50].tolist()  # exactly the good file's events
    summary = json.loads(Path(str(out) + ".summary.json").read_text())
    assert [Path(b["file"]).name for b in summary["bad_files"]] == ["late_damage.root"]
    assert "'Jet_pt'" in summary["bad_files"][0]["error"]
    assert [Path(i).name for i in summary["inputs"]] == ["good.root"]
    assert summary["events_read"] == 50 and summary["events_written"] == 50
    assert "skipped" in r.stderr and "late_damage.root" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporary left

    # without --skip-bad-files the job stops with exit 3 and writes nothing
    out2 = tmp_path / "s2.root"
    r = run("skim-and-score", good, bad, "--model", SHIPPED_MODEL, "-o", out2, "--keep", "Jet_pt", "--step-size", "20",
            "-q")
    assert r.exit_code == EXIT["bad_input"] and "late_damage.root" in one_error_line(r)
    assert not out2.exists()


def test_byte_flips_in_a_tensor_file_read_back_as_written_or_a_named_error(sample, tmp_path):
    from hepfm_root.io import read_tensors

    src = tmp_path / "t.root"
    assert run("tensorize", sample("nano_tt_v12.root"), "--spec", "six_object", "-o", src, "-q").exit_code == 0
    reference, _ = read_tensors(src)
    data = src.read_bytes()
    rng = random.Random(17)
    refused = same = 0
    for k in range(30):
        buf = bytearray(data)
        buf[rng.randrange(100, len(buf))] ^= 1 << rng.randrange(8)
        p = tmp_path / f"flip{k:02d}.root"
        p.write_bytes(bytes(buf))
        try:
            got, _ = read_tensors(p)
        except InvalidInputFileError as err:
            assert p.name in str(err) and "\n" not in str(err)
            refused += 1
        except Exception as err:  # noqa: BLE001 - only the spec (embedded JSON) may fail otherwise
            assert type(err).__name__ == "InvalidSpecError" and p.name in str(err), repr(err)
            refused += 1
        else:  # a flip in an uncompressed basket changes numbers no reader can check; the shape holds
            assert got.objects.shape == reference.objects.shape and got.mask.shape == reference.mask.shape
            assert got.objects.dtype == np.float32 and got.mask.dtype == bool
            same += _same(got, reference)
        p.unlink()
    assert refused >= 5 and refused + same >= 20, (refused, same)
