"""The README's promises stay true: CI runs its test command, the fast lane runs without extras, exit codes exist."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hepfm_root.cli import EXIT

ROOT = Path(__file__).resolve().parents[2]


def _bash_blocks(text: str) -> list[str]:
    return [b.strip() for b in re.findall(r"```bash\n(.*?)```", text, flags=re.S)]


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci_lines = [ln for ln in (ROOT / ".ci" / "run").read_text().splitlines() if ln and not ln.startswith(("#", "set ", "cd "))]
    assert len(ci_lines) == 1
    assert ci_lines[0] in _bash_blocks(readme), "the README's test command and .ci/run must be the same line"


def test_readme_documents_the_exit_codes():
    readme = (ROOT / "README.md").read_text()
    for code in EXIT.values():
        assert f"{code} " in readme


def test_architecture_names_every_layer():
    arch = (ROOT / "ARCHITECTURE.md").read_text()
    for folder in ("spec/", "tensors/", "io/", "cli/"):
        assert folder in arch


@pytest.mark.train  # hepfm_root.train imports torch
def test_readme_config_examples_are_valid(tmp_path):
    from hepfm_root.corrections import load_corrections
    from hepfm_root.train import load_config

    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]   # the examples moved to the site's pages
    checked: dict[tuple[str, str], int] = {}
    for page in pages:
        for i, block in enumerate(re.findall(r"```yaml\n(.*?)```", page.read_text(), flags=re.S)):
            path = tmp_path / f"{page.stem}{i}.yaml"
            path.write_text(block)
            if "strategy:" in block:
                assert load_config(path, "finetune").data.classes
                kind = "finetune"
            elif "jets:" in block:
                assert load_corrections(path).variation_names()
                kind = "corrections"
            else:
                continue
            key = (page.relative_to(ROOT).as_posix(), kind)
            checked[key] = checked.get(key, 0) + 1
    # every example each page holds: a dropped (or moved) one fails here, as does a new one until it is counted
    assert checked == {("docs/corrections.md", "corrections"): 1, ("docs/tutorials/finetune.md", "finetune"): 2}


def _named_tests(text: str) -> list[tuple[str, str | None]]:
    """(test file, test function or None) for every test that a doc page names.

    ``tests/x.py::name`` names a function in that file; ``::name`` one in the file named last before it.
    """
    out: list[tuple[str, str | None]] = []
    current = None
    for m in re.finditer(r"`(tests/[\w/]+\.py)?(?:::(\w+))?[^`]*`", text):
        path, name = m.group(1), m.group(2)
        if path:
            current = path
        if path or name:
            out.append((current, name))  # type: ignore[arg-type]
    return out


def test_every_test_the_reliability_page_names_exists():
    named = _named_tests((ROOT / "docs" / "reliability.md").read_text())
    assert len(named) > 40
    missing = []
    for path, name in named:
        source = (ROOT / path).read_text() if path and (ROOT / path).is_file() else None
        if source is None or (name is not None and not re.search(rf"^def {name}\(", source, flags=re.M)):
            missing.append(f"{path}::{name}" if name else str(path))
    assert missing == [], "docs/reliability.md names tests that do not exist"


# --- the fast lane: base dependencies only ----------------------------------------------------------------------------

_BLOCKER = """
import importlib.abc, sys
BLOCKED = set(sys.argv[1].split(","))
class NoExtras(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked: an optional extra)", name=name)
sys.meta_path.insert(0, NoExtras())
import pytest
code = pytest.main(sys.argv[3:])
failing = []
for package in sys.argv[2].split(","):
    try:
        __import__(f"hepfm_root.{package}")
    except ModuleNotFoundError:
        failing.append(package)
