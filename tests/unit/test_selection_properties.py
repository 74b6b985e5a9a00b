"""The ``--selection`` language is exact: property tests against a per-event Python reference.

Random expression trees over flat (int32, uint64, float) and jagged (float, uint8) branches, on
random events: evaluating the whole array equals evaluating it in chunks of any size (1, 2, 7,
random) and equals a per-event reference written with Python ints/floats.  Plus the edge cases
of issue 15 (overflow, reducers on event-level branches, division by zero, input bounds).
"""

from __future__ import annotations

import time

import awkward as ak
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hepfm_root.skim import SelectionError, SelectionExpression
from hepfm_root.skim._selection import branch_kinds

FLAT_INT = {"nJet": np.int32, "event": np.uint64}
DYADIC = st.integers(-400, 400).map(lambda k: k / 4)  # sums of these are exact in any order


@st.composite
def events(draw):
    n = draw(st.integers(1, 25))
    counts = draw(st.lists(st.integers(0, 4), min_size=n, max_size=n))
    total = sum(counts)
    return {
        "nJet": draw(st.lists(st.integers(-(2**31), 2**31 - 1) | st.integers(0, 6), min_size=n, max_size=n)),
        "event": draw(st.lists(st.integers(0, 2**64 - 1) | st.integers(2**62, 2**62 + 10), min_size=n, max_size=n)),
        "MET_pt": draw(st.lists(DYADIC, min_size=n, max_size=n)),
        "Jet_pt": _split(draw(st.lists(DYADIC, min_size=total, max_size=total)), counts),
        "Jet_id": _split(draw(st.lists(st.integers(0, 255), min_size=total, max_size=total)), counts),
    }


def _split(values, counts):
    out, i = [], 0
    for c in counts:
        out.append(values[i:i + c])
        i += c
    return out


def _arrays(ev):
    return ak.Array({"nJet": np.array(ev["nJet"], dtype=np.int32), "event": np.array(ev["event"], dtype=np.uint64),
                     "MET_pt": np.array(ev["MET_pt"], dtype=np.float32),
                     "Jet_pt": ak.values_astype(ak.Array(ev["Jet_pt"]), np.float32),
                     "Jet_id": ak.values_astype(ak.Array(ev["Jet_id"]), np.uint8)})


INT_LIT = st.sampled_from([0, 1, 2, 3, -1, 2**31, 2**62, 2**63, 2**64, -(2**63) - 1, 2**64 - 1])
FLOAT_LIT = st.sampled_from([0.5, -1.25, 30.0, 2.0**63, 1e19, 1.5e308])
CMP = st.sampled_from(["<", "<=", ">", ">=", "==", "!="])
PY_CMP = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
          "==": lambda a, b: a == b, "!=": lambda a, b: a != b}


# Each strategy gives (text, reference) where reference(event_dict, i[, j]) is the Python value.
def ev_num():
    leaf = st.one_of(
        st.sampled_from(["nJet", "event", "MET_pt"]).map(lambda b: (b, lambda e, i, b=b: e[b][i])),
        INT_LIT.map(lambda v: (str(v), lambda e, i, v=v: v)),
        FLOAT_LIT.map(lambda v: (repr(v), lambda e, i, v=v: v)),
        obj_num().flatmap(lambda o: st.sampled_from(["sum", "min", "max"]).map(lambda r: _reduce(r, o))),
    )
    return st.recursive(leaf, lambda ch: st.tuples(ch, st.sampled_from(["+", "-", "*"]), ch).map(_arith),
                        max_leaves=4)


def obj_num():
    leaf = st.sampled_from(["Jet_pt", "Jet_id"]).map(lambda b: (b, lambda e, i, j, b=b: e[b][i][j]))
    return st.one_of(leaf, st.tuples(leaf, st.sampled_from(["+", "*"]), INT_LIT.filter(lambda v: abs(v) < 100)).map(
        lambda t: (f"({t[0][0]} {t[1]} {t[2]})",
                   lambda e, i, j, t=t: PY_ARITH[t[1]](t[0][1](e, i, j), t[2]))))


PY_ARITH = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b}


def _arith(t):
    (ta, fa), op, (tb, fb) = t
    return f"({ta} {op} {tb})", lambda e, i: PY_ARITH[op](fa(e, i), fb(e, i))


def _reduce(r, o):
    text, f = o

    def ref(e, i):
        vals = [f(e, i, j) for j in range(len(e["Jet_pt"][i]))]
        if r == "sum":
            return sum(vals)
        if not vals:
            return float("inf") if r == "min" else float("-inf")
        return float(min(vals) if r == "min" else max(vals))
    return f"{r}({text})", ref


def obj_cond():
    return st.tuples(obj_num(), CMP, st.one_of(INT_LIT, FLOAT_LIT)).map(
        lambda t: (f"{t[0][0]} {t[1]} {t[2]!r}", lambda e, i, j, t=t: PY_CMP[t[1]](t[0][1](e, i, j), t[2])))


def _obj_reduce(t):
    r, (text, f) = t

    def ref(e, i):
        vals = [f(e, i, j) for j in range(len(e["Jet_pt"][i]))]
        return sum(vals) if r == "count" else any(vals) if r == "any" else all(vals)
    return f"{r}({text})", ref


