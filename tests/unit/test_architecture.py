"""The public API is pinned, and imports go one way through the layers."""

from __future__ import annotations

import ast
import importlib
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


#: ``dir()`` of each package and public module beyond the ones pinned above, name by name.
PUBLIC = {
    "evaluate": [
        "BootstrapResult", "LabelledScores", "LearningCurve", "Roc", "accuracy", "auc", "background_efficiency_at",
        "background_rejection_at", "binary_metrics", "bootstrap_metrics", "cka_matrix", "evaluate_scores",
        "learning_curves", "linear_cka", "load_records", "load_scores", "max_sic", "mean_pairwise_cka",
        "plot_learning_curves", "plot_roc", "plot_score_distributions", "plot_sic", "roc_curve", "save_figure",
        "sic_curve", "summary_lines",
    ],
    "train": [
        "Augmentation", "Classification", "EventData", "FeatureLayout", "FinetuneConfig", "History", "JetTagging",
        "MAEReconstruction", "MODEL_SIZES", "MaskedType", "Multilabel", "PretrainConfig", "TASKS", "Task",
        "TrainConfig", "binary_auc", "evaluate", "finetune", "finetune_model", "fit", "jet_truth_labels",
        "load_config", "load_events", "make_task", "pretrain", "resolve_device", "train_classifier", "truth_targets",
    ],
    "models": [
        "ARCHITECTURES", "CONSTITUENT_ARCHITECTURES", "Checkpoint", "DeepSetsHead", "GraphNetwork", "JetCNN",
        "JetEventModel", "JetImageMAE", "JetImager", "ObjectTransformer", "ParticleTransformer", "REPRESENTATIONS",
        "SIZES", "build_model", "card_path", "check_spec_matches", "load_checkpoint", "model_config", "model_inputs",
        "pairwise_features", "weights_sha256", "with_new_head",
    ],
    "export": [
        "DEFAULT_OPSET", "DEFAULT_TOLERANCE", "ExportResult", "ParityReport", "export_model", "model_card",
        "read_card_header", "run_parity",
    ],
    "generate": [
        "EVENTS_PER_BLOCK", "EmulationConfig", "GenerationSummary", "PROCESSES", "Process", "UNAVAILABLE", "generate",
        "get_process",
    ],
    "skim": [
        "SelectionError", "SelectionExpression", "SkimOptions", "skim_and_score",
    ],
    "infer": [
        "BackendUnavailableError", "KEYS", "ModelInfo", "SESSIONS_CREATED", "Scorer", "model_inputs_for",
    ],
    "cli": [
        "EXIT", "cli", "main",
    ],
    "errors": [
        "BackendUnavailableError", "BlockNotFoundError", "BranchNotFoundError", "BranchTypeError",
        "CollectionNotFoundError", "CorrectionNotFoundError", "EmptyInputError", "ForeignOutputError", "GenerationError",
        "GeneratorSettingError", "HepfmError", "InvalidArgumentError", "InvalidConfigError", "InvalidInputFileError",
        "InvalidSpecError", "MissingDependencyError", "ModelSpecMismatchError", "NonFiniteInputError",
        "OutputCollisionError", "OutputError", "OutputExistsError", "OutputIsInputError", "OutputNotRegularError",
        "OutputWriteError", "ParityError", "SampleFetchError", "SampleNotFoundError", "SpecNotFoundError",
        "TreeNotFoundError", "UnknownProcessError", "closest", "first_line", "validation_summary",
    ],
    "samples": ["COFFEA_SDIST", "SampleFetchError", "cache_dir", "fetch_samples", "list_samples", "sample_path"],
}


NEEDS_TRAIN = {"export", "models", "train"}  # they import torch/onnx on import: marked for the fast lane


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.train if n in NEEDS_TRAIN else ()) for n in sorted(PUBLIC)])
def test_public_api_of_each_package_is_pinned(name):
    mod = importlib.import_module(f"hepfm_root.{name}")
    assert dir(mod) == PUBLIC[name], f"hepfm_root.{name}: a public name appeared or went; update PUBLIC on purpose"
    assert sorted(dir(mod)) == sorted(mod.__all__)
    for attr in mod.__all__:
        assert getattr(mod, attr) is not None


def test_every_package_has_its_public_api_pinned():
    packages = sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py"))
    pinned = {"spec", "tensors", "io", "coffea", "rdf", "corrections", "evaluate"} | set(PUBLIC)
    assert [p for p in packages if p not in pinned] == []


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
