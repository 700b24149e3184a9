"""Discrete learning of the two-layer linear network: online, mini-batch and full-batch SGD.

:func:`run_sgd` is the plain-Python driver (validation, sample order, chunks, progress bar,
divergence checks, output snapshots); the arithmetic is done by one of two engines with
identical signatures: the numba kernels of :mod:`lintheory.kernels` (default) or the plain
NumPy reference of :mod:`lintheory.reference`. Both consume the *same* precomputed sample
order, so they agree to rounding (tested to 1e-10).

Time and batches
----------------
Time is ``t = lr * steps`` for every batch size, and every step applies the *mean*
per-sample update of SPEC §3 over its batch, so all batch sizes share the ODE limit
``lr -> 0`` of SPEC §4 (an online run to time T makes ``T / lr`` single-sample steps).

Sample order (online and mini-batch)
------------------------------------
The samples are visited in epochs; every epoch is a fresh random permutation of the N
samples drawn from ``rng``. The concatenated permutations form one stream that is cut into
consecutive batches of B: when B does not divide N, the batch at an epoch boundary holds
the last samples of one epoch and the first of the next (batches wrap across epochs, every
sample is used exactly once per epoch, and no sample is dropped). ``batch="full"`` uses all
N samples every step and draws nothing.
"""

from __future__ import annotations

import numpy as np

from . import kernels, reference
from ._validate import check_choice, check_float, check_int, check_rates
from .dynamics import BLOWUP, check_times
from .errors import DivergenceError
from .rules import get_rule
from .trajectory import Trajectory
from .weights import Weights

ENGINES = {"numba": kernels, "numpy": reference}
"""Engine name -> module providing ``online_steps``, ``minibatch_steps``, ``full_steps``."""

CHUNK_SAMPLES = 1 << 15
"""Samples processed per engine call (online / mini-batch) between divergence checks."""
CHUNK_FULL_STEPS = 1 << 10
"""Full-batch steps per engine call between divergence checks."""


class SampleStream:
    """Sample indices in shuffled epochs: a fresh permutation of ``range(N)`` per epoch.

    ``take(count)`` returns the next ``count`` indices of the concatenated permutations, so
    the order does not depend on how the run is cut into chunks.
    """

    def __init__(self, N: int, rng: np.random.Generator):
        self.N = N
        self.rng = rng
        self._perm = np.empty(0, dtype=np.int64)
        self._pos = 0
        self.epochs = 0

    def take(self, count: int) -> np.ndarray:
        """The next ``count`` sample indices, shape ``(count,)`` int64."""
        out = np.empty(count, dtype=np.int64)
        filled = 0
        while filled < count:
            if self._pos == self._perm.size:
                self._perm = self.rng.permutation(self.N).astype(np.int64)
                self._pos = 0
                self.epochs += 1
            c = min(count - filled, self._perm.size - self._pos)
            out[filled : filled + c] = self._perm[self._pos : self._pos + c]
            filled += c
            self._pos += c
        return out


def batch_size(batch, N: int) -> int:
    """Samples per step for ``batch`` = ``"full"`` (N), ``"online"`` (1) or an int in [1, N]."""
    if isinstance(batch, str):
        check_choice("batch", batch, ("full", "online"))
        return N if batch == "full" else 1
    return check_int("batch (mini-batch size)", batch, low=1, high=N)


def output_steps(times, lr: float) -> tuple[np.ndarray, np.ndarray]:
    """Map output times to steps ``round(t / lr)``; return ``(steps, lr * steps)``.

    Raises ``ValueError`` if two output times fall on the same step.
    """
    times = check_times(times)
    steps = np.rint(times / lr).astype(np.int64)
    same = np.flatnonzero(np.diff(steps) == 0)
    if same.size:
        i = int(same[0])
        raise ValueError(
            f"times {times[i]:g} and {times[i + 1]:g} both map to step {steps[i]} with "
            f"lr={lr:g} (t = lr * steps): space the output times by at least lr"
        )
    return steps, steps * lr


def _diverged(arrays) -> bool:
    """True when any weight is non-finite or larger than ``BLOWUP`` in magnitude."""
    for a in arrays:
        m = np.max(np.abs(a))
        if not m <= BLOWUP:  # catches NaN too
            return True
    return False


class _Stepper:
    """Advance the weights with one engine and one batch mode (online / mini-batch / full)."""

    def __init__(self, engine, B: int, N: int, X, Y, rule, lr, lam, wd, eta_P, full, rng):
        self.engine, self.B, self.X, self.Y, self.full = engine, B, X, Y, full
        self.stream = None if full else SampleStream(N, rng)
        self.args = (*rule.flags, float(lr), float(lam), float(wd), float(eta_P))

    def draw(self, steps: int):
        """The sample indices for the next ``steps`` steps (None for full batch)."""
        return None if self.full else self.stream.take(steps * self.B)

    def apply(self, W, steps: int, idx) -> None:
        """Advance the arrays ``W = [W1, W2, Q, P]`` by ``steps`` steps over ``idx``."""
        if steps == 0:
            return
        with np.errstate(over="ignore", invalid="ignore"):  # divergence is checked afterwards
            self._apply(W, steps, idx)

    def _apply(self, W, steps, idx):
        if self.full:
            self.engine.full_steps(*W, self.X, self.Y, int(steps), *self.args)
        elif self.B == 1:
            self.engine.online_steps(*W, self.X, self.Y, idx, *self.args)
        else:
            self.engine.minibatch_steps(*W, self.X, self.Y, idx, self.B, *self.args)


