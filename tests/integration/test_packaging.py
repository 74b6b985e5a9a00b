"""The package as users install it: a real wheel, built from this checkout and installed into a fresh venv.

The wheel carries ``processors/`` inside ``hepfm_root`` and no generic top-level name
(``processors``, ``tests``, ``macros``) that would shadow a user's own package.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[2]
PROCESSORS = sorted(p.name for p in (CHECKOUT / "processors").glob("*.py"))

pytestmark = pytest.mark.slow  # builds a wheel (isolated build env) and a venv: about a minute


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-q",
                           "-w", str(out), str(CHECKOUT)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (found,) = out.glob("hepfm_root-*.whl")
    return found


def test_wheel_has_the_processors_inside_hepfm_root_and_no_generic_top_level_name(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/", 1)[0] for n in names}
    assert top == {"hepfm_root", wheel.name.split("-py")[0] + ".dist-info"}, top
    assert {f"hepfm_root/processors/{p}" for p in PROCESSORS} <= set(names)
    assert "hepfm_root/processors/README.md" in names and "hepfm_root/spec/builtin/six_object.yaml" in names
    assert not any("__pycache__" in n for n in names)
    init = zipfile.ZipFile(wheel).read("hepfm_root/processors/__init__.py").decode()
    assert init == (CHECKOUT / "processors" / "__init__.py").read_text()  # the folder's own, not the checkout stand-in


def test_installed_wheel_runs_the_processors_and_leaks_no_top_level_name(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # the dependencies from this environment, as a plain path: its .pth files (an editable
    # install of a checkout among them) are not processed, so only the wheel provides hepfm_root
    Path(site, "zz_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "-q", "--disable-pip-version-check", str(wheel)],
                   check=True, capture_output=True, timeout=600)
    probe = ("import importlib.util, hepfm_root.processors as p, hepfm_root.processors.run as r;"
             "print(p.__file__); print(r.__file__); print(p.HistogramProcessor.__module__);"
             "print([n for n in ('processors', 'tests', 'macros') if importlib.util.find_spec(n)])")
    out = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, cwd=tmp_path, check=True,
                         env={"PATH": "/usr/bin:/bin"}).stdout.splitlines()
    assert out[0] == str(Path(site, "hepfm_root", "processors", "__init__.py")) and out[1].startswith(site)
    assert out[2] == "hepfm_root.processors.histograms" and out[3] == "[]"
    help_text = subprocess.run([str(python), "-m", "hepfm_root.processors.run", "--help"], capture_output=True,
                               text=True, cwd=tmp_path, check=True, env={"PATH": "/usr/bin:/bin"}).stdout
    assert help_text.startswith("usage: python3 -m hepfm_root.processors.run")
