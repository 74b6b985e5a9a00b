"""``hepfm --help``, ``--version`` and ``spec list`` start without the heavy stacks (timings: tests/benchmarks/bench_startup.py)."""

from __future__ import annotations

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
    assert sorted(imported & {*OPTIONAL, *NUMERIC}) == []


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
