"""``--selection``: a cut on branches, parsed safely (no ``eval``), typed once, evaluated per chunk.

Syntax (Python or C++ spelling of the operators)::

    nJet >= 4 && MET_pt > 30
    (nMuon == 1 or nElectron == 1) and not (event % 2 == 0)
    count(Jet_pt > 30 && abs(Jet_eta) < 2.4) >= 4 && max(Jet_btagDeepFlavB) > 0.3

* names are branches; numbers are literals;
* ``+ - * / % **``, comparisons (chainable), ``and/&&/&``, ``or/||/|``, ``not/!/~`` (on conditions);
* functions: ``abs``, ``sqrt``, ``log``, ``exp``, ``sin``, ``cos``; reducers over the objects
  of each event: ``count`` (number of True), ``any``, ``all``, ``sum``, ``min``, ``max``
  (``min``/``max`` of an empty list are +inf/-inf).

Meaning (the same for every chunk size, checked once against the file's branch types by
:meth:`SelectionExpression.bind`, before any event is read):

* A reducer needs a per-object (jagged) argument (``max(nJet)`` is an error) and the result
  must be one boolean per event.
* Integers are exact.  Constant sub-expressions are folded with Python integers; an integer
  branch compared with an integer (or float) literal gives the mathematically right answer
  whatever the branch's type (``event < 2**63`` keeps every uint64 event below 2**63,
  ``event >= -1`` keeps all).  Integer ``+ - * ** abs`` are computed in int64/uint64 when the
  branch types prove the result fits; otherwise the selection is refused (never wrap-around).
* Floats are computed in float64 (float32 branches are widened).  ``/`` always gives float64,
  with IEEE meaning: ``x/0`` is ±inf, ``0/0`` NaN.  ``%`` by a literal zero is refused; ``%`` by
  a branch value 0 gives NaN.  Every comparison with NaN is False (``!=`` True).
* Limits: at most 10,000 characters, nesting depth 64, integers below 2**256 in magnitude
  (``**`` exponents included); beyond them, :class:`SelectionError` (exit 2).

Example:
    >>> import numpy as np
    >>> SelectionExpression.parse("event < 2**63").evaluate({"event": np.array([2**63 - 1, 2**63], dtype=np.uint64)}).tolist()
    [True, False]
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import awkward as ak
import numpy as np

from ..errors import InvalidArgumentError
from ..tensors._cuts import CUT_OPS

__all__ = ["BoundSelection", "BranchKind", "SelectionExpression", "SelectionError", "branch_kinds"]

MAX_CHARS = 10_000
MAX_DEPTH = 64
MAX_INT_BITS = 256


class SelectionError(InvalidArgumentError):
    """A selection expression is malformed or does not give one boolean per event."""


_FUNCS = {"abs": np.abs, "sqrt": np.sqrt, "log": np.log, "exp": np.exp, "sin": np.sin, "cos": np.cos}
_REDUCERS = ("count", "any", "all", "sum", "min", "max")
_ARITH = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.true_divide,
          ast.Mod: np.mod, ast.Pow: np.power}
_LOGIC = {ast.BitAnd: np.logical_and, ast.BitOr: np.logical_or}
#: The comparison nodes of Python's AST, by the cut operator they spell (the one table, ``CUT_OPS``).
_CMP_NODES = {">": ast.Gt, ">=": ast.GtE, "<": ast.Lt, "<=": ast.LtE, "==": ast.Eq, "!=": ast.NotEq}
_CMP = {node: CUT_OPS[op].numpy for op, node in _CMP_NODES.items()}
_FLIP = {node: _CMP_NODES[CUT_OPS[op].swapped] for op, node in _CMP_NODES.items()}
_PY_CMP = {node: CUT_OPS[op].python for op, node in _CMP_NODES.items()}
_ALLOWED = (ast.Expression, ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.Compare, ast.Constant, ast.Name, ast.Load,
            ast.Call, ast.And, ast.Or, ast.Not, ast.USub, ast.UAdd, ast.Invert, *_ARITH, *_LOGIC, *_CMP)
_I64 = (-(2**63), 2**63 - 1)
_U64 = (0, 2**64 - 1)


def _to_python(expr: str) -> str:
    # C++ spellings -> Python ones; '!=' must survive the '!' rewrite.
    out = expr.replace("&&", " and ").replace("||", " or ")
    return re.sub(r"!(?!=)", " not ", out)


@dataclass(frozen=True)
class BranchKind:
    """What the selection needs to know of a branch: its value type and whether it is per object."""

    dtype: np.dtype
    jagged: bool


def branch_kinds(arrays: Any, names: Any) -> dict[str, BranchKind]:
    """The :class:`BranchKind` of each of ``names`` in ``arrays`` (a record array, or a dict of arrays).

    The kinds come from the arrays' types (for a file: its branches' interpretations), so they
    are the same for every chunk.

    Example:
        >>> import awkward as ak
        >>> branch_kinds(ak.Array({"n": [1], "x": [[1.5]]}), ["n", "x"])["x"]
        BranchKind(dtype=dtype('float64'), jagged=True)
    """
    out = {}
    for name in names:
        value = arrays[name]
        if isinstance(value, np.ndarray) and value.ndim == 1:
            out[name] = BranchKind(value.dtype, False)
            continue
        t = ak.type(value)
        t = getattr(t, "content", t)
        jagged = isinstance(t, (ak.types.ListType, ak.types.RegularType))
        leaf = t.content if jagged else t
        if not isinstance(leaf, ak.types.NumpyType) or np.dtype(leaf.primitive).kind not in "biuf":
            raise SelectionError(f"branch {name!r} has type {ak.type(value)}; a selection uses numbers, booleans "
                                 "or lists of them")
        out[name] = BranchKind(np.dtype(leaf.primitive), jagged)
    return out


@dataclass(frozen=True)
class _T:
    """Static type of a sub-expression."""

    kind: str              # "bool" | "int" | "float"
    level: str             # "const" | "event" | "object"
    lo: int = 0            # value range of an int
    hi: int = 0
    value: Any = None      # for a constant


_Fn = Callable[[Mapping[str, Any]], Any]


def _level(*ts: _T) -> str:
    levels = {t.level for t in ts}
    return "object" if "object" in levels else "event" if "event" in levels else "const"


def _int_dtype(lo: int, hi: int) -> np.dtype | None:
    if _I64[0] <= lo and hi <= _I64[1]:
        return np.dtype(np.int64)
    if _U64[0] <= lo and hi <= _U64[1]:
        return np.dtype(np.uint64)
    return None


@dataclass(frozen=True)
class SelectionExpression:
    """A parsed selection.

    Example:
        >>> import numpy as np, awkward as ak
        >>> sel = SelectionExpression.parse("nJet >= 2 && max(Jet_pt) > 30")
        >>> sorted(sel.branches)
        ['Jet_pt', 'nJet']
        >>> sel.evaluate({"nJet": np.array([2, 3]), "Jet_pt": ak.Array([[40.0, 10.0], [20, 20, 20]])}).tolist()
        [True, False]
    """

    text: str
    tree: ast.Expression
    branches: frozenset[str]

    @classmethod
    def parse(cls, text: str) -> SelectionExpression:
        if not isinstance(text, str) or not text.strip():
            raise SelectionError("selection is empty; expected a condition such as 'nJet >= 4'")
        short = text if len(text) <= 60 else text[:57] + "..."
        if len(text) > MAX_CHARS:
            raise SelectionError(f"selection {short!r} has {len(text)} characters; at most {MAX_CHARS} are allowed")
        depth = 0
        for ch in text:  # ast.parse itself recurses on deep nesting: bound it before parsing
            depth += (ch in "([{") - (ch in ")]}")
            if depth > MAX_DEPTH:
                raise SelectionError(f"selection {short!r} nests deeper than {MAX_DEPTH} parentheses")
        try:
            tree = ast.parse(_to_python(text), mode="eval")
        except SyntaxError as err:
            raise SelectionError(f"selection {short!r} is not a valid expression: {err.msg.splitlines()[0]}") from None
        except (RecursionError, MemoryError, ValueError) as err:
            raise SelectionError(f"selection {short!r} is too deeply nested or too large ({type(err).__name__})") from None
        names: set[str] = set()
        stack = [(tree, 0)]
        while stack:
            node, d = stack.pop()
            if d > MAX_DEPTH:
                raise SelectionError(f"selection {short!r} nests deeper than {MAX_DEPTH} levels")
            if not isinstance(node, _ALLOWED):
                raise SelectionError(f"selection {short!r}: {type(node).__name__} is not allowed")
            if isinstance(node, ast.Call):
                fname = node.func.id if isinstance(node.func, ast.Name) else type(node.func).__name__
                if not isinstance(node.func, ast.Name) or fname not in {*_FUNCS, *_REDUCERS}:
                    raise SelectionError(f"selection {short!r}: unknown function {fname!r}; "
                                         f"allowed: {', '.join(sorted({*_FUNCS, *_REDUCERS}))}")
                if len(node.args) != 1 or node.keywords:
                    raise SelectionError(f"selection {short!r}: {fname}() takes exactly one argument")
                stack.extend((a, d + 1) for a in node.args)
                continue
            if isinstance(node, ast.Name):
                if node.id in _FUNCS or node.id in _REDUCERS:
                    raise SelectionError(f"selection {short!r}: {node.id} is a function; call it as {node.id}(...)")
                names.add(node.id)
            if isinstance(node, ast.Constant):
                v = node.value
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    if not isinstance(v, bool):
                        raise SelectionError(f"selection {short!r}: literal {v!r} is not a number")
                elif isinstance(v, int) and v.bit_length() > MAX_INT_BITS:
                    raise SelectionError(f"selection {short!r}: integer literal with {len(str(v))} digits; "
                                         f"at most 2**{MAX_INT_BITS}")
            stack.extend((c, d + 1) for c in ast.iter_child_nodes(node))
        return cls(text, tree, frozenset(names))

    def bind(self, kinds: Mapping[str, BranchKind], where: str = "") -> BoundSelection:
        """Check the selection against branch kinds (from the file) and return the evaluator."""
        return _Binder(self, kinds, where).bind()

    def evaluate(self, arrays: Any) -> np.ndarray:
        """One boolean per event (binds to the kinds of ``arrays`` first)."""
        return self.bind(branch_kinds(arrays, sorted(self.branches))).evaluate(arrays)


@dataclass(frozen=True)
class BoundSelection:
    """A selection checked against branch kinds: :meth:`evaluate` gives one boolean per event."""

    selection: SelectionExpression
    kinds: Mapping[str, BranchKind]
    _fn: Callable[[Mapping[str, Any], int], np.ndarray]

    @property
    def branches(self) -> frozenset[str]:
        return self.selection.branches

    def evaluate(self, arrays: Any) -> np.ndarray:
        cols = {}
        n = len(arrays) if not isinstance(arrays, Mapping) else len(next(iter(arrays.values()))) if arrays else 0
        for name, k in self.kinds.items():
            v = arrays[name]
            if k.jagged:
                v = ak.Array(v)
                cols[name] = ak.values_astype(v, np.float64) if k.dtype.kind == "f" else v
            else:
                v = np.asarray(ak.to_numpy(v) if isinstance(v, ak.Array) else v)
                cols[name] = v.astype(np.float64) if k.dtype.kind == "f" else v
            n = len(v)
        with np.errstate(all="ignore"):  # IEEE meaning (documented above); no warnings escape
            return self._fn(cols, n)


class _Binder:
    def __init__(self, sel: SelectionExpression, kinds: Mapping[str, BranchKind], where: str) -> None:
        self.sel, self.kinds, self.where = sel, dict(kinds), where
        t = sel.text
        self.short = t if len(t) <= 60 else t[:57] + "..."

    def err(self, msg: str) -> SelectionError:
        at = f" ({self.where})" if self.where else ""
        return SelectionError(f"selection {self.short!r}{at}: {msg}")

    def bind(self) -> BoundSelection:
        t, fn = self.c(self.sel.tree.body)
        if t.level == "object":
            raise self.err("gives a list per event, expected one boolean per event; reduce per-object branches "
                           "with count(), any(), all(), sum(), min() or max()")
        if t.kind != "bool":
            raise self.err(f"gives {t.kind} values, expected one boolean per event (a comparison)")
        if t.level == "const" and not self.sel.branches:
            raise self.err("does not depend on any branch")

        def run(cols: Mapping[str, Any], n: int) -> np.ndarray:
            if t.level == "const":
                return np.full(n, bool(t.value))
            out = fn(cols)
            out = ak.to_numpy(out) if isinstance(out, ak.Array) else np.asarray(out)
            return out.astype(bool)

        used = {b: self.kinds[b] for b in self.sel.branches}
        return BoundSelection(self.sel, used, run)

    # -- compile: (static type, function of the columns); constants have no function -------------
    def c(self, node: ast.AST) -> tuple[_T, _Fn | None]:
        if isinstance(node, ast.Constant):
            v = node.value
            kind = "bool" if isinstance(v, bool) else "int" if isinstance(v, int) else "float"
            return _T(kind, "const", v if kind == "int" else 0, v if kind == "int" else 0, v), None
        if isinstance(node, ast.Name):
            return self.name(node.id)
        if isinstance(node, ast.BoolOp):
            return self.logic(np.logical_and if isinstance(node.op, ast.And) else np.logical_or, node.values)
        if isinstance(node, ast.BinOp) and type(node.op) in _LOGIC:
            return self.logic(_LOGIC[type(node.op)], [node.left, node.right])
        if isinstance(node, ast.UnaryOp):
            return self.unary(node)
        if isinstance(node, ast.BinOp):
            return self.arith(node)
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        raise self.err(f"{type(node).__name__} is not allowed")  # pragma: no cover - parse() refuses it

    def name(self, name: str) -> tuple[_T, _Fn]:
        if name not in self.kinds:
            raise self.err(f"branch {name!r} is unknown")
        k = self.kinds[name]
        level = "object" if k.jagged else "event"
        if k.dtype.kind == "b":
            t = _T("bool", level)
        elif k.dtype.kind in "iu":
            info = np.iinfo(k.dtype)
            t = _T("int", level, int(info.min), int(info.max))
        else:
            t = _T("float", level)
        return t, lambda cols: cols[name]

    def logic(self, fn: Any, nodes: list[ast.AST]) -> tuple[_T, _Fn | None]:
        parts = [self.c(v) for v in nodes]
        for (t, _), v in zip(parts, nodes, strict=True):
            if t.kind != "bool":
                raise self.err(f"'{ast.unparse(v)}' is {t.kind}, and/or/&/| need conditions (comparisons)")
        ts = [t for t, _ in parts]
        if all(t.level == "const" for t in ts):
            return _T("bool", "const", value=bool(fn.reduce([bool(t.value) for t in ts]))), None
        gets = [self.getter(t, f) for t, f in parts]

        def run(cols: Mapping[str, Any]) -> Any:
            out = gets[0](cols)
            for g in gets[1:]:
                out = fn(out, g(cols))
            return out
        return _T("bool", _level(*ts)), run

    @staticmethod
    def getter(t: _T, f: _Fn | None) -> _Fn:
        if f is None:
            v = t.value
            return lambda cols: v
        return f

    def unary(self, node: ast.UnaryOp) -> tuple[_T, _Fn | None]:
        t, f = self.c(node.operand)
        if isinstance(node.op, (ast.Not, ast.Invert)):
            if t.kind != "bool":
                raise self.err(f"'not' needs a condition, '{ast.unparse(node.operand)}' is {t.kind}")
            if f is None:
                return _T("bool", "const", value=not t.value), None
            return _T("bool", t.level), lambda cols: np.logical_not(f(cols))
        if t.kind == "bool":
            raise self.err(f"'{ast.unparse(node)}': arithmetic on a condition; use count() to count objects")
        if isinstance(node.op, ast.UAdd):
            return t, f
        if t.kind == "int":
            return self.int_op(np.negative, [t], [f], -t.hi, -t.lo, ast.unparse(node),
                               const=lambda a: -a)
        if f is None:
            return _T("float", "const", value=-t.value), None
        return _T("float", t.level), lambda cols: np.negative(f(cols))

    def int_op(self, fn: Any, ts: list[_T], fs: list[_Fn | None], lo: int, hi: int, text: str,
               const: Callable[..., int]) -> tuple[_T, _Fn | None]:
        """An integer operation whose exact result lies in [lo, hi]: computed in a dtype that holds it."""
        if max(abs(lo), abs(hi)).bit_length() > MAX_INT_BITS:
            raise self.err(f"'{text}' may reach 2**{max(abs(lo), abs(hi)).bit_length()}; integers are limited to "
                           f"2**{MAX_INT_BITS}")
        if all(t.level == "const" for t in ts):
            v = const(*[t.value for t in ts])
            return _T("int", "const", v, v, v), None
        dt = _int_dtype(min(lo, *[t.lo for t in ts]), max(hi, *[t.hi for t in ts]))
        if dt is None:
            raise self.err(f"'{text}' may leave the 64-bit integer range (from the branch types, values in "
                           f"[{lo}, {hi}]); integers are never wrapped around, write it with a float (e.g. 1.0*x)")
        gets = [self.cast_getter(t, f, dt) for t, f in zip(ts, fs, strict=True)]
        out_dt = _int_dtype(lo, hi)
        return _T("int", _level(*ts), lo, hi), lambda cols: _astype(fn(*[g(cols) for g in gets]), out_dt)

    @staticmethod
    def cast_getter(t: _T, f: _Fn | None, dt: np.dtype) -> _Fn:
        if f is None:
            v = dt.type(t.value) if t.kind != "float" else np.float64(t.value)
            return lambda cols: v
        return lambda cols: _astype(f(cols), dt)

    def floatify(self, t: _T, f: _Fn | None) -> _Fn:
        if f is None:
            v = np.float64(float(t.value))
            return lambda cols: v
        return lambda cols: _astype(f(cols), np.dtype(np.float64)) if t.kind != "float" else f(cols)

    def arith(self, node: ast.BinOp) -> tuple[_T, _Fn | None]:
        (ta, fa), (tb, fb) = self.c(node.left), self.c(node.right)
        text = ast.unparse(node)
        for t, side in ((ta, node.left), (tb, node.right)):
            if t.kind == "bool":
                raise self.err(f"'{ast.unparse(side)}' is a condition; arithmetic needs numbers (count() counts)")
        op = type(node.op)
        if op is ast.Mod and tb.level == "const" and tb.value == 0:
            raise self.err(f"'{text}': modulo by zero")
        if op is ast.Pow and tb.kind == "int" and max(abs(ta.lo), abs(ta.hi), 1).bit_length() * max(tb.hi, 0) > \
                2 * MAX_INT_BITS and ta.kind == "int":
            raise self.err(f"'{text}': the power is too large (integers are limited to 2**{MAX_INT_BITS})")
        if ta.kind == tb.kind == "int" and op is not ast.Div and not (op is ast.Pow and tb.lo < 0) \
                and not (op is ast.Mod and tb.lo <= 0 <= tb.hi):
            lo, hi = self.int_range(op, ta, tb)
            return self.int_op(_ARITH[op], [ta, tb], [fa, fb], lo, hi, text, const=_PY_INT[op])
        # float64 (IEEE): both sides widened
        fn = _ARITH[op]
        if ta.level == tb.level == "const":
            with np.errstate(all="ignore"):
                v = float(fn(np.float64(float(ta.value)), np.float64(float(tb.value))))
            return _T("float", "const", value=v), None
        ga, gb = self.floatify(ta, fa), self.floatify(tb, fb)
        return _T("float", _level(ta, tb)), lambda cols: fn(ga(cols), gb(cols))

    @staticmethod
    def int_range(op: type, a: _T, b: _T) -> tuple[int, int]:
        if op is ast.Add:
            return a.lo + b.lo, a.hi + b.hi
        if op is ast.Sub:
            return a.lo - b.hi, a.hi - b.lo
        if op is ast.Mult:
            c = [a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi]
            return min(c), max(c)
        if op is ast.Mod:  # divisor range excludes 0; Python's floor modulo takes the divisor's sign
            return (0, b.hi - 1) if b.lo > 0 else (b.lo + 1, 0)
        m = max(abs(a.lo), abs(a.hi)) ** b.hi  # Pow, exponent >= 0
        return (-m if a.lo < 0 else 0), max(m, 1)

    def compare(self, node: ast.Compare) -> tuple[_T, _Fn | None]:
        left = self.c(node.left)
        parts = []
        for op, comp in zip(node.ops, node.comparators, strict=True):
            right = self.c(comp)
            parts.append(self.cmp2(type(op), left, right, ast.unparse(node)))
            left = right
        if len(parts) == 1:
            return parts[0]
        ts = [t for t, _ in parts]
        if all(t.level == "const" for t in ts):
            return _T("bool", "const", value=all(t.value for t in ts)), None
        gets = [self.getter(t, f) for t, f in parts]

        def run(cols: Mapping[str, Any]) -> Any:
            out = gets[0](cols)
            for g in gets[1:]:
                out = np.logical_and(out, g(cols))
            return out
        return _T("bool", _level(*ts)), run

    def cmp2(self, op: type, a: tuple[_T, _Fn | None], b: tuple[_T, _Fn | None], text: str) -> tuple[_T, _Fn | None]:
        (ta, fa), (tb, fb) = a, b
        if (ta.kind == "bool") != (tb.kind == "bool"):
            raise self.err(f"'{text}' compares a condition with a number")
        if ta.kind == "bool" and op not in (ast.Eq, ast.NotEq):
            raise self.err(f"'{text}': conditions can only be compared with == or !=")
        if ta.level == tb.level == "const":
            return _T("bool", "const", value=bool(_PY_CMP[op](ta.value, tb.value))), None  # Python: exact
        if ta.level == "const":  # constant on the right
            (ta, fa), (tb, fb), op = (tb, fb), (ta, fa), _FLIP[op]
        level = _level(ta, tb)
        npop = _CMP[op]
        if tb.level == "const" and ta.kind != "bool":
            return _T("bool", level), _cmp_const(op, ta, fa, tb.value)  # type: ignore[arg-type]
        if ta.kind == "bool":
            ga, gb = self.getter(ta, fa), self.getter(tb, fb)
            return _T("bool", level), lambda cols: npop(ga(cols), gb(cols))
        if ta.kind == tb.kind == "int":
            dt = _int_dtype(min(ta.lo, tb.lo), max(ta.hi, tb.hi))
            if dt is None:  # int64 against uint64: the sign decides where the int64 side is negative
                return _T("bool", level), _cmp_mixed_sign(op, ta, fa, tb, fb)  # type: ignore[arg-type]
            ga, gb = self.cast_getter(ta, fa, dt), self.cast_getter(tb, fb, dt)
            return _T("bool", level), lambda cols: npop(ga(cols), gb(cols))
        if ta.kind == "int" or tb.kind == "int":
            big = any(t.kind == "int" and max(abs(t.lo), abs(t.hi)) > 2**53 for t in (ta, tb))
            if big:
                raise self.err(f"'{text}' compares a 64-bit integer with a float branch, which is not exact above 2**53; "
                               "compare with an integer or a literal")
        ga, gb = self.floatify(ta, fa), self.floatify(tb, fb)
        return _T("bool", level), lambda cols: npop(ga(cols), gb(cols))

    def call(self, node: ast.Call) -> tuple[_T, _Fn | None]:
        name = node.func.id  # type: ignore[attr-defined]
        t, f = self.c(node.args[0])
        arg = ast.unparse(node.args[0])
        if name in _REDUCERS:
            if t.level != "object":
                raise self.err(f"{name}() reduces the objects of each event; '{arg}' is "
                               f"{'one value per event' if t.level == 'event' else 'a constant'}, expected a "
                               "per-object branch (e.g. Jet_pt)")
            assert f is not None
            if name in ("count", "any", "all"):
                if t.kind != "bool":
                    raise self.err(f"{name}() takes a condition such as {name}(Jet_pt > 30); '{arg}' is {t.kind}")
                red = {"count": lambda x: ak.sum(x, axis=-1), "any": lambda x: ak.any(x, axis=-1),
                       "all": lambda x: ak.all(x, axis=-1)}[name]
                out_t = _T("int", "event", 0, 2**32) if name == "count" else _T("bool", "event")
                return out_t, lambda cols: ak.to_numpy(red(f(cols)))
            if t.kind == "bool":
                raise self.err(f"{name}() needs numbers; '{arg}' is a condition (count() counts)")
            if name == "sum":
                if t.kind == "int":  # at most 2**32 objects per event (NanoAOD counters are 32-bit)
                    lo, hi = min(0, t.lo) * 2**32, max(0, t.hi) * 2**32
                    dt = _int_dtype(lo, hi)
                    if dt is None:
                        raise self.err(f"sum({arg}) may leave the 64-bit integer range")
                    return _T("int", "event", lo, hi), lambda cols: ak.to_numpy(ak.sum(_astype(f(cols), dt), axis=-1))
                return _T("float", "event"), lambda cols: ak.to_numpy(ak.sum(f(cols), axis=-1))
            if t.kind == "int" and max(abs(t.lo), abs(t.hi)) > 2**53:
                raise self.err(f"{name}({arg}): min/max are float64 (+-inf for no objects), not exact above 2**53")
            red2 = ak.min if name == "min" else ak.max
            empty = np.inf if name == "min" else -np.inf
            g = self.floatify(t, f)
            return _T("float", "event"), lambda cols: ak.to_numpy(ak.fill_none(red2(g(cols), axis=-1), empty))
        if t.kind == "bool":
            raise self.err(f"{name}() needs a number; '{arg}' is a condition")
        if name == "abs" and t.kind == "int":
            lo = 0 if t.lo <= 0 <= t.hi else min(abs(t.lo), abs(t.hi))
            return self.int_op(np.abs, [t], [f], lo, max(abs(t.lo), abs(t.hi)), ast.unparse(node), const=abs)
        fn = _FUNCS[name]
        if f is None:
            with np.errstate(all="ignore"):
                return _T("float", "const", value=float(fn(np.float64(float(t.value))))), None
        g = self.floatify(t, f)
        return _T("float", t.level), lambda cols: fn(g(cols))


_PY_INT = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
           ast.Mod: lambda a, b: a % b, ast.Pow: lambda a, b: a**b}


def _astype(x: Any, dt: np.dtype | None) -> Any:
    if dt is None:
        return x
    if isinstance(x, ak.Array):
        return ak.values_astype(x, dt)
    return np.asarray(x).astype(dt, copy=False)


def _cmp_const(op: type, t: _T, f: _Fn, c: int | float) -> _Fn:
    """``x OP c`` for an array ``x`` and a literal ``c``: exact for integer ``x`` whatever ``c`` is."""
    def known(value: bool) -> _Fn:
        def run(cols: Mapping[str, Any]) -> Any:
            x = f(cols)
            return ak.full_like(x, value, dtype=bool) if isinstance(x, ak.Array) else np.full(len(x), value)
        return run

    if t.kind == "float":
        if isinstance(c, int) and float(c) != c:  # no float lies strictly between c and its rounding
            cf = float(c)
            below = cf < c  # the nearest float is below c: x < c <=> x <= cf
            table = {ast.Lt: (np.less_equal if below else np.less), ast.LtE: (np.less_equal if below else np.less),
                     ast.Gt: (np.greater if below else np.greater_equal),
                     ast.GtE: (np.greater if below else np.greater_equal)}
            if op in (ast.Eq, ast.NotEq):
                return known(op is ast.NotEq)
            fn2 = table[op]
            return lambda cols: fn2(f(cols), cf)
        cf = float(c)
        return lambda cols: _CMP[op](f(cols), cf)
    # integer x
    if isinstance(c, float):
        if math.isnan(c):
            return known(op is ast.NotEq)
        if math.isinf(c):
            c = t.hi + 1 if c > 0 else t.lo - 1
        elif c != int(c):
            if op in (ast.Eq, ast.NotEq):
                return known(op is ast.NotEq)
            op, c = {ast.Lt: (ast.Lt, math.ceil(c)), ast.LtE: (ast.LtE, math.floor(c)),
                     ast.Gt: (ast.Gt, math.floor(c)), ast.GtE: (ast.GtE, math.ceil(c))}[op]
        else:
            c = int(c)
    if c > t.hi:
        return known(op in (ast.Lt, ast.LtE, ast.NotEq))
    if c < t.lo:
        return known(op in (ast.Gt, ast.GtE, ast.NotEq))
    fn = _CMP[op]
    return lambda cols: fn(f(cols), np.asarray(c).astype(_dtype_of(f(cols)))[()])


def _dtype_of(x: Any) -> np.dtype:
    if isinstance(x, ak.Array):
        return np.dtype(ak.type(x).content.content.primitive) if isinstance(ak.type(x).content, ak.types.ListType) \
            else np.dtype(ak.type(x).content.primitive)
    return np.asarray(x).dtype


def _cmp_mixed_sign(op: type, ta: _T, fa: _Fn | None, tb: _T, fb: _Fn | None) -> _Fn:
    """Exact ``a OP b`` where one side needs uint64 and the other may be negative (int64)."""
    ga, gb = _Binder.getter(ta, fa), _Binder.getter(tb, fb)
    neg_left = ta.lo < 0  # which side is the signed one

    def run(cols: Mapping[str, Any]) -> Any:
        a, b = ga(cols), gb(cols)
        s = a if neg_left else b
        neg = s < 0
        a64 = _astype(np.where(neg, 0, a) if neg_left else a, np.dtype(np.uint64))
        b64 = _astype(b if neg_left else np.where(neg, 0, b), np.dtype(np.uint64))
        res = _CMP[op](a64, b64)
        # where the signed side is negative it is below the unsigned one
        when_neg = op in ((ast.Lt, ast.LtE, ast.NotEq) if neg_left else (ast.Gt, ast.GtE, ast.NotEq))
        return np.where(neg, when_neg, res)
    return run
