"""``hepfm --help``, ``--version`` and ``spec list`` start without the heavy stacks (timings: tests/benchmarks/bench_startup.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Never imported by these commands: the optional stacks, and for the first two the numeric base too.
OPTIONAL = ("torch", "ROOT", "cppyy", "coffea", "onnxruntime", "onnx", "matplotlib", "correctionlib", "dask", "scipy")
NUMERIC = ("numpy", "awkward", "uproot")

# The real entry point (hepfm_root.cli:main, as the console script calls it), then what it imported.
_RUN = """
import atexit, sys
def report():
    print("IMPORTED", ",".join(sorted({m.partition(".")[0] for m in sys.modules})), file=sys.stderr)
atexit.register(report)
sys.argv = ["hepfm", *sys.argv[1:]]
from hepfm_root.cli import main
main()
"""


def _imported(*args: str) -> tuple[set[str], str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", _RUN, *args], capture_output=True, text=True, check=False, env=env,
                          cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    line = [ln for ln in proc.stderr.splitlines() if ln.startswith("IMPORTED ")][-1]
    return set(line.removeprefix("IMPORTED ").split(",")), proc.stdout


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["tensorize", "--help"]], ids=" ".join)
def test_help_and_version_import_no_optional_stack_and_no_numpy(args):
    imported, out = _imported(*args)
    assert out.strip(), "the command printed nothing"
    # Not even the base stack: pydantic, yaml and rich come with the commands that use them.
    assert sorted(imported & {*OPTIONAL, *NUMERIC, "pydantic", "yaml", "rich"}) == []


def test_spec_list_imports_no_optional_stack_and_no_numpy():
    imported, out = _imported("spec", "list")
    assert "six_object" in out and "6 x 9" in out
    # The summaries come from builtin/index.json: not even pydantic or yaml (a stale index would load them).
    assert sorted(imported & {*OPTIONAL, *NUMERIC, "pydantic", "yaml", "rich"}) == []


def test_spec_list_says_what_loading_each_spec_says():
    from hepfm_root.spec import builtin_specs, builtin_summaries, load_spec

    lines = _imported("spec", "list")[1].splitlines()
    assert [ln.split()[0] for ln in lines] == builtin_specs()
    for line, name in zip(lines, builtin_specs(), strict=True):
        s = load_spec(name)
        assert line.split()[1:5] == [f"v{s.version}", str(s.n_objects), "x", str(s.n_features)]
    assert [tuple(s) for s in builtin_summaries()] == [
        (n, s.version, s.n_objects, s.n_features, s.description) for n in builtin_specs() for s in [load_spec(n)]]


def test_the_index_of_the_builtin_specs_is_current():
    from hepfm_root.spec import _catalog

    shipped = json.loads(_catalog.INDEX.read_text())
    assert shipped == _catalog.index_document(), (
        "a built-in spec changed: rewrite the index with `python -m hepfm_root.spec._catalog`")


@pytest.mark.parametrize("index", [None, "{not json", '{"index_version": 99, "specs": {}}', '{"index_version": 1}',
                                   "edited", "swapped"],
                         ids=["missing", "not-json", "other-layout", "no-specs", "edited", "swapped"])
def test_a_missing_or_stale_index_is_slower_never_wrong(tmp_path, monkeypatch, index):
    from hepfm_root.spec import _catalog, builtin_summaries

    truth = builtin_summaries()
    path = tmp_path / "index.json"
    if index in ("edited", "swapped"):
        doc = _catalog.index_document()
        hashes, entries = list(doc["specs"]), list(doc["specs"].values())
        for entry in entries:
            entry.update(n_features=99, version="0.0")
        if index == "edited":  # every file changed since the index was written: no hash matches
            doc["specs"] = {h[::-1]: e for h, e in zip(hashes, entries, strict=True)}
        else:  # each file's hash names another spec
            doc["specs"] = dict(zip(hashes, entries[1:] + entries[:1], strict=True))
        path.write_text(json.dumps(doc))
    elif index is not None:
        path.write_text(index)
    monkeypatch.setattr(_catalog, "INDEX", path)
    assert builtin_summaries() == truth


def test_public_names_of_the_package_are_imported_on_first_use():
    code = ("import sys, hepfm_root; before = 'hepfm_root.tensors' in sys.modules; t = hepfm_root.tensorize;"
            "print(before, 'hepfm_root.tensors' in sys.modules, hepfm_root.load_spec('six_object').n_features,"
            " hepfm_root.Scorer.__module__)")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, env=env, timeout=120)
    assert proc.stdout.split() == ["False", "True", "9", "hepfm_root.infer._scorer"], proc.stderr[-2000:]
    import hepfm_root

    with pytest.raises(AttributeError, match="no attribute 'Scorerr'"):
        hepfm_root.Scorerr  # noqa: B018 - a typo is an AttributeError, not a lazy import


def test_every_public_name_of_the_spec_package_is_imported_on_first_use():
    import hepfm_root.spec as spec

    assert spec.__all__ == sorted(spec._WHERE) == dir(spec)
    assert all(getattr(spec, name) is not None for name in spec.__all__)
    with pytest.raises(AttributeError, match="no attribute 'load_specs'"):
        spec.load_specs  # noqa: B018
