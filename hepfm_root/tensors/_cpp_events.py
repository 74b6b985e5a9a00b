"""The C++ of a spec's event features (schema version 2), text only: the twin of ``_events.py``.

The statements this module writes run inside the generated ``compute`` function after the
blocks are built (``blk{i}`` holds block ``i``'s kept objects, in slot order) and fill
``out.event_features``.  Every formula comes from the tables: reductions from
``_reduce.REDUCERS``, derived fields and transforms through ``_cpp.field_expr`` /
``_cpp.feature_exprs``, cut operators from ``_cuts.CUT_OPS``, standardisation from
``_scaling``.  As in the numpy path, a collection's objects are widened to double, refused
(or, with ``on_nonfinite='drop'``, skipped) when an input is not finite, cut, and folded in
in input order; a block's kept objects are folded in in slot order.

Nothing from a spec or an input becomes code: names are identifiers (checked here again for
the resolution's branch and collection names), numbers finite literals, and other text only a
string literal (:func:`hepfm_root._cpp_text.cpp_string`).
"""

from __future__ import annotations

from collections.abc import Callable

from .._cpp_text import check_identifier, cpp_string
from ..errors import InvalidSpecError
from ..spec import EventFeature, FeatureSpec, FieldSource, Resolution, SourceResolution, event_features_of, scaling_of
from ._cuts import CUT_OPS
from ._derived import field_cpp
from ._kernels import cpp_double
from ._reduce import REDUCERS
from ._scaling import standardise_cpp
from ._transforms import TRANSFORMS

__all__ = ["check_event_resolution", "event_feature_lines", "nonfinite_throw"]


def check_event_resolution(res: Resolution) -> None:
    """Refuse event-feature origins whose names or numbers could not be emitted safely."""
    for name, origin in res.event_features.items():
        check_identifier(name, "resolution: event feature", InvalidSpecError)
        if isinstance(origin, FieldSource):
            if origin.branch is not None:
                check_identifier(origin.branch, f"resolution: event feature {name!r}: branch", InvalidSpecError)
            else:
                cpp_double(origin.default)  # type: ignore[arg-type]
        elif isinstance(origin, SourceResolution):
            check_identifier(str(origin.collection), f"resolution: event feature {name!r}: collection",
                             InvalidSpecError)
            for f, fs in origin.fields.items():
                check_identifier(f, f"resolution: event feature {name!r}: field", InvalidSpecError)
                if fs.branch is None:
                    raise InvalidSpecError(f"resolution: event feature {name!r}: field {f!r} has no branch")
                check_identifier(fs.branch, f"resolution: event feature {name!r}: field {f!r}: branch",
                                 InvalidSpecError)


def nonfinite_throw(names: str) -> str:
    """The C++ statement that stops the event loop on a non-finite input of ``names``."""
    message = (f"NonFiniteInputError: NaN or infinite value in one of the branches {names}; "
               "expected finite numbers (pass on_nonfinite='drop' to drop such objects)")
    return f"throw std::runtime_error({cpp_string(message)});"


def _reduce(ef: EventFeature, acc: str, get: Callable[[str], str], type_id: str) -> tuple[str, str, str]:
    init, step, finish = REDUCERS[ef.kind].cpp(acc, lambda f: field_cpp(f, get, type_id), ef.reduced_field)
    default = cpp_double(0.0 if ef.default is None else ef.default)
    return init, step, finish.replace("DEFAULT", default)


