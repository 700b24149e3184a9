"""The Dask backend of :func:`lintheory.parallel.imap_unordered`: reach a scheduler and
run jobs on it.

:func:`connect` fails fast with a message naming ``--scheduler`` (a closed port at once,
a silent server after :data:`CONNECT_TIMEOUT` seconds); :func:`dask_map` streams results
back in completion order. The connection has no TLS or authentication and results come
back pickled: use it only with a scheduler you trust (see the README, "Reliability and
security"). Needs the ``cluster`` extra.
"""

from __future__ import annotations

import contextlib
import os

from .threads import pin_threads

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


def dask_map(fn, items, scheduler, client):
    """Yield ``(index, ok, value)`` for ``fn(item)`` on a Dask cluster, in completion
    order (every worker pinned to one thread first)."""
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
