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
    "processors": 8,  # the checkout's processors/ folder (a wheel carries it here): public API only, never cli
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

    assert dir(coffea) == ["BadFile", "Chunk", "FilesetReport", "ScoreWrapper", "add_scores", "check_fileset", "chunk_of",
                           "runner_fileset", "shared_scorer"]
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
        "BootstrapResult", "Gain", "LabelledScores", "LearningCurve", "Roc", "accuracy", "auc", "background_efficiency_at",
        "background_rejection_at", "binary_metrics", "bootstrap_metrics", "cka_matrix", "evaluate_scores",
        "learning_curves", "linear_cka", "load_records", "load_scores", "max_sic", "mean_pairwise_cka",
        "plot_learning_curves", "plot_roc", "plot_score_distributions", "plot_sic", "roc_curve", "save_figure",
        "sic_curve", "strategy_gains", "summary_lines",
    ],
    "train": [
        "Augmentation", "Classification", "EventData", "FeatureLayout", "FinetuneConfig", "History", "JetTagging",
        "MAEReconstruction", "MaskedType", "Multilabel", "PretrainConfig", "RECIPES", "TASKS", "TASK_ALIASES", "Task",
        "TrainConfig", "finetune", "finetune_folds", "finetune_model", "fit", "jet_truth_labels", "load_config",
        "load_events",
        "make_task", "parse_config", "pretrain", "resolve_device", "task_metrics", "truth_targets",
    ],
    "models": [
        "ARCHITECTURES", "CONSTITUENT_ARCHITECTURES", "Checkpoint", "DeepSetsHead", "GraphNetwork", "JetCNN",
        "JetEventModel", "JetImageMAE", "JetImager", "ObjectTransformer", "ParticleTransformer", "REPRESENTATIONS",
        "SIZES", "build_model", "card_path", "check_spec_matches", "load_checkpoint", "model_config", "model_inputs",
        "pairwise_features", "weights_sha256", "with_new_head",
    ],
    "export": [
        "DEFAULT_OPSET", "DEFAULT_TOLERANCE", "ExportResult", "FoldExportResult", "ImportResult", "ParityReport",
        "export_fold_set", "export_model", "import_model", "model_card", "read_card_header", "run_parity",
    ],
    "generate": [
        "EVENTS_PER_BLOCK", "EmulationConfig", "GenerationSummary", "PROCESSES", "Process", "UNAVAILABLE", "generate",
        "get_process",
    ],
    "skim": [
        "SelectionError", "SelectionExpression", "SkimOptions", "skim_and_score",
    ],
    "infer": [
        "BackendUnavailableError", "BaseScorer", "FOLD_RULES", "FoldManifest", "FoldScorer", "KEYS", "ModelInfo", "Outputs",
        "SESSIONS_CREATED", "SESSION_THREADS", "ScoreOutputs", "Scorer", "as_scorer", "fold_of", "inference_threads",
        "is_fold_set", "load_manifest", "model_inputs_for", "score_outputs", "score_views", "trained_on",
        "training_sample_of",
    ],
    "cli": [
        "EXIT", "cli", "main",
    ],
    "errors": sorted([  # sorted: dir()'s order
        "BackendUnavailableError", "BlockNotFoundError", "BranchNotFoundError", "BranchTypeError",
        "CollectionNotFoundError", "CorrectionNotFoundError", "EmptyInputError", "ForeignOutputError", "GenerationError",
        "GeneratorSettingError", "HepfmError", "InvalidArgumentError", "InvalidConfigError", "InvalidInputFileError",
        "InvalidSpecError", "MissingDependencyError", "ModelSpecMismatchError", "NonFiniteInputError",
        "OutputCollisionError", "OutputError", "OutputExistsError", "OutputIsInputError", "OutputNotRegularError",
        "OutputWriteError", "ParityError", "SampleFetchError", "SampleNotFoundError", "SpecNotFoundError",
        "TreeNotFoundError", "UnknownProcessError", "choose", "closest", "first_line", "validation_summary",
        "ENVIRONMENT_ERRNOS", "environment_exit_code",  # the one errno set of the environment's OSErrors
    ]),
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
    # processors (the repository's processors/ folder) imports coffea: pinned in tests/integration/test_coffea.py
    pinned = {"spec", "tensors", "io", "coffea", "rdf", "corrections", "evaluate", "processors"} | set(PUBLIC)
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


