"""Argument checks shared by the whole package.

Every public entry point validates its inputs with these helpers so that bad input
fails early with a sentence that names the argument and the allowed range.
"""

from __future__ import annotations

import math

import numpy as np


def check_int(name: str, value, *, low: int | None = None, high: int | None = None) -> int:
    """Return ``value`` as an int, or raise ``ValueError`` naming ``name`` and the range."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            value = int(value)
        else:
            raise ValueError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name} must be in {_range_text(low, high)}, got {value}")
    return value


def check_float(
    name: str,
    value,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
) -> float:
    """Return ``value`` as a finite float in the given range, or raise ``ValueError``."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    bad_low = low is not None and (value <= low if low_open else value < low)
    bad_high = high is not None and value > high
    if bad_low or bad_high:
        lo = "(" if low_open else "["
        raise ValueError(f"{name} must be in {_range_text(low, high, lo)}, got {value}")
    return value


MAX_RATE = 1e6
"""Largest ``lam``, ``wd`` and ``p_rate``: rates up to 1e6 times weights up to the blow-up
threshold 1e6 stay far from overflow, and a run's ``T x rate`` is checked separately
(:mod:`lintheory.preflight`)."""


def check_rates(lam, wd, p_rate) -> tuple[float, float, float]:
    """Validate the rule hyperparameters shared by every engine (theory §3-4).

    ``lam`` (decay of Q), ``wd`` (weight decay on W) and ``p_rate`` (``eta_P / eta``),
    each a finite float in ``[0, MAX_RATE]``.
    """
    return (check_float("lam", lam, low=0.0, high=MAX_RATE),
            check_float("wd (weight decay)", wd, low=0.0, high=MAX_RATE),
            check_float("p_rate", p_rate, low=0.0, high=MAX_RATE))


def check_array(name: str, value, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Return ``value`` as a float64 array with the given shape and no NaN/inf.

    ``None``, complex values (whose imaginary part would be dropped), text and other
    non-numeric values are refused with a ``ValueError`` naming ``name``.
    """
    if value is None:
        raise ValueError(f"{name} must be an array of real numbers, got None")
    raw = np.asarray(value)
    if np.iscomplexobj(raw):
        raise ValueError(f"{name} must be real, got complex values (dtype {raw.dtype}); pass "
                         "the real part explicitly if that is what you mean")
    if raw.dtype.kind not in "biuf":
        if raw.dtype.kind != "O" or not all(
                isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
                for v in raw.ravel()):
            raise ValueError(f"{name} must be an array of real numbers, got dtype "
                             f"{raw.dtype} ({type(value).__name__})")
    arr = raw.astype(np.float64, copy=False)
    if shape is not None and arr.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def check_choice(name: str, value, choices) -> str:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(str, choices))}; got {value!r}")
    return value


def _range_text(low, high, lo_bracket: str = "[") -> str:
    lo = "-inf" if low is None else f"{low}"
    hi = "inf" if high is None else f"{high:g}" if isinstance(high, float) and abs(
        high) >= 1e5 else f"{high}"
    return f"{lo_bracket}{lo}, {hi}]" if high is not None else f"{lo_bracket}{lo}, inf)"
