"""Clean shutdown on SIGTERM and SIGHUP: the same path as Ctrl-C.

:func:`signals_as_interrupts` turns SIGTERM (``kill``, a batch scheduler's time limit) and
SIGHUP (a closed terminal or SSH session) into :class:`Terminated`, a subclass of
``KeyboardInterrupt``; so every clean-up written for Ctrl-C runs for them too: temporary
files are removed (:func:`lintheory.io.atomic_path`), worker processes are stopped
(:func:`lintheory.parallel.imap_unordered`), finished sweep results stay on disk. The CLI
then exits with ``128 + signal number`` (143 for SIGTERM, 129 for SIGHUP), as a shell
reports a process ended by that signal.

A signal that arrives while numba is converting the arguments of a compiled call (its own
Python code, e.g. reading a typed list) is not raised there: numba turns an exception at
that point into "can't unbox ..." or drops it. It is kept and raised by
:func:`raise_pending` at the next check (the ODE right-hand side and the SGD loop check
between compiled calls), or when the body ends.
"""

from __future__ import annotations

import contextlib
import signal
import threading


class Terminated(KeyboardInterrupt):
    """The process received SIGTERM or SIGHUP (``signum``); handled like Ctrl-C."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = int(signum)

    @property
    def name(self) -> str:
        """``"SIGTERM"`` or ``"SIGHUP"``."""
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        """``128 + signum``: 143 for SIGTERM, 129 for SIGHUP."""
        return 128 + self.signum


SIGNALS = (signal.SIGTERM, signal.SIGHUP)

_PENDING: list = []
"""The interrupt that arrived inside numba's own code, until :func:`raise_pending`."""


def _inside_numba(frame) -> bool:
    """Whether the interrupted Python frame, or one that called it, is numba's own code."""
    while frame is not None:
        if frame.f_globals.get("__name__", "").startswith("numba"):
            return True
        frame = frame.f_back
    return False


def raise_pending() -> None:
    """Raise the interrupt deferred out of numba's argument conversion, if there is one.

    Cheap (a list check): called between compiled calls in the hot loops."""
    if _PENDING:
        raise _PENDING.pop()


@contextlib.contextmanager
def signals_as_interrupts(signals=SIGNALS):
    """While the body runs, SIGTERM and SIGHUP raise :class:`Terminated` in the main thread.

    After the first such signal (or Ctrl-C), further SIGINT / SIGTERM / SIGHUP are ignored
    until the body has left, so a second ``kill`` cannot cut the clean-up short (SIGKILL
    still ends the process at once). Outside the main thread this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    every = (signal.SIGINT, *signals)
    old = {s: signal.getsignal(s) for s in every}

    def ignore_more():
        for s in every:
            signal.signal(s, signal.SIG_IGN)

    def interrupt(exc, frame):
        ignore_more()
        if _inside_numba(frame):  # raising here would be lost in numba: defer it
            _PENDING[:] = [exc]
            return
        raise exc

    def on_signal(signum, frame):
        interrupt(Terminated(signum), frame)

    def on_interrupt(signum, frame):
        interrupt(KeyboardInterrupt(), frame)

    # a signal already ignored (nohup's SIGHUP, a background job's SIGINT) stays ignored
    if old[signal.SIGINT] is signal.default_int_handler:
        signal.signal(signal.SIGINT, on_interrupt)
    for s in signals:
        if old[s] is signal.SIG_DFL:
            signal.signal(s, on_signal)
    try:
        yield
        raise_pending()  # a deferred interrupt no check reached still ends the command
    finally:
        _PENDING.clear()
        for s, h in old.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)
