"""The hepfm_root error family.

Every error a user can trigger derives from :class:`HepfmError` and subclasses the
builtin that fits (``KeyError`` for missing names, ``ValueError`` for bad values,
``OSError`` for unreadable files), so ``except KeyError`` keeps working for callers
that do not know this package.  Messages say *what* went wrong, *where* (file,
tree, branch) and *expected vs got*, and suggest the nearest valid name.

Example:
    >>> from hepfm_root.errors import BranchNotFoundError
    >>> err = BranchNotFoundError("Jet_btag", where="Events of nano.root",
    ...                           candidates=["Jet_btagDeepFlavB"], available=["Jet_btagPNetB"])
    >>> print(err)
    'Jet_btag' not in Events of nano.root (looked for: Jet_btagDeepFlavB); did you mean 'Jet_btagPNetB'?
"""

from __future__ import annotations

import difflib
import errno
import os
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

__all__ = [
    "ENVIRONMENT_ERRNOS",
    "BackendUnavailableError",
    "BlockNotFoundError",
    "BranchNotFoundError",
    "BranchTypeError",
    "CollectionNotFoundError",
    "CorrectionNotFoundError",
    "EmptyInputError",
    "HepfmError",
    "GenerationError",
    "GeneratorSettingError",
    "InvalidArgumentError",
    "InvalidConfigError",
    "InvalidInputFileError",
    "InvalidSpecError",
    "ModelSpecMismatchError",
    "MissingDependencyError",
    "NonFiniteInputError",
    "ForeignOutputError",
    "OutputCollisionError",
    "OutputError",
    "OutputExistsError",
    "OutputIsInputError",
    "OutputNotRegularError",
    "OutputWriteError",
    "ParityError",
    "SampleFetchError",
    "SampleNotFoundError",
    "SpecNotFoundError",
    "TreeNotFoundError",
    "UnknownProcessError",
    "choose",
    "closest",
    "environment_exit_code",
    "first_line",
    "validation_summary",
]


def __dir__() -> list[str]:
    return __all__


def closest(name: str, choices: Iterable[str], n: int = 1) -> list[str]:
    """Return up to ``n`` names from ``choices`` that look most like ``name``.

    Example:
        >>> closest("Jet_btagDeepFlav", ["Jet_btagDeepFlavB", "Muon_pt"])
        ['Jet_btagDeepFlavB']
    """
    return difflib.get_close_matches(name, list(choices), n=n, cutoff=0.5)


def choose(names: Sequence[str], known: Sequence[str], *, unknown: str, known_as: str) -> list[str]:
    """``names``, each checked against ``known``, in the order given; ``["all"]`` means all of ``known``.

    The one rule of every "pick some of these by name" argument (the labels of ``--outputs``, the
    ``--variations`` of a corrections config).  A name not in ``known`` raises
    :class:`InvalidArgumentError` ``<unknown> '<name>'; <known_as> <known, ...>; did you mean
    '<nearest>'?``: what was asked, what there is, and the nearest name.  Splitting a
    ``"a,b"`` string, and what a duplicate or an empty name means, stay with the caller.

    Args:
        names: the requested names; ``["all"]`` alone is every name of ``known``.
        known: the valid names, in the order ``["all"]`` returns them.
        unknown: the message up to the refused name (``"unknown variation"``).
        known_as: the words before the list of ``known`` (``"this corrections config has:"``).

    Raises:
        InvalidArgumentError: the first name of ``names`` that ``known`` does not hold.

    Example:
        >>> choose(["all"], ["jer_up", "jer_down"], unknown="unknown variation", known_as="it has:")
        ['jer_up', 'jer_down']
        >>> choose(["jer_dwn"], ["jer_up", "jer_down"], unknown="unknown variation", known_as="it has:")
        Traceback (most recent call last):
        ...
        hepfm_root.errors.InvalidArgumentError: unknown variation 'jer_dwn'; it has: jer_up, jer_down; did you mean 'jer_down'?
    """
    known = list(known)
    if list(names) == ["all"]:
        return known
    for name in names:
        if name not in known:
            raise InvalidArgumentError(f"{unknown} {name!r}; {known_as} {', '.join(known) or 'none'}"
                                       f"{_did_you_mean(name, known)}")
    return list(names)


