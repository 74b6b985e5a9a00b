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


def _named_tests(text: str) -> list[tuple[str, str | None]]:
    """(test file, test function or None) for every test that a doc page names.

    ``tests/x.py::name`` names a function in that file; ``::name`` one in the file named last before it.
    """
    out: list[tuple[str, str | None]] = []
    current = None
    for m in re.finditer(r"`(tests/[\w/]+\.py)?(?:::(\w+))?[^`]*`", text):
        path, name = m.group(1), m.group(2)
        if path:
            current = path
        if path or name:
            out.append((current, name))  # type: ignore[arg-type]
    return out


def test_every_test_the_reliability_page_names_exists():
    named = _named_tests((ROOT / "docs" / "reliability.md").read_text())
    assert len(named) > 40
    missing = []
    for path, name in named:
        source = (ROOT / path).read_text() if path and (ROOT / path).is_file() else None
        if source is None or (name is not None and not re.search(rf"^def {name}\(", source, flags=re.M)):
            missing.append(f"{path}::{name}" if name else str(path))
    assert missing == [], "docs/reliability.md names tests that do not exist"
