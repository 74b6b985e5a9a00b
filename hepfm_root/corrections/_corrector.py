"""``Corrector``: a corrections config + its correction file, applied to events."""

from __future__ import annotations

import os
import threading
from typing import Any

from .._extras import require
from ..errors import InvalidArgumentError, InvalidConfigError, choose
from ..tensors import Columns, as_columns, branch_names
from ._apply import event_weights, jet_variations
from ._bind import Binding, bind
from ._config import CorrectionsConfig, load_corrections

__all__ = ["Corrector", "NOMINAL"]

NOMINAL = "nominal"


class Corrector:
    """Applies a corrections config to batches of events; pickles without its correction set.

    Args:
        config: a :class:`CorrectionsConfig`, a dict, or a YAML/JSON file.

    Example::

        corr = Corrector("corrections.yaml")
        views = corr.apply(events, corr.variations("all"))   # {"nominal": Columns, "jes_Total_up": ...}
        tensors = {v: tensorize(cols, "six_object") for v, cols in views.items()}
        weights = corr.weights(events)                       # {"weight_muon_id": array, ...}
    """

    def __init__(self, config: CorrectionsConfig | dict | str | os.PathLike) -> None:
        self.config = load_corrections(config)
        self._cset: Any = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {"config": self.config}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["config"])  # type: ignore[misc]

    @property
    def cset(self) -> Any:
        """The loaded ``correctionlib.CorrectionSet`` (loaded on first use, once per process copy)."""
        with self._lock:
            if self._cset is None:
                correctionlib = require("correctionlib", extra="corrections")
                path = self.config.path
                if not path.is_file():
                    raise InvalidConfigError(f"correction file {path} (from the corrections config) does not exist")
                try:
                    self._cset = correctionlib.CorrectionSet.from_file(str(path))
                except Exception as err:  # noqa: BLE001 - correctionlib raises RuntimeError/ValueError variants
                    raise InvalidConfigError(f"correction file {path} cannot be loaded: {err}") from None
            return self._cset

    def variations(self, which: str | list[str] | tuple[str, ...] | None) -> list[str]:
        """The variation names to compute: ``"all"``, a list/comma-separated string, or none.

        Raises:
            InvalidArgumentError: an unknown name (the message lists the known ones).

        Example:
            >>> c = Corrector({"schema_version": 1, "file": "x.json",
            ...                "jets": {"jer": {"scale_factor": "SF", "resolution": "R"}}})
            >>> c.variations("all"), c.variations("jer_up")
            (['jer_up', 'jer_down'], ['jer_up'])
        """
        known = self.config.variation_names()
        if not which:
            return []
        names = which.split(",") if isinstance(which, str) else list(which)
        names = [n.strip() for n in names if n.strip()]
        chosen = choose(names, known, unknown="unknown variation", known_as="this corrections config has:")
        return list(dict.fromkeys(chosen))

    def bind(self, names: list[str], *, where: str = "the input") -> Binding:
        """Check the config against the file and an input's branch ``names`` (before reading events)."""
        return bind(self.config, self.cset, names, where=where)

    def apply(self, events: Any, variations: list[str] = (), *, binding: Binding | None = None,  # type: ignore[assignment]
              where: str | None = None) -> dict[str, Columns]:
        """Views of ``events`` with corrected jet columns: ``"nominal"`` first, then each variation.

        Other branches are shared between the views (and what the tensor kernels cached for
        them), so building tensors for a variation recomputes only what the jets change.
        """
        cols = as_columns(events, where=where)
        if binding is None:
            binding = self.bind(cols.names if isinstance(events, Columns) else branch_names_of(events), where=cols.where)
        if self.config.jets is None:
            if variations:
                raise InvalidArgumentError("variations need a 'jets' section in the corrections config")
            return {NOMINAL: cols}
        values = jet_variations(self.cset, binding, cols, list(variations))
        nominal = cols.replaced(values[NOMINAL])
        out = {NOMINAL: nominal}
        for v in variations:
            out[v] = nominal.replaced(values[v])
        return out

    def weights(self, events: Any, *, binding: Binding | None = None, where: str | None = None) -> dict[str, Any]:
        """``{"weight_<name>": float64 array}`` for every configured scale factor."""
        cols = as_columns(events, where=where)
        if binding is None:
            binding = self.bind(cols.names, where=cols.where)
        return event_weights(self.cset, binding, cols)


def branch_names_of(events: Any) -> list[str]:
    if isinstance(events, dict):
        return sorted(events)
    return branch_names(events)