def validation_summary(err: Any) -> str:
    """One line naming every field a pydantic ``ValidationError`` refused (``loc: message; ...``).

    Example:
        >>> import pydantic
        >>> class M(pydantic.BaseModel):
        ...     n: int
        >>> try:
        ...     M(n="x")
        ... except pydantic.ValidationError as e:
        ...     print(validation_summary(e))
        n: Input should be a valid integer, unable to parse string as an integer
    """
    parts = []
    for e in err.errors():
        # a key from the file may hold a newline or control characters: quote it to keep one line
        loc = ".".join(str(x) if str(x).isprintable() else repr(x) for x in e["loc"]) or "<top>"
        parts.append(f"{loc}: {' '.join(str(e['msg']).split())}")
    return "; ".join(parts)


def first_line(err: BaseException) -> str:
    r"""``Type: first line of the message`` of a (third-party) error, for a one-line message.

    Example:
        >>> first_line(ValueError("bad basket\n  at offset 12"))
        'ValueError: bad basket'
    """
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0][:300]}" if text else type(err).__name__


#: errno of an ``OSError`` that the machine causes, not hepfm_root (a full disk, a quota, a file-size
#: limit, a read-only file system, no permission), with the words messages give for it.  The one set:
#: the atomic writers turn these into :class:`OutputWriteError` and the CLI gives them exit code 5 (or 3).
ENVIRONMENT_ERRNOS: Mapping[int, str] = MappingProxyType({
    errno.ENOSPC: "no space left on the device", errno.EDQUOT: "disk quota exceeded",
    errno.EFBIG: "file too large (file-size limit)", errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied", errno.EPERM: "operation not permitted",
})


def environment_exit_code(err: BaseException) -> int | None:
    """The exit code of an ``OSError`` the environment causes; None for any other error.

    3 (bad input) when it is a permission error on an existing file we may not read (an input);
    5 (output) otherwise: a full disk, a quota, a size limit, a read-only file system, no permission
    to write.

    Example:
        >>> environment_exit_code(OSError(errno.ENOSPC, "No space left on device", "/data/out.root"))
        5
        >>> environment_exit_code(OSError(errno.ENOENT, "No such file or directory", "/data/in.root")) is None
        True
    """
    if not isinstance(err, OSError) or isinstance(err, HepfmError) or err.errno not in ENVIRONMENT_ERRNOS:
        return None
    name = os.fsdecode(err.filename) if isinstance(err.filename, (str, bytes, os.PathLike)) else ""
    if err.errno in (errno.EACCES, errno.EPERM) and name and os.path.isfile(name) and not os.access(name, os.R_OK):
        return InvalidInputFileError.exit_code
    return OutputError.exit_code


def _did_you_mean(name: str, available: Iterable[str]) -> str:
    near = closest(name, available)
    return f"; did you mean {near[0]!r}?" if near else ""


class HepfmError(Exception):
    """Base class of every error raised on purpose by hepfm_root.

    Each member carries the exit code of ``hepfm`` on the class (``exit_code``): 2 usage or
    arguments, 3 bad input file or data, 4 bad spec, model, config or environment, 5 output
    problems, 6 parity refused.  1 means a bug in hepfm_root; only members that report an
    internal failure keep it (a new class that forgets its code exits 1, and a unit test says so).

    Example:
        >>> from hepfm_root.errors import OutputExistsError, ParityError
        >>> OutputExistsError.exit_code, ParityError.exit_code
        (5, 6)
    """

    exit_code = 1

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return str(self.args[0]) if self.args else ""


class InvalidArgumentError(HepfmError, ValueError):
    """Arguments of a job contradict each other or the inputs (e.g. a score branch name clash)."""

    exit_code = 2


class InvalidSpecError(HepfmError, ValueError):
    """A feature spec is malformed: unknown key, bad value, inconsistent references."""

    exit_code = 4


class BlockNotFoundError(HepfmError, KeyError):
    """A block name is not in the spec (the message lists the blocks it has)."""

    exit_code = 4


class SpecNotFoundError(HepfmError, FileNotFoundError):
    """A spec name or path names neither a built-in spec nor a readable file."""

    exit_code = 4


class InvalidInputFileError(HepfmError, OSError):
    """An input file is not ROOT, is truncated, or cannot be read."""

    exit_code = 3


class TreeNotFoundError(HepfmError, KeyError):
    """The requested tree (or RNTuple) is not in the file."""

    exit_code = 3


class EmptyInputError(HepfmError, ValueError):
    """An input holds no events where events are required."""

    exit_code = 3


class OutputError(HepfmError, OSError):
    """An output cannot be written (missing or read-only directory …)."""

    exit_code = 5


class OutputExistsError(OutputError, FileExistsError):
    """An output file exists and overwriting was not asked for."""


# --- output safety (issue 15): every refusal below is an OutputError, so the CLI exits 5 ---
class OutputIsInputError(OutputError):
    """An output is the same file as an input (after resolving links and relative paths)."""


