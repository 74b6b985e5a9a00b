"""Outputs never destroy what they should not: inputs, non-files, others' files, previous outputs.

The CLI is driven as a real subprocess (``python -m hepfm_root.cli``) wherever signals, races or
file-size limits are the point, and for one refusal per kind of output (the real exit code); the other
refusals run in-process through click's ``CliRunner`` (``hepfm_here``: the same ``run_command`` boundary
and exit code, without an interpreter and a torch import per case).  Library calls are checked directly.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _files import SHIPPED_MODEL
from click.testing import CliRunner

from hepfm_root.cli import cli
from hepfm_root.errors import (
    ForeignOutputError,
    OutputCollisionError,
    OutputExistsError,
    OutputIsInputError,
    OutputNotRegularError,
)
from hepfm_root.io import MARKER, atomic_folder, atomic_output, atomic_outputs, plan_outputs
from hepfm_root.skim import SkimOptions, skim_and_score

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def hepfm(*args: object, cwd: Path, **kw: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hepfm_root.cli", *map(str, args)], cwd=cwd, env=ENV,
                          capture_output=True, text=True, timeout=600, **kw)  # type: ignore[call-overload]


def hepfm_here(*args: object, cwd: Path) -> subprocess.CompletedProcess:
    """``hepfm ARGS`` in this process, run from ``cwd``; the result reads like :func:`hepfm`'s."""
    before = os.getcwd()
    os.chdir(cwd)
    try:
        r = CliRunner().invoke(cli, [str(a) for a in args])
    finally:
        os.chdir(before)
    return subprocess.CompletedProcess(args, r.exit_code, r.stdout, r.stderr)


def start(*args: object, cwd: Path, **kw: object) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "hepfm_root.cli", *map(str, args)], cwd=cwd, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)  # type: ignore[call-overload]


def temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".hepfm-" in p.name)


