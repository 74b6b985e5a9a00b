"""Column-type checks before an event loop: the generated C++ must never meet a type it cannot take.

The generated functions take one template parameter per branch, so any numeric type
(``Float_t``, ``Int_t``, ``UChar_t`` …) works.  What cannot work is the wrong *shape*
(a scalar where the spec needs a collection, or the reverse) or a non-numeric type;
without this check either would surface as a C++ compilation error at the start of the
event loop, naming neither the branch nor the file.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import BranchTypeError
from ..spec import FieldSource, Resolution, SourceResolution

__all__ = ["check_column_types"]

_NUMERIC = {
    "Bool_t", "Char_t", "UChar_t", "Short_t", "UShort_t", "Int_t", "UInt_t", "Long_t", "ULong_t",
    "Long64_t", "ULong64_t", "Float_t", "Double_t", "Float16_t", "Double32_t",
    "bool", "char", "signed char", "unsigned char", "short", "unsigned short", "int", "unsigned int",
    "long", "unsigned long", "long long", "unsigned long long", "float", "double",
    "std::int8_t", "std::uint8_t", "std::int16_t", "std::uint16_t", "std::int32_t", "std::uint32_t",
    "std::int64_t", "std::uint64_t", "int8_t", "uint8_t", "int16_t", "uint16_t", "int32_t", "uint32_t",
    "int64_t", "uint64_t", "Byte_t", "std::byte",
}
_VECTOR = re.compile(r"^(?:ROOT::VecOps::RVec|ROOT::RVec|RVec|std::vector|vector)<\s*(.+?)\s*>$")


def _kind(type_name: str) -> tuple[str, str]:
    """("scalar" | "array" | "other", element type) of an RDataFrame column type."""
    t = type_name.strip()
    m = _VECTOR.match(t)
    if m:
        inner = m.group(1)
        return ("array" if inner in _NUMERIC else "other"), inner
    return ("scalar" if t in _NUMERIC else "other"), t


def _expected(resolution: Resolution) -> dict[str, tuple[str, str]]:
    """branch -> (expected kind, what needs it) for every branch the resolution reads."""
    out: dict[str, tuple[str, str]] = {k: ("scalar", "event identity") for k in resolution.event_keys}
    sources = [(f"block {b!r}", s) for b, srcs in resolution.blocks.items() for s in srcs]
    sources += [("constituents", resolution.constituents), ("constituent links", resolution.link)]
    for what, src in sources:
        if src is None or src.collection is None:
            continue
        kind = "scalar" if src.singleton else "array"
        for field_name, fs in src.fields.items():
            if fs.branch:
                out[fs.branch] = (kind, f"{what}, {'singleton' if src.singleton else 'collection'} "
                                        f"{src.collection}, field {field_name!r}")
    for name, origin in resolution.event_features.items():
        if isinstance(origin, FieldSource) and origin.branch:
            out[origin.branch] = ("scalar", f"event feature {name!r}, branch")
        elif isinstance(origin, SourceResolution):
            for field_name, fs in origin.fields.items():
                if fs.branch:
                    out[fs.branch] = ("array", f"event feature {name!r}, collection {origin.collection}, "
                                               f"field {field_name!r}")
    return out


def check_column_types(df: Any, resolution: Resolution, where: str) -> None:
    """Raise :class:`~hepfm_root.errors.BranchTypeError` for a branch of the wrong shape or kind.

    Args:
        df: the dataframe node the spec was resolved on.
        resolution: the spec's resolution on it.
        where: the input, for messages (``"Events of nano.root"``).

    Raises:
        BranchTypeError: e.g. ``'Jet_pt' in Events of x.root has type Float_t (a scalar); spec
            'six_object' (block 'jets', collection Jet, field 'pt') expects an array of numbers``.
    """
    words = {"scalar": "a number", "array": "an array of numbers (ROOT::RVec<T>, T numeric)"}
    for branch, (want, what) in sorted(_expected(resolution).items()):
        got_type = str(df.GetColumnType(branch))
        got, _ = _kind(got_type)
        if got != want:
            shape = {"scalar": "a scalar", "array": "an array", "other": "not numeric"}[got]
            raise BranchTypeError(
                f"{branch!r} in {where} has type {got_type} ({shape}); spec {resolution.spec.name!r} "
                f"({what}) expects {words[want]}"
            )
