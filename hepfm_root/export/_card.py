"""Model cards: ``README.md`` with a YAML metadata header, beside every export."""

from __future__ import annotations

import json
from typing import Any

import yaml

from ..errors import ModelSpecMismatchError

__all__ = ["model_card", "read_card_header"]

_SECTIONS = (
    ("training_data", "Training data"),
    ("pretrained_from", "Pretrained backbone"),
    ("finetuning", "Finetuning"),
    ("metrics", "Metrics"),
    ("intended_use", "Intended use"),
    ("limitations", "Limitations"),
)
_OPTIONAL = {"pretrained_from", "finetuning"}  # shown only when the checkpoint has them


def model_card(header: dict[str, Any], meta: dict[str, Any]) -> str:
    """Render a model card: YAML front matter (machine-readable) + prose sections."""
    lines = ["---", yaml.safe_dump(header, sort_keys=False).rstrip(), "---", ""]
    lines.append(f"# {header['name']} {header['version']}")
    lines.append("")
    lines.append(str(meta.get("description", "An event classifier exported by hepfm_root.")))
    lines.append("")
    lines.append("## Inputs and outputs")
    lines.append("")
    for i in header["inputs"]:
        lines.append(f"- input `{i['name']}` {i['shape']} {i['dtype']}: {i['meaning']}")
    for o in header["outputs"]:
        lines.append(f"- output `{o['name']}` {o['shape']}: {o['meaning']}")
    lines.append(f"- the score written as one branch per model is P({header['score_label']})")
    lines.append("")
    for key, title in _SECTIONS:
        if key in _OPTIONAL and meta.get(key) is None:
            continue
        lines.append(f"## {title}")
        lines.append("")
        value = meta.get(key)
        if value is None:
            lines.append("Not recorded in the checkpoint.")
        elif isinstance(value, (dict, list)):
            lines.append("```json")
            lines.append(json.dumps(value, indent=2, sort_keys=True))
            lines.append("```")
        else:
            lines.append(str(value))
        lines.append("")
    lines.append("## Reproduce and check")
    lines.append("")
    lines.append("```bash")
    lines.append("hepfm inspect model.onnx                       # spec, inputs, outputs, labels, provenance")
    lines.append("python3 -m pytest tests/integration/test_exports.py   # re-runs the parity check")
    lines.append("```")
    return "\n".join(lines) + "\n"


def read_card_header(text: str) -> dict[str, Any]:
    """The YAML front matter of a model card."""
    if not text.startswith("---\n"):
        raise ModelSpecMismatchError("model card has no YAML header (expected a first line '---')")
    end = text.index("\n---", 4)
    return yaml.safe_load(text[4:end])
