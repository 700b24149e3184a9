"""Clean shutdown on SIGTERM and SIGHUP: the same path as Ctrl-C.

:func:`signals_as_interrupts` turns SIGTERM (``kill``, a batch scheduler's time limit) and
SIGHUP (a closed terminal or SSH session) into :class:`Terminated`, a subclass of
``KeyboardInterrupt``; so every clean-up written for Ctrl-C runs for them too: temporary
files are removed (:func:`lintheory.io.atomic_path`), worker processes are stopped
(:func:`lintheory.parallel.imap_unordered`), finished sweep results stay on disk. The CLI
then exits with ``128 + signal number`` (143 for SIGTERM, 129 for SIGHUP), as a shell
reports a process ended by that signal.
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

    def on_signal(signum, frame):
        ignore_more()
        raise Terminated(signum)

    def on_interrupt(signum, frame):
        ignore_more()
        raise KeyboardInterrupt

    # a signal already ignored (nohup's SIGHUP, a background job's SIGINT) stays ignored
    if old[signal.SIGINT] is signal.default_int_handler:
        signal.signal(signal.SIGINT, on_interrupt)
    for s in signals:
        if old[s] is signal.SIG_DFL:
            signal.signal(s, on_signal)
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)
