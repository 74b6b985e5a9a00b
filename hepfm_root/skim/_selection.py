"""``--selection``: a cut on branches, parsed safely (no ``eval``) and evaluated per chunk.

Syntax (Python or C++ spelling of the operators)::

    nJet >= 4 && MET_pt > 30
    (nMuon == 1 or nElectron == 1) and not (event % 2 == 0)
    count(Jet_pt > 30 && abs(Jet_eta) < 2.4) >= 4 && max(Jet_btagDeepFlavB) > 0.3

* names are branches; numbers are literals;
* ``+ - * / % **``, comparisons (chainable), ``and/&&/&``, ``or/||/|``, ``not/!/~``;
* functions: ``abs``, ``sqrt``, ``log``, ``exp``, ``sin``, ``cos``; reducers over the objects
  of each event: ``count`` (number of True), ``any``, ``all``, ``sum``, ``min``, ``max``
  (``min``/``max`` of an empty list are -inf/+inf).
* The result must be one boolean per event: a cut on a per-object branch must be reduced.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any

import awkward as ak
import numpy as np

from ..errors import InvalidArgumentError

__all__ = ["SelectionError", "SelectionExpression"]


class SelectionError(InvalidArgumentError):
    """A selection expression is malformed or does not give one boolean per event."""


_FUNCS = {"abs": np.abs, "sqrt": np.sqrt, "log": np.log, "exp": np.exp, "sin": np.sin, "cos": np.cos}
_REDUCERS = {
    "count": lambda x: ak.sum(x, axis=-1),
    "any": lambda x: ak.any(x, axis=-1),
    "all": lambda x: ak.all(x, axis=-1),
    "sum": lambda x: ak.sum(x, axis=-1),
    "min": lambda x: ak.fill_none(ak.min(x, axis=-1), np.inf),
    "max": lambda x: ak.fill_none(ak.max(x, axis=-1), -np.inf),
}
_BIN = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.true_divide,
        ast.Mod: np.mod, ast.Pow: np.power, ast.BitAnd: np.logical_and, ast.BitOr: np.logical_or}
_CMP = {ast.Gt: np.greater, ast.GtE: np.greater_equal, ast.Lt: np.less, ast.LtE: np.less_equal,
        ast.Eq: np.equal, ast.NotEq: np.not_equal}


def _to_python(expr: str) -> str:
    # C++ spellings -> Python ones; '!=' must survive the '!' rewrite.
    out = expr.replace("&&", " and ").replace("||", " or ")
    return re.sub(r"!(?!=)", " not ", out)


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
        try:
            tree = ast.parse(_to_python(text), mode="eval")
        except SyntaxError as err:
            raise SelectionError(f"selection {text!r} is not a valid expression: {err.msg}") from None
        names = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                if not isinstance(node.func, ast.Name) or node.func.id not in {**_FUNCS, **_REDUCERS}:
                    fname = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
                    raise SelectionError(
                        f"selection {text!r}: unknown function {fname!r}; "
                        f"allowed: {', '.join(sorted({**_FUNCS, **_REDUCERS}))}"
                    )
            elif isinstance(node, ast.Name) and node.id not in _FUNCS and node.id not in _REDUCERS:
                names.add(node.id)
            elif not isinstance(node, (ast.Expression, ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.Compare,
                                       ast.Constant, ast.Name, ast.Load, ast.And, ast.Or, ast.Not, ast.USub,
                                       ast.UAdd, ast.Invert, *(_BIN), *(_CMP))):
                raise SelectionError(f"selection {text!r}: {type(node).__name__} is not allowed")
        return cls(text, tree, frozenset(names))

    def evaluate(self, arrays: Any) -> np.ndarray:
        """One boolean per event."""
        out = self._eval(self.tree.body, arrays)
        if isinstance(out, (bool, np.bool_)):
            raise SelectionError(f"selection {self.text!r} does not depend on any branch")
        out = ak.Array(out) if not isinstance(out, np.ndarray) else out
        if isinstance(out, ak.Array):
            if out.ndim != 1:
                raise SelectionError(
                    f"selection {self.text!r} gives a list per event, expected one boolean per event; "
                    "reduce per-object branches with count(), any(), all(), sum(), min() or max()"
                )
            out = ak.to_numpy(out)
        if out.dtype != bool:
            raise SelectionError(f"selection {self.text!r} gives {out.dtype} values, expected booleans (a comparison)")
        return out

    def _eval(self, node: ast.AST, a: Any) -> Any:
        if isinstance(node, ast.Constant):
            if not isinstance(node.value, (int, float, bool)):
                raise SelectionError(f"selection {self.text!r}: literal {node.value!r} is not a number")
            return node.value
        if isinstance(node, ast.Name):
            return a[node.id]
        if isinstance(node, ast.BoolOp):
            vals = [self._eval(v, a) for v in node.values]
            fn = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
            out = vals[0]
            for v in vals[1:]:
                out = fn(out, v)
            return out
        if isinstance(node, ast.UnaryOp):
            v = self._eval(node.operand, a)
            if isinstance(node.op, (ast.Not, ast.Invert)):
                return np.logical_not(v)
            return np.negative(v) if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BinOp):
            return _BIN[type(node.op)](self._eval(node.left, a), self._eval(node.right, a))
        if isinstance(node, ast.Compare):
            left, out = self._eval(node.left, a), None
            for op, comp in zip(node.ops, node.comparators, strict=True):
                right = self._eval(comp, a)
                res = _CMP[type(op)](left, right)
                out = res if out is None else np.logical_and(out, res)
                left = right
            return out
        if isinstance(node, ast.Call):
            name = node.func.id  # type: ignore[attr-defined]
            if len(node.args) != 1 or node.keywords:
                raise SelectionError(f"selection {self.text!r}: {name}() takes exactly one argument")
            arg = self._eval(node.args[0], a)
            return (_REDUCERS.get(name) or _FUNCS[name])(arg)
        raise SelectionError(f"selection {self.text!r}: {type(node).__name__} is not allowed")