def test_train_uses_the_evaluate_auc_and_evaluate_never_imports_train():
    # Same layer: train's validation AUC is evaluate.auc (one implementation); the reverse import would be a cycle.
    evaluate_imports = set().union(*(_imported_layers(m) for m in (PACKAGE / "evaluate").rglob("*.py")))
    assert "train" not in evaluate_imports
    assert "evaluate" in _imported_layers(PACKAGE / "train" / "_tasks.py")
    assert "rankdata" not in "".join(m.read_text() for m in (PACKAGE / "train").rglob("*.py"))


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


# ---- modules and their imports (every import, top-level or inside a function) -------------------

def _dotted(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_dotted(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str) -> list[tuple[int, str, str | None]]:
    """(line, imported module, imported name or None) for every import in module ``name``, late ones too.

    ``from .x import y`` gives module ``….x`` and name ``y``, or module ``….x.y`` and no name when
    ``y`` is itself a module (``from . import _define``).
    """
    path = MODULES[name]
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: list[tuple[int, str, str | None]] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name, None) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for a in node.names:
                sub = f"{module}.{a.name}"
                found.append((node.lineno, sub, None) if sub in MODULES else (node.lineno, module, a.name))
    return found


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


#: (importing module, imported name) pairs allowed to cross modules although private, each with its reason.
#: The test fails on any other pair, and on an entry here that no longer occurs.
PRIVATE_IMPORTS_ALLOWED: dict[tuple[str, str], str] = {}


def test_no_module_imports_a_private_name_of_another():
    """A leading underscore means "this module only": another module needing it means it is public there."""
    found = {}
    for name in MODULES:
        for line, module, imported in _imports(name):
            if imported is not None and _is_private(imported) and module.startswith("hepfm_root"):
                found[(name, imported)] = f"{MODULES[name].relative_to(PACKAGE)}:{line} imports {imported} from {module}"
    unexpected = [where for key, where in sorted(found.items()) if key not in PRIVATE_IMPORTS_ALLOWED]
    stale = [key for key in PRIVATE_IMPORTS_ALLOWED if key not in found]
    assert unexpected == [], "make the name public in its module (or move it where both use it):\n" + "\n".join(unexpected)
    assert stale == [], f"no longer imported: drop from PRIVATE_IMPORTS_ALLOWED: {stale}"


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` as [a, b, ..., a], or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


def test_cycle_finder_finds_a_loop_closed_late():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


#: The subpackages (``hepfm_root.rdf``…); between packages the layer test above keeps imports one way.
PACKAGES = sorted(n for n, p in MODULES.items() if p.name == "__init__.py" and n != "hepfm_root")

#: Packages whose import graph still has a cycle, with the cycle; the test fails when it changes or goes.
CYCLES_ALLOWED: dict[str, list[str]] = {}


@pytest.mark.parametrize("package", PACKAGES)
def test_import_graph_of_each_package_has_no_cycle(package):
    """Within a package, modules import one way: a loop "closed" by a function-level import is still a loop."""
    members = [n for n in MODULES if n == package or n.startswith(package + ".")]
    graph = {n: set() for n in members}
    for n in members:
        for _, module, _ in _imports(n):
            while module and module not in MODULES:  # `import a.b.c` of a name inside a module
                module = module.rpartition(".")[0]
            if module in graph and module != n:
                graph[n].add(module)
    assert _cycle(graph) == CYCLES_ALLOWED.get(package), f"{package}: import cycle {' -> '.join(_cycle(graph) or [])}"


def test_event_keys_are_written_once():
    """``run, luminosityBlock, event`` is spelled out in one place (spec.EVENT_KEYS); every path imports it."""
    keys = {"run", "luminosityBlock", "event"}
    found = []
    for path in MODULES.values():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
                values = {e.value for e in node.elts if isinstance(e, ast.Constant)}
                if keys <= values:
                    found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert [f.split(":")[0] for f in found] == ["spec/_resolve.py"], f"write hepfm_root.spec.EVENT_KEYS instead: {found}"
    from hepfm_root.spec import EVENT_KEY_DTYPES, EVENT_KEYS

    assert EVENT_KEYS == ("run", "luminosityBlock", "event")
    assert list(EVENT_KEY_DTYPES) == list(EVENT_KEYS)


def test_a_users_model_becomes_a_scorer_in_one_place():
    """Only ``infer.as_scorer`` decides "already a Scorer, or a path to build one from"."""
    found = []
    for path in MODULES.values():
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "isinstance"
                    and len(node.args) == 2
                    and {"Scorer", "BaseScorer"} & {n.id for n in ast.walk(node.args[1]) if isinstance(n, ast.Name)}):
                found.append(f"{path.relative_to(PACKAGE)}")
    # skim_and_score also asks which models are paths, to refuse an output that overwrites one
    assert sorted(found) == ["infer/_as_scorer.py", "skim/_job.py"]
