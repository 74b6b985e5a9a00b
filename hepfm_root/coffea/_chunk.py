"""``chunk_of(events)``: where a chunk of coffea events comes from (dataset, file, tree, entry range).

coffea puts this in ``events.metadata`` (``dataset``, ``filename``, ``treename``,
``entrystart``, ``entrystop``); every error message and every per-chunk output file of
hepfm_root's processors is named from it, through this one reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Chunk", "chunk_of"]


@dataclass(frozen=True)
class Chunk:
    """The origin of a chunk of events, from coffea's ``events.metadata``.

    ``filename`` is None for events that do not come from a file coffea opened (a dict of
    arrays, an uproot array); ``entry_start``/``entry_stop`` are None when coffea did not give
    a range (dask-awkward collections cover a whole dataset).

    Example:
        >>> c = Chunk(dataset="ttbar", filename="/data/tt_a.root", treename="Events", entry_start=0, entry_stop=100)
        >>> c.where
        'Events of /data/tt_a.root entries 0-100'
        >>> c.stem
        'tt_a_0-100'
        >>> Chunk(dataset="ttbar").where
        "dataset 'ttbar'"
    """

    dataset: str | None = None
    filename: str | None = None
    treename: str | None = None
    entry_start: int | None = None
    entry_stop: int | None = None

    @property
    def where(self) -> str | None:
        """Names the chunk in error messages: ``"Events of x.root entries 0-100"`` (None if nothing is known)."""
        if self.filename:
            rng = f" entries {self.entry_start}-{self.entry_stop}" if self.entry_start is not None else ""
            return f"{self.treename or 'Events'} of {self.filename}{rng}"
        if self.dataset:
            return f"dataset {self.dataset!r}"
        return None

    @property
    def stem(self) -> str:
        """A file name stem unique per chunk of one dataset: ``<file stem>_<start>-<stop>``."""
        return f"{Path(self.filename or 'events').stem}_{self.entry_start or 0}-{self.entry_stop}"


def chunk_of(events: Any) -> Chunk:
    """The :class:`Chunk` of coffea events (eager, virtual or dask NanoEvents; anything with ``metadata``).

    Where coffea gave a file but no range (``NanoEventsFactory`` on a whole file), the range is
    the whole of ``events``: ``0`` to ``len(events)``.

    Example:
        >>> class Events(list):
        ...     metadata = {"dataset": "dy", "filename": "dy.root", "entrystart": 50, "entrystop": 90}
        >>> chunk_of(Events()).where, chunk_of([]).where
        ('Events of dy.root entries 50-90', None)
    """
    meta = getattr(events, "metadata", None)
    meta = meta if isinstance(meta, dict) else {}
    start, stop = meta.get("entrystart"), meta.get("entrystop")
    filename = meta.get("filename")
    if filename and start is None and not _is_dask(events):
        start, stop = 0, len(events)
    return Chunk(
        dataset=meta.get("dataset"), filename=None if filename is None else str(filename), treename=meta.get("treename"),
        entry_start=None if start is None else int(start), entry_stop=None if stop is None else int(stop),
    )


def _is_dask(obj: Any) -> bool:
    return type(obj).__module__.startswith("dask_awkward")