def _quantity(ef: EventFeature, i: int, res: Resolution, block_of: dict[str, tuple[int, dict[str, int]]],
              arg: Callable[[str], str], on_nonfinite: str) -> list[str]:
    """Statements that leave the quantity of event feature ``ef`` in ``const double q``."""
    origin = res.event_features[ef.name]
    default = cpp_double(0.0 if ef.default is None else ef.default)
    if ef.kind == "branch":
        assert isinstance(origin, FieldSource)
        if origin.branch is None:
            return [f"        const double q = {cpp_double(origin.default)};  // {cpp_string(origin.describe())}"]
        a = arg(origin.branch)
        bad = nonfinite_throw(origin.branch) if on_nonfinite == "raise" else ""
        lines = [f"        double q = static_cast<double>({a});  // {cpp_string(origin.branch)}",
                 "        if (!std::isfinite(q)) {"]
        lines.append(f"            {bad}" if bad else f"            q = {default};")
        return [*lines, "        }"]
    acc = f"e{i}"
    if ef.block is not None:
        bi, slot = block_of[ef.block]

        def bget(name: str) -> str:
            return f"o.v[{slot[name]}]"

        if ef.kind == "object":
            value = field_cpp(ef.field, lambda n: f"blk{bi}[{ef.index}].v[{slot[n]}]", f"blk{bi}[{ef.index}].type_id")  # type: ignore[arg-type]
            return [f"        const double q = blk{bi}.size() > {ef.index} ? {value} : {default};"]
        init, step, finish = _reduce(ef, acc, bget, "o.type_id")
        return [f"        {init} long long n{acc} = 0;",
                f"        for (const auto& o : blk{bi}) {{ {step} ++n{acc}; }}",
                f"        const double q = {finish};"]
    assert isinstance(origin, SourceResolution)
    fields = sorted(origin.fields)
    slot = {f: j for j, f in enumerate(fields)}
    branches = [origin.fields[f].branch for f in fields]

    def cget(name: str) -> str:
        return f"v[{slot[name]}]"

    init, step, finish = _reduce(ef, acc, cget, "-1")
    lines = [f"        {init} long long n{acc} = 0;  // collection {cpp_string(str(origin.collection))}",
             f"        for (std::size_t i = 0; i < {arg(branches[0])}.size(); ++i) {{",  # type: ignore[arg-type]
             f"            double v[{len(fields)}];"]
    for f, b in zip(fields, branches, strict=True):
        lines.append(f"            v[{slot[f]}] = static_cast<double>({arg(b)}[i]);  // {cpp_string(f + ': ' + str(b))}")  # type: ignore[arg-type]
    finite = " && ".join(f"std::isfinite(v[{j}])" for j in range(len(fields)))
    skip = nonfinite_throw(", ".join(str(b) for b in branches)) if on_nonfinite == "raise" else "continue;"
    lines.append(f"            if (!({finite})) {{ {skip} }}")
    for cut in origin.cuts:   # resolved: working points replaced by their value
        lines.append(f"            if (!({field_cpp(cut.field, cget, '-1')} {CUT_OPS[cut.op].cpp} "
                     f"{cpp_double(cut.value)})) continue;")
    lines += [f"            {step} ++n{acc};", "        }", f"        const double q = {finish};"]
    return lines


def event_feature_lines(spec: FeatureSpec, res: Resolution, arg: Callable[[str], str], on_nonfinite: str) -> list[str]:
    """C++ statements filling ``out.event_features`` (none for a spec without event features)."""
    features = event_features_of(spec)
    if not features:
        return []
    check_event_resolution(res)
    block_of = {b.name: (bi, {f: j for j, f in enumerate(res.block_fields(b.name))}) for bi, b in enumerate(spec.blocks)}
    scaling = scaling_of(spec)
    table = scaling.event_features if scaling is not None else {}
    names = spec.event_feature_names
    lines = [f"    out.event_features = ROOT::RVec<float>({len(names)}, 0.0f);"]
    col = 0
    for i, ef in enumerate(features):
        lines.append(f"    {{  // event feature {cpp_string(ef.name)}: {ef.kind}")
        lines += _quantity(ef, i, res, block_of, arg, on_nonfinite)
        lines.append("        const double x = q;")
        f = ef.as_feature()
        for expr in TRANSFORMS[f.transform].cpp(f, spec.object_types, {"value": "x"}.__getitem__, None):
            lines.append(f"        out.event_features[{col}] = static_cast<float>({standardise_cpp(expr, table.get(names[col]))});"
                         f"  // {cpp_string(names[col])}")
            col += 1
        lines.append("    }")
    return lines