print("PACKAGES-NEEDING-EXTRAS", ",".join(failing))
sys.exit(int(code))
"""


def _fast_lane_command() -> str:
    lines = [ln for b in _bash_blocks((ROOT / "README.md").read_text()) for ln in b.splitlines() if "pytest tests/unit" in ln]
    assert len(lines) == 1, "the README shows the fast-lane command once"
    return lines[0]


def _extra_markers(config: pytest.Config) -> dict[str, str]:
    """Registered marker -> the extra its description names (``train: needs the `train` extra (...)``)."""
    out = {}
    for line in config.getini("markers"):
        m = re.match(r"(\w+): needs the `(\w+)` extra", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def _optional_imports() -> set[str]:
    """Top-level import names of every installed distribution that only an extra of hepfm_root brings."""
    from importlib.metadata import packages_distributions, requires

    extra_dists = {re.split(r"[<>=!~; \[]", r, maxsplit=1)[0].lower().replace("_", "-")
                   for r in requires("hepfm_root") or [] if "extra ==" in r}
    return {name for name, dists in packages_distributions().items()
            if any(d.lower().replace("_", "-") in extra_dists for d in dists)}


def test_the_fast_lane_deselects_exactly_the_extra_markers(request):
    from importlib.metadata import metadata

    command = _fast_lane_command()
    m = re.search(r'pytest tests/unit -m "([^"]+)"$', command)
    assert m, command
    names = [n for n in re.findall(r"\w+", m.group(1)) if n not in ("not", "and")]
    extras = _extra_markers(request.config)
    assert extras, "pyproject.toml registers one marker per extra a unit test needs"
    assert m.group(1) == " and ".join(f"not {n}" for n in names), "the lane only deselects: not a and not b ..."
    assert set(names) == set(extras), "every extra marker is deselected by the lane, and only they"
    assert set(extras.values()) <= set(metadata("hepfm_root").get_all("Provides-Extra") or [])
    assert "--group dev" in command and "[" not in command.split("&&")[0], "the lane installs no extra"


def test_conftest_reads_module_marks_and_the_lane_expression_like_pytest():
    from conftest import deselects_all

    expr = re.search(r'-m "([^"]+)"', _fast_lane_command()).group(1)
    assert deselects_all(expr, {"train"}) and deselects_all(expr, {"root", "usefixtures"})
    assert not deselects_all(expr, {"usefixtures"}) and not deselects_all(expr, set())
    assert not deselects_all("not train or slow", {"train"})  # its slow tests are selected: import it
    assert deselects_all("not slow and not gpu", {"gpu"}) and not deselects_all("", {"gpu"})


def test_the_fast_lane_collects_with_every_optional_dependency_blocked():
    # The real check is a venv with the base dependencies only (done by hand, see the README); this keeps
    # it true in CI, where the extras are installed: imports of them fail, as they would there.
    # The extras' own modules, and whatever an installed extra distribution provides besides (cppyy, ...).
    blocked = _optional_imports() | {"torch", "ROOT", "cppyy", "scipy", "onnx", "onnxscript", "onnxruntime", "matplotlib",
                                     "mplhep", "coffea", "dask_awkward", "distributed", "correctionlib", "pythia8", "fastjet"}
    expr = re.search(r'-m "([^"]+)"', _fast_lane_command()).group(1)
    packages = sorted(p.parent.name for p in (ROOT / "hepfm_root").glob("*/__init__.py"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", _BLOCKER, ",".join(sorted(blocked)), ",".join(packages), "tests/unit",
                           "-m", expr, "--collect-only", "-q", "-p", "no:cacheprovider"],
                          cwd=ROOT, capture_output=True, text=True, check=False, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    whole_modules = sorted(f"tests/unit/{p.name}" for p in (ROOT / "tests" / "unit").glob("test_*.py")
                           if re.search(r"^pytestmark = .*pytest\.mark\.(train|root|plot)\b", p.read_text(), flags=re.M))
    assert whole_modules, "test_models.py imports torch at the top: marked as a whole"
    for module in whole_modules:
        assert f"{module} (marked " in proc.stdout, f"{module} should be named as not imported"
    needing = re.search(r"PACKAGES-NEEDING-EXTRAS (.*)", proc.stdout).group(1).split(",")
    # processors: the coffea processors (coffea extra), tested in tests/integration only
    assert needing == ["export", "models", "processors", "train"], "update NEEDS_TRAIN in test_architecture.py and the marks"
