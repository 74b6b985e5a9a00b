"""The comparison operators of cuts: one table, each entry in numpy, C++ and Python.

A spec's ``Cut.op``, a corrections config's ``ObjectCut.op`` and the selection
language's comparisons all mean the same six operators.  Each entry of
:data:`CUT_OPS` carries the numpy ufunc the awkward path applies to float64 arrays,
the C++ token the generated code writes between two ``double`` expressions, the
Python operator (exact on Python ints, for constants) and the operator with its
sides swapped (``a < b`` is ``b > a``).  A new operator is one entry here, plus the
schema's ``Literal`` (a test keeps the two equal).

Example:
    >>> import numpy as np
    >>> op = CUT_OPS[">="]
    >>> op.numpy(np.array([1.0, 2.0]), 2.0).tolist(), op.cpp, op.python(2**70, 2**70 - 1), op.swapped
    ([False, True], '>=', True, '<=')
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["CUT_OPS", "CutOp"]


@dataclass(frozen=True)
class CutOp:
    """One comparison operator in each rendering.

    Attributes:
        numpy: elementwise ufunc (``np.greater`` …).
        cpp: the C++ token (``>`` …), written between two ``double`` expressions.
        python: the Python operator, exact on ints of any size.
        swapped: the operator that gives the same answer with the operands exchanged.
    """

    numpy: Callable[[Any, Any], Any]
    cpp: str
    python: Callable[[Any, Any], bool]
    swapped: str


CUT_OPS: dict[str, CutOp] = {
    ">": CutOp(np.greater, ">", operator.gt, "<"),
    ">=": CutOp(np.greater_equal, ">=", operator.ge, "<="),
    "<": CutOp(np.less, "<", operator.lt, ">"),
    "<=": CutOp(np.less_equal, "<=", operator.le, ">="),
    "==": CutOp(np.equal, "==", operator.eq, "=="),
    "!=": CutOp(np.not_equal, "!=", operator.ne, "!="),
}
