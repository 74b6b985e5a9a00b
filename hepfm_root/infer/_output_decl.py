"""What a model's scored output is: one row per event, or one row per object of a block.

The export writes one entry per graph output into ``hepfm.outputs`` (JSON); this is its
schema, version 1, ``extra="forbid"``.  ``kind`` is ``events`` (shape ``[batch, n_labels]``:
an event classifier) or ``objects`` (shape ``[batch, n_objects, n_labels]``: a per-object
model — a jet tagger, a jet–parton assignment — whose rows are the object tensor's rows and
whose scores belong to the objects of ``block``).  Exports written before this schema
carry ``name``/``shape``/``meaning`` only; they read as ``kind: events``, version 1.

Example:
    >>> from hepfm_root.spec import load_spec
    >>> out = OutputDecl.model_validate({"name": "probabilities", "kind": "objects", "block": "jet",
    ...                                  "shape": ["batch", 5, 2]})
    >>> out.check(load_spec("jet_constituents"), ["other", "h_bb"], "m.onnx")
    >>> OutputDecl.model_validate({"name": "p", "shape": ["batch", 2], "meaning": "old export"}).kind
    'events'
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import ModelSpecMismatchError

__all__ = ["OutputDecl", "output_decl", "parse_outputs"]


class OutputDecl(BaseModel):
    """One graph output as the metadata declares it (schema version 1)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = Field(1, description="Version of this declaration's schema.")
    name: str = Field(description="Graph output name.")
    kind: Literal["events", "objects"] = Field(
        "events", description="'events': one row per event; 'objects': one row per object row of the tensor.")
    block: str | None = Field(None, description="kind 'objects': the spec block whose objects the scores belong to.",
                              pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    shape: list[Any] = Field(description="['batch', n_labels] or ['batch', n_objects, n_labels].")
    meaning: str = Field("", description="Free text for people (never code).")

    def check(self, spec: Any, labels: list[str], where: str) -> None:
        """The declaration must fit the spec and the labels (block exists, shape matches)."""
        n = len(labels)
        if self.kind == "events":
            want: list[Any] = ["batch", n]
            if self.block is not None:
                raise ModelSpecMismatchError(f"{where}: output {self.name!r} of kind 'events' names a block "
                                             f"({self.block!r}); only kind 'objects' scores a block")
        else:
            if self.block is None or self.block not in [b.name for b in spec.blocks]:
                raise ModelSpecMismatchError(
                    f"{where}: output {self.name!r} of kind 'objects' must name a block of spec {spec.name!r} "
                    f"({[b.name for b in spec.blocks]}), got {self.block!r}")
            want = ["batch", spec.n_objects, n]
        if len(self.shape) != len(want) or any(isinstance(g, int) and g != w for g, w in zip(self.shape[1:], want[1:],
                                                                                                strict=False)):
            raise ModelSpecMismatchError(f"{where}: output {self.name!r} ({self.kind}) declares shape {self.shape}; "
                                         f"expected {want} (spec {spec.name!r}, labels {labels})")


def parse_outputs(entries: list[Any], where: str) -> list[OutputDecl]:
    """Validate the ``hepfm.outputs`` entries; a malformed one is a bad model (exit 4), named.

    Example:
        >>> parse_outputs([{"name": "p", "shape": ["batch", 2], "colour": "red"}], "m.onnx")
        Traceback (most recent call last):
        ...
        hepfm_root.errors.ModelSpecMismatchError: m.onnx: metadata_props 'hepfm.outputs' entry 0: colour: \
Extra inputs are not permitted
    """
    out = []
    for i, e in enumerate(entries):
        try:
            out.append(OutputDecl.model_validate(e))
        except ValidationError as err:
            first = err.errors()[0]
            loc = ".".join(str(x) for x in first["loc"]) or "entry"
            raise ModelSpecMismatchError(
                f"{where}: metadata_props 'hepfm.outputs' entry {i}: {loc}: {first['msg']}") from None
    return out


def output_decl(kind: str, n_labels: int, spec: Any, block: str | None, meaning: str,
                name: str = "probabilities") -> dict[str, Any]:
    """The ``hepfm.outputs`` entry of a model's scored output (what the export writes).

    Example:
        >>> from hepfm_root.spec import load_spec
        >>> output_decl("objects", 2, load_spec("jet_constituents"), "jet", "P(h_bb) per jet")["shape"]
        ['batch', 5, 2]
    """
    if kind == "events":  # written as before the schema had kinds (every reader takes both forms)
        return {"name": name, "shape": ["batch", n_labels], "meaning": meaning}
    return OutputDecl(name=name, kind="objects", block=block, shape=["batch", spec.n_objects, n_labels],
                      meaning=meaning).model_dump()
