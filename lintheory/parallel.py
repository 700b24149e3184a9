"""Run independent jobs serially, in local worker processes, or on a Dask cluster.

One function, :func:`imap_unordered`, hides the three backends; a job is ``fn(item)`` with
``fn`` an importable module-level function and ``item`` a picklable value, so the same
jobs run anywhere and give the same numbers:

- ``workers=1`` (and no scheduler): in this process, one after the other.
- ``workers=N``: in ``N`` local processes, each pinned to one BLAS / OpenMP / numba thread
  so that ``N`` workers use ``N`` cores and no more. They are forked from this process
  when that is safe (:func:`fork_is_safe`: one thread, numba's parallel layer not started;
  a worker then starts in milliseconds with every import already done), else from a clean
  ``forkserver`` process that imports the run function's modules once (about 2 s, paid
  once per process); ``spawn`` (fresh interpreters) or a fixed method can be chosen with
  ``start_method=`` or the ``LINTHEORY_START_METHOD`` variable. Each worker takes one job
  at a time; a worker that dies fails only its job, and every worker is stopped when this
  process is interrupted (Ctrl-C, SIGTERM, SIGHUP) or exits.
- ``scheduler="tcp://host:8786"`` (or a ``dask.distributed.Client``): on a Dask distributed
  cluster; results stream back to this process in completion order. Needs the ``cluster``
  extra (``pip install -e ".[cluster]"``).

Every backend runs jobs single-threaded, including the serial one, because a BLAS
reduction split over several threads can round differently: pinning is what makes serial,
local-parallel and cluster runs of one sweep give identical numbers.

This module imports nothing heavy at import time, so that a worker process can pin its
threads before NumPy's BLAS starts its thread pool.
"""

from __future__ import annotations

import contextlib
import os
import sys

from .dask_backend import CONNECT_TIMEOUT, connect  # noqa: F401 (re-exported)
from .threads import (  # noqa: F401 (re-exported: thread pinning)
    THREAD_ENV,
    _pinned_environ,
    check_workers,
    default_workers,
    pin_threads,
    single_threaded,
    thread_report,
)


def _serial(fn, items):
    with single_threaded():
        for i, item in enumerate(items):
            try:
                value = fn(item)
            except (Exception, SystemExit) as exc:  # noqa: BLE001 - reported, never fatal
                yield i, False, exc
            else:
                yield i, True, value


START_METHODS = ("spawn", "forkserver", "fork")


def fork_is_safe() -> bool:
    """True when forking this process cannot copy a lock held by another thread: Linux, one
    Python thread (no tqdm monitor, Dask client, ...) and numba's parallel threading layer
    not started. BLAS pools are fork-safe (OpenBLAS and MKL shut them down at fork)."""
    import threading

    if not sys.platform.startswith("linux") or threading.active_count() != 1:
        return False
    par = sys.modules.get("numba.np.ufunc.parallel")
    return not (par is not None and getattr(par, "_is_initialized", False))


def default_start_method() -> str:
    """``$LINTHEORY_START_METHOD`` if set; else ``"fork"`` when :func:`fork_is_safe` (workers
    start in a fraction of a second, reusing this process's imports), else
    ``"forkserver"`` (a clean server that imports the run function's modules once)."""
    method = os.environ.get("LINTHEORY_START_METHOD", "").strip()
    if method:
        return method
    return "fork" if fork_is_safe() else "forkserver"


class WorkerDied(RuntimeError):
    """A local worker process ended while running a job (``os._exit``, killed, out of
    memory); only that job fails, the others go on in a fresh worker."""


class _Stop(BaseException):
    """Raised in a worker by the parent's SIGTERM: leave through the normal exit path, so
    that multiprocessing's finalisers run (no 'leaked semaphore' warning)."""


