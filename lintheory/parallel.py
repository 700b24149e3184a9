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

#: Environment variables that set the size of BLAS / OpenMP / numba thread pools.
THREAD_ENV = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "NUMBA_NUM_THREADS",
)

_LIMITER = None  # the process-wide threadpoolctl limiter of a pinned worker


def default_workers() -> int:
    """The number of cores this process may use (``os.sched_getaffinity`` where available)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS / Windows
        return max(1, os.cpu_count() or 1)


def check_workers(workers) -> int:
    """``workers`` as a positive int; ``None`` or ``0`` mean all cores."""
    if workers is None or (isinstance(workers, int) and workers == 0):
        return default_workers()
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(
            f"workers must be a positive integer (or 0 for all cores), got {workers!r}"
        )
    return workers


def pin_threads(n: int = 1) -> None:
    """Limit this process to ``n`` BLAS / OpenMP / numba threads, for good.

    Sets the thread environment variables (read by libraries loaded later), limits the
    thread pools of libraries already loaded with ``threadpoolctl``, and calls
    ``numba.set_num_threads`` if numba is loaded. Used as the worker initialiser.
    """
    global _LIMITER
    for name in THREAD_ENV:
        os.environ[name] = str(n)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency of scikit-learn
        pass
    else:
        _LIMITER = threadpool_limits(limits=n)
    numba = sys.modules.get("numba")
    if numba is not None:  # loaded before the variables were set (a forked worker)
        par = sys.modules.get("numba.np.ufunc.parallel")
        if par is not None and getattr(par, "_is_initialized", False):
            # numba refuses a new pool size once its threads run; keep its own
            os.environ["NUMBA_NUM_THREADS"] = str(numba.config.NUMBA_NUM_THREADS)
        else:
            with contextlib.suppress(Exception):
                numba.core.config.reload_config()  # read NUMBA_NUM_THREADS=n now
        with contextlib.suppress(Exception):
            numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))


def thread_report(_=None) -> dict:
    """Thread settings of this process: the BLAS/OpenMP pools (threadpoolctl) and variables.

    Takes (and ignores) one argument so that it can be mapped over workers to check that
    they are pinned: ``list(imap_unordered(thread_report, range(2), workers=2))``.
    """
    import numpy  # noqa: F401 - load BLAS so that its pool is listed
    from threadpoolctl import threadpool_info

    return {
        "pid": os.getpid(),
        "pools": {f"{p['internal_api']}:{p['filepath']}": p["num_threads"]
                  for p in threadpool_info()},
        "env": {name: os.environ.get(name) for name in THREAD_ENV},
    }


@contextlib.contextmanager
def single_threaded():
    """Run the body with BLAS / OpenMP limited to one thread (restored afterwards)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        yield
        return
    numba = sys.modules.get("numba")
    old = None
    if numba is not None:
        with contextlib.suppress(Exception):
            old = numba.get_num_threads()
            numba.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        if old is not None:
            with contextlib.suppress(Exception):
                numba.set_num_threads(old)


@contextlib.contextmanager
def _pinned_environ(n: int = 1):
    """Set the thread variables in this process's environment while workers start."""
    saved = {name: os.environ.get(name) for name in THREAD_ENV}
    for name in THREAD_ENV:
        os.environ[name] = str(n)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


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


CONNECT_TIMEOUT = 20.0
"""Seconds to reach a Dask scheduler and hear back from it (``$LINTHEORY_CONNECT_TIMEOUT``
overrides it)."""


def _tcp_reachable(scheduler: str, timeout: float) -> None:
    """``ValueError`` naming ``--scheduler`` at once if a ``tcp://host:port`` address does
    not accept connections (a closed port, an unknown host)."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(scheduler if "://" in scheduler else f"tcp://{scheduler}")
    if parts.scheme not in ("tcp", "") or parts.hostname is None:
        return  # tls://, inproc://...: left to Dask
    try:
        port = parts.port or 8786
    except ValueError:
        raise ValueError(f"--scheduler {scheduler}: the port is not a number") from None
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            pass
    except OSError as exc:
        why = exc.strerror or str(exc) or type(exc).__name__
        raise ValueError(f"--scheduler {scheduler}: cannot connect ({why}); is the "
                         "scheduler running at that address?") from None


def connect(scheduler, timeout: float | None = None):
    """A ``dask.distributed.Client`` for ``scheduler`` (an address or a ``LocalCluster``).

    Fails with a ``ValueError`` naming ``--scheduler`` within about ``timeout`` seconds:
    at once for a closed port, after ``timeout`` for a server that accepts the connection
    but never answers as a Dask scheduler. The connection has no TLS and no
    authentication unless the address says ``tls://`` (with Dask's security settings),
    and results sent back are unpickled: use only schedulers you trust.
    """
    import threading

    if timeout is None:
        try:
            timeout = float(os.environ.get("LINTHEORY_CONNECT_TIMEOUT", CONNECT_TIMEOUT))
        except ValueError:
            raise ValueError("LINTHEORY_CONNECT_TIMEOUT must be a number of seconds") from None
    try:
        from dask.distributed import Client
    except ImportError:
        raise ValueError(
            "--scheduler needs Dask distributed: pip install -e \".[cluster]\""
        ) from None
    if isinstance(scheduler, str):
        _tcp_reachable(scheduler, timeout)
    box = {}

    def make():
        try:
            box["client"] = Client(scheduler, timeout=f"{timeout}s")
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below
            box["error"] = exc

    t = threading.Thread(target=make, name="lintheory-dask-connect", daemon=True)
    t.start()
    t.join(timeout + min(5.0, timeout))
    if t.is_alive():
        raise ValueError(f"--scheduler {scheduler}: no answer within {timeout:g} s (the "
                         "address accepts connections but is not a responsive Dask "
                         "scheduler)")
    exc = box.get("error")
    if exc is None:
        return box["client"]
    if isinstance(exc, (OSError, TimeoutError)) or "Timed out" in str(exc):
        raise ValueError(f"--scheduler {scheduler}: cannot reach the Dask scheduler "
                         f"({type(exc).__name__}: {exc})") from None
    raise exc


def _dask(fn, items, scheduler, client):
    from dask.distributed import as_completed

    own = client is None
    if own:
        client = connect(scheduler)
    futures = []
    try:
        client.run(pin_threads, 1)
        futures = client.map(fn, list(items), pure=False)
        index = {fut.key: i for i, fut in enumerate(futures)}
        for fut in as_completed(futures):
            i = index[fut.key]
            try:
                value = fut.result()
            except Exception as exc:  # noqa: BLE001 - reported, never fatal
                yield i, False, exc
            else:
                yield i, True, value
            fut.release()
    except BaseException:
        if futures:
            with contextlib.suppress(Exception):
                client.cancel(futures)
        raise
    finally:
        if own:
            client.close()


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
        yield from _dask(fn, items, scheduler, client)
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
