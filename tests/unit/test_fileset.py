"""The one fileset parser (``io.parse_fileset``): every coffea form gives the same files and trees, every malformed
form is refused on one line (exit code 2 through the CLI), naming the fileset and the dataset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from hepfm_root.cli import cli
from hepfm_root.errors import InvalidArgumentError
from hepfm_root.io import DatasetFiles, parse_fileset

names = st.text(st.characters(codec="ascii", categories=["L", "N"]), min_size=1, max_size=8)
paths = names.map(lambda s: f"/data/{s}.root")
trees = st.sampled_from(["Events", "Other", "nt", "Friends"])
#: {path: tree} as the files of one dataset (what every form must come back as).
file_maps = st.dictionaries(paths, trees, max_size=4)
metadata = st.dictionaries(names, st.one_of(st.integers(), st.floats(allow_nan=False), names), max_size=3)


@st.composite
def dataset_entries(draw, default: str) -> tuple[object, dict[str, str], dict]:
    """(one coffea form of a dataset entry, the files it means with ``default`` as the tree, its metadata)."""
    form = draw(st.sampled_from(["list", "files_list", "files_list_treename", "files_map", "files_map_treename", "object_path",
                                 "object_path_mixed", "shorthand"]))
    files = draw(file_maps)
    meta = draw(metadata)
    treename = draw(trees)
    if form == "list":
        return list(files), {p: default for p in files}, {}
    if form == "files_list":
        return {"files": list(files), "metadata": meta}, {p: default for p in files}, meta
    if form == "files_list_treename":
        return {"files": list(files), "treename": treename, "metadata": meta}, {p: treename for p in files}, meta
    if form == "files_map":
        return {"files": dict(files), "metadata": meta}, dict(files), meta
    if form == "files_map_treename":  # a file's own tree wins over the dataset's treename
        return {"files": dict(files), "treename": treename}, dict(files), {}
    if form == "object_path":  # dataset_tools' preprocessed form
        entry = {p: {"object_path": t, "steps": [[0, 10]], "num_entries": 10, "uuid": "x"} for p, t in files.items()}
        return {"files": entry, "form": None, "metadata": meta}, dict(files), meta
    if form == "object_path_mixed":  # no object_path: the dataset's treename, then the default
        entry = {p: ({"object_path": t} if i % 2 else {"steps": [[0, 1]]}) for i, (p, t) in enumerate(files.items())}
        want = {p: (t if i % 2 else treename) for i, (p, t) in enumerate(files.items())}
        return {"files": entry, "treename": treename}, want, {}
    return dict(files), dict(files), {}


@st.composite
def filesets(draw) -> tuple[str, dict, dict[str, DatasetFiles]]:
    default = draw(trees)
    out, want = {}, {}
    for name in draw(st.lists(names, unique=True, max_size=4)):
        entry, files, meta = draw(dataset_entries(default))
        out[name] = entry
        want[name] = DatasetFiles(name, files, meta)
    return default, out, want


@settings(max_examples=200, deadline=None)
@given(filesets())
def test_every_coffea_form_gives_its_files_trees_and_metadata(case):
    default, fileset, want = case
    got = parse_fileset(fileset, tree=default)
    assert got == want
    assert list(got) == list(fileset)  # datasets keep their order
    for name in got:  # and files theirs: the order of the job's inputs
        assert list(got[name].files) == list(want[name].files)


@settings(max_examples=50, deadline=None)
@given(filesets())
def test_parsing_a_json_round_trip_is_the_same(case):
    default, fileset, want = case
    assert parse_fileset(json.loads(json.dumps(fileset)), tree=default) == want


def test_the_checked_fileset_form_parses_back_to_itself():
    checked = {"tt": {"files": {"/d/a.root": {"object_path": "Events", "steps": [[0, 5]], "num_entries": 5}},
                      "metadata": {"dataset": "tt", "xs": 1.0}}}
    assert parse_fileset(checked) == {"tt": DatasetFiles("tt", {"/d/a.root": "Events"}, {"dataset": "tt", "xs": 1.0})}


def test_path_objects_are_paths():
    assert parse_fileset({"tt": [Path("/d/a.root")]})["tt"].files == {"/d/a.root": "Events"}


#: (case, malformed fileset, words the one-line message must contain)
MALFORMED = [
    ("a list at the top", ["/d/a.root"], "expected a mapping {dataset: files}, got list"),
    ("a string at the top", "/d/a.root", "got str"),
    ("a dataset that is a number", {"tt": 3}, "dataset 'tt': expected a list of files or {'files': ...}, got int"),
    ("a dataset that is a string", {"tt": "/d/a.root"}, "dataset 'tt'"),
    ("an empty dataset name", {"": ["/d/a.root"]}, "dataset names must be non-empty strings"),
    ("files that is a string", {"tt": {"files": "/d/a.root"}}, "'files' must be a list of paths or a mapping"),
    ("a file that is a number", {"tt": ["/d/a.root", 7]}, "dataset 'tt', file #1: expected a file path, got int"),
    ("an empty path", {"tt": {"files": [""]}}, "expected a file path"),
    ("a tree that is a number", {"tt": {"files": {"/d/a.root": 1}}}, "file '/d/a.root': expected a tree name"),
    ("an empty tree name", {"tt": {"/d/a.root": ""}}, "expected a tree name"),
    ("a treename that is a list", {"tt": {"files": ["/d/a.root"], "treename": ["Events"]}}, "treename: expected a tree"),
    ("an object_path that is null", {"tt": {"files": {"/d/a.root": {"object_path": None}}}}, "object_path"),
    ("a misspelt dataset key", {"tt": {"files": ["/d/a.root"], "treenmae": "Other"}},
     "unknown key 'treenmae'; did you mean 'treename'?"),
    ("a misspelt file key", {"tt": {"files": {"/d/a.root": {"objectpath": "Other"}}}},
     "unknown key 'objectpath'; did you mean 'object_path'?"),
    ("metadata that is a list", {"tt": {"files": ["/d/a.root"], "metadata": [1]}}, "metadata must be a mapping"),
    ("treename without files", {"tt": {"treename": "Events", "/d/a.root": "Events"}}, "but no 'files'"),
    ("a shorthand value that is a list", {"tt": {"flies": ["/d/a.root"]}}, "file 'flies': expected a tree name"),
]


@pytest.mark.parametrize(("case", "fileset", "words"), MALFORMED, ids=[c for c, _, _ in MALFORMED])
def test_a_malformed_fileset_is_refused_on_one_line_naming_the_fileset(case, fileset, words):
    with pytest.raises(InvalidArgumentError) as err:
        parse_fileset(fileset, where="fileset fs.json")
    msg = str(err.value)
    assert msg.startswith("fileset fs.json: ") and "\n" not in msg and words in msg, msg
    assert type(err.value).exit_code == 2


@pytest.mark.parametrize(("case", "fileset", "words"), MALFORMED[:1] + MALFORMED[2:], ids=[c for c, _, _ in
                                                                                          MALFORMED[:1] + MALFORMED[2:]])
def test_the_cli_exits_2_with_one_line_for_a_malformed_fileset(tmp_path, case, fileset, words):
    path = tmp_path / "fs.json"
    path.write_text(json.dumps(fileset))
    result = CliRunner().invoke(cli, ["skim-and-score", "--fileset", str(path), "--model", str(tmp_path / "m"),
                                      "-o", str(tmp_path / "out.root")])
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and f"fileset {path}: " in lines[0] and words in lines[0], lines
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fs.json"]
