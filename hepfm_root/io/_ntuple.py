"""The one ntuple writer: NanoAOD-style TTrees or RNTuples (flat + jagged branches) written chunk by chunk.

Jagged branches are written in groups that share a counter, exactly as in the
input: real NanoAOD shares ``nJet`` between all ``Jet_*`` branches, while some
files (and RNTuple inputs) need the grouping derived differently.
:func:`layout_of` reads that structure from the input tree once;
:class:`NtupleWriter` reproduces it for any subset of branches, under a
temporary file name renamed only when the writer closes without error.
With ``ntuple_format="rntuple"`` the same columns go to an RNTuple
(:mod:`._rntuple`: one field per branch, counters included), under the same temporaries.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import uproot

from ._atomic import atomic_output
from ._open import EventsInput
from ._rntuple import RNTupleTable
from ._rntuple import ntuple_format as choose_format  # the parameter of the same name is the request

__all__ = ["BranchLayout", "NtupleWriter", "layout_of"]


@dataclass
class BranchLayout:
    """Which branches are flat, and which jagged branches share which counter."""

    flat: list[str] = field(default_factory=list)
    counter_of: dict[str, str] = field(default_factory=dict)  # jagged branch -> counter branch name
    rntuple: bool = False  # read from an RNTuple (the default output format follows it: io.ntuple_format)

    def subset(self, names: list[str]) -> BranchLayout:
        """The layout restricted to ``names`` (counters of kept jagged branches are implied)."""
        keep = set(names)
        counters = {self.counter_of[b] for b in names if b in self.counter_of}
        return BranchLayout(
            [b for b in self.flat if b in keep and b not in counters],
            {b: c for b, c in self.counter_of.items() if b in keep},
            self.rntuple,
        )

    def groups(self) -> dict[str, list[str]]:
        """counter -> jagged branches using it (input order)."""
        out: dict[str, list[str]] = {}
        for b, c in self.counter_of.items():
            out.setdefault(c, []).append(b)
        return out

    @property
    def branches(self) -> list[str]:
        return self.flat + list(self.counter_of)


def layout_of(inp: EventsInput, names: list[str]) -> BranchLayout:
    """Flat/jagged structure of ``names`` in an opened input (TTree or RNTuple)."""
    layout = BranchLayout(rntuple=inp.is_rntuple)
    if not inp.is_rntuple:
        for name in names:
            br = inp.tree[name]
            if br.count_branch is not None:
                layout.counter_of[name] = br.count_branch.name
            else:
                layout.flat.append(name)
        return layout
    # RNTuple: jagged fields live under a collection parent ("_collection10" holds Jet_pt, Jet_eta …);
    # NanoAOD's counter of such a collection is n<prefix> ("nJet").
    flat, parent = inp.rntuple_structure()
    prefixes: dict[str, set[str]] = {}
    for name in names:
        if name in parent:
            prefixes.setdefault(parent[name], set()).add(name.split("_", 1)[0])
    for name in names:
        if name in parent:
            group = prefixes[parent[name]]
            prefix = name.split("_", 1)[0]
            layout.counter_of[name] = f"n{prefix}" if len(group) == 1 else f"n{parent[name]}"
        else:
            layout.flat.append(name)
    return layout


class NtupleWriter:
    """Write chunks of branches to one TTree or RNTuple, atomically, preserving counters.

    ``ntuple_format``: ``"ttree"``, ``"rntuple"``, or None for the layout's input format
    (:func:`~hepfm_root.io.ntuple_format`; a job made of several inputs decides it from all of them).

    Example::

        with NtupleWriter("out.root", layout, tree="Events") as w:
            for arrays in chunks:      # dict or record array: branch name -> array
                w.write(arrays)        # flat and jagged branches; extra: scores (flat float32)

    ``extra_jagged={"Jet_tag": "nJet"}`` adds a jagged branch to the ``nJet`` group (created
    when no branch of it is kept); its values come in ``extra`` as awkward arrays.
    """

    def __init__(self, path: str | os.PathLike, layout: BranchLayout, *, tree: str = "Events",
                 overwrite: bool = False, extra_flat: dict[str, Any] | None = None,
                 strings: dict[str, str] | None = None, atomic: bool = True,
                 ntuple_format: str | None = None, extra_jagged: dict[str, str] | None = None) -> None:
        self.path = Path(path)
        self.format = choose_format(ntuple_format, [layout.rntuple])
        self.layout = layout
        self.tree_name = tree
        self.overwrite = overwrite
        self.atomic = atomic
        self.extra_flat = dict(extra_flat or {})  # name -> numpy dtype of added flat branches (scores)
        self.strings = dict(strings or {})        # TObjStrings written beside the tree at close
        self.n_written = 0
        self._stack = contextlib.ExitStack()
        self._file: Any = None
        self._tree: Any = None
        # added jagged branches (per-object scores, ``Jet_<name>``) -> the counter of their collection (``nJet``):
        # written into that counter's group, beside the collection's own branches when they are kept
        self.extra_jagged = dict(extra_jagged or {})
        groups = layout.groups()
        for b, c in self.extra_jagged.items():
            groups.setdefault(c, []).append(b)
        self._group_key = {c: f"g{i}" for i, c in enumerate(groups)}
        self._fields = {self._group_key[c]: {f"f{j}": b for j, b in enumerate(bs)} for c, bs in groups.items()}
        self._counters = {self._group_key[c]: c for c in groups}

    def __enter__(self) -> NtupleWriter:
        # ``atomic=False``: ``path`` is already a temporary of the caller's unit (atomic_outputs).
        tmp = self._stack.enter_context(atomic_output(self.path, overwrite=self.overwrite)) if self.atomic else self.path
        self._file = self._stack.enter_context(uproot.recreate(tmp))
        if self.format == "rntuple":
            self._tree = RNTupleTable(self._file, self.tree_name, where=f"{self.path.name} (RNTuple {self.tree_name})")
        return self

    def _rntuple_data(self, arrays: Any, extra: dict[str, np.ndarray]) -> dict[str, Any]:
        """The TTree's columns in its order (flat, then each counter before its branches, then extras)."""
        data: dict[str, Any] = {b: arrays[b] for b in self.layout.flat}
        def column(b: str) -> Any:   # an added jagged branch (a per-object score) comes in ``extra``
            return (extra if b in self.extra_jagged else arrays)[b]

        for counter, fields in zip(self._counters.values(), self._fields.values(), strict=True):
            first = column(next(iter(fields.values())))
            data[counter] = np.asarray(ak.num(first, axis=1), dtype=np.int32)  # as uproot's TTree counters
            data.update({b: column(b) for b in fields.values()})
        for name, dtype in self.extra_flat.items():
            data[name] = np.asarray(extra[name], dtype=dtype)
        return data

    def _data(self, arrays: Any, extra: dict[str, np.ndarray]) -> dict[str, Any]:
        data: dict[str, Any] = {}
        counters = set(self.extra_jagged.values())  # a kept flat nJet is written as the counter of its group
        for b in self.layout.flat:
            if b in counters:
                continue
            v = arrays[b]
            data[b] = v if isinstance(v, np.ndarray) else ak.to_numpy(v)
        for key, fields in self._fields.items():
            data[key] = ak.zip({f: (extra if b in self.extra_jagged else arrays)[b] for f, b in fields.items()},
                               depth_limit=2)
        for name, dtype in self.extra_flat.items():
            data[name] = np.asarray(extra[name], dtype=dtype)
        return data

    def write(self, arrays: Any, extra: dict[str, np.ndarray] | None = None) -> None:
        """Append one chunk: ``arrays[branch]`` for every branch of the layout, ``extra`` for added ones."""
        if isinstance(self._tree, RNTupleTable):
            data = self._rntuple_data(arrays, extra or {})
            self._tree.extend(data)
            self.n_written += len(next(iter(data.values()))) if data else 0
            return
        data = self._data(arrays, extra or {})
        if self._tree is None:
            types = {k: (v.type if isinstance(v, ak.Array) else v.dtype) for k, v in data.items()}
            self._tree = self._file.mktree(
                self.tree_name, types,
                counter_name=lambda outer: self._counters[outer],
                field_name=lambda outer, inner: self._fields[outer][inner],
            )
        n = len(next(iter(data.values()))) if data else 0
        if n:
            self._tree.extend(data)
        self.n_written += n

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if exc_type is None:
                if self._tree is None or (isinstance(self._tree, RNTupleTable) and not self._tree.created):
                    raise RuntimeError("NtupleWriter closed before any chunk was written (no branch types known)")
                for name, text in self.strings.items():
                    self._file[name] = text
        finally:
            self._stack.__exit__(exc_type, exc, tb)
