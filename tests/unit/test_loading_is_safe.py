"""Loading never unpickles and never evaluates: every loader call in ``hepfm_root/`` is checked in its source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "hepfm_root"
FILES = sorted(PACKAGE.rglob("*.py"))


def _calls(path: Path):
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
            if isinstance(f, ast.Name):
                owner = "builtins"
            else:
                owner = f.value.id if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) else "?"
            yield node, owner, name


def _kw(node: ast.Call, name: str):
    kw = next((k for k in node.keywords if k.arg == name), None)
    return None if kw is None else kw.value


def test_the_package_has_a_torch_load_to_check():
    assert any(owner == "torch" and name == "load" for p in FILES for _, owner, name in _calls(p))


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_loader_call_is_the_safe_one(path):
    for node, owner, name in _calls(path):
        where = f"{path.relative_to(PACKAGE)}:{node.lineno}"
        if owner == "torch" and name == "load":
            v = _kw(node, "weights_only")
            assert isinstance(v, ast.Constant) and v.value is True, f"{where}: torch.load without weights_only=True"
        if owner in ("pickle", "cloudpickle", "dill", "marshal", "joblib") and name in ("load", "loads"):
            raise AssertionError(f"{where}: {owner}.{name} unpickles")
        if owner in ("np", "numpy") and name == "load":
            v = _kw(node, "allow_pickle")
            assert v is None or (isinstance(v, ast.Constant) and v.value is False), f"{where}: np.load(allow_pickle)"
        if owner == "yaml":
            assert name not in ("load", "unsafe_load", "full_load", "load_all"), f"{where}: yaml.{name}; use safe_load"
        if owner == "builtins" and name in ("eval", "exec", "compile", "__import__"):
            raise AssertionError(f"{where}: {name}() runs text as code")


def _code_carrying_loads(path: Path) -> list[int]:
    """Lines of ``torch.jit.load`` / ``torch.export.load`` calls: they run code the file carries."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Call) and isinstance(f := node.func, ast.Attribute) and f.attr == "load":
            v = f.value
            if isinstance(v, ast.Attribute) and v.attr in ("jit", "export") and isinstance(v.value, ast.Name) \
                    and v.value.id == "torch":
                lines.append(node.lineno)
    return lines


def test_torchscript_and_torch_export_files_are_loaded_in_one_place():
    """``infer/_torch_file.py`` is the one loader: for a file the user imports, or a kept one whose hash matched."""
    found = {str(p.relative_to(PACKAGE)): n for p in FILES if (n := _code_carrying_loads(p))}
    assert sorted(found) == ["infer/_torch_file.py"] and len(found["infer/_torch_file.py"]) == 2, found
