"""What a scorer needs to know about a model, read from the artifact itself.

Exported ONNX files carry it in ``metadata_props`` (keys below); torch
checkpoints carry the same fields.  Nothing is re-typed by the user.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidInputFileError, ModelSpecMismatchError, closest
from ..spec import FeatureSpec, spec_from_dict
from ._output_decl import OutputDecl, parse_outputs

__all__ = ["KEYS", "ONNX_FORMAT", "ModelInfo", "input_arrays", "model_inputs_for"]

ONNX_FORMAT = "hepfm-onnx-1"

#: metadata_props keys written by the export and read by the scorer.
KEYS = {
    "format": "hepfm.format",
    "spec": "hepfm.spec",
    "labels": "hepfm.labels",
    "score_label": "hepfm.score_label",
    "inputs": "hepfm.inputs",
    "outputs": "hepfm.outputs",
    "name": "hepfm.model_name",
    "version": "hepfm.model_version",
    "architecture": "hepfm.architecture",
    "weights_sha256": "hepfm.weights_sha256",
    "source_checkpoint": "hepfm.source_checkpoint",
    "source_checkpoint_sha256": "hepfm.source_checkpoint_sha256",
    "library_version": "hepfm.library_version",
    "parity": "hepfm.parity",
    "fold": "hepfm.fold",                      # k-fold models only: {"rule", "k", "index"} (JSON)
    "training_sample": "hepfm.training_sample",  # [{"label", "name", "sha256"}] of the training files (JSON)
    "imported": "hepfm.imported",              # `hepfm import`: source, sha256, producer, command (JSON)
}


#: ONNX Runtime's element-type names of the tensor dtypes a spec produces.
_ORT_TYPES = {"float32": "tensor(float)", "bool": "tensor(bool)"}


def model_inputs_for(spec: FeatureSpec) -> list[dict[str, Any]]:
    """Input tensors a model of this spec reads: name, shape, dtype and meaning.

    ``objects``/``mask`` when the spec has object features, ``constituents``/``constituent_mask``
    with constituents, ``event_features`` with event features (schema version 2); a spec with only
    event features (a BDT's inputs) gives ``event_features`` alone.

    Example:
        >>> from hepfm_root.spec import load_spec
        >>> [(i["name"], i["shape"]) for i in model_inputs_for(load_spec("event_bdt"))]
        [('event_features', ['batch', 11])]
    """
    out: list[dict[str, Any]] = []
    if spec.n_features:
        out += [
            {"name": "objects", "shape": ["batch", spec.n_objects, spec.n_features], "dtype": "float32",
             "meaning": f"object features {spec.feature_names}; padded rows hold {spec.pad_value}"},
            {"name": "mask", "shape": ["batch", spec.n_objects], "dtype": "bool",
             "meaning": "True for real objects, False for padding"},
        ]
    if spec.constituents is not None:
        k = spec.block(spec.constituents.parent).max_objects
        c = spec.constituents.max_constituents
        out += [
            {"name": "constituents", "shape": ["batch", k, c, len(spec.constituent_feature_names)],
             "dtype": "float32", "meaning": f"constituent features {spec.constituent_feature_names}"},
            {"name": "constituent_mask", "shape": ["batch", k, c], "dtype": "bool",
             "meaning": "True for real constituents"},
        ]
    if spec.n_event_features:
        out.append({"name": "event_features", "shape": ["batch", spec.n_event_features], "dtype": "float32",
                    "meaning": f"event features {spec.event_feature_names}"})
    return out


def input_arrays(tensors: Any) -> dict[str, Any]:
    """Model input arrays of a :class:`~hepfm_root.tensors.Tensors` by input name (as :func:`model_inputs_for`)."""
    out = {"objects": tensors.objects, "mask": tensors.mask} if tensors.spec.n_features else {}
    if tensors.constituents is not None:
        out["constituents"] = tensors.constituents
        out["constituent_mask"] = tensors.constituent_mask
    if getattr(tensors, "event_features", None) is not None:
        out["event_features"] = tensors.event_features
    return out


def _check_object_output(where: str, name: str, elem: str, shape: list[Any], n: int, n_objects: int,
                         labels: list[str]) -> None:
    """A per-object output: ``[batch, n_objects, n_labels]``, float, dynamic batch (objects may be dynamic)."""
    want = f"tensor(float) [batch, {n_objects}, {n}] (one row per object row, one column per label {labels})"
    if elem != _ORT_TYPES["float32"] or len(shape) != 3:
        raise ModelSpecMismatchError(f"{where}: graph output {name!r} is {elem} {shape}; expected {want}")
    if isinstance(shape[0], int):
        raise ModelSpecMismatchError(f"{where}: graph output {name!r} has a fixed batch dim {shape[0]} ({shape}); "
                                     f"expected {want} with a dynamic batch dim")
    for axis, w in ((1, n_objects), (2, n)):
        if isinstance(shape[axis], int) and shape[axis] != w:
            raise ModelSpecMismatchError(f"{where}: graph output {name!r} has shape {shape} (dim {axis}: "
                                         f"{shape[axis]}); expected {want}")


def _json(meta: dict[str, str], key: str, kind: type, where: str) -> Any:
    """Parse one JSON-valued metadata entry; malformed text is a bad model (exit 4), not a crash.

    Example:
        >>> _json({"hepfm.labels": '["sig", "bkg"'}, "labels", list, "m.onnx")
        Traceback (most recent call last):
        ...
        hepfm_root.errors.ModelSpecMismatchError: m.onnx: metadata_props 'hepfm.labels' is not valid JSON \
(Expecting ',' delimiter at character 13)
    """
    raw = meta[KEYS[key]]
    try:
        value = json.loads(raw)
    except (json.JSONDecodeError, TypeError) as err:
        why = f"{err.msg} at character {err.pos}" if isinstance(err, json.JSONDecodeError) else str(err)
        raise ModelSpecMismatchError(f"{where}: metadata_props {KEYS[key]!r} is not valid JSON ({why})") from err
    if not isinstance(value, kind):
        want = {dict: "an object", list: "a list"}[kind]
        raise ModelSpecMismatchError(
            f"{where}: metadata_props {KEYS[key]!r} must be {want}, got {type(value).__name__}")
    return value


@dataclass(frozen=True)
class ModelInfo:
    """Self-description of a model: spec, labels, inputs, outputs, provenance."""

    spec: FeatureSpec
    labels: list[str]
    score_label: str
    inputs: list[dict[str, Any]]
    outputs: list[dict[str, Any]]
    name: str = ""
    version: str = ""
    architecture: str = ""
    weights_sha256: str = ""
    provenance: dict[str, Any] = field(default_factory=dict)
    fold: dict[str, Any] | None = None
    """For one model of a k-fold set: ``{"rule", "k", "index"}`` as its card records them (else None)."""
    training_sample: list[dict[str, str]] = field(default_factory=list)
    """The files the model was trained on: ``{"label", "name", "sha256"}`` (empty where not recorded)."""

    @property
    def score_index(self) -> int:
        return self.labels.index(self.score_label)

    @property
    def output(self) -> OutputDecl:
        """The scored (first) output: ``kind`` ``events`` or ``objects`` (with its ``block``)."""
        return parse_outputs(self.outputs[:1], self.name or "the model")[0]

    @property
    def per_object(self) -> bool:
        """True for a per-object model (output kind ``objects``: one score per object of ``output.block``)."""
        return self.output.kind == "objects"

    @classmethod
    def from_onnx_metadata(cls, meta: dict[str, str], where: str) -> ModelInfo:
        if meta.get(KEYS["format"]) != ONNX_FORMAT:
            raise InvalidInputFileError(
                f"{where} has no hepfm metadata (metadata_props {KEYS['format']!r} = "
                f"{meta.get(KEYS['format'])!r}, expected {ONNX_FORMAT!r}); export it with `hepfm export`, or import a "
                "model trained elsewhere with `hepfm import MODEL --spec SPEC --labels A,B -o exports/NAME/VERSION`"
            )
        missing = [KEYS[k] for k in ("spec", "labels", "score_label", "inputs", "outputs") if KEYS[k] not in meta]
        if missing:
            raise ModelSpecMismatchError(f"{where}: hepfm metadata lacks {missing[0]!r} (metadata_props)")
        spec = spec_from_dict(_json(meta, "spec", dict, where), origin=f"embedded spec of {where}")
        labels = _json(meta, "labels", list, where)
        if not labels or not all(isinstance(x, str) for x in labels) or len(set(labels)) != len(labels):
            raise ModelSpecMismatchError(
                f"{where}: metadata_props {KEYS['labels']!r} must be a list of distinct label names, got {labels!r}")
        inputs, outputs = _json(meta, "inputs", list, where), _json(meta, "outputs", list, where)
        for what, entries in (("inputs", inputs), ("outputs", outputs)):
            for e in entries:
                if not isinstance(e, dict) or not isinstance(e.get("name"), str) or not isinstance(e.get("shape"), list):
                    raise ModelSpecMismatchError(f"{where}: metadata_props {KEYS[what]!r} entries need a 'name' "
                                                 f"and a 'shape' list, got {str(e)[:80]!r}")
        parse_outputs(outputs, where)  # the versioned schema (infer/_output_decl.py); old exports read as kind 'events'
        info = cls(
            spec=spec, labels=labels, score_label=meta[KEYS["score_label"]], inputs=inputs, outputs=outputs,
            name=meta.get(KEYS["name"], ""), version=meta.get(KEYS["version"], ""),
            architecture=meta.get(KEYS["architecture"], ""), weights_sha256=meta.get(KEYS["weights_sha256"], ""),
            provenance={k: meta[v] for k, v in KEYS.items()
                        if k in ("source_checkpoint", "source_checkpoint_sha256", "library_version", "parity", "imported")
                        and v in meta},
            fold=_json(meta, "fold", dict, where) if KEYS["fold"] in meta else None,
            training_sample=(_json(meta, "training_sample", list, where) if KEYS["training_sample"] in meta else []),
        )
        info.check_self_consistent(where)
        return info

    def check_self_consistent(self, where: str, graph_inputs: dict[str, list[Any]] | None = None) -> None:
        """The declared inputs must be what the spec produces (and what the graph takes)."""
        expected = {i["name"]: i["shape"] for i in model_inputs_for(self.spec)}
        for i in self.inputs:
            if i["name"] not in expected:
                raise ModelSpecMismatchError(f"{where}: input {i['name']!r} is not produced by spec {self.spec.name!r}")
            if list(i["shape"])[1:] != list(expected[i["name"]])[1:]:
                raise ModelSpecMismatchError(
                    f"{where}: input {i['name']!r} has shape {i['shape']}, but spec {self.spec.name!r} "
                    f"v{self.spec.version} produces {expected[i['name']]}"
                )
        for name, shape in (graph_inputs or {}).items():
            want = expected.get(name)
            if want is None:
                raise ModelSpecMismatchError(f"{where}: graph input {name!r} is not produced by spec {self.spec.name!r}")
            for got_dim, want_dim in zip(shape[2:], want[2:], strict=False):
                if isinstance(got_dim, int) and got_dim != want_dim:
                    raise ModelSpecMismatchError(
                        f"{where}: graph input {name!r} has shape {shape}, expected {want} from spec "
                        f"{self.spec.name!r} (feature count differs)"
                    )
        if self.score_label not in self.labels:
            raise ModelSpecMismatchError(f"{where}: score label {self.score_label!r} not in labels {self.labels}")
        if not self.outputs:
            raise ModelSpecMismatchError(f"{where}: the metadata declares no output")
        for decl in parse_outputs(self.outputs[:1], where):
            decl.check(self.spec, self.labels, where)

    def check_graph(self, where: str, inputs: list[tuple[str, str, list[Any]]],
                    outputs: list[tuple[str, str, list[Any]]]) -> None:
        """The graph's declared inputs and first output must be what the spec and the labels say.

        ``inputs``/``outputs``: ``(name, element type, shape)`` as ONNX Runtime reports them
        (``"tensor(float)"``; a dynamic dim is a string or None).  Inputs: exactly the spec's
        tensor names, float32 features and bool masks, the spec's rank and fixed dims, a dynamic
        batch dim.  The first output (the one scored): ``(batch, n_labels)``, dynamic batch.

        Raises:
            ModelSpecMismatchError: naming the model, the input or output, expected vs got.
        """
        expected = {i["name"]: i for i in model_inputs_for(self.spec)}
        got_names = [name for name, _, _ in inputs]
        for name in expected:
            if name not in got_names:
                near = closest(name, got_names)
                hint = f"; did you mean {near[0]!r}?" if near else ""
                raise ModelSpecMismatchError(
                    f"{where}: graph has no input {name!r}, which spec {self.spec.name!r} feeds "
                    f"(graph inputs: {got_names}){hint}")
        for name, elem, shape in inputs:
            want = expected.get(name)
            if want is None:
                raise ModelSpecMismatchError(
                    f"{where}: graph input {name!r} is not produced by spec {self.spec.name!r} "
                    f"(it produces {list(expected)})")
            want_elem = _ORT_TYPES[want["dtype"]]
            if elem != want_elem:
                raise ModelSpecMismatchError(
                    f"{where}: graph input {name!r} has element type {elem}, expected {want_elem} ({want['dtype']})")
            if len(shape) != len(want["shape"]):
                raise ModelSpecMismatchError(
                    f"{where}: graph input {name!r} has rank {len(shape)} {shape}, expected rank "
                    f"{len(want['shape'])} {want['shape']} from spec {self.spec.name!r}")
            if isinstance(shape[0], int):
                raise ModelSpecMismatchError(
                    f"{where}: graph input {name!r} has a fixed batch dim {shape[0]} ({shape}); expected a "
                    "dynamic batch dim (export with dynamic_axes / dynamic_shapes on dim 0)")
            for axis, (g, w) in enumerate(zip(shape[1:], want["shape"][1:], strict=True), start=1):
                if isinstance(g, int) and g != w:
                    raise ModelSpecMismatchError(
                        f"{where}: graph input {name!r} has shape {shape}, expected {want['shape']} from spec "
                        f"{self.spec.name!r} (dim {axis}: got {g}, expected {w})")
        if not outputs:
            raise ModelSpecMismatchError(f"{where}: graph has no output")
        name, elem, shape = outputs[0]
        n = len(self.labels)
        if self.per_object:
            _check_object_output(where, name, elem, shape, n, self.spec.n_objects, self.labels)
            return
        if elem != _ORT_TYPES["float32"] or len(shape) != 2:
            raise ModelSpecMismatchError(
                f"{where}: graph output {name!r} is {elem} {shape}; expected tensor(float) [batch, {n}] "
                f"(one row per event, one column per label {self.labels})")
        if isinstance(shape[0], int):
            raise ModelSpecMismatchError(
                f"{where}: graph output {name!r} has a fixed batch dim {shape[0]} ({shape}); expected [batch, {n}] "
                "with a dynamic batch dim: one row per event")
        if isinstance(shape[1], int) and shape[1] != n:
            raise ModelSpecMismatchError(
                f"{where}: graph output {name!r} has {shape[1]} columns ({shape}); expected {n}, one per label "
                f"{self.labels}")

    def check_tensors(self, tensors: Any, where: str) -> None:
        """Refuse tensors built with another spec (before any event is scored)."""
        got = tensors.spec
        if got.fingerprint() != self.spec.fingerprint():
            raise ModelSpecMismatchError(
                f"model {where} reads spec {self.spec.name!r} v{self.spec.version} "
                f"(fingerprint {self.spec.fingerprint()[:12]}), but the tensors were built with spec "
                f"{got.name!r} v{got.version} (fingerprint {got.fingerprint()[:12]})"
            )

