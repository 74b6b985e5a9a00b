"""Compile a spec + its :class:`~hepfm_root.spec.Resolution` into one C++ function.

The generated function takes the resolved branches (one template parameter per
argument, so ``Float_t``, ``Int_t``, ``UChar_t`` … branches all work without a
type table) and returns a struct with the flattened object tensor, its mask, the
selection flag and, for specs with constituents, the constituent tensor.

This is the C++ rendering of the formula tables beside it: derived fields come from
``_derived.DERIVED`` (:func:`field_expr`), transforms from ``_transforms.TRANSFORMS``
(:func:`feature_exprs`), cut operators from ``_cuts.CUT_OPS`` and the kinematic
kernels from ``_kernels.CPP_KERNELS`` — the numpy rendering reads the same entries, so
no formula is written here.  It is text generation only (no ROOT); ``hepfm_root.rdf``
declares the result.  Every ordering rule mirrors ``_objects.py`` / ``_constituents.py``:

* inputs are widened to ``double``; cuts compare that double with the double
  threshold; features are computed in double and rounded to float once;
* per source: cut, stable sort by the key (descending, ties keep input order),
  count before truncation, keep the first ``max_objects``;
* several sources: concatenated in source order, stable sort again, truncate —
  ties keep source order, then input order, as the awkward path's stable argsort;
* constituents: link rows whose parent was kept, grouped per parent slot, stable
  sort by the candidate key (ties keep link order), truncated.

``#pragma clang fp contract(off)`` (in every function body) keeps the JIT from fusing ``a*b + c`` into an
FMA, which numpy never does: the two paths then perform the same double
operations.  The parity tests (``tests/integration/test_rdf.py``) hold them together.

Nothing from a spec or an input becomes code: spec names are identifiers (the
schema's pattern), every branch and type id of the resolution is checked here before
use, numbers are finite literals, and any other text (the input's description, a
field's origin) is written only as a string literal by
:func:`hepfm_root._cpp_text.cpp_string`, comments included.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from .._cpp_text import check_identifier, cpp_string
from ..errors import InvalidSpecError
from ..spec import ColumnScaling, Cut, Feature, FeatureSpec, Resolution, SourceResolution, scaling_of
from ._cpp_events import event_feature_lines, nonfinite_throw
from ._cuts import CUT_OPS
from ._derived import field_cpp
from ._kernels import CPP_KERNELS
from ._kernels import cpp_double as _lit
from ._scaling import standardise_cpp
from ._transforms import TRANSFORMS

__all__ = ["Compiled", "feature_exprs", "field_expr", "generate"]


@dataclass(frozen=True)
class Compiled:
    """Generated C++ for one (spec, resolution, on_nonfinite).

    Attributes:
        namespace: C++ namespace holding ``compute`` and the ``Out`` struct.
        source: the C++ text to ``Declare``.
        args: branch names, in the order ``compute`` takes them.
    """

    namespace: str
    source: str
    args: tuple[str, ...]

    @property
    def call(self) -> str:
        """C++ expression calling the function on the dataframe's columns."""
        return f"{self.namespace}::compute({', '.join(self.args)})"


def _by_key_desc(var: str) -> str:
    """Stable sort of ``var`` by ``.key``, descending: ties keep their current order (``sort_by_key_desc``)."""
    return f"sort_by_key_desc({var});"


def _scratch(typ: str, var: str) -> str:
    """A per-thread vector emptied for this event: its memory is allocated once per thread, not once per event.

    Only ``compute`` touches it, from the call's start to its return (whatever is kept is copied into ``Out``),
    so one per thread is enough under ImplicitMT as well.
    """
    return f"static thread_local std::vector<{typ}> {var}; {var}.clear();"


