"""The public API is pinned, and imports go one way through the layers."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

import hepfm_root

PACKAGE = Path(hepfm_root.__file__).parent

#: Layer of each top-level module/package; a module may import only from layers <= its own.
LAYERS = {
    "_version": 0, "errors": 0, "_extras": 0, "_cpp_text": 0,
    "spec": 1, "samples": 1,
    "tensors": 2,
    "io": 3,
    "corrections": 3,  # correctionlib (lazily): config, numpy evaluation, C++ text; errors/spec/tensors only
    "models": 4,   # torch
    "generate": 4,
    "infer": 5,    # no torch at import; the torch backend imports models lazily
    "train": 6,
    "skim": 6,     # no torch: infer + io + tensors
    "rdf": 6,      # spec -> generated C++ for RDataFrame; define_score uses infer; ROOT only inside functions, never torch
    "export": 7,
    "coffea": 6,   # add_scores / ScoreWrapper: spec, tensors, io, infer; never torch
    "evaluate": 6,  # metrics, bootstrap, plots (matplotlib lazily), CKA; io + infer (lazily); never torch
    "cli": 9,
}


def test_public_api_is_pinned():
    assert dir(hepfm_root) == [
        "FeatureSpec", "HepfmError", "Scorer", "Tensors", "__version__", "load_spec", "resolve", "tensorize",
    ]
    import hepfm_root.coffea as coffea
    import hepfm_root.evaluate as evaluate
    import hepfm_root.io as io
    import hepfm_root.rdf as rdf
    import hepfm_root.spec as spec
    import hepfm_root.tensors as tz

    assert dir(coffea) == ["BadFile", "FilesetReport", "ScoreWrapper", "add_scores", "check_fileset", "runner_fileset",
                           "shared_scorer"]
    assert dir(rdf) == ["ScoreTable", "cpp_source", "define_corrections", "define_objects", "define_score", "score_table",
                        "tensor_batches", "write_score_friend"]
    import hepfm_root.corrections as corrections

    assert dir(corrections) == ["Binding", "CorrectionsConfig", "Corrector", "NOMINAL", "cpp_source", "jet_normals",
                                "load_corrections"]
    assert "plot_roc" in dir(evaluate) and "linear_cka" in dir(evaluate) and "Roc" in dir(evaluate)
    for mod in (spec, tz, io, coffea, rdf, corrections, evaluate):
        assert sorted(dir(mod)) == sorted(mod.__all__)
        for name in mod.__all__:
            assert getattr(mod, name) is not None


def _layer_of(module: Path) -> str:
    rel = module.relative_to(PACKAGE).parts
    return rel[0].removesuffix(".py")


def _imported_layers(module: Path) -> set[str]:
    tree = ast.parse(module.read_text())
    depth = len(module.relative_to(PACKAGE).parts) - 1  # 0 for top-level modules
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            up = node.level - 1
            if up > depth:
                continue
            if up == depth:  # relative to the package root
                target = (node.module or "").split(".")[0]
                names = [target] if target else [a.name for a in node.names]
                found.update(names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("hepfm_root."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("hepfm_root."):
                    found.add(a.name.split(".")[1])
    return found


@pytest.mark.parametrize("module", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_go_one_way(module):
    own = _layer_of(module)
    if own == "__init__":
        return
    assert own in LAYERS, f"new top-level module {own!r}: give it a layer in this test and in ARCHITECTURE.md"
    for target in _imported_layers(module):
        if target in LAYERS and target != own:
            assert LAYERS[target] <= LAYERS[own], f"{module.name} ({own}) imports {target}: a higher layer"


def test_scoring_path_imports_neither_torch_nor_root():
    code = (
        "import sys, hepfm_root, hepfm_root.spec, hepfm_root.tensors, hepfm_root.io, hepfm_root.infer, hepfm_root.rdf;"
        "import hepfm_root.skim, hepfm_root.coffea, hepfm_root.evaluate, hepfm_root.cli, hepfm_root.corrections;"
        "bad = [m for m in ('torch', 'ROOT', 'cppyy', 'correctionlib') if m in sys.modules];"
        "print(','.join(bad)); sys.exit(1 if bad else 0)"
    )
    # Import this checkout's package (not whatever hepfm_root is installed): the tests run from tests/.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PACKAGE.parent), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, env=env)
    assert proc.returncode == 0, f"imported: {proc.stdout.strip()} {proc.stderr[-300:]}"
