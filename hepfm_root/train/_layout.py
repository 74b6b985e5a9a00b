"""Where the kinematics and the object type sit in a spec's feature columns.

Pretraining tasks and augmentations act on the spec tensors, so they need to know
which column is log pT, η, sin φ … and which columns one-hot encode the object
type.  They find them by the spec's feature definitions (transform + field), never
by position, and say which feature is missing when a spec lacks one.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InvalidSpecError
from ..spec import FeatureSpec
from ..spec._v1 import one_hot_categories

__all__ = ["FeatureLayout"]


@dataclass(frozen=True)
class FeatureLayout:
    """Column indices of a spec's object tensor.

    Attributes:
        log_pt, eta, sin_phi, cos_phi, log1p_mass: columns of ``log(pt)``, ``eta``,
            ``sin(phi)``, ``cos(phi)``, ``log1p(mass)`` (``None`` where the spec has none).
        type_columns: the one-hot object-type columns, in object-type order.
        type_names: the object types those columns stand for.
        transverse_types: types without a longitudinal direction (sources whose η is a
            declared default, such as MET): boosts along the beam leave them alone.

    Example:
        >>> from hepfm_root import load_spec
        >>> lay = FeatureLayout.from_spec(load_spec("six_object"))
        >>> lay.eta, lay.type_columns, lay.transverse_types
        (1, (5, 6, 7, 8), (1,))
    """

    log_pt: int | None
    eta: int | None
    sin_phi: int | None
    cos_phi: int | None
    log1p_mass: int | None
    type_columns: tuple[int, ...]
    type_names: tuple[str, ...]
    transverse_types: tuple[int, ...]

    @classmethod
    def from_spec(cls, spec: FeatureSpec) -> FeatureLayout:
        found: dict[str, int] = {}
        type_cols: tuple[int, ...] = ()
        col = 0
        for f in spec.features:
            if f.transform == "one_hot":
                cats = one_hot_categories(f, spec.object_types)
                if f.field == "type" and f.categories is None:
                    type_cols = tuple(range(col, col + len(cats)))
                col += len(cats) + int(f.other)
                continue
            key = {("log", "pt"): "log_pt", ("value", "eta"): "eta", ("sin", "phi"): "sin_phi",
                   ("cos", "phi"): "cos_phi", ("log1p", "mass"): "log1p_mass"}.get((f.transform, f.field or ""))
            if key and key not in found:
                found[key] = col
            col += 1
        transverse = sorted({spec.object_types.index(s.type) for b in spec.blocks for s in b.sources
                             if "eta" in s.defaults})
        return cls(found.get("log_pt"), found.get("eta"), found.get("sin_phi"), found.get("cos_phi"),
                   found.get("log1p_mass"), type_cols, tuple(spec.object_types), tuple(transverse))

    def require(self, *names: str, what: str, spec: FeatureSpec) -> None:
        """Raise a clear error if any of the named columns is missing."""
        missing = [n for n in names if (getattr(self, n) in (None, ()))]
        if missing:
            raise InvalidSpecError(
                f"{what} needs the features {missing} (log_pt = log(pt), eta, sin_phi/cos_phi = sin/cos(phi), "
                f"log1p_mass = log1p(mass), type_columns = one_hot(type)); spec {spec.name!r} has "
                f"{spec.feature_names}")