def _check_resolution(res: Resolution) -> None:
    """Refuse a resolution whose branch names, type ids or defaults could not be emitted safely.

    ``resolve`` only ever produces identifiers (the spec's names joined by ``_``), but a
    :class:`Resolution` can also be built by hand and passed to ``define_objects``.
    """
    sources = [(f"block {b!r}", s) for b, srcs in res.blocks.items() for s in srcs]
    sources += [("constituents", res.constituents), ("constituent links", res.link)]
    for what, src in sources:
        if src is None or src.collection is None:
            continue
        check_identifier(src.collection, f"resolution: {what}: collection", InvalidSpecError)
        if type(src.type_id) is not int:
            raise InvalidSpecError(f"resolution: {what}: type_id {src.type_id!r} is not an int")
        for name, fs in src.fields.items():
            check_identifier(name, f"resolution: {what}: field", InvalidSpecError)
            if fs.branch is not None:
                check_identifier(fs.branch, f"resolution: {what}: field {name!r}: branch", InvalidSpecError)
            else:
                _lit(fs.default)  # type: ignore[arg-type]


def field_expr(name: str, get: Callable[[str], str], type_id: str) -> str:
    """C++ for a logical field: a derived one from ``DERIVED``, else ``get(name)``.

    Example:
        >>> field_expr("abs_eta", {"eta": "o.v[0]"}.__getitem__, "o.type_id")
        'std::abs(o.v[0])'
    """
    return field_cpp(name, get, type_id)


def feature_exprs(
    f: Feature, get: Callable[[str], str], object_types: list[str], parent: Callable[[str], str] | None = None
) -> list[str]:
    """C++ expressions (double) of the columns of ``f``: its ``TRANSFORMS`` entry, rendered in C++.

    ``get``/``parent`` give C++ expressions of a logical field (derived ones included).  The
    caller binds the feature's own field to a local ``x`` (and the parent's to ``p``), so the
    expressions read those instead of recomputing the field once per column.

    Example:
        >>> from hepfm_root.spec import Feature
        >>> feature_exprs(Feature.model_validate("sin_phi"), {"phi": "o.v[1]"}.__getitem__, [])
        ['std::sin(x)']
    """
    def own(name: str) -> str:
        return "x" if name == f.field else get(name)

    def par(name: str) -> str:
        assert parent is not None, f"feature {f.name!r} needs a parent object"  # constituents only
        return "p" if name == f.field else parent(name)

    return TRANSFORMS[f.transform].cpp(f, object_types, own, par if parent is not None else None)


def _cut_expr(cut: Cut, get: Callable[[str], str], type_id: str) -> str:
    """``field OP value`` in C++ (the operator from ``CUT_OPS``: never text from the spec)."""
    return f"{field_expr(cut.field, get, type_id)} {CUT_OPS[cut.op].cpp} {_lit(cut.value)}"


_PRELUDE = """\
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>
#include "ROOT/RVec.hxx"

namespace {ns} {{
// Mirrors hepfm_root/tensors/_kernels.py (float64 arithmetic, numpy's operation order).
{kernels}// std::stable_sort by .key, descending (ties keep their order), without the heap buffer std::stable_sort
// takes on every call: an insertion sort for the few objects of an event, std::stable_sort past 32.
template <typename T>
inline void sort_by_key_desc(std::vector<T>& v) {{
    if (v.size() > 32) {{
        std::stable_sort(v.begin(), v.end(), [](const T& l, const T& r) {{ return l.key > r.key; }});
        return;
    }}
    for (std::size_t i = 1; i < v.size(); ++i) {{
        const T x = v[i];
        std::size_t j = i;
        for (; j > 0 && x.key > v[j - 1].key; --j) v[j] = v[j - 1];
        v[j] = x;
    }}
}}
struct Out {{
    ROOT::RVec<float> objects;             // n_objects * n_features, row-major
    ROOT::RVec<bool> mask;                 // n_objects
    ROOT::RVec<int> sources;               // n_objects: collection id (Resolution.collections), -1 padding
    ROOT::RVec<int> indices;               // n_objects: index inside that collection, -1 padding
    ROOT::RVec<int> sizes;                 // per collection (Resolution.collections): objects in the event, all
    bool selected = false;
    ROOT::RVec<float> constituents;        // n_parent * max_constituents * n_features
    ROOT::RVec<bool> constituent_mask;     // n_parent * max_constituents
    ROOT::RVec<float> event_features;      // n_event_features (schema version 2)
}};
"""


