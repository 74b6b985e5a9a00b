"""Termination signals as exceptions, so that a killed job unwinds through its atomic-output cleanups.

Batch systems send SIGTERM at the wall-time limit, a closed terminal sends SIGHUP.  Python's
default for both is to die on the spot, which leaves ``.part`` temporaries behind.  Inside
:func:`terminate_on_signals` they (and SIGINT) raise :class:`Terminated`, a
``KeyboardInterrupt``, which every ``except Exception`` lets through and every
:func:`~hepfm_root.io.atomic_output` cleans up after; the CLI then exits ``128 + signal``.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

__all__ = ["Terminated", "raise_if_terminated", "terminate_on_signals"]

#: The signal that fired inside the current :func:`terminate_on_signals` block (at most one).  The
#: handler's exception can be swallowed when the signal lands in a ``__del__`` or a C callback
#: ("Exception ignored in ..."): this record makes sure the job still stops, at the next output commit
#: (:func:`raise_if_terminated`) or at the end of the block.
_FIRED: list[int] = []

_SIGNALS = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGINT", "SIGHUP") if hasattr(signal, n))


class Terminated(KeyboardInterrupt):
    """The process got a termination signal; ``exit_code`` is the conventional ``128 + signum``.

    Example:
        >>> import signal
        >>> Terminated(signal.SIGTERM).exit_code
        143
    """

    def __init__(self, signum: int) -> None:
        super().__init__(f"terminated by {signal.Signals(signum).name}")
        self.signum = int(signum)
        self.exit_code = 128 + int(signum)


@contextlib.contextmanager
def terminate_on_signals() -> Iterator[None]:
    """Within the block SIGTERM, SIGINT and SIGHUP raise :class:`Terminated`; handlers are restored after.

    A signal that is ignored when the block starts (``nohup``) stays ignored.  Only the first
    signal raises: later ones (a second Ctrl-C, the batch system's repeat) are ignored while
    the cleanups run.  Outside the main thread it does nothing
    (Python delivers signals to the main thread only).

    Example:
        >>> import os, signal
        >>> try:
        ...     with terminate_on_signals():
        ...         os.kill(os.getpid(), signal.SIGTERM)
        ... except Terminated as err:
        ...     print(err.exit_code)
        143
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _FIRED.clear()

    def handler(signum: int, frame: FrameType | None) -> None:
        if _FIRED:
            return
        _FIRED.append(signum)
        raise Terminated(signum)

    # A signal the caller ignores (``nohup`` ignores SIGHUP) stays ignored.
    previous = {s: signal.signal(s, handler) for s in _SIGNALS if signal.getsignal(s) is not signal.SIG_IGN}
    try:
        yield
        raise_if_terminated()  # a signal whose exception was swallowed on the way still ends the job
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        _FIRED.clear()


def raise_if_terminated() -> None:
    """Raise :class:`Terminated` if a signal fired in the current block, even if its exception was swallowed.

    Called before an output is committed, so a job whose signal landed in a ``__del__`` (where Python
    only prints "Exception ignored") never places its output.

    Example:
        >>> raise_if_terminated()  # outside a block, or before any signal: nothing
    """
    if _FIRED:
        raise Terminated(_FIRED[0])
