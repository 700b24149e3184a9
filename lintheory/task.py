"""The linear teacher task of theory §2: ``y = A x + eps``.

``A = sum_{i<=d} s_i u_i v_i^T`` with ``u_i`` (m) and ``v_i`` (n) drawn Gaussian and then
orthonormalised (QR), so that the singular values of ``A`` are *exactly* the chosen
``s_i``. Default singular values are ``d, d-1, ..., 1`` (the paper's Fig. 2 uses 4,3,2,1):
well separated and O(1). Inputs are i.i.d. ``N(0, I_n)``; with ``whiten=True`` (the
default) the sampled inputs are transformed so that the empirical ``Sigma_xx`` is exactly
``I_n``, which makes the averaged discrete dynamics and the ODEs of theory §4 agree exactly.
Noise ``eps ~ N(0, sigma^2 I_m)`` (paper: sigma = 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._validate import check_array, check_float, check_int

MAX_DATA_SCALE = 1e6
"""Largest teacher singular value and noise sigma: their squares enter ``Sigma_yy`` and
every product of the dynamics, which then stay far from overflow."""


@dataclass(frozen=True, eq=False)
class LinearTask:
    """A sampled linear teacher task with its empirical covariances and SVD (theory §2).

    Attributes
    ----------
    X : (N, n) array
        Inputs, one sample per row (whitened if ``whiten``).
    Y : (N, m) array
        Targets ``A x + eps``, one per row.
    A : (m, n) array
        Teacher map, rank ``d``.
    Sigma_xx : (n, n), Sigma_yx : (m, n), Sigma_yy : (m, m)
        Empirical covariances ``(1/N) sum x x^T`` etc. (paper A2-A4).
    U : (m, m), S : (m, n), V : (n, n)
        Full SVD ``Sigma_yx = U S V^T``; ``S`` rectangular diagonal, descending.
    s : (min(m, n),) array
        The singular values of ``Sigma_yx`` (the diagonal of ``S``).
    Sigma_yy_bar : (m, m)
        ``U^T Sigma_yy U``, the rotated output covariance that drives Oja's rule.
    """

    X: np.ndarray
    Y: np.ndarray
    A: np.ndarray
    d: int
    sigma: float
    whiten: bool
    seed: int | None
    teacher_singular_values: np.ndarray
    Sigma_xx: np.ndarray = field(repr=False)
    Sigma_yx: np.ndarray = field(repr=False)
    Sigma_yy: np.ndarray = field(repr=False)
    U: np.ndarray = field(repr=False)
    S: np.ndarray = field(repr=False)
    V: np.ndarray = field(repr=False)

    @property
    def n(self) -> int:
        """Input dimension n (``X`` is ``(N, n)``)."""
        return self.X.shape[1]

    @property
    def m(self) -> int:
        """Output dimension m (``Y`` is ``(N, m)``)."""
        return self.Y.shape[1]

    @property
    def N(self) -> int:
        """Number of samples N."""
        return self.X.shape[0]

    @property
    def s(self) -> np.ndarray:
        """Singular values of ``Sigma_yx``, shape ``(min(m, n),)`` (diagonal of ``S``)."""
        return np.diag(self.S).copy()

    @property
    def Sigma_yy_bar(self) -> np.ndarray:
        """Rotated output covariance ``U^T Sigma_yy U``, ``(m, m)`` (drives Oja, theory §4)."""
        return self.U.T @ self.Sigma_yy @ self.U

    @property
    def Sigma_xx_bar(self) -> np.ndarray:
        """Rotated input covariance ``V^T Sigma_xx V``, ``(n, n)``."""
        return self.V.T @ self.Sigma_xx @ self.V

    def params(self) -> dict:
        """The arguments that reproduce this task with :func:`make_task`."""
        return {
            "n": self.n, "m": self.m, "d": self.d, "N": self.N, "sigma": self.sigma,
            "singular_values": self.teacher_singular_values.tolist(),
            "whiten": self.whiten, "seed": self.seed,
        }


def make_task(
    n: int = 20,
    m: int = 10,
    d: int = 4,
    N: int = 1000,
    *,
    sigma: float = 1.0,
    singular_values=None,
    whiten: bool = True,
    seed: int | None = 0,
    rng: np.random.Generator | None = None,
) -> LinearTask:
    """Sample the linear teacher task of theory §2.

    Parameters
    ----------
    n, m : int
        Input and output dimensions.
    d : int
        Task rank, ``1 <= d <= min(m, n)``.
    N : int
        Number of samples (``N >= n`` when ``whiten``).
    sigma : float
        Output noise standard deviation (>= 0).
    singular_values : sequence of d floats, optional
        Singular values of ``A`` (positive); default ``d, d-1, ..., 1``.
    whiten : bool
        Make the empirical input covariance exactly the identity.
    seed : int, optional
        Seed of the ``numpy.random.Generator`` used for every draw (ignored if ``rng``).
    rng : numpy.random.Generator, optional
        Generator to draw from instead of ``default_rng(seed)``.

    Returns
    -------
    LinearTask
    """
    n = check_int("n", n, low=1)
    m = check_int("m", m, low=1)
    d = check_int("d", d, low=1, high=min(m, n))
    N = check_int("N", N, low=2)
    sigma = check_float("sigma (noise)", sigma, low=0.0, high=MAX_DATA_SCALE)
    if whiten and N < n:
        raise ValueError(f"N (samples) must be >= n = {n} to whiten the inputs, got {N}")
    if N < d:
        raise ValueError(f"N (samples) must be >= d = {d}: fewer samples than modes leave "
                         f"the task's singular values undetermined, got {N}")
    if singular_values is None:
        sv = np.arange(d, 0, -1, dtype=np.float64)
    else:
        sv = check_array("singular_values", singular_values).ravel()
        if sv.shape != (d,):
            raise ValueError(f"singular_values must have d = {d} entries, got {sv.size}")
        if np.any(sv <= 0) or np.any(sv > MAX_DATA_SCALE):
            raise ValueError(f"singular_values must all be in (0, {MAX_DATA_SCALE:g}], got "
                             f"{', '.join(f'{v:g}' for v in sv)}")
    if rng is None:
        seed = None if seed is None else check_int("seed", seed, low=0)
        rng = np.random.default_rng(seed)
    from .preflight import check_memory, linear_memory

    check_memory(linear_memory(n=n, m=m, N=N, widths=[], ranks=[], parts=("N",)),
                 "the task data")

    u, _ = np.linalg.qr(rng.standard_normal((m, d)))
    v, _ = np.linalg.qr(rng.standard_normal((n, d)))
    A = (u * sv) @ v.T

    X = rng.standard_normal((N, n))
    if whiten:
        evals, evecs = np.linalg.eigh(X.T @ X / N)
        X = X @ (evecs / np.sqrt(evals)) @ evecs.T
    Y = X @ A.T + sigma * rng.standard_normal((N, m))

    Sxx = X.T @ X / N
    Syx = Y.T @ X / N
    Syy = Y.T @ Y / N
    U, s, Vt = np.linalg.svd(Syx, full_matrices=True)
    S = np.zeros((m, n))
    S[: s.size, : s.size] = np.diag(s)
    return LinearTask(
        X=X, Y=Y, A=A, d=d, sigma=sigma, whiten=bool(whiten), seed=seed,
        teacher_singular_values=sv, Sigma_xx=Sxx, Sigma_yx=Syx, Sigma_yy=Syy,
        U=U, S=S, V=Vt.T,
    )
