"""Shared fixtures (the real CMS samples, fetched once from the package index and cached) and the fast lane.

The fast lane: a unit test that needs an optional extra carries a marker named after it (``train``,
``root``, ``plot``; registered in pyproject.toml), and the README's contributor command deselects them
by name, ``python3 -m pytest tests/unit -m "not train and not root and not plot"``.  A module marked as a
whole (``pytestmark``) may import its extra at the top: when ``-m`` deselects every test it can hold, it
is not imported at all (an import of a missing torch would be a collection error), and the run ends with
a section naming each such module.  Nothing depends on what is installed: without ``-m`` the same
module fails loudly where its extra is missing, and so does a module named on the command line
(pytest never ignores a path it was given).
"""

from __future__ import annotations

import ast
import itertools
import os
import re
from pathlib import Path

import pytest
from _pytest.mark.expression import Expression  # pytest's own -m grammar; tests/unit/test_docs.py pins its use

from hepfm_root import samples


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    """Folder with the real CMS NanoAOD/PFNano files of the coffea source distribution.

    Fetched with ``pip download`` on first use and cached (``$HEPFM_CACHE_DIR`` or
    ``~/.cache/hepfm_root``); a failure to fetch is an error, never a skip.
    """
    return samples.fetch_samples()


@pytest.fixture(scope="session")
def sample(sample_dir: Path):
    def get(name: str) -> Path:
        return samples.sample_path(name)

    return get


@pytest.fixture(autouse=True)
def _no_user_cache_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests never depend on the caller's working directory.
    monkeypatch.chdir(os.path.dirname(__file__))


@pytest.fixture(params=["single", "imt2"])
def imt(request):
    """Run a ROOT test once single-threaded and once under ImplicitMT(2)."""
    import ROOT

    if request.param == "imt2":
        ROOT.EnableImplicitMT(2)
    yield request.param
    if ROOT.IsImplicitMTEnabled():
        ROOT.DisableImplicitMT()


@pytest.fixture(scope="module")
def rdf_dask_client():
    """A Dask client of a LocalCluster (2 worker processes) for distributed RDataFrame tests (slow ones).

    The workers are fresh processes that import this checkout's hepfm_root (the ``initialize`` hook of
    ``rdf/_distributed.py`` is pickled by reference); ports are chosen by the OS, no dashboard.
    """
    from distributed import Client, LocalCluster

    import hepfm_root

    env = {"PYTHONPATH": str(Path(hepfm_root.__file__).parents[1]), "OMP_NUM_THREADS": "1"}
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = env["PYTHONPATH"]
    try:
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, env=env)
    finally:
        if old is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = old
    c = Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny models train faster on one torch thread, and do not fight other tests' threads for 2 cores."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def scorer():
    """A Scorer of the shipped model (``_files.SHIPPED_MODEL``); modules may define their own."""
    from _files import SHIPPED_MODEL

    from hepfm_root import Scorer

    return Scorer(SHIPPED_MODEL)


@pytest.fixture(scope="module")
def df_of(sample):
    """``df_of(name="nano_tt_v12.root")``: a fresh ``ROOT.RDataFrame`` of a sample's Events tree.

    The module keeps every ``TFile`` it opened (a dataframe must not outlive its file).
    """
    import ROOT

    files = []

    def make(name: str = "nano_tt_v12.root"):
        f = ROOT.TFile.Open(str(sample(name)))
        files.append(f)  # the TFile must outlive the dataframe
        return ROOT.RDataFrame(f.Get("Events"))

    return make


# --- the fast lane: modules whose marks -m deselects are not imported -----------------------------------------------

_NOT_IMPORTED = pytest.StashKey[list]()
_IDENT = re.compile(r"(?:\w|:|\+|-|\.|\[|\]|\\|/)+")  # an identifier of pytest's -m grammar


def _mark_name(node: ast.expr) -> str | None:
    """``X`` for ``pytest.mark.X`` or ``pytest.mark.X(...)``; None for any other expression."""
    if isinstance(node, ast.Call):
        node = node.func
    if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) and node.value.attr == "mark"
            and isinstance(node.value.value, ast.Name) and node.value.value.id == "pytest"):
        return node.attr
    return None


def module_marks(path: Path) -> set[str] | None:
    """The marker names of a test module's top-level ``pytestmark``, read without importing it.

    None when the module cannot be read this way (then pytest collects it as usual).

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     f = Path(d) / "test_x.py"
        ...     _ = f.write_text("import pytest\\nimport torch\\npytestmark = [pytest.mark.train, pytest.mark.timeout(9)]\\n")
        ...     sorted(module_marks(f))
        ['timeout', 'train']
    """
    try:
        tree = ast.parse(path.read_bytes())
    except (OSError, SyntaxError, ValueError):
        return None
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets):
            values = node.value.elts if isinstance(node.value, (ast.List, ast.Tuple)) else [node.value]
            names = [_mark_name(v) for v in values]
            return None if None in names else set(names)  # type: ignore[arg-type]
    return set()


def deselects_all(markexpr: str, marks: set[str]) -> bool:
    """True when ``-m markexpr`` is false for every test carrying ``marks``, whatever marks it has besides.

    The names the expression mentions besides ``marks`` are tried in every combination, so that
    ``not train or slow`` still imports a ``train`` module (its slow tests are selected).

    Example:
        >>> deselects_all("not train and not root", {"train"}), deselects_all("not train or slow", {"train"})
        (True, False)
        >>> deselects_all("not slow and not gpu", {"usefixtures"})
        False
    """
    if not markexpr.strip() or "=" in markexpr:  # keyword matching (-m "name(k=v)"): leave it to pytest
        return False
    others = sorted(set(_IDENT.findall(markexpr)) - {"and", "or", "not"} - marks)
    if len(others) > 12:
        return False
    try:
        expr = Expression.compile(markexpr)
    except Exception:  # noqa: BLE001 - a malformed -m is pytest's to report
        return False
    for bits in itertools.product([False, True], repeat=len(others)):
        present = frozenset(marks | {name for name, bit in zip(others, bits, strict=True) if bit})
        if expr.evaluate(present.__contains__):
            return False
    return True


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_NOT_IMPORTED] = {}


def _requested(path: Path, config: pytest.Config) -> bool:
    """Whether ``path`` is one of the run's arguments or under one (pytest also asks about their siblings)."""
    for arg in config.args:
        base = (config.invocation_params.dir / arg.split("::")[0]).resolve()
        if path == base or base in path.parents:
            return True
    return False


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if collection_path.suffix != ".py" or not collection_path.name.startswith("test_"):
        return None
    marks = module_marks(collection_path)
    if not marks or not deselects_all(config.getoption("markexpr") or "", marks):
        return None
    if _requested(collection_path.resolve(), config):
        config.stash[_NOT_IMPORTED][collection_path] = marks
    return True


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    found = config.stash.get(_NOT_IMPORTED, {})
    if not found:
        return
    expr = config.getoption("markexpr")
    terminalreporter.write_sep("-", f"{len(found)} test modules not imported: -m {expr!r} deselects all their tests")
    for path, marks in sorted(found.items()):
        terminalreporter.write_line(f"{os.path.relpath(path, config.rootpath)} (marked {', '.join(sorted(marks))})")
