"""What a scorer needs to know about a model, read from the artifact itself.

Exported ONNX files carry it in ``metadata_props`` (keys below); torch
checkpoints carry the same fields.  Nothing is re-typed by the user.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidInputFileError, ModelSpecMismatchError
from ..spec import FeatureSpec, spec_from_dict

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
}


def model_inputs_for(spec: FeatureSpec) -> list[dict[str, Any]]:
    """Input tensors a model of this spec reads: name, shape, dtype and meaning."""
    out = [
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
    return out


def input_arrays(tensors: Any) -> dict[str, Any]:
    """Model input arrays of a :class:`~hepfm_root.tensors.Tensors` by input name."""
    out = {"objects": tensors.objects, "mask": tensors.mask}
    if tensors.constituents is not None:
        out["constituents"] = tensors.constituents
        out["constituent_mask"] = tensors.constituent_mask
    return out


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

    @property
    def score_index(self) -> int:
        return self.labels.index(self.score_label)

    @classmethod
    def from_onnx_metadata(cls, meta: dict[str, str], where: str) -> ModelInfo:
        if meta.get(KEYS["format"]) != ONNX_FORMAT:
            raise InvalidInputFileError(
                f"{where} has no hepfm metadata (metadata_props {KEYS['format']!r} = "
                f"{meta.get(KEYS['format'])!r}, expected {ONNX_FORMAT!r}); export it with `hepfm export`"
            )
        try:
            spec = spec_from_dict(json.loads(meta[KEYS["spec"]]), origin=f"embedded spec of {where}")
            info = cls(
                spec=spec, labels=json.loads(meta[KEYS["labels"]]), score_label=meta[KEYS["score_label"]],
                inputs=json.loads(meta[KEYS["inputs"]]), outputs=json.loads(meta[KEYS["outputs"]]),
                name=meta.get(KEYS["name"], ""), version=meta.get(KEYS["version"], ""),
                architecture=meta.get(KEYS["architecture"], ""), weights_sha256=meta.get(KEYS["weights_sha256"], ""),
                provenance={k: meta[v] for k, v in KEYS.items()
                            if k in ("source_checkpoint", "source_checkpoint_sha256", "library_version", "parity")
                            and v in meta},
            )
        except KeyError as err:
            raise InvalidInputFileError(f"{where}: hepfm metadata lacks {err.args[0]!r}") from None
        except json.JSONDecodeError as err:  # the file names its key; the JSON error says where in the value
            key = next((k for k in ("spec", "labels", "inputs", "outputs") if not _is_json(meta.get(KEYS[k], ""))), "?")
            raise InvalidInputFileError(f"{where}: hepfm metadata {KEYS.get(key, key)!r} is not valid JSON ({err})") from None
        except (TypeError, AttributeError) as err:  # valid JSON of the wrong shape (a number where a list belongs)
            raise InvalidInputFileError(f"{where}: hepfm metadata has the wrong shape ({err})") from None
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

    def check_tensors(self, tensors: Any, where: str) -> None:
        """Refuse tensors built with another spec (before any event is scored)."""
        got = tensors.spec
        if got.fingerprint() != self.spec.fingerprint():
            raise ModelSpecMismatchError(
                f"model {where} reads spec {self.spec.name!r} v{self.spec.version} "
                f"(fingerprint {self.spec.fingerprint()[:12]}), but the tensors were built with spec "
                f"{got.name!r} v{got.version} (fingerprint {got.fingerprint()[:12]})"
            )


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False
    return True