def wait_for_temporary(folder: Path, proc: subprocess.Popen, timeout: float = 300) -> None:
    """Return once the job has its temporary output open (it is past every check, writing)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if any(n.endswith(".part") for n in temporaries(folder)):
            time.sleep(0.5)
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("the job never opened its temporary output")


@pytest.fixture
def work(tmp_path, sample) -> Path:
    shutil.copy(sample("nano_tt_v12.root"), tmp_path / "in.root")
    return tmp_path


# --- an output is never an input ----------------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["in.root", "./x/../in.root", "link.root", "hard.root"])
def test_skim_output_that_is_the_input_is_refused_and_the_input_is_untouched(work, spelling):
    (work / "x").mkdir()
    (work / "link.root").symlink_to(work / "in.root")
    os.link(work / "in.root", work / "hard.root")
    before = (work / "in.root").read_bytes()
    r = hepfm_here("skim-and-score", "in.root", "--model", SHIPPED_MODEL, "-o", spelling, "--overwrite", "-q", cwd=work)
    assert r.returncode == 5, r.stderr
    assert "OutputIsInputError" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert (work / "in.root").read_bytes() == before


def test_per_input_output_that_is_another_input_is_refused_before_anything_is_read(work):
    (work / "src").mkdir()
    (work / "out").mkdir()
    shutil.copy(work / "in.root", work / "src" / "b.root")
    victim = work / "out" / "b.skim.root"  # the per-input output of src/b.root
    shutil.copy(work / "in.root", victim)
    before = victim.read_bytes()
    r = hepfm("skim-and-score", "src/b.root", "out/b.skim.root", "--model", SHIPPED_MODEL, "-o", "out", "--per-input",
              "--overwrite", "-q", cwd=work)
    assert r.returncode == 5 and "is the input" in r.stderr, r.stderr
    assert victim.read_bytes() == before and sorted(p.name for p in (work / "out").iterdir()) == ["b.skim.root"]


@pytest.mark.parametrize("command", ["tensorize", "friend", "train"])
def test_other_writing_commands_refuse_an_output_that_is_an_input(work, command):
    before = (work / "in.root").read_bytes()
    args = {
        "tensorize": ["tensorize", "in.root", "--spec", "six_object", "-o", "./in.root", "--overwrite", "-q"],
        "friend": ["skim-and-score", "in.root", "--model", SHIPPED_MODEL, "--friend", "-o", "in.root", "--overwrite"],
        "train": ["train", "--spec", "six_object", "--class", "a=in.root", "--class", "b=in.root", "-o", "in.root",
                  "--overwrite"],
    }[command]
    r = hepfm_here(*args, cwd=work)
    assert r.returncode == 5 and "OutputIsInputError" in r.stderr, r.stderr
    assert (work / "in.root").read_bytes() == before


def test_library_writers_refuse_an_output_that_is_an_input(work):
    from hepfm_root.rdf import write_score_friend

    before = (work / "in.root").read_bytes()
    with pytest.raises(OutputIsInputError):
        write_score_friend(work / "in.root", SHIPPED_MODEL, work / "x" / ".." / "in.root", overwrite=True)
    with pytest.raises(OutputIsInputError):
        skim_and_score([work / "in.root"], [SHIPPED_MODEL], work / "in.root", SkimOptions(overwrite=True))
    assert (work / "in.root").read_bytes() == before


def test_two_outputs_that_are_one_file_collide(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(OutputCollisionError):
        plan_outputs([tmp_path / "a.root", tmp_path / "d" / ".." / "a.root"])


# --- a target that is not a regular file --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["directory", "fifo", "device"])
@pytest.mark.parametrize("overwrite", [False, True])
def test_a_target_that_is_not_a_regular_file_is_refused(work, kind, overwrite):
    target = work / "target.root"
    if kind == "directory":
        target.mkdir()
        (target / "keep.txt").write_text("mine")
    elif kind == "fifo":
        os.mkfifo(target)
    else:
        target.symlink_to("/dev/null")  # a character device behind the name
    r = hepfm_here("skim-and-score", "in.root", "--model", SHIPPED_MODEL, "-o", "target.root", "-q",
                   *(["--overwrite"] if overwrite else []), cwd=work)
    assert r.returncode == 5, r.stderr
    assert "OutputNotRegularError" in r.stderr and "not a regular file" in r.stderr
    assert kind != "directory" or (target / "keep.txt").read_text() == "mine"
    assert temporaries(work) == []
    with pytest.raises(OutputNotRegularError):
        plan_outputs(["/dev/null"], overwrite=True)


# --- folder outputs -------------------------------------------------------------------------------------------------


def test_export_overwrite_refuses_a_folder_that_is_not_hepfms(tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "thesis.tex").write_text("years of work")
    r = hepfm("export", SHIPPED_MODEL / "model.pt", "-o", folder, "--overwrite", cwd=tmp_path)
    assert r.returncode == 5 and "ForeignOutputError" in r.stderr, r.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["thesis.tex"]
    assert (folder / "thesis.tex").read_text() == "years of work"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]  # no temporary left beside it


def test_folder_output_replaces_only_its_own_previous_version(tmp_path):
    out = tmp_path / "export"
    with atomic_folder(out) as tmp:
        (tmp / "model.onnx").write_text("v1")
    assert json.loads((out / MARKER).read_text())["files"] == ["model.onnx"]
    with atomic_folder(out, overwrite=True) as tmp:
        (tmp / "model.onnx").write_text("v2")
    assert (out / "model.onnx").read_text() == "v2"
    (out / "notes.txt").write_text("added by the user")  # a file hepfm did not write: the folder is no longer its own
    with pytest.raises(ForeignOutputError), atomic_folder(out, overwrite=True) as tmp:
        (tmp / "model.onnx").write_text("v3")
    assert (out / "notes.txt").read_text() == "added by the user" and (out / "model.onnx").read_text() == "v2"
    with pytest.raises(OutputExistsError), atomic_folder(out) as tmp:
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]


def test_export_onto_a_previous_export_replaces_it(tmp_path):
    out = tmp_path / "m" / "1.0"
    assert hepfm("export", SHIPPED_MODEL / "model.pt", "-o", out, cwd=tmp_path).returncode == 0
    first = (out / "model.onnx").stat().st_ino
    r = hepfm("export", SHIPPED_MODEL / "model.pt", "-o", out, "--overwrite", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (out / "model.onnx").stat().st_ino != first and (out / MARKER).is_file()
    assert sorted(p.name for p in out.parent.iterdir()) == ["1.0"]


# --- races, units ---------------------------------------------------------------------------------------------------


def test_a_file_that_appears_at_the_target_during_the_block_is_not_replaced(tmp_path):
    out = tmp_path / "o.txt"
    with pytest.raises(OutputExistsError, match="appeared while"), atomic_output(out) as tmp:
        tmp.write_text("ours")
        out.write_text("another process")
    assert out.read_text() == "another process" and temporaries(tmp_path) == []


def test_a_file_another_process_writes_while_the_job_runs_is_not_replaced(work):
    proc = start("skim-and-score", "in.root", "--model", SHIPPED_MODEL, "-o", "out.root", "--step-size", "20", "-q",
                 cwd=work)
    wait_for_temporary(work, proc)
    (work / "out.root").write_text("written by someone else")
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 5 and "appeared while" in err, err
    assert (work / "out.root").read_text() == "written by someone else"
    assert not (work / "out.root.summary.json").exists() and temporaries(work) == []


def test_several_outputs_are_one_unit_all_or_none(tmp_path):
    a, b = tmp_path / "a.root", tmp_path / "a.root.summary.json"
    a.write_text("old a")
    with pytest.raises(OutputNotRegularError), atomic_outputs([a, b], overwrite=True) as (ta, tb):
        ta.write_text("new a")
        tb.write_text("new b")
        b.mkdir()  # the second target turns into a directory before placement
    assert a.read_text() == "old a" and b.is_dir() and temporaries(tmp_path) == []


def test_skim_output_and_summary_are_one_unit(work):
    out, summary = work / "o.root", work / "o.root.summary.json"
    out.write_text("previous output")

    def break_summary(n: int) -> None:
        if not summary.exists():
            summary.mkdir()

    with pytest.raises(OutputNotRegularError):
        skim_and_score([work / "in.root"], [SHIPPED_MODEL], out, SkimOptions(overwrite=True, step_size=100),
                       progress=break_summary)
    assert out.read_text() == "previous output" and summary.is_dir() and temporaries(work) == []
    summary.rmdir()
    summary.mkdir()  # a directory where the summary goes: refused before anything is read
    r = hepfm_here("skim-and-score", "in.root", "--model", SHIPPED_MODEL, "-o", "o.root", "--overwrite", "-q", cwd=work)
    assert r.returncode == 5 and "o.root.summary.json" in r.stderr, r.stderr
    assert out.read_text() == "previous output"


# --- signals, killed runs, full disks -------------------------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_leaves_no_temporary_and_keeps_the_previous_output(work, sig):
    (work / "out.root").write_text("previous output")
    proc = start("skim-and-score", "in.root", "--model", SHIPPED_MODEL, "-o", "out.root", "--step-size", "20",
                 "--overwrite", "-q", cwd=work)
    wait_for_temporary(work, proc)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 128 + sig, err
    assert temporaries(work) == []
    assert (work / "out.root").read_text() == "previous output" and not (work / "out.root.summary.json").exists()


def test_a_temporary_left_by_sigkill_is_removed_by_the_next_run(work):
    proc = start("skim-and-score", "in.root", "--model", SHIPPED_MODEL, "-o", "out.root", "--step-size", "20", "-q",
                 cwd=work)
    wait_for_temporary(work, proc)
    proc.kill()
    proc.communicate(timeout=60)
    stale = temporaries(work)
    assert stale and not (work / "out.root").exists()
    r = hepfm("skim-and-score", "in.root", "--model", SHIPPED_MODEL, "-o", "out.root", cwd=work)  # no -q: the log
    assert r.returncode == 0, r.stderr
    assert temporaries(work) == [] and "removed" in r.stderr and stale[0] in r.stderr
    assert (work / "out.root").stat().st_size > 0


def _limit_file_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))  # writes past 200 kB fail with EFBIG


def test_a_full_disk_gives_exit_5_naming_the_path_and_leaves_nothing(work):
    r = hepfm("skim-and-score", "in.root", "--model", SHIPPED_MODEL, "-o", "out.root", "-q", cwd=work,
              preexec_fn=_limit_file_size)
    assert r.returncode == 5, r.stderr
    assert "OutputWriteError" in r.stderr and "out.root" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in work.iterdir()) == ["in.root"]


def test_finetune_refuses_to_write_its_checkpoint_over_its_own_config(work):
    config = work / "ft.yaml"
    config.write_text("name: x\nstrategy: scratch\ndata:\n  classes: {a: [in.root], b: [in.root]}\n"
                      "output: ft.yaml\n")
    before = config.read_bytes()
    r = hepfm_here("finetune", "ft.yaml", "--overwrite", cwd=work)
    assert r.returncode == 5 and "is the input" in r.stderr, r.stderr
    assert config.read_bytes() == before


def test_a_checkpoint_on_a_full_disk_gives_an_output_error_and_leaves_nothing(work):
    # torch's own zip writer reports a short write as RuntimeError ("unexpected pos"); the checkpoint is
    # serialised in memory and written as plain bytes, so a full disk is an OutputError (exit 5).
    code = ("import sys\nfrom hepfm_root.models import load_checkpoint\nfrom hepfm_root.errors import OutputWriteError\n"
            f"ck = load_checkpoint({str(Path(SHIPPED_MODEL) / 'model.pt')!r})\n"
            "try:\n    ck.save('ck.pt')\nexcept OutputWriteError as err:\n    print('refused:', err); sys.exit(5)\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=work, capture_output=True, text=True, check=False,
                       preexec_fn=_limit_file_size, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert r.returncode == 5 and "refused:" in r.stdout and "ck.pt" in r.stdout, r.stdout + r.stderr
    assert sorted(p.name for p in work.iterdir()) == ["in.root"]