def cond():
    cmp = st.tuples(ev_num(), CMP, ev_num()).map(
        lambda t: (f"{t[0][0]} {t[1]} {t[2][0]}", lambda e, i, t=t: PY_CMP[t[1]](t[0][1](e, i), t[2][1](e, i))))
    red = st.tuples(st.sampled_from(["any", "all"]), obj_cond()).map(_obj_reduce)
    cnt = st.tuples(st.tuples(st.just("count"), obj_cond()).map(_obj_reduce), CMP, st.integers(0, 3)).map(
        lambda t: (f"{t[0][0]} {t[1]} {t[2]}", lambda e, i, t=t: PY_CMP[t[1]](t[0][1](e, i), t[2])))
    leaf = st.one_of(cmp, red, cnt)
    return st.recursive(leaf, lambda ch: st.one_of(
        st.tuples(ch, st.sampled_from(["&&", "||", "and", "or"]), ch).map(
            lambda t: (f"({t[0][0]} {t[1]} {t[2][0]})",
                       lambda e, i, t=t: (t[0][1](e, i) and t[2][1](e, i)) if t[1] in ("&&", "and")
                       else (t[0][1](e, i) or t[2][1](e, i)))),
        ch.map(lambda c: (f"!({c[0]})", lambda e, i, c=c: not c[1](e, i)))), max_leaves=3)


def _py_event(ev, i):
    """The event as Python numbers, float32 branches rounded as the file stores them."""
    return ev


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(expr=cond(), ev=events(), step=st.integers(1, 30))
def test_selection_is_chunk_independent_and_equals_the_per_event_reference(expr, ev, step):
    text, ref = expr
    arrays = _arrays(ev)
    try:
        bound = SelectionExpression.parse(text).bind(branch_kinds(arrays, sorted(SelectionExpression.parse(text).branches)))
    except SelectionError:
        return  # refused up front (e.g. integer arithmetic that could leave 64 bits): never a wrong answer
    whole = bound.evaluate(arrays)
    n = len(arrays)
    for size in {1, 2, 7, step}:
        chunks = np.concatenate([bound.evaluate(arrays[s:s + size]) for s in range(0, n, size)])
        assert chunks.tolist() == whole.tolist(), (text, size)
    expected = [bool(ref(ev, i)) for i in range(n)]
    assert whole.tolist() == expected, text


@settings(max_examples=200, deadline=None, database=None)
@given(st.text(max_size=60) | st.text(alphabet="()!&|<>=+-*/%. 0123456789nJetMT_ptaxcoun", max_size=80))
def test_random_text_parses_or_raises_selection_error(text):
    arrays = _arrays({"nJet": [1], "event": [5], "MET_pt": [1.0], "Jet_pt": [[1.0]], "Jet_id": [[1]]})
    try:
        sel = SelectionExpression.parse(text)
        kinds = branch_kinds(arrays, sorted(sel.branches & set(arrays.fields)))
        sel.bind(kinds).evaluate(arrays)
    except SelectionError:
        pass


BIG = {"event": np.array([2**62 + 1, 2**63 - 1, 2**63, 2**64 - 1], dtype=np.uint64),
       "nJet": np.array([0, 1, 2, 3], dtype=np.int32), "Jet_pt": ak.Array([[], [1.0], [2.0, 3.0], [4.0]])}


@pytest.mark.parametrize(("text", "expected"), [
    ("event < 2**63", [True, True, False, False]),
    ("event < 2**64", [True, True, True, True]),
    ("event >= -1", [True, True, True, True]),
    ("event == 2**64 - 1", [False, False, False, True]),
    ("event % 2 == 1", [True, True, False, True]),
    ("event > 9.3e18", [False, False, False, True]),
    ("nJet / 0 > 1", [False, True, True, True]),  # IEEE: 0/0 is NaN, x/0 is +inf
    ("nJet % (nJet - 1) == 0", [True, False, True, False]),  # % by a branch value 0 is NaN: False
])
def test_integer_and_division_semantics_are_exact(text, expected):
    assert SelectionExpression.parse(text).evaluate(BIG).tolist() == expected


@pytest.mark.parametrize(("text", "message"), [
    ("max(nJet) > 2", "expected a per-object branch"),
    ("Jet_pt > 30", "gives a list per event"),
    ("event + 1 > 0", "64-bit integer range"),
    ("nJet % 0 == 1", "modulo by zero"),
    ("event < " + "9" * 3000, "integer literal"),
    ("event < 2 ** 100000", "too large"),
    ("(" * 200 + "nJet" + ")" * 200 + " > 1", "nests deeper"),
    ("-" * 500 + "nJet > 1", "nests deeper"),
    ("nJet > 1 and " * 9000 + "nJet > 1", "characters"),
    ("nJet + 1", "expected one boolean"),
    ("abs > 1", "is a function"),
])
def test_faulty_selections_raise_selection_error_quickly(text, message):
    t0 = time.perf_counter()
    with pytest.raises(SelectionError, match=message) as err:
        SelectionExpression.parse(text).evaluate(BIG)
    assert time.perf_counter() - t0 < 2 and "\n" not in str(err.value)
