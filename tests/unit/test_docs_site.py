"""The documentation site builds with warnings as errors, and a broken reference fails the build."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# autodoc imports every public module, hepfm_root.train (torch) among them
pytestmark = pytest.mark.train


def _build(src: Path, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-q", str(src), str(out)],
                          capture_output=True, text=True, timeout=900, cwd=ROOT)


def test_the_site_builds_with_warnings_as_errors(tmp_path):
    r = _build(ROOT / "docs", tmp_path / "html")
    assert r.returncode == 0, r.stderr[-3000:]
    cli = (tmp_path / "html" / "reference" / "cli.html").read_text()
    assert "skim-and-score" in cli and "--overwrite" in cli            # generated from the click commands
    spec = (tmp_path / "html" / "reference" / "spec.html").read_text()
    assert "max_objects" in spec and "Rows reserved for this block" in spec   # generated from the schema
    api = (tmp_path / "html" / "reference" / "api.html").read_text()
    assert "score_events" in api and "define_score" in api              # generated from the docstrings
    for page in ("coffea", "datasets", "pretraining", "benchmarks", "reliability", "tutorials/finetune"):
        assert (tmp_path / "html" / f"{page}.html").is_file(), page


def test_a_broken_reference_fails_the_build(tmp_path):
    src = tmp_path / "docs"
    src.mkdir()
    shutil.copy(ROOT / "docs" / "conf.py", src / "conf.py")
    shutil.copytree(ROOT / "docs" / "_ext", src / "_ext")
    (src / "index.md").write_text("# Index\n\nSee [the page](no_such_page.md).\n")
    r = _build(src, tmp_path / "html")
    assert r.returncode != 0 and "no_such_page" in r.stderr