class OutputCollisionError(OutputError):
    """Two outputs of one command would be the same file."""


class OutputNotRegularError(OutputError):
    """An output target exists and is not a regular file (a directory, device, fifo …), or not a folder."""


class ForeignOutputError(OutputError):
    """A folder output would replace a folder that is not one of hepfm's own outputs."""


class OutputWriteError(OutputError):
    """The file system refused the write: disk full, quota, file-size limit, read-only."""
# --- end output safety ---


class BranchNotFoundError(HepfmError, KeyError):
    """None of the candidate branch names for a needed field exists in the input.

    Args:
        name: the logical name that was needed (e.g. ``Jet_btag``).
        where: human description of the place searched (``"Events of nano.root"``).
        candidates: the names that were tried, in order.
        available: names that do exist, used for a "did you mean" hint.
    """

    exit_code = 3

    def __init__(
        self,
        name: str,
        *,
        where: str,
        candidates: Iterable[str] = (),
        available: Iterable[str] = (),
    ) -> None:
        cands = list(candidates)
        avail = list(available)
        tried = f" (looked for: {', '.join(cands)})" if cands else ""
        hint = ""
        for c in cands or [name]:
            hint = _did_you_mean(c, avail)
            if hint:
                break
        super().__init__(f"{name!r} not in {where}{tried}{hint}")
        self.name = name
        self.where = where
        self.candidates = cands


class CollectionNotFoundError(BranchNotFoundError):
    """None of the candidate collection names (``MET``, ``PFMET`` …) exists in the input."""


class CorrectionNotFoundError(HepfmError, KeyError):
    """A correctionlib key is not in the correction file; the message lists the keys it has.

    Example:
        >>> print(CorrectionNotFoundError("Total_AK4", where="jerc.json.gz", available=["Total_AK4PFPuppi"]))
        correction 'Total_AK4' not in jerc.json.gz (has: Total_AK4PFPuppi); did you mean 'Total_AK4PFPuppi'?
    """

    exit_code = 4

    def __init__(self, name: str, *, where: str, available: Iterable[str]) -> None:
        avail = sorted(available)
        super().__init__(f"correction {name!r} not in {where} (has: {', '.join(avail)}){_did_you_mean(name, avail)}")
        self.name = name
        self.where = where


class BranchTypeError(HepfmError, TypeError):
    """A branch exists but its type is not what the spec needs (e.g. a scalar where a collection is expected)."""

    exit_code = 3


class NonFiniteInputError(HepfmError, ValueError):
    """A branch used to build tensors holds NaN or infinite values."""

    exit_code = 3


class ModelSpecMismatchError(HepfmError, ValueError):
    """A model is asked to score tensors built with another spec, or its artifact is inconsistent."""

    exit_code = 4


class ParityError(HepfmError, ValueError):
    """An exported model disagrees with its torch original beyond the tolerance."""

    exit_code = 6


class InvalidConfigError(HepfmError, ValueError):
    """A configuration file (e.g. the detector-emulation config) is missing or malformed."""

    exit_code = 4


class UnknownProcessError(HepfmError, KeyError):
    """A physics process name is not in the generator's registry.

    Example:
        >>> print(UnknownProcessError("tbar", available=["ttbar", "ttH"]))
        unknown process 'tbar' (known: ttbar, ttH); did you mean 'ttbar'?
    """

    exit_code = 2

    def __init__(self, name: str, *, available: Iterable[str], reason: str = "") -> None:
        avail = list(available)
        why = f": {reason}" if reason else ""
        super().__init__(f"unknown process {name!r}{why} (known: {', '.join(avail)}){_did_you_mean(name, avail)}")
        self.name = name


class MissingDependencyError(HepfmError, ImportError):
    """An optional dependency is not installed (the environment): the message says which extra brings it."""

    exit_code = 4


class GenerationError(HepfmError, RuntimeError):
    """The event generator failed on its own settings (initialisation, too few events): a bug, exit 1."""

    exit_code = 1


class GeneratorSettingError(GenerationError, InvalidArgumentError):
    """Pythia refused a setting the user gave (``--pythia-setting``) or failed to initialise with it."""

    exit_code = 2


class BackendUnavailableError(HepfmError, RuntimeError):
    """The requested backend or device cannot be used in this environment."""

    exit_code = 4


class SampleNotFoundError(HepfmError, FileNotFoundError):
    """A sample name is not in the downloaded sample archive (the message names the nearest one)."""

    exit_code = 2


class SampleFetchError(HepfmError, OSError):
    """The sample archive could not be downloaded or unpacked."""

    exit_code = 3
