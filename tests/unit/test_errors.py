"""One error family: every deliberate raise is a member of it, and each member carries its exit code."""

from __future__ import annotations

import ast
import builtins
import inspect
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import hepfm_root
import hepfm_root.errors as errors
from hepfm_root.cli._common import EXIT, exit_code, run_command

PACKAGE = Path(hepfm_root.__file__).parent

BUILTIN_EXCEPTIONS = {n for n, v in vars(builtins).items() if isinstance(v, type) and issubclass(v, BaseException)}

#: Decorators whose functions must raise ValueError/AssertionError: pydantic turns them into a
#: ValidationError, which every loader turns into InvalidSpecError / InvalidConfigError.
VALIDATORS = {"field_validator", "model_validator", "validator", "root_validator"}

#: Where a builtin is the protocol: (function name, exception) anywhere in the package.
PROTOCOL = {
    ("__getattr__", "AttributeError"),
    ("__next__", "StopIteration"),
}

#: Abstract methods of a base class: NotImplementedError is the protocol there.
ABSTRACT = {"NotImplementedError"}

#: Deliberately internal: these can only fire on a bug in hepfm_root, so they exit 1 ("please report").
INTERNAL_RAISES = {
    ("rdf/_score.py", "_declare_lookup", "RuntimeError"),       # fixed C++ of ours that failed to compile
    ("io/_ntuple.py", "__exit__", "RuntimeError"),              # a writer closed before its layout was known
    ("spec/_v2.py", "_check_cost", "ValueError"),               # overrides the v1 helper its @model_validator calls
}


def _decorator_names(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    out = set()
    for d in fn.decorator_list:
        node = d.func if isinstance(d, ast.Call) else d
        out.add(node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", ""))
    return out


def _validator_helpers(tree: ast.AST) -> set[str]:
    """Functions pydantic runs as validators: passed to ``AfterValidator(...)`` and the like, or called as
    ``self.helper()`` from a ``@model_validator``/``@field_validator`` (their ``ValueError`` becomes a
    ``ValidationError``, which the loaders turn into a family member)."""
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "").endswith("Validator"):
            out |= {a.id for a in node.args if isinstance(a, ast.Name)}
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _decorator_names(node) & VALIDATORS:
            for call in ast.walk(node):
                if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                        and getattr(call.func.value, "id", "") == "self"):
                    out.add(call.func.attr)
    return out


def _bare_builtin_raises(path: Path, rel: str) -> list[str]:
    tree = ast.parse(path.read_text())
    found: list[str] = []
    helpers = _validator_helpers(tree)

    def visit(node: ast.AST, fn: ast.FunctionDef | ast.AsyncFunctionDef | None) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            fn = node
        if isinstance(node, ast.Raise) and node.exc is not None:
            exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            name = getattr(exc, "id", None)
            if name in BUILTIN_EXCEPTIONS:
                where = fn.name if fn is not None else "<module>"
                allowed = name in ABSTRACT or (rel, where, name) in INTERNAL_RAISES or (
                    fn is not None and bool((_decorator_names(fn) & VALIDATORS) or fn.name in helpers
                                            or (fn.name, name) in PROTOCOL)
                )
                if not allowed:
                    found.append(f"{rel}:{node.lineno} {where}: raise {name}")
        for child in ast.iter_child_nodes(node):
            visit(child, fn)

    visit(tree, None)
    return found


def test_no_bare_builtin_exception_is_raised_outside_validators_and_protocol_methods():
    found = [hit for path in sorted(PACKAGE.rglob("*.py"))
             for hit in _bare_builtin_raises(path, path.relative_to(PACKAGE).as_posix())]
    assert found == [], "raise a member of hepfm_root.errors instead (a bare builtin exits 1, 'a bug'):\n" + "\n".join(found)


def test_the_raise_check_flags_a_bare_raise_and_spares_validators_and_getattr(tmp_path):
    path = tmp_path / "probe.py"
    path.write_text("from pydantic import model_validator\n"
                    "def f():\n    raise ValueError('x')\n"
                    "class A:\n    @model_validator(mode='after')\n    def g(self):\n        raise ValueError('ok')\n"
                    "    def __getattr__(self, n):\n        raise AttributeError(n)\n"
                    "    def h(self):\n        raise KeyError(n)\n"
                    "def v(x):\n    raise ValueError(x)\n"
                    "V = AfterValidator(v)\n")
    assert _bare_builtin_raises(path, "probe.py") == ["probe.py:3 f: raise ValueError", "probe.py:11 h: raise KeyError"]


def _family() -> list[type[errors.HepfmError]]:
    out = [v for v in vars(errors).values() if isinstance(v, type) and issubclass(v, errors.HepfmError)]
    import hepfm_root.skim as skim

    out.append(skim.SelectionError)
    return out


#: Members whose exit code is deliberately 1: they report a failure of hepfm_root itself.
INTERNAL = {"HepfmError", "GenerationError"}


@pytest.mark.parametrize("cls", _family(), ids=lambda c: c.__name__)
def test_every_family_member_carries_an_exit_code(cls):
    if cls.__name__ in INTERNAL:
        assert cls.exit_code == EXIT["internal"]
    else:
        assert 2 <= cls.exit_code <= 6, f"{cls.__name__} exits {cls.exit_code}: give it its own exit_code"


def test_family_members_are_all_defined_in_errors_module_or_listed():
    outside = [c for c in _family() if c.__module__ != "hepfm_root.errors"]
    assert [c.__name__ for c in outside] == ["SelectionError"]


def _instance(cls: type[errors.HepfmError]) -> errors.HepfmError:
    params = inspect.signature(cls.__init__).parameters
    if "available" in params and "where" in params:
        return cls("x", where="here", available=["y"])  # type: ignore[call-arg]
    if "available" in params:
        return cls("x", available=["y"])  # type: ignore[call-arg]
    if "where" in params:
        return cls("x", where="here")  # type: ignore[call-arg]
    return cls("line one\nline two")


@pytest.mark.parametrize("cls", _family(), ids=lambda c: c.__name__)
def test_run_command_exits_with_the_class_code_and_one_line(cls):
    err = _instance(cls)

    @click.command()
    @run_command
    def boom() -> None:
        raise err

    result = CliRunner().invoke(boom, [])
    assert result.exit_code == cls.exit_code == exit_code(err)
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"hepfm: error: {cls.__name__}: ")


def test_a_foreign_exception_exits_1_as_a_bug_on_one_line():
    @click.command()
    @run_command
    def boom() -> None:
        raise ZeroDivisionError("first\nsecond")

    result = CliRunner().invoke(boom, [])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert "internal error: ZeroDivisionError: first" in result.output and "please report" in result.output


def test_a_full_disk_on_an_output_exits_5(tmp_path):
    import errno

    @click.command()
    @run_command
    def boom() -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "out.root"))

    result = CliRunner().invoke(boom, [])
    assert result.exit_code == EXIT["output"]
    assert result.output == f"hepfm: error: cannot write {tmp_path / 'out.root'}: No space left on device\n"


def test_exit_code_table_is_documentation_only():
    import hepfm_root.cli._common as common

    assert not hasattr(common, "_CODES")
    assert set(EXIT.values()) == {0, 1, 2, 3, 4, 5, 6}
