"""Two numbers per receptive field: how oriented, and how centre-surround (isotropic).

Fields are square ``(S, S)`` arrays (odd ``S``) centred on the unit; every measure looks at
the disk of radius ``S / 2`` only, so the square window's corners do not favour the
diagonals.

- :func:`orientedness`: correlate the field with a bank of oriented bars (every
  orientation, width and phase, each bar zero-mean and unit-norm on the disk); ``R(theta)``
  is the best absolute correlation at orientation ``theta``. The index is
  ``(R(pref) - R(pref + 90 deg)) / (R(pref) + R(pref + 90 deg))`` in ``[0, 1]``: 0 for a
  field that every orientation drives alike (a difference of Gaussians), near 1 for a
  Gabor.
- :func:`isotropy`: the fraction of the field's energy (on the disk) in its rotational
  average (the mean over rings of equal distance from the centre, one-pixel rings), in
  ``[0, 1]``: 1 for any radial profile (a difference of Gaussians), small for an odd Gabor.
- :func:`random_baseline`: both indices of white Gaussian noise fields of the same size
  (mean and std), what "no structure" scores.
"""

from __future__ import annotations

import numpy as np

from .._validate import check_int

#: the default bar bank: 8 orientations, 3 widths (Gaussian sigma in pixels), and
#: phases (bar offsets from the centre) every pixel across half the window
N_ORIENTATIONS = 8
WIDTHS = (0.75, 1.5, 3.0)


def _check_field(f) -> np.ndarray:
    f = np.asarray(f, dtype=np.float64)
    if f.ndim != 2 or f.shape[0] != f.shape[1] or f.shape[0] % 2 == 0:
        raise ValueError(f"a field must be a square (S, S) array with odd S, got {f.shape}")
    return f


def _grid(size: int):
    h = size // 2
    y, x = np.mgrid[-h:h + 1, -h:h + 1].astype(np.float64)
    return x, y, (x * x + y * y) <= (size / 2.0) ** 2


def bar_bank(size: int, *, n_orientations: int = N_ORIENTATIONS, widths=WIDTHS):
    """Oriented bars ``(n_orientations, n_bars, S, S)`` and their angles (radians).

    Bar ``exp(-(u - phase)^2 / (2 sigma^2))`` with ``u = x cos(theta) + y sin(theta)``
    the distance across the bar, for each width ``sigma`` and phase ``-S/2 .. S/2`` in
    one-pixel steps; zero-mean and unit-norm on the disk, zero outside it.
    """
    size = check_int("size", size, low=3)
    n_or = check_int("n_orientations", n_orientations, low=2)
    x, y, disk = _grid(size)
    thetas = np.arange(n_or) * np.pi / n_or
    h = size // 2
    phases = np.arange(-h, h + 1, dtype=np.float64)
    bank = []
    for t in thetas:
        u = x * np.cos(t) + y * np.sin(t)
        bars = np.stack([np.exp(-(u - ph) ** 2 / (2.0 * s * s)) for s in widths
                         for ph in phases])
        bars = bars * disk
        bars -= disk * (bars.sum(axis=(1, 2), keepdims=True) / disk.sum())
        bars /= np.linalg.norm(bars, axis=(1, 2), keepdims=True) + 1e-300
        bank.append(bars)
    return np.stack(bank), thetas


def orientation_tuning(field, bank=None) -> np.ndarray:
    """``R(theta)``: best absolute correlation of the (disk-masked) field with the bars of
    each orientation, ``(n_orientations,)``; zeros for a zero field."""
    f = _check_field(field)
    if bank is None:
        bank, _ = bar_bank(f.shape[0])
    _, _, disk = _grid(f.shape[0])
    g = f * disk
    n = np.linalg.norm(g)
    if n == 0:
        return np.zeros(bank.shape[0])
    return np.abs(np.einsum("obij,ij->ob", bank, g / n)).max(axis=1)


def orientedness(field, bank=None) -> float:
    """``(R(pref) - R(orth)) / (R(pref) + R(orth))`` (see the module docstring); needs an
    even number of orientations (orth = pref + 90 deg). NaN for a zero field."""
    R = orientation_tuning(field, bank)
    n = R.size
    if n % 2:
        raise ValueError(f"orientedness needs an even number of orientations, got {n}")
    p = int(np.argmax(R))
    pref, orth = R[p], R[(p + n // 2) % n]
    return float((pref - orth) / (pref + orth)) if pref + orth > 0 else float("nan")


def rotational_average(field) -> np.ndarray:
    """The field replaced, on the disk, by its mean over each one-pixel ring around the
    centre (zero outside the disk)."""
    f = _check_field(field)
    x, y, disk = _grid(f.shape[0])
    ring = np.rint(np.hypot(x, y)).astype(int)
    sums = np.bincount(ring[disk], weights=f[disk])
    counts = np.bincount(ring[disk])
    out = np.zeros_like(f)
    out[disk] = (sums / np.maximum(counts, 1))[ring[disk]]
    return out


def isotropy(field) -> float:
    """Fraction of the field's energy on the disk in its rotational average, in [0, 1]
    (the average is the orthogonal projection onto radial fields, so this is
    ``|avg|^2 / |f|^2``). NaN for a zero field."""
    f = _check_field(field)
    _, _, disk = _grid(f.shape[0])
    e = float((f[disk] ** 2).sum())
    if e == 0:
        return float("nan")
    return float((rotational_average(f)[disk] ** 2).sum() / e)


def field_indices(fields) -> dict:
    """Both indices of each field of ``(N, S, S)``: ``{"orientedness": [...],
    "isotropy": [...]}`` (lists of N floats)."""
    fields = np.asarray(fields, dtype=np.float64)
    if fields.ndim != 3:
        raise ValueError(f"fields must be (N, S, S), got {fields.shape}")
    bank, _ = bar_bank(fields.shape[1])
    return {"orientedness": [orientedness(f, bank) for f in fields],
            "isotropy": [isotropy(f) for f in fields]}


def random_baseline(size: int, *, n: int = 500, rng: np.random.Generator) -> dict:
    """Both indices of ``n`` white Gaussian noise fields ``(size, size)``:
    ``{"orientedness": {"mean", "std"}, "isotropy": {"mean", "std"}, "n"}``."""
    if not isinstance(rng, np.random.Generator):
        raise ValueError("rng must be a numpy.random.Generator")
    size = check_int("size", size, low=3)
    n = check_int("n", n, low=2)
    idx = field_indices(rng.normal(size=(n, size, size)))
    out = {k: {"mean": float(np.mean(v)), "std": float(np.std(v))} for k, v in idx.items()}
    out["n"] = n
    return out
