"""Open ROOT inputs with checks that turn low-level failures into clear errors.

Before uproot touches a file we check the things that otherwise surface as
tracebacks from deep inside it: the file exists, starts with the ROOT magic,
and is as long as its header says (a truncated copy is shorter than ``fEND``).
Then the tree (TTree or RNTuple) must exist.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import awkward as ak
import uproot

from ..errors import InvalidInputFileError, TreeNotFoundError, closest

__all__ = ["EventsInput", "check_root_file", "open_events"]


def check_root_file(path: str | os.PathLike) -> None:
    """Raise :class:`InvalidInputFileError` unless ``path`` looks like a complete ROOT file.

    Example:
        >>> import pathlib, tempfile
        >>> text = pathlib.Path(tempfile.mkdtemp()) / "notes.root"
        >>> _ = text.write_text("hello")
        >>> check_root_file(text)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        hepfm_root.errors.InvalidInputFileError: ...notes.root is not a ROOT file: it starts with b'hell', expected b'root'
    """
    p = Path(path)
    if not p.exists():
        raise InvalidInputFileError(f"{p}: no such file")
    if not p.is_file():
        raise InvalidInputFileError(f"{p}: not a regular file")
    size = p.stat().st_size
    with open(p, "rb") as f:
        head = f.read(20)
    if size == 0:
        raise InvalidInputFileError(f"{p} is empty (0 bytes); expected a ROOT file")
    if head[:4] != b"root":
        raise InvalidInputFileError(f"{p} is not a ROOT file: it starts with {head[:4]!r}, expected b'root'")
    if len(head) < 16:
        raise InvalidInputFileError(f"{p} is truncated: {size} bytes, shorter than a ROOT header")
    version = struct.unpack(">i", head[4:8])[0]
    if version >= 1_000_000:
        if len(head) < 20:
            raise InvalidInputFileError(f"{p} is truncated: {size} bytes, shorter than a ROOT header")
        end = struct.unpack(">q", head[12:20])[0]
    else:
        end = struct.unpack(">i", head[12:16])[0]
    if size < end:
        raise InvalidInputFileError(
            f"{p} is truncated: its header says {end} bytes, the file has {size} "
            "(an interrupted copy or write?)"
        )


@dataclass
class EventsInput:
    """An opened events tree (TTree or RNTuple) and what is needed to read it."""

    path: Path
    tree_name: str
    file: Any
    tree: Any
    _rntuple: tuple[list[str], dict[str, str]] | None = None

    @property
    def where(self) -> str:
        return f"{self.tree_name} of {self.path.name}"

    @property
    def num_entries(self) -> int:
        return int(self.tree.num_entries)

    @property
    def is_rntuple(self) -> bool:
        return "RNTuple" in type(self.tree).__name__

    def branch_names(self) -> list[str]:
        """Flat branch names (RNTuple sub-fields such as ``_collection3.Jet_pt`` left out)."""
        if self.is_rntuple:
            flat, jagged = self.rntuple_structure()
            return flat + list(jagged)
        return [k for k in self.tree.keys() if "." not in k and "/" not in k and not k.startswith("_")]

    def rntuple_structure(self) -> tuple[list[str], dict[str, str]]:
        """(flat field names, jagged field name -> its collection field) of an RNTuple.

        Read from the field records directly: uproot's ``keys()`` walks every field and takes
        seconds on a NanoAOD-sized RNTuple, this takes microseconds.
        """
        if self._rntuple is None:
            records = self.tree.field_records
            children: dict[int, list[int]] = {}
            for i, r in enumerate(records):
                if r.parent_field_id != i:
                    children.setdefault(r.parent_field_id, []).append(i)

            def top(i: int) -> int:
                while records[i].parent_field_id != i:
                    i = records[i].parent_field_id
                return i

            flat: list[str] = []
            jagged: dict[str, str] = {}
            for i, r in enumerate(records):
                if r.parent_field_id != i or r.field_name.startswith("_"):
                    continue  # not top level, or a record collection exposed through projections
                if int(r.struct_role) == 0:  # leaf: one value per event
                    flat.append(r.field_name)
                    continue
                # A projected collection field (NanoAOD: "Jet_pt"); its leaf's source lives in the
                # record collection ("_collection10") that defines the group sharing a counter.
                group = r.field_name
                for c in children.get(i, []):
                    src = records[c].source_field_id
                    if src is not None:
                        group = records[top(src)].field_name
                jagged[r.field_name] = group
            self._rntuple = (flat, jagged)
        return self._rntuple

    def read(self, branches: list[str], entry_start: int, entry_stop: int) -> ak.Array:
        """Read ``branches`` for entries ``[entry_start, entry_stop)`` as a record array."""
        try:
            arr = self.tree.arrays(branches, entry_start=entry_start, entry_stop=entry_stop)
        except (OSError, ValueError, KeyError, uproot.deserialization.DeserializationError) as err:
            raise InvalidInputFileError(
                f"{self.where}: reading entries {entry_start}-{entry_stop} failed: {err}"
            ) from err
        return ak.Array({b: arr[b] for b in branches}) if branches else arr

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> EventsInput:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_events(path: str | os.PathLike, tree: str = "Events") -> EventsInput:
    """Open ``path`` and return its ``tree`` after checking the file is whole.

    Raises:
        InvalidInputFileError: missing, non-ROOT, truncated or unreadable file.
        TreeNotFoundError: no such TTree/RNTuple (the message lists the file's trees).
    """
    p = Path(path)
    check_root_file(p)
    try:
        f = uproot.open(p)
    except (OSError, ValueError, uproot.deserialization.DeserializationError) as err:
        raise InvalidInputFileError(f"{p}: cannot be opened as ROOT: {err}") from err
    names = [k.split(";")[0] for k in f.keys(recursive=False)]
    if tree not in names:
        f.close()
        near = closest(tree, names)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise TreeNotFoundError(f"no tree {tree!r} in {p.name} (it has: {', '.join(names) or 'nothing'}){hint}")
    try:
        obj = f[tree]
    except (OSError, ValueError, uproot.deserialization.DeserializationError) as err:
        f.close()
        raise InvalidInputFileError(f"{tree} of {p.name}: cannot be read: {err}") from err
    if not hasattr(obj, "num_entries"):
        f.close()
        raise TreeNotFoundError(f"{tree!r} in {p.name} is a {type(obj).__name__}, expected a TTree or RNTuple")
    return EventsInput(p, tree, f, obj)
