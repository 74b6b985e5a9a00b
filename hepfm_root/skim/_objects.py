"""Per-object models in a skim: which jagged branches they add (``Jet_<name>``) and with which counter.

A per-object model (``Scorer.info.per_object``, e.g. a jet tagger) adds one branch per
collection feeding its block, named ``<collection>_<name>`` (``<collection>_<name>_<variation>``
with corrections), in the collection's own counter group (``nJet``): readers see it as a
field of the collection (``events.Jet.<name>`` in coffea).  Both are known from the input's
check, before any event is read.
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidArgumentError
from ..infer import BaseScorer
from ..io import layout_of
from ..spec import Resolution
from ..tensors import CollectionValues, block_collections

__all__ = ["object_branches", "object_scores"]


def object_branches(inp: Any, names: list[str], scorers: dict[str, BaseScorer], resolutions: list[Resolution],
                    variations: list[str]) -> dict[str, str]:
    """``{branch: counter}`` of every per-object score branch on one opened input with branches ``names``.

    The counter is the collection's NanoAOD counter ``n<collection>`` where the input has it (files
    rewritten with one counter per branch, ``nJet_pt``, still carry ``nJet``), else the counter of
    one of the collection's resolved branches.

    Example (a jet tagger named ``tag`` on NanoAOD): ``{"Jet_tag": "nJet"}``.
    """
    out: dict[str, str] = {}
    for (name, scorer), res in zip(scorers.items(), resolutions, strict=True):
        if not scorer.info.per_object:
            continue
        block = str(scorer.info.output.block)
        for collection in block_collections(scorer.spec, block, res.collections):
            source = next(s for s in res.blocks[block] if s.collection == collection)
            branch = next((f.branch for _, f in sorted(source.fields.items(), key=lambda kv: kv[0] != "pt")
                           if f.branch), None)
            if source.singleton or branch is None:
                raise InvalidArgumentError(
                    f"model {name!r} scores objects of block {block!r}, but {collection!r} in {inp.where} is "
                    "not a collection with a counter; per-object scores need a jagged collection (e.g. Jet)")
            counter = f"n{collection}" if f"n{collection}" in names else layout_of(inp, [branch]).counter_of[branch]
            for v in ["", *variations]:
                out[f"{collection}_{name}" + (f"_{v}" if v else "")] = counter
    return out


def object_scores(name: str, values: list[CollectionValues]) -> dict[str, Any]:
    """The jagged arrays a writer takes for a per-object model's result ``values`` (``name`` may carry a variation)."""
    return {f"{cv.collection}_{name}": cv.to_awkward() for cv in values}
