"""Pinning BLAS / OpenMP / numba thread pools, so parallel runs give identical numbers.

A BLAS reduction split over several threads can round differently; every backend of
:mod:`lintheory.parallel` therefore runs its jobs on one thread (:func:`pin_threads`,
:func:`single_threaded`). Nothing heavy is imported here at import time, so that a worker
can pin its threads before NumPy's BLAS starts its pool.
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
