"""The README's promises stay true: CI runs its test command; the documented exit codes exist."""

from __future__ import annotations

import re
from pathlib import Path

from hepfm_root.cli import EXIT

ROOT = Path(__file__).resolve().parents[2]


def _bash_blocks(text: str) -> list[str]:
    return [b.strip() for b in re.findall(r"```bash\n(.*?)```", text, flags=re.S)]


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci_lines = [ln for ln in (ROOT / ".ci" / "run").read_text().splitlines() if ln and not ln.startswith(("#", "set ", "cd "))]
    assert len(ci_lines) == 1
    assert ci_lines[0] in _bash_blocks(readme), "the README's test command and .ci/run must be the same line"


def test_readme_documents_the_exit_codes():
    readme = (ROOT / "README.md").read_text()
    for code in EXIT.values():
        assert f"{code} " in readme


def test_architecture_names_every_layer():
    arch = (ROOT / "ARCHITECTURE.md").read_text()
    for folder in ("spec/", "tensors/", "io/", "cli/"):
        assert folder in arch


def test_readme_config_examples_are_valid(tmp_path):
    from hepfm_root.corrections import load_corrections
    from hepfm_root.train import load_config

    blocks = re.findall(r"```yaml\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    checked = 0
    for i, block in enumerate(blocks):
        path = tmp_path / f"block{i}.yaml"
        path.write_text(block)
        if "strategy:" in block:
            assert load_config(path, "finetune").data.classes
            checked += 1
        elif "jets:" in block:
            assert load_corrections(path).variation_names()
            checked += 1
    assert checked == 2