def _worker_main(conn, fn, n_threads, close_fds=()):
    """A local worker: run ``fn`` on each ``(index, item)`` received until ``None`` or EOF.

    Ctrl-C reaches the whole terminal's process group; the worker ignores it (and SIGHUP)
    so that the parent alone decides: it terminates the workers on an interrupt. Any
    exception of ``fn``, ``SystemExit`` included, is sent back as that job's failure.
    """
    import signal

    def stop(signum, frame):
        raise _Stop

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, stop)  # the parent stops a busy worker: exit cleanly
    for fd in close_fds:  # forked: the parent's ends of the pipes, so that EOF means gone
        with contextlib.suppress(OSError):
            os.close(fd)
    parent = os.getppid()
    try:
        pin_threads(n_threads)
        while True:
            try:
                while not conn.poll(1.0):
                    if os.getppid() != parent:  # the parent (or forkserver) died: SIGKILL
                        return
                msg = conn.recv()
            except (EOFError, OSError):  # the parent is gone
                return
            if msg is None:
                return
            i, item = msg
            try:
                out = (i, True, fn(item))
            except _Stop:
                raise
            except BaseException as exc:  # noqa: BLE001 - SystemExit too: a failed job
                out = (i, False, exc)
            try:
                conn.send(out)
            except (BrokenPipeError, EOFError, OSError):
                return
            except Exception as exc:  # noqa: BLE001 - an unpicklable result or exception
                conn.send((i, False, RuntimeError(
                    f"the job's {'result' if out[1] else 'exception'} cannot be sent back "
                    f"to the parent process: {type(exc).__name__}: {exc}")))
    except _Stop:
        return


class _Worker:
    def __init__(self, ctx, fn, others=()):
        self.conn, child = ctx.Pipe()
        close = ()
        if ctx.get_start_method() == "fork":  # a forked child inherits every parent end
            close = tuple(c.fileno() for c in (self.conn, *others))
        self.proc = ctx.Process(target=_worker_main, args=(child, fn, 1, close), daemon=True)
        self.proc.start()
        child.close()
        self.job = None

    def stop(self, timeout=2.0, force=False):
        """End the process: ask politely (or SIGTERM when ``force``), then SIGKILL."""
        if self.proc.is_alive() and not force:
            with contextlib.suppress(OSError):
                self.conn.send(None)
            self.proc.join(timeout)
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(timeout)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(timeout)
        with contextlib.suppress(OSError):
            self.conn.close()
        with contextlib.suppress(Exception):
            self.proc.close()


def _processes(fn, items, workers, start_method="forkserver", preload=()):
    """Run the jobs in ``workers`` local processes, each fed one job at a time by pipe.

    A worker that dies fails only the job it was running (:class:`WorkerDied`) and is
    replaced; on any exception in this process (Ctrl-C, SIGTERM, a closed generator) every
    worker is stopped before the exception propagates, so no process is left behind.
    """
    import multiprocessing as mp
    from multiprocessing.connection import wait

    if start_method not in START_METHODS:
        raise ValueError(
            f"start_method must be one of {', '.join(START_METHODS)}; got {start_method!r}"
        )
    ctx = mp.get_context(start_method)
    if start_method == "forkserver":
        ctx.set_forkserver_preload(["__main__", fn.__module__, *preload])
    for stream in (sys.stdout, sys.stderr):  # a forked child would flush copies of these
        with contextlib.suppress(Exception):
            stream.flush()
    pending = list(range(len(items)))[::-1]  # pop() from the end: input order
    pool, finished = [], False
    try:
        with _pinned_environ(1):
            for _ in range(min(workers, len(items))):
                pool.append(_Worker(ctx, fn, [w.conn for w in pool]))
        while pending or any(w.job is not None for w in pool):
            for w in pool:
                if w.job is None and pending:
                    w.job = pending.pop()
                    try:
                        w.conn.send((w.job, items[w.job]))
                    except (BrokenPipeError, OSError):
                        pass  # the worker died idle: found by its sentinel below
                    except Exception as exc:  # noqa: BLE001 - an unpicklable item
                        yield w.job, False, exc
                        w.job = None
            busy = [w for w in pool if w.job is not None]
            ready = set(wait([w.conn for w in busy] + [w.proc.sentinel for w in busy]))
            for w in busy:
                if w.conn in ready or w.proc.sentinel in ready:
                    msg = None
                    with contextlib.suppress(EOFError, OSError):
                        if w.conn.poll():
                            msg = w.conn.recv()
                    if msg is not None:
                        w.job = None
                        yield msg
                        continue
                    if w.proc.sentinel not in ready and w.proc.is_alive():
                        continue
                    w.proc.join()
                    job, w.job = w.job, None
                    code = w.proc.exitcode
                    how = (f"killed by signal {-code}" if code is not None and code < 0
                           else f"exit code {code}")
                    w.stop(force=True)
                    pool.remove(w)
                    if pending:
                        with _pinned_environ(1):
                            pool.append(_Worker(ctx, fn, [w.conn for w in pool]))
                    yield job, False, WorkerDied(
                        f"the worker process running this job died ({how}): os._exit, "
                        "killed, out of memory, or a script that starts a sweep without "
                        "'if __name__ == \"__main__\":'")
        finished = True
    finally:
        for w in pool:
            w.stop(force=not finished)


