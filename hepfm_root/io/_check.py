"""The one input check every scoring job runs before it reads an event.

``skim-and-score``, ``write_score_friend`` and the coffea fileset check all need the same
answer before any work starts: the file is a whole ROOT file, the tree is there and has
entries, every branch the models' specs need exists (resolved per file: versions differ),
the event-identity branches exist where the job joins by them, and a corrections config
binds to the file's branches.  :func:`check_input` gives that answer once, as one
:class:`CheckedInput`; each failure is a member of the error family naming the file.

The corrections binding is a hook (any object with ``bind(names, *, where=)``, which
:class:`~hepfm_root.corrections.Corrector` is) so that ``io`` need not import
``corrections``, its sibling in the same layer.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..errors import BranchNotFoundError, EmptyInputError
from ..spec import FeatureSpec, Resolution, resolve
from ._open import EventsInput, open_events

__all__ = ["Binder", "CheckedInput", "check_input"]


class Binder(Protocol):
    """What the check asks of a corrections object: bind the config to an input's branch names."""

    def bind(self, names: list[str], *, where: str = ...) -> Any: ...  # pragma: no cover - a protocol


@dataclass
class CheckedInput:
    """An input that passed :func:`check_input`, still open for the job to read.

    Use it as a context manager (the file is closed at the end), or call :meth:`close`.

    Attributes:
        input: the open tree (:class:`~hepfm_root.io.EventsInput`).
        entries: number of entries (at least one).
        branches: the tree's flat branch names.
        resolutions: one :class:`~hepfm_root.spec.Resolution` per spec, in the order given.
        binding: what ``corrector.bind`` returned, or None without a corrector.
    """

    input: EventsInput
    entries: int
    branches: list[str]
    resolutions: list[Resolution]
    binding: Any = None

    @property
    def path(self) -> Path:
        return self.input.path

    @property
    def tree(self) -> str:
        return self.input.tree_name

    @property
    def where(self) -> str:
        """``"Events of nano.root"``: how messages name this input."""
        return self.input.where

    def close(self) -> None:
        self.input.close()

    def __enter__(self) -> CheckedInput:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_input(
    path: str | os.PathLike, tree: str = "Events", *, specs: Iterable[FeatureSpec] = (), keys: Sequence[str] = (),
    corrector: Binder | None = None, purpose: str = "score",
) -> CheckedInput:
    """Open ``path`` and check everything a job needs before reading an event; return it open.

    In this order: the file is whole and ROOT (:func:`~hepfm_root.io.open_events`), ``tree``
    exists, it has entries, every name in ``keys`` is a branch, every spec resolves against
    the branches, and ``corrector`` (if given) binds to them.  The file is closed again when
    any check fails.

    Args:
        path: the input file.
        tree: the TTree or RNTuple.
        specs: the feature specs of the job's models.
        keys: branches the job joins by (e.g. ``("run", "luminosityBlock", "event")``).
        corrector: a corrections object to bind (``bind(names, *, where=)``), or None.
        purpose: what the events are for, in the message of an empty tree (``"skim"``, ``"score"``).

    Returns:
        A :class:`CheckedInput` (a context manager closing the file).

    Raises:
        InvalidInputFileError, TreeNotFoundError: not a whole ROOT file with ``tree``.
        EmptyInputError: the tree has no entries.
        BranchNotFoundError: a key branch or a branch a spec needs is missing (nearest name given).
        CorrectionNotFoundError, BranchNotFoundError: the corrections do not bind to this input.

    Example:
        >>> from hepfm_root.samples import sample_path
        >>> from hepfm_root.spec import load_spec
        >>> with check_input(sample_path("nano_tt_v12.root"), specs=[load_spec("six_object")]) as checked:
        ...     print(checked.where, checked.entries, len(checked.resolutions))
        Events of nano_tt_v12.root 200 1
    """
    inp = open_events(path, tree)
    try:
        entries = inp.num_entries
        if entries == 0:
            raise EmptyInputError(f"{inp.where} has 0 entries; expected events to {purpose}")
        names = inp.branch_names()
        missing = [k for k in keys if k not in names]
        if missing:
            raise BranchNotFoundError(missing[0], where=f"{inp.where} (events are joined by {', '.join(keys)})",
                                      available=names)
        resolutions = [resolve(spec, names, where=inp.where) for spec in specs]
        binding = corrector.bind(names, where=inp.where) if corrector is not None else None
    except BaseException:
        inp.close()
        raise
    return CheckedInput(inp, entries, names, resolutions, binding)
