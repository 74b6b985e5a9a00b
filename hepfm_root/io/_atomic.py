"""Atomic outputs: write under a temporary name, place only when complete, never destroy what is not ours.

Every file or folder hepfm writes goes through this module:

* :func:`plan_outputs` checks, before anything is read, that no output is an input
  (links and relative paths resolved, hard links caught by ``samefile``), that no two
  outputs collide, and that each existing target is a regular file that may be replaced.
* :func:`atomic_output` / :func:`atomic_outputs` yield temporary names beside the targets
  (``.NAME.hepfm-<host>-<pid>-<rand>.part``) and place them when the block succeeds:
  without overwrite by ``link`` + ``unlink`` (a file that appeared at the target meanwhile
  is never replaced), with overwrite by ``rename`` after re-checking the target.  Several
  outputs are one unit: all are placed or none.
* :func:`atomic_folder` does the same for a folder; it replaces only a folder that carries
  hepfm's marker file (``.hepfm-output.json``), or an older export that holds nothing else.
* Temporaries left by a killed run (its pid gone) are removed by the next run with the
  same target; a full disk or quota becomes :class:`~hepfm_root.errors.OutputWriteError`.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import re
import secrets
import shutil
import socket
import stat
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from .._version import __version__
from ..errors import (
    ENVIRONMENT_ERRNOS,
    ForeignOutputError,
    OutputCollisionError,
    OutputError,
    OutputExistsError,
    OutputIsInputError,
    OutputNotRegularError,
    OutputWriteError,
    environment_exit_code,
)
from ._signals import raise_if_terminated

__all__ = ["MARKER", "atomic_folder", "atomic_output", "atomic_outputs", "plan_outputs", "remove_stale_temporaries"]

log = logging.getLogger(__name__)

#: The file every folder output carries, so that a later ``--overwrite`` knows the folder is hepfm's.
MARKER = ".hepfm-output.json"
#: Files an export folder held before the marker existed (such a folder may still be replaced).
_LEGACY_EXPORT = {"model.onnx", "spec.json", "README.md", "model.pt", "model.card.json"}
#: errno values of file systems without hard links (placement falls back to an exclusive create).
_NO_LINK = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS, errno.EXDEV}
_TEMP = re.compile(r"\.hepfm-(?P<host>[A-Za-z0-9_]+)-(?P<pid>\d+)-[0-9a-f]+\.(?:part|old)$")


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", socket.gethostname().split(".")[0])[:32] or "host"


def _temp_path(final: Path, kind: str = "part") -> Path:
    return final.with_name(f".{final.name}.hepfm-{_host()}-{os.getpid()}-{secrets.token_hex(4)}.{kind}")


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a fifo"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def remove_stale_temporaries(final: str | os.PathLike) -> list[Path]:
    """Remove temporaries of ``final`` left by a run that was killed (SIGKILL, power cut); return them.

    Only names of this module's pattern whose process is gone on this host are removed;
    those of a live process, or of another host (a shared file system), are logged and kept.

    Example:
        >>> import os, tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> stale = d / f".x.root.hepfm-{_host()}-999999999-0a1b2c3d.part"
        >>> _ = stale.write_text("half")
        >>> [p.name == stale.name for p in remove_stale_temporaries(d / "x.root")]
        [True]
    """
    final = Path(final)
    parent = final.parent if str(final.parent) else Path(".")
    removed: list[Path] = []
    try:
        names = os.listdir(parent)
    except OSError:
        return removed
    prefix = f".{final.name}.hepfm-"
    for name in names:
        m = _TEMP.search(name)
        if not name.startswith(prefix) or m is None or name[len(final.name) + 1:m.start()]:
            continue
        path, pid = parent / name, int(m["pid"])
        if m["host"] != _host() or _pid_alive(pid):
            log.warning("left %s alone: a temporary of process %s on host %s, which may still be writing it",
                        path, pid, m["host"])
            continue
        with contextlib.suppress(FileNotFoundError):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
            log.warning("removed %s, a temporary left by an earlier run (process %s) that did not finish", path, pid)
            removed.append(path)
    return removed


def _same(a: str, b: str) -> bool:
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)  # hard links, bind mounts
    except OSError:
        return False


def _check_target(final: Path, overwrite: bool, *, folder: bool = False) -> None:
    parent = final.parent if str(final.parent) else Path(".")
    if not parent.is_dir():
        why = "is not a directory" if parent.exists() else "does not exist"
        raise OutputError(f"cannot write {final}: {parent} {why}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {final}: directory {parent} is not writable")
    try:
        st = os.stat(final)
    except FileNotFoundError:
        if os.path.lexists(final):
            raise OutputNotRegularError(f"cannot write {final}: it is a dangling symbolic link") from None
        return
    except OSError as err:
        raise OutputError(f"cannot write {final}: {err.strerror}") from None
    if folder:
        if not stat.S_ISDIR(st.st_mode):
            raise OutputNotRegularError(f"cannot write the folder {final}: it exists and is {_kind(st.st_mode)}")
        if not overwrite:
            raise OutputExistsError(f"{final} exists; pass overwrite (--overwrite) to replace it")
        _check_ours(final)
        return
    if not stat.S_ISREG(st.st_mode):
        raise OutputNotRegularError(f"cannot write {final}: it exists and is {_kind(st.st_mode)}, not a regular file "
                                    "(not replaced, with or without --overwrite)")
    if not overwrite:
        raise OutputExistsError(f"{final} exists; pass overwrite (--overwrite) to replace it")


def _check_ours(folder: Path) -> None:
    """A folder may be replaced only if hepfm wrote it and nobody has added a file since."""
    names = set(os.listdir(folder))
    listed: set[str] | None = None
    if MARKER in names:
        try:
            listed = set(json.loads((folder / MARKER).read_text())["files"])
        except (OSError, ValueError, KeyError, TypeError):
            listed = None
    elif "model.onnx" in names and names <= _LEGACY_EXPORT:  # an export written before the marker
        return
    extra = sorted(names - {MARKER} - (listed or set()))
    if listed is not None and not extra:
        return
    why = f"no readable {MARKER}" if listed is None else f"it holds files hepfm did not write ({', '.join(extra[:3])})"
    raise ForeignOutputError(f"refusing to replace {folder}: not a hepfm output folder ({why}); "
                             "remove it yourself or choose another -o")


def plan_outputs(outputs: Iterable[str | os.PathLike], inputs: Iterable[str | os.PathLike] = (), *,
                 overwrite: bool = False, folders: Iterable[str | os.PathLike] = ()) -> list[Path]:
    """Check every output of a command before anything is read; return the outputs as paths.

    Raises an :class:`~hepfm_root.errors.OutputError` subclass (exit code 5) when an output
    is an input, two outputs collide, a target exists and is not a regular file (or, for
    ``folders``, not a hepfm output folder), or a target exists without ``overwrite``.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (d / "in.root").write_text("x")
        >>> plan_outputs([d / "a" / ".." / "in.root"], [d / "in.root"], overwrite=True)
        Traceback (most recent call last):
        ...
        hepfm_root.errors.OutputIsInputError: output ... is the input ...in.root; choose another -o
    """
    files = [Path(p) for p in outputs]
    dirs = [Path(p) for p in folders]
    ins = [os.fspath(p) for p in inputs]
    seen: list[Path] = []
    for out in [*files, *dirs]:
        for other in seen:
            if _same(os.fspath(out), os.fspath(other)):
                raise OutputCollisionError(f"two outputs are the same file: {other} and {out}")
        seen.append(out)
        for inp in ins:
            if _same(os.fspath(out), inp):
                raise OutputIsInputError(f"output {out} is the input {inp}; choose another -o")
    for d in dirs:
        real = os.path.realpath(d)
        for inp in ins:
            if os.path.realpath(inp).startswith(real.rstrip(os.sep) + os.sep):
                raise OutputIsInputError(f"output folder {d} holds the input {inp}; choose another -o")
    for out in files:
        _check_target(out, overwrite)
    for d in dirs:
        _check_target(d, overwrite, folder=True)
    return files + dirs


def _refused(err: BaseException, finals: Sequence[Path]) -> bool:
    """True when the environment refused writing an output of ``finals`` (a target or one of its temporaries).

    The errno set is the error family's one (:data:`~hepfm_root.errors.ENVIRONMENT_ERRNOS`).  An error
    naming another path (an input or a model we may not read) is not about our outputs: it passes unchanged.
    """
    if environment_exit_code(err) != OutputWriteError.exit_code:
        return False
    name = getattr(err, "filename", None)
    if name is None:  # write()/flush() of an open file: a full disk or quota names no path
        return True
    p = Path(os.path.abspath(os.fsdecode(name)))
    for f in (Path(os.path.abspath(x)) for x in finals):
        for q in (p, *p.parents):  # the target, a temporary of it, or a file inside either (folders)
            if q == f or (q.parent == f.parent and q.name.startswith(f".{f.name}.hepfm-")):
                return True
    return False


def _write_error(err: OSError, final: object) -> OutputError:
    return OutputWriteError(f"cannot write {final}: {ENVIRONMENT_ERRNOS[err.errno]}; nothing was left under {final}")


def _place(tmp: Path, final: Path, overwrite: bool) -> None:
    """Move the finished ``tmp`` to ``final``; without ``overwrite`` never replace a file that is there."""
    if overwrite:
        _check_target(final, True)  # still a regular file (or absent) at the moment of the swap
        os.replace(tmp, final)
        return
    try:
        os.link(tmp, final)  # atomic and exclusive: EEXIST if anything appeared at final meanwhile
    except FileExistsError:
        raise OutputExistsError(f"{final} appeared while this job was running (another process wrote it); "
                                "it was not replaced") from None
    except OSError as err:
        if err.errno not in _NO_LINK:
            raise
        try:  # no hard links on this file system: reserve the name exclusively, then rename onto it
            os.close(os.open(final, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError:
            raise OutputExistsError(f"{final} appeared while this job was running; it was not replaced") from None
        os.replace(tmp, final)
        return
    tmp.unlink()


@contextlib.contextmanager
def atomic_outputs(paths: Sequence[str | os.PathLike], *, overwrite: bool = False) -> Iterator[list[Path]]:
    """Yield temporary paths for several outputs that are one unit: on success all are placed, else none.

    On any exception (Ctrl-C and signals included) every temporary is removed and every
    target is left as it was; a temporary the caller removes inside the block is not placed (its
    target is left as it was); if placing a later file fails, the earlier ones are undone
    (a replaced file gets its old content back).

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> with atomic_outputs([d / "out.root", d / "out.root.summary.json"]) as (a, b):
        ...     _ = a.write_text("data"); _ = b.write_text("{}")
        >>> sorted(p.name for p in d.iterdir())
        ['out.root', 'out.root.summary.json']
    """
    finals = plan_outputs(paths, overwrite=overwrite)
    for f in finals:
        remove_stale_temporaries(f)
    tmps: list[Path] = []
    placed: list[tuple[Path, Path | None]] = []
    try:
        for f in finals:
            tmp = _temp_path(f)
            os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666 & ~_umask()))
            tmps.append(tmp)
        yield list(tmps)
        raise_if_terminated()  # a signal swallowed on the way (in a __del__) must not let the unit be placed
        # A temporary the caller removed is an output it decided not to make: that target is left alone.
        unit = [(tmp, f) for tmp, f in zip(tmps, finals, strict=True) if tmp.exists()]
        for tmp, _ in unit:
            os.chmod(tmp, 0o666 & ~_umask())  # writers such as ROOT may have made it private
        for tmp, f in unit:
            backup = None
            if len(finals) > 1 and overwrite and os.path.isfile(f):
                backup = _temp_path(f, "old")
                try:
                    os.link(f, backup)  # the old content, to put back if a later file of the unit fails
                except OSError as err:
                    if err.errno not in _NO_LINK:
                        raise
                    log.warning("no hard links on the file system of %s: if a later file of its unit fails, the "
                                "previous %s cannot be put back", f, f.name)
                    backup = None
            placed.append((f, backup))
            try:
                _place(tmp, f, overwrite)
            except BaseException:
                placed.pop()
                if backup is not None:
                    backup.unlink(missing_ok=True)
                raise
    except BaseException as err:
        for f, backup in reversed(placed):
            with contextlib.suppress(OSError):
                if backup is not None:
                    os.replace(backup, f)
                else:
                    f.unlink()
        for tmp in tmps:
            tmp.unlink(missing_ok=True)
        if isinstance(err, OSError) and _refused(err, finals):
            raise _write_error(err, " and ".join(map(str, finals))) from None
        raise
    for _, backup in placed:
        if backup is not None:
            backup.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; place it at ``path`` on success.

    On any exception (Ctrl-C and SIGTERM included, see :func:`~hepfm_root.io.terminate_on_signals`)
    the temporary file is removed and ``path`` is left as it was, so a reader never sees
    a partial file under the final name.  Without ``overwrite`` a file that appears at
    ``path`` while the block runs is not replaced (:class:`~hepfm_root.errors.OutputExistsError`).

    Example:
        >>> import tempfile, pathlib
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
        >>> with atomic_output(out) as tmp:
        ...     _ = tmp.write_text("done")
        >>> out.read_text()
        'done'
    """
    with atomic_outputs([path], overwrite=overwrite) as (tmp,):
        yield tmp


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike, *, overwrite: bool = False, kind: str = "output") -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; put it at ``path`` on success, with hepfm's marker file.

    An existing ``path`` is replaced only with ``overwrite`` and only if it is a hepfm
    output folder: it carries :data:`MARKER`, which lists the files written, and holds no
    other file (one a user added is never deleted); the old folder is renamed aside, the new
    one renamed in, then the old one — and nothing else — is removed.

    Example:
        >>> import tempfile, pathlib
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "export"
        >>> with atomic_folder(out) as tmp:
        ...     _ = (tmp / "model.onnx").write_text("x")
        >>> sorted(p.name for p in out.iterdir())
        ['.hepfm-output.json', 'model.onnx']
    """
    final = Path(path)
    plan_outputs([], folders=[final], overwrite=overwrite)
    remove_stale_temporaries(final)
    tmp = _temp_path(final)
    try:
        os.mkdir(tmp)
    except OSError as err:
        raise OutputError(f"cannot create a folder beside {final}: {err.strerror}") from None
    old: Path | None = None
    try:
        yield tmp
        raise_if_terminated()
        files = sorted(n for n in os.listdir(tmp) if n != MARKER)
        (tmp / MARKER).write_text(json.dumps({"written_by": "hepfm_root", "kind": kind, "files": files,
                                              "hepfm_root_version": __version__}, sort_keys=True) + "\n")
        os.chmod(tmp, 0o777 & ~_umask())
        if overwrite and os.path.lexists(final):
            _check_target(final, True, folder=True)  # still ours at the moment of the swap
            old = _temp_path(final, "old")
            os.rename(final, old)
            os.rename(tmp, final)
            done, old = old, None
            shutil.rmtree(done, ignore_errors=True)  # the previous hepfm output, renamed aside above
            return
        try:
            os.mkdir(final)  # exclusive: a folder that appeared meanwhile is not ours to replace
        except FileExistsError:
            raise OutputExistsError(f"{final} appeared while this job was running; it was not replaced") from None
        os.rename(tmp, final)  # onto the empty folder just made
    except BaseException as err:
        if old is not None and not os.path.lexists(final):
            os.rename(old, final)  # put the previous output back
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(err, OSError) and _refused(err, [final]):
            raise _write_error(err, final) from None
        raise
