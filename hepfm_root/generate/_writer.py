"""Streaming writer of an ``Events`` TTree in NanoAOD naming (``nJet``, ``Jet_pt`` …) with uproot."""

from __future__ import annotations

import json
import os
from typing import Any

import awkward as ak
import numpy as np
import uproot

from ._emulate import Collection

__all__ = ["NanoAODWriter"]


def _collection_array(counts: np.ndarray, fields: dict[str, np.ndarray]) -> ak.Array:
    return ak.unflatten(ak.zip(dict(fields), depth_limit=1), counts)


class NanoAODWriter:
    """Append blocks of events to ``Events``; one ``extend`` (one basket per branch) per block.

    Example::

        with NanoAODWriter(tmp_path, metadata={"process": "ttbar"}) as w:
            w.write(scalars, collections)
    """

    def __init__(self, path: str | os.PathLike, metadata: dict[str, Any]) -> None:
        self._file = uproot.recreate(path)
        # TObjString beside the tree: the file says how it was made (process, seed, settings, config).
        self._file["hepfm_generate"] = json.dumps(metadata, sort_keys=True)
        self._tree = None
        self.n_written = 0

    def write(self, scalars: dict[str, np.ndarray], collections: dict[str, Collection]) -> None:
        data: dict[str, Any] = dict(scalars)
        data.update({name: _collection_array(*coll) for name, coll in collections.items()})
        if self._tree is None:
            types = {k: (v.type if isinstance(v, ak.Array) else v.dtype) for k, v in data.items()}
            self._tree = self._file.mktree(
                "Events", types, counter_name=lambda c: f"n{c}", field_name=lambda outer, inner: f"{outer}_{inner}"
            )
        self._tree.extend(data)
        self.n_written += len(next(iter(scalars.values())))

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> NanoAODWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
