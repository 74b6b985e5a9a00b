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
import numpy as np
import uproot

from ..errors import HepfmError, InvalidInputFileError, TreeNotFoundError, closest, first_line

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


def _check_counters(arr: ak.Array, counters: dict[str, str], where: str) -> None:
    """Every jagged branch must hold as many values per entry as its counter says."""
    for b, c in counters.items():
        try:
            got = np.asarray(ak.num(arr[b], axis=1))
            want = np.asarray(arr[c])
        except Exception as err:  # noqa: BLE001 - a counter or branch of an unexpected type
            raise InvalidInputFileError(
                f"branch {b!r} of {where}: cannot compare with its counter {c!r}: {first_line(err)}"
            ) from err
        if want.dtype.kind not in "iu":
            raise InvalidInputFileError(f"counter {c!r} of {where}: expected integers, got dtype {want.dtype}")
        if got.shape != want.shape or not np.array_equal(got, want):
            bad = int(np.flatnonzero(got != want)[0]) if got.shape == want.shape else 0
            raise InvalidInputFileError(
                f"branch {b!r} of {where}: its counter {c!r} disagrees with its values "
                f"(entry {bad} of the chunk: {c}={want[bad] if len(want) > bad else '?'}, "
                f"{b} has {got[bad] if len(got) > bad else '?'} values)"
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
        """Read ``branches`` for entries ``[entry_start, entry_stop)`` as a record array.

        This is the reading boundary: whatever a damaged file makes the decoder raise (a
        bad compressed basket, a garbled header, an impossible length) becomes one
        :class:`InvalidInputFileError` naming the file, the branch where it can be found,
        and the first line of the original error (kept as ``__cause__``).  The counter of
        every jagged branch read (``nJet`` of ``Jet_pt``) is read too and must agree with
        the branch's own offsets.
        """
        counters = self._counters(branches)
        wanted = branches + sorted(set(counters.values()) - set(branches))
        try:
            if self.is_rntuple and wanted:
                # Field by field: uproot 5.7's RNTuple ``arrays()`` first walks every field of the
                # RNTuple (seconds to a minute for NanoAOD's ~2,300 fields), ``[name].array()`` does not.
                arr = ak.Array({b: self.tree[b].array(entry_start=entry_start, entry_stop=entry_stop) for b in wanted})
            else:
                arr = self.tree.arrays(wanted, entry_start=entry_start, entry_stop=entry_stop)
        except HepfmError:
            raise
        except Exception as err:  # noqa: BLE001 - the reading boundary: a damaged file can make uproot raise anything
            raise self._read_error(wanted, entry_start, entry_stop, err) from err
        _check_counters(arr, counters, f"{self.where} (entries {entry_start}-{entry_stop})")
        return ak.Array({b: arr[b] for b in branches}) if branches else arr

    def _counters(self, branches: list[str]) -> dict[str, str]:
        """jagged branch -> its counter branch (TTree only: an RNTuple has no separate counters)."""
        if self.is_rntuple:
            return {}
        out = {}
        for b in branches:
            try:
                count = self.tree[b].count_branch
            except Exception as err:  # noqa: BLE001 - branch metadata of a damaged file
                raise InvalidInputFileError(f"{self.where}: branch {b!r} cannot be read: {first_line(err)}") from err
            if count is not None:
                out[b] = count.name
        return out

    def _read_error(self, branches: list[str], start: int, stop: int, err: BaseException) -> InvalidInputFileError:
        """The error for a failed read, naming the first branch that fails on its own.

        Runs only after a failure, so reading branch by branch costs nothing on good files.
        """
        culprit = None
        for b in branches:
            try:
                if self.is_rntuple:
                    self.tree[b].array(entry_start=start, entry_stop=stop)
                else:
                    self.tree.arrays([b], entry_start=start, entry_stop=stop)
            except Exception:  # noqa: BLE001 - probing which branch is damaged
                culprit = b
                break
        where = f"branch {culprit!r} of {self.where}" if culprit else self.where
        return InvalidInputFileError(f"{where}: reading entries {start}-{stop} failed "
                                     f"(damaged file?): {first_line(err)}")

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
    except Exception as err:  # noqa: BLE001 - a damaged header can make uproot raise anything
        raise InvalidInputFileError(f"{p}: cannot be opened as ROOT: {first_line(err)}") from err
    names = [k.split(";")[0] for k in f.keys(recursive=False)]
    if tree not in names:
        f.close()
        near = closest(tree, names)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise TreeNotFoundError(f"no tree {tree!r} in {p.name} (it has: {', '.join(names) or 'nothing'}){hint}")
    try:
        obj = f[tree]
    except Exception as err:  # noqa: BLE001 - as above, for the tree's own metadata
        f.close()
        raise InvalidInputFileError(f"{tree} of {p.name}: cannot be read: {first_line(err)}") from err
    if not hasattr(obj, "num_entries"):
        f.close()
        raise TreeNotFoundError(f"{tree!r} in {p.name} is a {type(obj).__name__}, expected a TTree or RNTuple")
    return EventsInput(p, tree, f, obj)