class _Args:
    """Branch -> argument name, in first-use order."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def __call__(self, branch: str) -> str:
        if branch not in self.names:
            self.names[branch] = f"a{len(self.names)}"
        return self.names[branch]


def _source_loop(
    spec: FeatureSpec, bi: int, si: int, src: SourceResolution, fields: list[str], args: _Args, on_nonfinite: str,
    collections: tuple[str, ...], only: bool,
) -> list[str]:
    """C++ statements collecting one source's passing objects, sorted and truncated, into ``blk{bi}``.

    ``only``: the block's only source, collected straight into ``blk{bi}``; else into ``part``, appended.
    """
    block = spec.blocks[bi]
    cuts = src.cuts  # working points already replaced by this input's values (as the numpy path)
    slot = {f: i for i, f in enumerate(fields)}
    branched = [(f, src.fields[f].branch) for f in fields if f in src.fields and src.fields[f].branch]
    missing = [f for f in fields if f not in src.fields]
    if missing:
        raise InvalidSpecError(
            f"block {block.name!r}: source {src.collection!r} resolves no field {missing}; "
            "expected every source of a block to provide the block's fields"
        )
    index = "" if src.singleton else "[i]"
    collection_id = collections.index(src.collection) if src.collection in collections else -1
    if src.singleton or not branched:
        size = "1"  # a singleton, or a source made only of defaults: one object per event (as the awkward path)
    else:
        size = f"{args(branched[0][1])}.size()"
    part = f"blk{bi}" if only else "part"
    lines = [
        f"    {{  // source {si}: {cpp_string(str(src.collection))}{' (singleton)' if src.singleton else ''}",
        *([] if only else ["        " + _scratch(f"Obj{bi}", "part")]),
        f"        const std::size_t n = {size};",
        *([f"        out.sizes[{collection_id}] = static_cast<int>(n);"] if collection_id >= 0 else []),
        "        for (std::size_t i = 0; i < n; ++i) {",
        f"            Obj{bi} o; o.type_id = {src.type_id}; o.src = {collection_id}; o.index = static_cast<long long>(i);",
    ]
    for f in fields:
        fs = src.fields[f]
        val = f"static_cast<double>({args(fs.branch)}{index})" if fs.branch else _lit(fs.default)  # type: ignore[arg-type]
        lines.append(f"            o.v[{slot[f]}] = {val};  // {cpp_string(f + ': ' + fs.describe())}")
    if branched:
        finite = " && ".join(f"std::isfinite(o.v[{slot[f]}])" for f, _ in branched)
        lines.append(f"            if (!({finite})) {{")
        if on_nonfinite == "raise":
            lines.append("                " + nonfinite_throw(", ".join(b for _, b in branched)))
        else:
            lines.append("                continue;")
        lines.append("            }")

    def get(name: str) -> str:
        return f"o.v[{slot[name]}]"

    for cut in cuts:
        lines.append(f"            if (!({_cut_expr(cut, get, 'o.type_id')})) continue;")
    lines += [
        f"            o.key = {field_expr(block.sort_by, get, 'o.type_id')};",
        f"            {part}.push_back(o);",
        "        }",
        f"        count{bi} += static_cast<long long>({part}.size());",
        "        " + _by_key_desc(part),
        f"        if ({part}.size() > {block.max_objects}) {part}.resize({block.max_objects});",
        *([] if only else [f"        blk{bi}.insert(blk{bi}.end(), part.begin(), part.end());"]),
        "    }",
    ]
    return lines


def _write_features(
    features: list[Feature], object_types: list[str], get: Callable[[str], str], type_id: str,
    out: str, base: str, parent: Callable[[str], str] | None = None, parent_type: str = "",
    scales: list[ColumnScaling | None] | None = None,
) -> list[str]:
    lines, col = [], 0
    for f in features:
        lines.append("        {")
        if f.field is not None:
            lines.append(f"            const double x = {field_expr(f.field, get, type_id)};")
            if f.relative:
                assert parent is not None
                lines.append(f"            const double p = {field_expr(f.field, parent, parent_type)};")
        for expr in feature_exprs(f, get, object_types, parent):
            expr = standardise_cpp(expr, scales[col] if scales is not None else None)
            lines.append(f"            {out}[{base} + {col}] = static_cast<float>({expr});  // {cpp_string(f.name)}")
            col += 1
        lines.append("        }")
    return lines


def _constituents(spec: FeatureSpec, res: Resolution, args: _Args, parent_bi: int, on_nonfinite: str) -> list[str]:
    c = spec.constituents
    assert c is not None and res.constituents is not None and res.link is not None
    k, cmax = spec.block(c.parent).max_objects, c.max_constituents
    nf = len(spec.constituent_feature_names)
    parent_fields = res.block_fields(c.parent)
    pslot = {f: i for i, f in enumerate(parent_fields)}
    cfields = sorted(res.constituents.fields)
    cslot = {f: i for i, f in enumerate(cfields)}
    cbranched = [(f, res.constituents.fields[f].branch) for f in cfields if res.constituents.fields[f].branch]
    parent_res = res.blocks[c.parent][0]
    parent_branch = next((fs.branch for fs in parent_res.fields.values() if fs.branch), None)
    if parent_branch is None or not cbranched:
        raise InvalidSpecError(
            f"constituents of {c.parent!r}: the parent and the candidates must each read at least one branch "
            "(their object counts come from it)"
        )
    link_p = res.link.fields["parent_index"].branch
    link_c = res.link.fields["candidate_index"].branch
    ap, ac, apar, acand = args(link_p), args(link_c), args(parent_branch), args(cbranched[0][1])  # type: ignore[arg-type]
    names = ", ".join(b for _, b in cbranched)
    lines = [
        "    // constituents: link rows -> kept parent slots, sorted by the candidate key, truncated",
        f"    out.constituents = ROOT::RVec<float>({k * cmax * nf}, static_cast<float>({_lit(spec.pad_value)}));",
        f"    out.constituent_mask = ROOT::RVec<bool>({k * cmax}, false);",
        "    {",
        f"        const long long n_parent = static_cast<long long>({apar}.size());",
        f"        const long long n_cand = static_cast<long long>({acand}.size());",
        "        " + _scratch("long long", "slot_of"),
        "        slot_of.assign(static_cast<std::size_t>(n_parent), -1);",
        f"        for (std::size_t j = 0; j < blk{parent_bi}.size(); ++j)",
        f"            slot_of[blk{parent_bi}[j].index] = static_cast<long long>(j);",
        f"        struct Cand {{ double key; double v[{len(cfields)}]; }};",
        f"        static thread_local std::vector<std::vector<Cand>> groups({k});  // per thread, as _scratch",
        "        for (auto& g : groups) g.clear();",
        "        auto load = [&](long long ci, Cand& cd) {",
    ]
    for f in cfields:
        fs = res.constituents.fields[f]
        val = f"static_cast<double>({args(fs.branch)}[ci])" if fs.branch else _lit(fs.default)  # type: ignore[arg-type]
        lines.append(f"            cd.v[{cslot[f]}] = {val};  // {cpp_string(f + ': ' + fs.describe())}")
    finite = " && ".join(f"std::isfinite(cd.v[{cslot[f]}])" for f, _ in cbranched)
    lines += [f"            return {finite};", "        };"]
    if on_nonfinite == "raise":  # as the awkward path: any candidate, linked or not
        lines += [
            "        for (long long ci = 0; ci < n_cand; ++ci) {",
            "            Cand cd;",
            "            if (!load(ci, cd)) " + nonfinite_throw(names),
            "        }",
        ]
    lines += [
        f"        for (std::size_t r = 0; r < {ap}.size(); ++r) {{",
        f"            const long long pi = static_cast<long long>({ap}[r]);",
        f"            const long long ci = static_cast<long long>({ac}[r]);",
        "            if (pi >= n_parent) throw std::runtime_error("
        f"{cpp_string(f'InvalidInputFileError: branch {link_p!r}: index ')} + std::to_string(pi) + "
        f"\" points past the \" + std::to_string(n_parent) + \" parent objects of the event; expected indices below the count\");",
        "            if (ci >= n_cand) throw std::runtime_error("
        f"{cpp_string(f'InvalidInputFileError: branch {link_c!r}: index ')} + std::to_string(ci) + "
        f"\" points past the \" + std::to_string(n_cand) + \" candidates of the event; expected indices below the count\");",
        "            if (pi < 0 || ci < 0) continue;",
        "            const long long s = slot_of[pi];",
        "            if (s < 0) continue;",
        "            Cand cd;",
        "            if (!load(ci, cd)) continue;  // only reached with on_nonfinite='drop'",
    ]

    def cget(name: str) -> str:
        return f"cd.v[{cslot[name]}]"

    for cut in c.cuts:
        lines.append(f"            if (!({_cut_expr(cut, cget, '-1')})) continue;")
    lines += [
        f"            cd.key = {field_expr(c.sort_by, cget, '-1')};",
        "            groups[s].push_back(cd);",
        "        }",
        "        for (std::size_t s = 0; s < groups.size(); ++s) {",
        "            auto& g = groups[s];",
        "            " + _by_key_desc("g"),
        f"            if (g.size() > {cmax}) g.resize({cmax});",
        f"            const auto& po = blk{parent_bi}[s];",
        "            for (std::size_t q = 0; q < g.size(); ++q) {",
        "                const Cand& cd = g[q];",
        f"                out.constituent_mask[s * {cmax} + q] = true;",
        f"                const std::size_t base = (s * {cmax} + q) * {nf};",
    ]

    def pget(name: str) -> str:
        return f"po.v[{pslot[name]}]"

    body = _write_features(c.features, spec.object_types, cget, "-1", "out.constituents", "base", pget, "po.type_id")
    lines += ["        " + ln for ln in body]
    lines += ["            }", "        }", "    }"]
    return lines


def generate(spec: FeatureSpec, res: Resolution, on_nonfinite: str = "raise") -> Compiled:
    """Generate the C++ of ``spec`` bound to ``res``.

    Example:
        >>> from hepfm_root.spec import load_spec, resolve
        >>> spec = load_spec("six_object")
        >>> names = [f"{c}_{f}" for c in ("Electron", "Muon", "Jet") for f in ("pt", "eta", "phi", "mass")]
        >>> res = resolve(spec, names + ["MET_pt", "MET_phi", "Jet_btagDeepFlavB"])
        >>> code = generate(spec, res)
        >>> code.args[:3]
        ('Electron_eta', 'Electron_mass', 'Electron_phi')
        >>> "compute(" in code.source and "sort_by_key_desc(blk0)" in code.source
        True
    """
    if on_nonfinite not in ("raise", "drop"):
        raise InvalidSpecError(f"on_nonfinite={on_nonfinite!r}; expected 'raise' or 'drop'")
    if res.spec != spec:  # its cut values (working points) belong to another spec or era
        raise InvalidSpecError(f"resolution of {res.where} was made for spec {res.spec.name!r} (era {res.spec.era}), "
                               f"not for {spec.name!r} (era {spec.era})")
    _check_resolution(res)
    args = _Args()
    body: list[str] = []
    structs: list[str] = []
    nf = spec.n_features
    scaling = scaling_of(spec)
    scales = [scaling.features.get(c) if scaling is not None else None for c in spec.feature_names]
    row0 = 0
    for bi, block in enumerate(spec.blocks):
        fields = res.block_fields(block.name)
        structs.append(
            f"struct Obj{bi} {{ double key; int type_id; int src; long long index; double v[{max(len(fields), 1)}]; }};"
            f"  // block {cpp_string(block.name + ': ' + ', '.join(fields))}"
        )
        body += [f"    // block {bi}: {cpp_string(block.name)}", "    " + _scratch(f"Obj{bi}", f"blk{bi}"),
                 f"    long long count{bi} = 0;"]
        present = [(si, s) for si, s in enumerate(res.blocks[block.name]) if s.present]
        for si, src in present:
            body += _source_loop(spec, bi, si, src, fields, args, on_nonfinite, res.collections, len(present) == 1)
        if len(present) > 1:  # merge: ties keep source order (parts were appended in source order)
            body += [
                "    " + _by_key_desc(f"blk{bi}"),
                f"    if (blk{bi}.size() > {block.max_objects}) blk{bi}.resize({block.max_objects});",
            ]
        slot = {f: i for i, f in enumerate(fields)}

        def get(name: str, slot: dict[str, int] = slot) -> str:
            return f"o.v[{slot[name]}]"

        body += [
            f"    for (std::size_t j = 0; j < blk{bi}.size(); ++j) {{",
            f"        const Obj{bi}& o = blk{bi}[j];",
            f"        out.mask[{row0} + j] = true;",
            f"        out.sources[{row0} + j] = o.src;",
            f"        out.indices[{row0} + j] = static_cast<int>(o.index);",
            f"        const std::size_t base = ({row0} + j) * {nf};",
        ]
        body += _write_features(spec.features, spec.object_types, get, "o.type_id", "out.objects", "base",
                                scales=scales)
        body.append("    }")
        row0 += block.max_objects
    conds = [f"count{[b.name for b in spec.blocks].index(name)} >= {m}" for name, m in spec.selection.min_objects.items()]
    body.append(f"    out.selected = {' && '.join(conds) if conds else 'true'};")
    if spec.constituents is not None:
        parent_bi = [b.name for b in spec.blocks].index(spec.constituents.parent)
        body += _constituents(spec, res, args, parent_bi, on_nonfinite)
    body += event_feature_lines(spec, res, args, on_nonfinite)

    branch_args = list(args.names.items())
    key = "\n".join([spec.fingerprint(), on_nonfinite, *structs, *body, repr(branch_args)])
    ns = "hepfm_rdf_" + hashlib.sha256(key.encode()).hexdigest()[:16]
    tparams = ", ".join(f"typename T{i}" for i in range(len(branch_args)))
    params = ", ".join(f"const T{i}& {a}" for i, (_, a) in enumerate(branch_args))
    header = [
        f"// spec {cpp_string(spec.name)} version {cpp_string(spec.version)} (fingerprint {spec.fingerprint()[:16]}) "
        f"on {cpp_string(res.where)}",
        *(f"// {a} = {cpp_string(b)}" for b, a in branch_args),
    ]
    source = "\n".join([
        _PRELUDE.format(ns=ns, kernels=CPP_KERNELS),
        *header,
        *structs,
        (f"template <{tparams}>" if tparams else ""),
        f"Out compute({params}) {{",
        "    #pragma clang fp contract(off)  // numpy never fuses a*b + c; neither may the JIT",
        "    Out out;",
        f"    out.objects = ROOT::RVec<float>({spec.n_objects * nf}, static_cast<float>({_lit(spec.pad_value)}));",
        f"    out.mask = ROOT::RVec<bool>({spec.n_objects}, false);",
        f"    out.sources = ROOT::RVec<int>({spec.n_objects}, -1);",
        f"    out.indices = ROOT::RVec<int>({spec.n_objects}, -1);",
        f"    out.sizes = ROOT::RVec<int>({len(res.collections)}, 0);",
        *body,
        "    return out;",
        "}",
        f"}}  // namespace {ns}",
        "",
    ])
    return Compiled(ns, source, tuple(b for b, _ in branch_args))
