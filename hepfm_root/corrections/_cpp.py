"""Generate the C++ that applies a :class:`~hepfm_root.corrections.Binding` per event.

The generated ``compute(...)`` takes the branches the binding reads (one template
parameter each, so ``Float_t``/``UInt_t``/``RVec<float>`` … need no table) and returns
a struct with, for ``nominal`` and each variation ``v`` (in order), ``pt[v]`` and
``mass[v]`` (``ROOT::RVec<double>``) and one ``double`` per weight.  It evaluates the
correctionlib C++ API (``correction.h``, made visible by
``correctionlib.register_pyroot_binding()``) with the same inputs, the same double
operations in the same order as ``_apply.py`` (``fp contract(off)``: no fused
multiply-add), and the same JER hash (``_random.CPP_SOURCE``).  This module only
writes text; ``hepfm_root.rdf.define_corrections`` declares and uses it.

Nothing from the config becomes code: branch names (a token in C++) must be
identifiers, numbers are finite literals, and every other string (correctionlib keys,
``systematic`` values, string constants, the correction file's path) is written only
as a string literal by :func:`hepfm_root._cpp_text.cpp_string`.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass

from .._cpp_text import check_identifier, cpp_string
from ..errors import InvalidConfigError
from ..spec import EVENT_KEYS
from ..tensors._cuts import CUT_OPS
from ._bind import Arg, Binding, BoundCorrection
from ._random import CPP_SOURCE as RANDOM_SOURCE

__all__ = ["CompiledCorrections", "cpp_source", "generate"]


@dataclass(frozen=True)
class CompiledCorrections:
    """Generated C++: ``namespace`` holds ``compute`` and ``Out``; ``args`` are the branches it takes."""

    namespace: str
    source: str
    args: tuple[str, ...]
    variations: tuple[str, ...]  # "nominal" first
    weights: tuple[str, ...]     # column names weight_<name>

    @property
    def call(self) -> str:
        return f"{self.namespace}::compute({', '.join(self.args)})"


def _ident(branch: str) -> str:
    return f"b_{check_identifier(branch, 'corrections: branch', InvalidConfigError)}"


def _str(text: object) -> str:
    return f"std::string({cpp_string(str(text))})"


def _num(value: object) -> str:
    """A finite double literal that round-trips (``repr``)."""
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise InvalidConfigError(f"corrections: {value!r} is not a number; expected a finite number") from None
    if not math.isfinite(v):
        raise InvalidConfigError(f"corrections: {value!r} is not finite; expected a finite number")
    return repr(v)


def _lit(value: object, typ: str) -> str:
    if typ == "string":
        return _str(value)
    if typ == "int":
        v = float(_num(value))
        if not v.is_integer() or abs(v) >= 2**31:
            raise InvalidConfigError(f"corrections: {value!r} is not an int (32 bits) for an int input")
        return f"int({int(v)})"
    return _num(value)


def _arg_expr(a: Arg, i: str, pt: str, syst: str) -> str:
    if a.kind == "pt":
        return f"double({pt})"
    if a.kind == "systematic":
        return _str(syst)
    if a.kind == "const":
        return _lit(a.value, a.type)
    src = f"{_ident(a.value)}[{i}]" if a.per_object else _ident(a.value)
    if a.type == "int":
        return f"static_cast<int>({src})"
    if a.type == "string":  # pragma: no cover - string inputs come from constants
        return f"std::string({src})"
    return f"static_cast<double>({src})"


def _call(c: BoundCorrection, var: str, i: str, pt: str = "0.0", syst: str = "") -> str:
    vals = ", ".join(_arg_expr(a, i, pt, syst) for a in c.args)
    return f"{var}->evaluate({{{vals}}})"


def generate(binding: Binding, variations: list[str]) -> CompiledCorrections:
    """C++ source applying ``binding`` for ``nominal`` + ``variations`` (plus every weight)."""
    cfg = binding.config
    jets = cfg.jets
    branches: list[str] = []

    def use(b: str) -> None:
        if b not in branches:
            branches.append(b)

    refs: list[str] = []
    corr_names: dict[int, str] = {}

    def ref(c: BoundCorrection) -> str:
        if id(c) not in corr_names:
            name = f"c{len(corr_names)}"
            corr_names[id(c)] = name
            getter = f"cset().compound().at({cpp_string(c.key)})" if c.compound else f"cset().at({cpp_string(c.key)})"
            refs.append(f"  static const auto {name} = {getter};")
            for a in c.args:
                if a.kind == "branch":
                    use(a.value)
        return corr_names[id(c)]

    body: list[str] = []
    all_vars = ["nominal", *[v for v in variations if v != "nominal"]]
    if jets is not None:
        c = check_identifier(jets.collection, "corrections: jets.collection", InvalidConfigError)
        use(f"{c}_pt")
        use(f"{c}_mass")
        body += [f"  const std::size_t n = {_ident(c + '_pt')}.size();",
                 "  for (auto &v : out.pt) v.resize(n);", "  for (auto &v : out.mass) v.resize(n);",
                 "  for (std::size_t i = 0; i < n; ++i) {",
                 f"    double pt = static_cast<double>({_ident(c + '_pt')}[i]);",
                 f"    double mass = static_cast<double>({_ident(c + '_mass')}[i]);"]
        if binding.jec is not None:
            if jets.start_from == "raw":
                rf = f"{c}_{jets.raw_factor}"
                use(rf)
                body += [f"    const double rf = static_cast<double>({_ident(rf)}[i]);",
                         "    pt = pt * (1.0 - rf);", "    mass = mass * (1.0 - rf);"]
            body += [f"    const double k = {_call(binding.jec, ref(binding.jec), 'i', 'pt')};",
                     "    pt = pt * k;", "    mass = mass * k;"]
        body += ["    const double pt_jec = pt, mass_jec = mass;"]
        if binding.jer_sf is not None:
            jer = jets.jer
            assert jer is not None and binding.jer_res is not None
            for k in EVENT_KEYS:
                use(k)
            sf, res = ref(binding.jer_sf), ref(binding.jer_res)
            sf_args = ", ".join("std::string(syst)" if a.kind == "systematic" else _arg_expr(a, "i", "pt_jec", "")
                                for a in binding.jer_sf.args)
            body += [f"    const double res = {_call(binding.jer_res, res, 'i', 'pt_jec')};",
                     f"    const double z = hepfm_random::jet_normal({jer.seed}ULL, static_cast<uint64_t>(b_run), "
                     "static_cast<uint64_t>(b_luminosityBlock), static_cast<uint64_t>(b_event), "
                     "static_cast<uint64_t>(i));",
                     "    auto smear = [&](const char *syst, double &p, double &m) {",
                     f"      const double sf = {sf}->evaluate({{{sf_args}}});",
                     "      const double f = std::max(1.0 + z * res * std::sqrt(std::max(sf * sf - 1.0, 0.0)), 0.0);",
                     f"      p = std::max(pt_jec * f, {_num(jer.min_pt)});",
                     "      m = mass_jec * f;",
                     "    };",
                     f"    double pt_nom, mass_nom; smear({cpp_string(jer.systematics['nominal'])}, pt_nom, mass_nom);"]
        else:
            body += ["    const double pt_nom = pt_jec, mass_nom = mass_jec;"]
        body += ["    out.pt[0][i] = pt_nom; out.mass[0][i] = mass_nom;"]
        for j, v in enumerate(all_vars[1:], start=1):
            if v in ("jer_up", "jer_down"):
                syst = jets.jer.systematics[v[4:]]  # type: ignore[union-attr]
                body += [f"    smear({cpp_string(syst)}, out.pt[{j}][i], out.mass[{j}][i]);"]
            else:
                source, direction = v[4:].rsplit("_", 1)
                u = binding.jes[source]
                sign = "+" if direction == "up" else "-"
                body += ["    {",
                         f"      const double u = {_call(u, ref(u), 'i', 'pt_jec')};",
                         f"      const double s = 1.0 {sign} u;",
                         f"      out.pt[{j}][i] = pt_nom * s; out.mass[{j}][i] = mass_nom * s;",
                         "    }"]
        body += ["  }"]
    weight_cols = []
    for w in cfg.weights:
        bound = binding.weights[w.name]
        col = f"weight_{check_identifier(w.name, 'corrections: weights.name', InvalidConfigError)}"
        weight_cols.append(col)
        var = ref(bound)
        if w.collection is None:
            body += [f"  out.{col} = {_call(bound, var, '0')};"]
            continue
        per = [a.value for a in bound.args if a.per_object] + [c.branch for c in w.cuts]
        for cut in w.cuts:
            use(cut.branch)
        cond = " && ".join(f"(static_cast<double>({_ident(c.branch)}[i]) {CUT_OPS[c.op].cpp} {_num(c.value)})" for c in w.cuts)
        body += [f"  out.{col} = 1.0;",
                 f"  for (std::size_t i = 0; i < {_ident(per[0])}.size(); ++i) {{",
                 f"    if ({cond or 'true'}) out.{col} *= {_call(bound, var, 'i')};",
                 "  }"]

    args = tuple(branches)
    nv = len(all_vars) if jets is not None else 0
    fields = []
    if jets is not None:
        fields += [f"  ROOT::RVec<double> pt[{nv}];", f"  ROOT::RVec<double> mass[{nv}];"]
    fields += [f"  double {c} = 1.0;" for c in weight_cols]
    bound = [[a.__dict__ for a in c.args] for c in binding.all()]
    key = json.dumps([str(cfg.path), cfg.model_dump(mode="json", exclude={"base_dir"}), bound, all_vars, args],
                     sort_keys=True, default=str)
    ns = "hepfm_corr_" + hashlib.sha256(key.encode()).hexdigest()[:16]
    tparams = ", ".join(f"typename T{k}" for k in range(len(args)))
    params = ", ".join(f"const T{k} &{_ident(b)}" for k, b in enumerate(args))
    source = "\n".join([
        "#include <algorithm>", "#include <cmath>", "#include <cstdint>", "#include <string>",
        '#include "correction.h"', "#include <ROOT/RVec.hxx>",
        RANDOM_SOURCE if jets is not None and jets.jer is not None else "",
        f"namespace {ns} {{",
        "inline const correction::CorrectionSet &cset() {",
        f"  static const auto cs = correction::CorrectionSet::from_file({cpp_string(str(cfg.path))});",
        "  return *cs;",
        "}",
        "struct Out {", *fields, "};",
        f"template <{tparams}>" if tparams else "",
        f"Out compute({params}) {{",
        "#pragma clang fp contract(off)",
        *refs,
        "  Out out;",
        *body,
        "  return out;",
        "}",
        "}",
    ])
    return CompiledCorrections(ns, source, args, tuple(all_vars) if jets is not None else (), tuple(weight_cols))


def cpp_source(binding: Binding, variations: list[str] = ()) -> str:  # type: ignore[assignment]
    """The C++ text that ``hepfm_root.rdf.define_corrections`` declares for ``binding``."""
    return generate(binding, list(variations)).source