def imap_unordered(fn, items, *, workers: int | None = 1, scheduler=None, client=None,
                   start_method: str | None = None, preload=()):
    """Yield ``(index, ok, value)`` for ``fn(item)`` over ``items``, in completion order.

    Parameters
    ----------
    fn : callable
        An importable module-level function of one argument (it is pickled by name).
    items : sequence
        Picklable arguments, one per job.
    workers : int or None
        Local worker processes; 1 runs in this process, ``None``/0 uses all cores.
        Ignored when a scheduler or client is given.
    scheduler : str, optional
        Address of a Dask distributed scheduler, e.g. ``"tcp://10.0.0.5:8786"``.
    client : dask.distributed.Client, optional
        An existing client (for example on a ``LocalCluster``); left open afterwards.
    start_method : "fork", "forkserver" or "spawn", optional
        How local workers start (default: :func:`default_start_method`: fork when it is
        safe, else forkserver; ``$LINTHEORY_START_METHOD`` overrides it).
    preload : sequence of str
        Modules the forkserver imports once before forking the workers (e.g. the modules
        the job imports lazily), so that each worker does not import them again.

    Yields
    ------
    (int, bool, object)
        The item's index, whether ``fn`` returned, and its value or the exception raised.
        An exception in one job never stops the others; ``KeyboardInterrupt`` cancels the
        jobs not yet started and propagates.
    """
    items = list(items)
    if client is not None or scheduler is not None:
        from .dask_backend import dask_map

        yield from dask_map(fn, items, scheduler, client)
        return
    workers = check_workers(workers)
    if workers == 1 or len(items) <= 1:
        yield from _serial(fn, items)
    else:
        method = start_method or default_start_method()
        yield from _processes(fn, items, workers, method, preload)


# ---------------------------------------------------------------------------------------
# Helpers for commands that run many simulations (sweep, figure2, figure3, figure-deep)


def add_worker_args(parser) -> None:
    """Add ``--workers N`` and ``--scheduler ADDRESS`` to an argparse parser."""
    parser.add_argument(
        "--workers", type=int, default=0, metavar="N",
        help="local worker processes, each pinned to one BLAS/numba thread "
        "(0 = all cores, 1 = run in this process)",
    )
    parser.add_argument(
        "--scheduler", default=None, metavar="ADDRESS",
        help="run on a Dask distributed cluster at this address (e.g. tcp://host:8786) "
        "instead of local processes; needs pip install -e '.[cluster]'. Trust: a tcp:// "
        "connection has no TLS and no authentication, and the results the workers send "
        "back are unpickled (unpickling can run code): use only a scheduler and workers "
        "you control",
    )


@contextlib.contextmanager
def quiet_monitor():
    """Bars made in the body start no tqdm monitor thread (it only refreshes stalled bars),
    so that this process stays single-threaded and can fork its workers."""
    from tqdm import tqdm

    old = tqdm.monitor_interval
    tqdm.monitor_interval = 0
    try:
        yield
    finally:
        tqdm.monitor_interval = old


def map_runs(fn, items, *, workers=1, scheduler=None, client=None, progress=False,
             desc="runs") -> list:
    """``[fn(item) for item in items]`` on any backend, in input order, with one bar.

    For commands whose runs are cheap to redo (no result files): the first exception
    raised by a run is re-raised after the others finish. For long, resumable sweeps with
    per-run result files and failure reports, use :func:`lintheory.sweep.run_sweep`.
    """
    from tqdm.auto import tqdm

    items = list(items)
    out = [None] * len(items)
    errors = []
    with quiet_monitor(), tqdm(total=len(items), desc=desc, disable=not progress,
                               unit="run") as bar:
        for i, ok, value in imap_unordered(fn, items, workers=workers, scheduler=scheduler,
                                           client=client):
            if ok:
                out[i] = value
            else:
                errors.append((i, value))
                bar.set_postfix(failed=len(errors))
            bar.update(1)
    if errors:
        i, exc = min(errors, key=lambda e: e[0])
        raise exc
    return out
