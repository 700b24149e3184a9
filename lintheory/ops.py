"""Elementwise operations for rules that run on NumPy, SymPy and inside numba alike.

A rule's functions (:mod:`lintheory.rules`) are written with matrix operations only, so
they run unchanged on NumPy arrays, SymPy matrices and in numba-compiled engines. An
elementwise function of a matrix is the one thing that differs between the three; the
helpers here give each one a single name that works in all of them.
"""

from __future__ import annotations

import numpy as np
from numba.extending import overload


def sign(W):
    """Elementwise sign of a matrix: ``numpy.sign`` on arrays, ``sympy.sign`` entry by
    entry on SymPy matrices, ``numpy.sign`` inside numba."""
    if isinstance(W, np.ndarray):
        return np.sign(W)
    return W.applyfunc(_sympy_sign())


def _sympy_sign():
    import sympy

    return sympy.sign


@overload(sign)
def _sign_numba(W):
    return lambda W: np.sign(W)


def contiguous(x):
    """``x`` as a C-contiguous array inside numba (a no-op on NumPy and SymPy matrices):
    the rules' compiled functions take C-contiguous arguments."""
    return x


@overload(contiguous)
def _contiguous_numba(x):
    return lambda x: np.ascontiguousarray(x)
