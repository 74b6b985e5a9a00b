"""Every ``hepfm`` command meets a corpus of bad inputs and fails the same way: exit 2–6, one line, nothing left.

A user's broken file, model, config or argument is never "a bug in hepfm_root" (exit 1): it exits with
the code of its error class, prints exactly one line on stderr and no traceback, and leaves no file
behind.  Most cases run in-process through click's ``CliRunner`` (cheap); a smaller set runs as real
subprocesses (``python -m hepfm_root.cli``), where interpreter start-up, warnings and the final flush
are real too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
import uproot
from click.testing import CliRunner

import hepfm_root
from hepfm_root.cli import cli
from hepfm_root.spec import load_spec

CHECKOUT = Path(hepfm_root.__file__).resolve().parents[1]
MODEL = CHECKOUT / "exports" / "six_object_heavy_higgs_vs_ttbar" / "0.2"
BACKBONE = CHECKOUT / "exports" / "six_object_transformer_masked_type" / "0.1" / "backbone.pt"


def _commands(group: click.Group, prefix: str = "") -> list[str]:
    out = []
    for name, cmd in sorted(group.commands.items()):
        if isinstance(cmd, click.Group):
            out += _commands(cmd, f"{prefix}{name} ")
        else:
            out.append(f"{prefix}{name}")
    return out


#: (command, case, arguments).  ``{name}`` is a path of the ``corpus`` fixture; ``{out}`` is an empty
#: folder that must stay empty.
CASES: list[tuple[str, str, str]] = [
    # spec
    ("spec list", "extra argument", "spec list surplus"),
    ("spec show", "unknown spec name", "spec show six_objekt"),
    ("spec show", "spec with bad YAML", "spec show {bad_yaml}"),
    ("spec validate", "missing file", "spec validate {missing}.yaml"),
    ("spec fit-scaling", "missing file", "spec fit-scaling {missing}.root --spec event_bdt -o {out}/fit.yaml"),
    ("spec validate", "directory", "spec validate {dir}"),
    ("spec validate", "spec with an unknown key", "spec validate {spec_unknown_key}"),
    ("spec validate", "spec that is a list", "spec validate {spec_list}"),
    ("spec validate", "empty file", "spec validate {empty}"),
    ("spec validate", "unknown --era", "spec validate six_object --era 2022ee --against {tt}"),
    ("spec show", "unknown --era", "spec show six_object --era 2025"),
    # samples
    ("samples list", "extra argument", "samples list surplus"),
    ("samples path", "unknown sample", "samples path nano_tt_v99.root"),
    ("samples fetch", "unknown option", "samples fetch --bogus"),
    # inspect
    ("inspect", "missing file", "inspect {missing}"),
    ("inspect", "directory without a model", "inspect {dir}"),
    ("inspect", "text file as model", "inspect {text_onnx}"),
    ("inspect", "empty file as model", "inspect {empty_onnx}"),
    ("inspect", "ROOT file as model", "inspect {tt}"),
    ("inspect", "ONNX with corrupt metadata", "inspect {bad_meta_onnx}"),
    ("inspect", "ONNX without hepfm metadata", "inspect {plain_onnx}"),
    # tensorize
    ("tensorize", "missing input", "tensorize {missing}.root --spec six_object -o {out}/t.root"),
    ("tensorize", "directory as input", "tensorize {dir} --spec six_object -o {out}/t.root"),
    ("tensorize", "non-ROOT input", "tensorize {text} --spec six_object -o {out}/t.root"),
    ("tensorize", "empty input", "tensorize {empty} --spec six_object -o {out}/t.root"),
    ("tensorize", "truncated input", "tensorize {truncated} --spec six_object -o {out}/t.root"),
    ("tensorize", "input without the tree", "tensorize {no_tree} --spec six_object -o {out}/t.root"),
    ("tensorize", "unknown --tree", "tensorize {tt} --tree Event --spec six_object -o {out}/t.root"),
    ("tensorize", "bad spec YAML", "tensorize {tt} --spec {bad_yaml} -o {out}/t.root"),
    ("tensorize", "spec with an unknown key", "tensorize {tt} --spec {spec_unknown_key} -o {out}/t.root"),
    ("tensorize", "unknown output extension", "tensorize {tt} --spec six_object -o {out}/t.h5"),
    ("tensorize", "output without extension", "tensorize {tt} --spec six_object -o {out}/tensors"),
    ("tensorize", "output under a file", "tensorize {tt} --spec six_object -o {blocker}/t.root"),
    ("tensorize", "output in a missing folder", "tensorize {tt} --spec six_object -o {missing}/t.root"),
    ("tensorize", "bad --step-size", "tensorize {tt} --spec six_object --step-size 0 -o {out}/t.root"),
    ("tensorize", "unknown --era", "tensorize {tt} --spec six_object --era 1999 -o {out}/t.root"),
    # skim-and-score
    ("skim-and-score", "missing input", "skim-and-score {missing}.root --model {model} -o {out}/s.root"),
    ("skim-and-score", "non-ROOT input", "skim-and-score {text} --model {model} -o {out}/s.root"),
    ("skim-and-score", "truncated input", "skim-and-score {truncated} --model {model} -o {out}/s.root"),
    ("skim-and-score", "input without the tree", "skim-and-score {no_tree} --model {model} -o {out}/s.root"),
    ("skim-and-score", "missing model", "skim-and-score {tt} --model {missing} -o {out}/s.root"),
    ("skim-and-score", "text file as model", "skim-and-score {tt} --model {text_onnx} -o {out}/s.root"),
    ("skim-and-score", "ONNX with corrupt metadata", "skim-and-score {tt} --model {bad_meta_onnx} -o {out}/s.root"),
    ("skim-and-score", "malformed --selection", "skim-and-score {tt} --model {model} --selection 'nJet >>= 2' -o {out}/s.root"),
    ("skim-and-score", "--selection on a missing branch",
     "skim-and-score {tt} --model {model} --selection 'nJets >= 2' -o {out}/s.root"),
    ("skim-and-score", "--selection with a call", "skim-and-score {tt} --model {model} --selection '__import__(1)' "
     "-o {out}/s.root"),
    ("skim-and-score", "fileset that is a list", "skim-and-score --fileset {fileset_list} --model {model} -o {out}/s.root"),
    ("skim-and-score", "fileset that is not JSON", "skim-and-score --fileset {text} --model {model} -o {out}/s.root"),
    ("skim-and-score", "bad corrections config", "skim-and-score {tt} --model {model} --corrections {bad_yaml} "
     "-o {out}/s.root"),
    ("skim-and-score", "corrections config with an unknown key",
     "skim-and-score {tt} --model {model} --corrections {config_unknown_key} -o {out}/s.root"),
    ("skim-and-score", "output under a file", "skim-and-score {tt} --model {model} -o {blocker}/s.root"),
    ("skim-and-score", "no inputs", "skim-and-score --model {model} -o {out}/s.root"),
    # train
    ("train", "bad --class", "train --spec six_object --class ttbar -o {out}/m.pt"),
    ("train", "missing class file", "train --spec six_object --class a={missing}.root --class b={tt} -o {out}/m.pt"),
    ("train", "non-ROOT class file", "train --spec six_object --class a={text} --class b={tt} -o {out}/m.pt"),
    ("train", "bad spec", "train --spec {spec_unknown_key} --class a={tt} --class b={tt} -o {out}/m.pt"),
    # pretrain / finetune
    ("pretrain", "missing config", "pretrain {missing}.yaml"),
    ("pretrain", "config with bad YAML", "pretrain {bad_yaml}"),
    ("pretrain", "config with an unknown key", "pretrain {config_unknown_key}"),
    ("pretrain", "bad --set key", "pretrain {pretrain_cfg} --set train.bogus=1 -o {out}/p.pt"),
    ("pretrain", "bad --set syntax", "pretrain {pretrain_cfg} --set train.lr -o {out}/p.pt"),
    ("pretrain", "config naming missing data", "pretrain {pretrain_cfg} -o {out}/p.pt"),
    ("finetune", "missing config", "finetune {missing}.yaml"),
    ("finetune", "config that is a list", "finetune {spec_list}"),
    ("finetune", "text file as --from checkpoint", "finetune {finetune_cfg} --from {text} -o {out}/f.pt"),
    ("finetune", "--folds 1", "finetune {finetune_cfg} --folds 1 -o {out}/f.pt"),
    ("finetune", "--fold-rule without --folds", "finetune {finetune_cfg} --fold-rule hash -o {out}/f.pt"),
    ("skim-and-score", "fold manifest missing a fold", "skim-and-score {tt} --model {bad_folds} -o {out}/s.root"),
    ("export", "fold manifest missing a fold", "export {bad_folds} -o {out}/e"),
    # export
    ("export", "missing checkpoint", "export {missing}.pt -o {out}/e"),
    ("export", "text file as checkpoint", "export {text_pt} -o {out}/e"),
    ("export", "ONNX file as checkpoint", "export {model}/model.onnx -o {out}/e"),
    ("export", "backbone without a head", "export {backbone} -o {out}/e"),
    # import (a model trained elsewhere)
    ("import", "missing model", "import {missing}.onnx --spec event_bdt --labels a,b -o {out}/e"),
    ("import", "text file as model", "import {text_onnx} --spec event_bdt --labels a,b -o {out}/e"),
    ("import", "unknown model format", "import {bad_yaml} --spec event_bdt --labels a,b -o {out}/e"),
    ("import", "text file as TorchScript", "import {text_pt} --spec event_bdt --labels a,b -o {out}/e"),
    ("import", "inputs the spec does not produce", "import {model}/model.onnx --spec event_bdt --labels a,b -o {out}/e"),
    ("import", "bad --input syntax", "import {model}/model.onnx --spec six_object --labels a,b --input objects "
     "-o {out}/e"),
    ("import", "score label not a label", "import {model}/model.onnx --spec six_object --labels a,b --score-label c "
     "-o {out}/e"),
    ("import", "--check-on a non-ROOT file", "import {model}/model.onnx --spec six_object --labels a,b "
     "--check-on {text} -o {out}/e"),
    # generate
    ("generate", "unknown process", "generate --process tbar --events 10 -o {out}/g.root"),
    ("generate", "bad --param", "generate --process ttbar_semilep --events 10 --param mass -o {out}/g.root"),
    ("generate", "unknown --param name", "generate --process ttbar_semilep --events 10 --param mas=5 -o {out}/g.root"),
    ("generate", "emulation config with an unknown key",
     "generate --process ttbar_semilep --events 10 --config {config_unknown_key} -o {out}/g.root"),
    ("generate", "emulation config with bad YAML", "generate --process ttbar_semilep --events 10 --config {bad_yaml} "
     "-o {out}/g.root"),
    ("generate", "missing emulation config", "generate --process ttbar_semilep --events 10 --config {missing}.yaml "
     "-o {out}/g.root"),
    ("generate", "missing --process", "generate --events 10 -o {out}/g.root"),
    ("generate", "output under a file", "generate --process ttbar_semilep --events 10 -o {blocker}/g.root"),
    # evaluate / learning-curve
    ("evaluate", "missing input", "evaluate --signal {missing}.root --background {tt} --score s -o {out}/ev"),
    ("evaluate", "non-ROOT input", "evaluate --signal {text} --background {tt} --score s -o {out}/ev"),
    ("evaluate", "missing score branch", "evaluate --signal {tt} --background {tt} --score s -o {out}/ev"),
    ("evaluate", "contradicting arguments", "evaluate {tt} --signal {tt} --background {tt} -o {out}/ev"),
    ("learning-curve", "missing records", "learning-curve {missing}.json -o {out}/lc"),
    ("learning-curve", "records that are not JSON", "learning-curve {text} -o {out}/lc"),
    ("learning-curve", "records of the wrong shape", "learning-curve {spec_list} -o {out}/lc"),
    # demo (fails on the model, before generating anything)
    ("demo", "text file as model", "demo --model {text_onnx} -o {out}/demo"),
    ("demo", "missing model", "demo --model {missing} -o {out}/demo"),
    ("demo", "too few events", "demo --events 5 -o {out}/demo"),
]

#: Cases that also run as a real subprocess (interpreter start-up, warnings, the last flush).
SUBPROCESS = [
    ("inspect", "ONNX with corrupt metadata"),
    ("inspect", "text file as model"),
    ("tensorize", "truncated input"),
    ("tensorize", "spec with an unknown key"),
    ("skim-and-score", "malformed --selection"),
    ("skim-and-score", "input without the tree"),
    ("generate", "unknown process"),
    ("pretrain", "bad --set key"),
    ("export", "text file as checkpoint"),
    ("import", "inputs the spec does not produce"),
    ("spec validate", "spec with an unknown key"),
    ("samples path", "unknown sample"),
    ("learning-curve", "records that are not JSON"),
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, sample) -> dict[str, Path]:
    import onnx

    base = tmp_path_factory.mktemp("corpus")
    tt = sample("nano_tt_v12.root")
    data = tt.read_bytes()
    p = {"tt": tt, "model": MODEL, "backbone": BACKBONE, "missing": base / "does_not_exist", "dir": base / "a_folder"}
    p["dir"].mkdir()

    def write(name: str, content: str | bytes) -> None:  # key "text_onnx" for the file "text_onnx.onnx"
        p[name.split(".")[0]] = path = base / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())

    write("text.root", "run,event\n1,2\n")
    write("empty.root", b"")
    write("truncated.root", data[: len(data) // 3])
    write("text_onnx.onnx", "this is not an ONNX model\n")
    write("empty_onnx.onnx", b"")
    write("text_pt.pt", "not a checkpoint\n")
    write("bad_yaml.yaml", "blocks: [unclosed\n  - {a: \n")
    spec = json.loads(load_spec("six_object").to_json())
    write("spec_unknown_key.json", json.dumps({**spec, "bogus_key": 1}))
    write("spec_list.json", "[1, 2, 3]")
    write("config_unknown_key.yaml", "schema_version: 1\nbogus_key: 1\n")
    write("fileset_list.json", json.dumps([str(tt)]))
    write("bad.folds.json", json.dumps({"schema_version": 1, "rule": "event_mod", "k": 2,  # fold 1 missing
                                        "folds": [{"index": 0, "path": "f0.pt", "weights_sha256": "0" * 64}]}))
    p["bad_folds"] = base / "bad.folds.json"
    write("pretrain_cfg.yaml", f"schema_version: 1\nname: p\nspec: six_object\ntask: masked_type\noutput: p.pt\n"
          f"data:\n  files: [{base / 'no_such_data.root'}]\ntrain: {{epochs: 1}}\n")
    write("finetune_cfg.yaml", f"schema_version: 1\nname: f\nstrategy: finetune\noutput: f.pt\n"
          f"data:\n  classes:\n    a: [{tt}]\n    b: [{tt}]\n")
    p["blocker"] = base / "a_file"
    p["blocker"].write_text("in the way\n")
    with uproot.recreate(base / "no_tree.root") as f:
        f["Other"] = {"x": [1, 2, 3]}
    p["no_tree"] = base / "no_tree.root"
    m = onnx.load(str(MODEL / "model.onnx"))
    for prop in m.metadata_props:
        if prop.key == "hepfm.spec":
            prop.value = "{not json"
    onnx.save(m, str(base / "bad_meta.onnx"))
    p["bad_meta_onnx"] = base / "bad_meta.onnx"
    del m.metadata_props[:]
    onnx.save(m, str(base / "plain.onnx"))
    p["plain_onnx"] = base / "plain.onnx"
    return p


def _argv(template: str, corpus: dict[str, Path], out: Path) -> list[str]:
    import shlex

    return shlex.split(template.format(out=out, **{k: str(v) for k, v in corpus.items()}))


def _tree(folder: Path) -> list[str]:
    return sorted(str(q.relative_to(folder)) for q in folder.rglob("*"))


def _check(code: int, stderr: str, out: Path, corpus_files: list[str], corpus_dir: Path) -> None:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert "Traceback" not in stderr, stderr
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{stderr}"
    assert 2 <= code <= 6, f"exit {code}: {stderr}"
    assert _tree(out) == [], f"left behind: {_tree(out)}"
    assert _tree(corpus_dir) == corpus_files, "a file appeared beside the inputs"


def test_the_corpus_covers_every_command():
    covered = {c for c, _, _ in CASES}
    assert sorted(set(_commands(cli)) - covered) == [], "a new hepfm command: give it bad inputs in CASES"
    assert covered <= set(_commands(cli))


@pytest.mark.parametrize(("command", "case", "template"), CASES, ids=[f"{c}: {k}" for c, k, _ in CASES])
def test_bad_input_exits_2_to_6_with_one_line_and_no_file(corpus, tmp_path, command, case, template):
    out = tmp_path / "out"
    out.mkdir()
    corpus_dir = corpus["text"].parent
    before = _tree(corpus_dir)
    result = CliRunner().invoke(cli, _argv(template, corpus, out), catch_exceptions=True)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    _check(result.exit_code, result.stderr, out, before, corpus_dir)


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(CHECKOUT), os.environ.get("PYTHONPATH", "")])}


@pytest.mark.parametrize(("command", "case"), SUBPROCESS, ids=[f"{c}: {k}" for c, k in SUBPROCESS])
def test_bad_input_in_a_real_process_exits_2_to_6_with_one_line(corpus, tmp_path, command, case):
    template = next(t for c, k, t in CASES if (c, k) == (command, case))
    out = tmp_path / "out"
    out.mkdir()
    corpus_dir = corpus["text"].parent
    before = _tree(corpus_dir)
    proc = subprocess.run([sys.executable, "-m", "hepfm_root.cli", *_argv(template, corpus, out)], cwd=tmp_path,
                          capture_output=True, text=True, env=_env(), timeout=120, check=False)
    _check(proc.returncode, proc.stderr, out, before, corpus_dir)


def test_verbose_shows_the_traceback_and_the_full_message(corpus, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "hepfm_root.cli", "-v", "inspect", str(corpus["bad_meta_onnx"])],
                          cwd=tmp_path, capture_output=True, text=True, env=_env(), timeout=120, check=False)
    assert 2 <= proc.returncode <= 6
    assert "Traceback" in proc.stderr


@pytest.mark.parametrize("argv", [f"inspect {MODEL / 'model.onnx'}", f"inspect --json {MODEL / 'model.onnx'}",
                                  "spec show six_object", "-h", "skim-and-score -h"])
def test_writing_into_a_closed_pipe_is_quiet_and_exits_141(tmp_path, argv):
    # `hepfm inspect M | head -1`, made certain: `true` closes the pipe before hepfm has even started writing.
    proc = subprocess.run(["bash", "-c", f"{sys.executable} -m hepfm_root.cli {argv} | true; exit ${{PIPESTATUS[0]}}"],
                          cwd=tmp_path, capture_output=True, text=True, env=_env(), timeout=120, check=False)
    assert proc.stderr == ""
    assert proc.returncode == 141  # 128 + SIGPIPE, what `yes | true` reports under `set -o pipefail`


def test_inspect_piped_into_head_prints_its_first_line(tmp_path):
    shell = f"set -o pipefail; {sys.executable} -m hepfm_root.cli inspect {MODEL / 'model.onnx'} | head -1"
    proc = subprocess.run(["bash", "-c", shell], cwd=tmp_path, capture_output=True, text=True, env=_env(),
                          timeout=120, check=False)
    assert proc.stderr == ""
    assert proc.stdout.startswith("model six_object_heavy_higgs_vs_ttbar 0.2") and proc.stdout.count("\n") == 1
    assert proc.returncode in (0, 141)  # 141 only if head closed the pipe before hepfm finished writing