def run_sgd(task, rule, init: Weights, times, *, lr: float, batch="full", lam=0.0, wd=0.0,
            p_rate=1.0, rng=None, progress=False, engine="numba") -> Trajectory:
    """Train the two-layer linear network with the discrete rules of SPEC §3.

    Parameters
    ----------
    task : LinearTask
        Data ``task.X`` (N, n), ``task.Y`` (N, m), used in the unrotated frame.
    rule : str or Rule
        ``"bp"``, ``"fa"``, ``"kp"`` or ``"raf"``.
    init : Weights
        Initial weights, either frame (unrotated before training; not modified).
    times : (T,) array
        Output times, increasing, >= 0; time ``t`` is step ``round(t / lr)``.
    lr : float
        Learning rate ``eta > 0``; ``t = lr * steps`` for every batch size.
    batch : "full", "online" or int
        All N samples per step (deterministic), one sample per step, or a mini-batch of
        that many samples (1 <= B <= N). Each step applies the mean update over its batch.
        Sample order: see the module docstring (shuffled epochs, batches wrap across them).
    lam : float
        Decay of ``Q`` (KP-Q, RAF), ``dQ = eta h (P e)^T - eta lam Q``.
    wd : float
        Weight decay on ``W1`` and ``W2``.
    p_rate : float
        Oja learning rate ratio, ``eta_P = p_rate * lr``.
    rng : numpy.random.Generator, int or None
        Source of the sample order (None: ``default_rng(0)``, so runs are reproducible).
        Unused for ``batch="full"``.
    progress : bool
        Show a tqdm bar over steps.
    engine : "numba" or "numpy"
        Compiled kernels (:mod:`lintheory.kernels`) or the NumPy reference.

    Returns
    -------
    Trajectory
        Rotated weights at times ``lr * round(t / lr)``, ``method="sgd"``; ``info`` holds
        ``lr, batch, batch_size, steps`` (per output time), ``p_rate, lam, wd, engine``,
        ``epochs`` (permutations drawn).

    Raises
    ------
    ValueError
        On bad arguments (each names the argument and its allowed range).
    DivergenceError
        When the weights become non-finite or exceed 1e6 in magnitude; the message names
        the first such step and time and suggests ``lr / 4``.
    """
    rule = get_rule(rule)
    lr = check_float("lr (learning rate)", lr, low=0.0, low_open=True)
    lam, wd, p_rate = check_rates(lam, wd, p_rate)
    check_choice("engine", engine, tuple(ENGINES))
    if not isinstance(init, Weights):
        raise ValueError(f"init must be a lintheory.Weights, got {type(init).__name__}")
    init.check_task(task)
    N = task.N
    B = batch_size(batch, N)
    steps_out, t_out = output_steps(times, lr)
    full = isinstance(batch, str) and batch == "full"
    if not full:
        rng = np.random.default_rng(0 if rng is None else rng)

    w0 = init.unrotate(task)
    W = [np.array(a, dtype=np.float64, order="C", copy=True) for a in (w0.W1, w0.W2, w0.Q, w0.P)]
    X = np.ascontiguousarray(task.X, dtype=np.float64)
    Y = np.ascontiguousarray(task.Y, dtype=np.float64)
    stepper = _Stepper(ENGINES[engine], B, N, X, Y, rule, lr, lam, wd, p_rate * lr, full, rng)
    chunk = CHUNK_FULL_STEPS if full else max(1, CHUNK_SAMPLES // B)

    T = len(steps_out)
    stacks = [np.empty((T,) + a.shape) for a in W]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=int(steps_out[-1]), desc=f"SGD {rule.name}", unit="step", leave=False)
    step = 0
    try:
        for j, target in enumerate(steps_out):
            while step < target:
                todo = int(min(chunk, target - step))
                idx = stepper.draw(todo)
                snapshot = [a.copy() for a in W]
                stepper.apply(W, todo, idx)
                if _diverged(W):
                    _raise_divergence(stepper, W, snapshot, idx, step, todo, lr, rule, batch)
                step += todo
                if bar is not None:
                    bar.update(todo)
            ws = Weights(*W, rotated=False).rotate(task)
            for stack, a in zip(stacks, (ws.W1, ws.W2, ws.Q, ws.P)):
                stack[j] = a
    finally:
        if bar is not None:
            bar.close()

    info = {
        "lr": lr, "batch": batch if isinstance(batch, str) else B, "batch_size": B,
        "steps": steps_out.tolist(), "p_rate": p_rate, "lam": lam, "wd": wd, "engine": engine,
        "epochs": 0 if stepper.stream is None else stepper.stream.epochs,
        "sample_order": "full batch" if full else
        "fresh permutation per epoch; consecutive batches wrap across epochs",
    }
    return Trajectory(t_out, *stacks, rule=rule.name, method="sgd", task=task, info=info)


def _raise_divergence(stepper, W, snapshot, idx, step0, todo, lr, rule, batch):
    """Replay the failed chunk one step at a time to find the first divergent step, raise."""
    for a, s in zip(W, snapshot):
        a[...] = s
    bad = step0 + todo
    B = stepper.B
    for i in range(todo):
        sub = None if idx is None else idx[i * B : (i + 1) * B]
        stepper.apply(W, 1, sub)
        if _diverged(W):
            bad = step0 + i + 1
            break
    t = bad * lr
    suggestion = lr / 4
    raise DivergenceError(
        f"SGD ({rule.name}, batch={batch}) diverged at step {bad} (t = {t:.4g}): the weights "
        f"became non-finite or exceeded {BLOWUP:.0e} in magnitude; use a smaller learning "
        f"rate, e.g. lr={suggestion:.3g} (lr/4)",
        step=bad, time=t, suggestion=suggestion,
    )
