"""Signature-compiled numba functions that compile on their first call, not at import.

``numba.njit(signature)(fn)`` compiles (or loads from the on-disk cache) when the module is
imported. For the engines' two general kernels that costs about 20 s and 11 s on a cold
cache and about 1 s on a warm one (with numba's start-up), paid by every process that
imports :mod:`lintheory`, even one that never runs them (``--help``, the NumPy engine, a
classroom notebook).
:func:`lazy_njit` gives a plain Python function with the same signature and docstring that
compiles on the first call and then forwards to the compiled one (under 0.1 µs per call on
top of numba's own dispatch).
"""

from __future__ import annotations

import functools

import numba


def lazy_njit(signature, **options):
    """Decorator: ``numba.njit(signature, **options)(fn)``, compiled on the first call.

    The wrapper keeps ``fn``'s name and docstring, exposes the uncompiled function as
    ``py_func`` (as a numba dispatcher does) and the compiled dispatcher through
    ``compiled()``. The on-disk cache (``cache=True``) is the same as with ``njit``.
    """

    def decorate(fn):
        dispatcher = None

        def compiled():
            nonlocal dispatcher
            if dispatcher is None:
                dispatcher = numba.njit(signature, **options)(fn)
            return dispatcher

        @functools.wraps(fn)
        def call(*args):
            return (dispatcher or compiled())(*args)

        call.py_func = fn
        call.compiled = compiled
        return call

    return decorate
