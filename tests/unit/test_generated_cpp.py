"""The C++ that ``define_objects`` declares allocates per event only the ``Out`` it returns.

Blocks, per-source parts and constituent groups are per-thread scratch vectors and the sort takes no heap
buffer (``std::stable_sort`` would, on every call); the parity tests in ``tests/integration/test_rdf.py``
hold the results equal to the awkward path, these tests that the scratch stays scratch (timings:
``tests/benchmarks/bench_rdf.py``).
"""

from __future__ import annotations

import re

import pytest
import uproot

from hepfm_root.spec import builtin_specs, load_spec, resolve
from hepfm_root.tensors._cpp import generate

#: A real file with every branch each built-in spec needs.
FILES = {"jet_constituents": "pfnano.root"}


def _compute_body(source: str) -> list[str]:
    lines = source.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("Out compute("))
    return lines[start + 1:]


@pytest.mark.parametrize("name", builtin_specs())
def test_no_vector_is_built_and_no_stable_sort_buffer_taken_per_event(sample, name):
    path = sample(FILES.get(name, "nano_tt_v12.root"))
    spec = load_spec(name)
    res = resolve(spec, uproot.open(path)["Events"].keys(), where=path.name)
    body = _compute_body(generate(spec, res).source)
    vectors = [ln.strip() for ln in body if "std::vector<" in ln]
    assert vectors, "expected the blocks' scratch vectors"
    assert [v for v in vectors if not v.startswith("static thread_local std::vector<")] == []
    # each scratch vector is emptied before it is filled
    for v in vectors:
        var = re.search(r">\s+(\w+)[;(]", v).group(1)
        assert f"{var}.clear()" in v or f"for (auto& g : {var}) g.clear();" in "\n".join(body), v
    assert not any("std::stable_sort" in ln for ln in body)  # only inside sort_by_key_desc, past 32 objects
    assert any("sort_by_key_desc(" in ln for ln in body)
