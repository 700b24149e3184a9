"""Discrete learning of linear networks of any depth: online, mini-batch and full-batch SGD.

:func:`run_sgd` is the one driver (validation, sample order, chunks, progress bar,
divergence report, output snapshots) for every depth and rule; the arithmetic is done by an
engine: ``"numba"`` (default) runs the general compiled kernel of :mod:`lintheory.batch`,
or at depth 2, for the rules they know (``Rule.fused``), the fused two-layer kernels of
:mod:`lintheory.kernels` (faster: ``benchmarks/bench_sgd.py``); ``"numpy"`` runs the same
general kernel interpreted, the plain NumPy engine. All consume the *same* precomputed
sample order, so they agree to rounding (tested to 1e-10).

Time and batches
----------------
Time is ``t = lr * steps`` for every batch size, and every step applies the *mean*
per-sample update of theory §3 over its batch, so all batch sizes share the ODE limit
``lr -> 0`` of theory §4 (an online run to time T makes ``T / lr`` single-sample steps).

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

from . import kernels
from ._validate import check_choice, check_int
from .batch import batch_steps, batch_steps_py
from .dynamics import BLOWUP, check_direct, check_times
from .errors import DivergenceError
from .rules import DEFAULT_OJA_DRIVE, get_rule
from .run_settings import RunSettings
from .shutdown import raise_pending
from .trajectory import Trajectory, stack_states
from .weights import Weights

ENGINES = ("numba", "numpy")
"""``"numba"``: compiled kernels (fused at depth 2 where they apply); ``"numpy"``: the
general kernel interpreted."""

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


class _Fused:
    """The fused two-layer kernels (:mod:`lintheory.kernels`) on ``W1, W2, Q, P``."""

    name = "fused two-layer kernels"

    def __init__(self, w0: Weights, X, Y, B, full, rule, lr, lam, wd, eta_P):
        self.W = [np.array(a, dtype=np.float64, order="C", copy=True) for a in w0.arrays]
        self.X, self.Y, self.B, self.full = X, Y, B, full
        self.args = (*rule.fused, float(lr), float(lam), float(wd), float(eta_P))

    def _apply(self, steps, idx):
        with np.errstate(over="ignore", invalid="ignore"):  # divergence is checked afterwards
            if self.full:
                kernels.full_steps(*self.W, self.X, self.Y, int(steps), *self.args)
            elif self.B == 1:
                kernels.online_steps(*self.W, self.X, self.Y, idx, *self.args)
            else:
                kernels.minibatch_steps(*self.W, self.X, self.Y, idx, self.B, *self.args)

    def advance(self, steps: int, idx) -> int:
        """Advance by ``steps`` steps; return how many completed before the weights blew
        up (``steps`` when they did not): the failed chunk is replayed step by step."""
        snapshot = [a.copy() for a in self.W]
        self._apply(steps, idx)
        if not _diverged(self.W):
            return steps
        for a, s in zip(self.W, snapshot):
            a[...] = s
        for i in range(steps):
            self._apply(1, None if idx is None else idx[i * self.B : (i + 1) * self.B])
            if _diverged(self.W):
                return i
        return steps

    def state(self, template: Weights) -> Weights:
        """The current (unrotated) weights."""
        return Weights.two_layer(*self.W, rotated=False)


class _General:
    """The general kernel (:mod:`lintheory.batch`) on a flat state, compiled or not."""

    def __init__(self, w0: Weights, X, Y, B, full, rule, lr, lam, wd, eta_P, oja_scale,
                 oja_drive, compiled):
        self.name = "general kernel" + ("" if compiled else " (NumPy)")
        self.kernel = batch_steps if compiled else batch_steps_py
        self.theta = np.ascontiguousarray(w0.pack(), dtype=np.float64).copy()
        self.layout = w0.layout()
        self.L = w0.depth
        N = X.shape[0]
        self.XT, self.YT = np.ascontiguousarray(X.T), np.ascontiguousarray(Y.T)
        self.moments = (X.T @ X / N, Y.T @ X / N, Y.T @ Y / N)   # the data set's own
        self.B, self.full = B, full
        fns = rule.jitted() if compiled else (rule.feedback, rule.q_update, rule.p_update)
        drive = np.array([rule.drives_error(j, self.L, oja_drive) for j in range(self.L - 1)],
                         dtype=bool)
        self.args = (*fns, bool(rule.direct), drive, float(lr), float(lam), float(wd),
                     float(eta_P), bool(oja_scale))
        self.empty = np.zeros(0, dtype=np.int64)

    def advance(self, steps: int, idx) -> int:
        """Advance by ``steps`` steps; return how many completed before the blow-up."""
        with np.errstate(over="ignore", invalid="ignore"):
            return int(self.kernel(self.theta, *self.layout, self.L, self.XT, self.YT,
                                   *self.moments, self.empty if idx is None else idx, self.B,
                                   self.full, int(steps), BLOWUP, *self.args))

    def state(self, template: Weights) -> Weights:
        """The current (unrotated) weights."""
        return template.replace(self.theta, rotated=False)


def run_sgd(task, rule, init: Weights, times, *, lr: float | None = None, batch="full",
            lam=0.0, wd=0.0, p_rate=1.0, oja_scale=True, oja_drive=DEFAULT_OJA_DRIVE, rng=None,
            progress=False, engine="numba", settings: RunSettings | None = None) -> Trajectory:
    """Train a linear network of any depth with the discrete rules of :mod:`lintheory.batch`.

    Parameters
    ----------
    task : LinearTask
        Data ``task.X`` (N, n), ``task.Y`` (N, m), used in the unrotated frame.
    rule : str or Rule
        A name in :data:`lintheory.rules.RULES` or a :class:`~lintheory.rules.Rule`.
    init : Weights
        Initial weights, either frame (unrotated before training; not modified);
        ``init.direct`` must match the rule.
    times : (T,) array
        Output times, increasing, >= 0; time ``t`` is step ``round(t / lr)``.
    lr : float
        Learning rate ``eta > 0``; ``t = lr * steps`` for every batch size (required
        unless ``settings`` holds it).
    batch : "full", "online" or int
        All N samples per step (deterministic), one sample per step, or a mini-batch of
        that many samples (1 <= B <= N). Each step applies the mean update over its batch.
        Sample order: see the module docstring (shuffled epochs, batches wrap across them).
    lam : float
        Decay of ``Q`` (KP-Q, RAF), ``dQ = eta h (P e)^T - eta lam Q``.
    wd : float
        Weight decay on every ``W``.
    p_rate : float
        Oja learning rate ratio, ``eta_P = p_rate * lr``.
    oja_scale, oja_drive
        As in :func:`lintheory.dynamics.integrate` (the normaliser is that of the ODE).
    rng : numpy.random.Generator, int or None
        Source of the sample order (None: ``default_rng(0)``, so runs are reproducible).
        Unused for ``batch="full"``.
    progress : bool
        Show a tqdm bar over steps.
    engine : "numba" or "numpy"
        Compiled kernels (the fused two-layer ones where they apply) or the NumPy engine.
    settings : RunSettings or None
        Validated settings (:class:`lintheory.run_settings.RunSettings`); when given they
        replace ``lr, batch, lam, wd, p_rate, oja_scale, oja_drive`` and are not checked
        again (only ``batch <= N``, which needs the task).

    Returns
    -------
    Trajectory
        Rotated weights at times ``lr * round(t / lr)``, ``method="sgd"``; ``info`` holds
        ``lr, batch, batch_size, steps`` (per output time), ``p_rate, lam, wd, engine``,
        ``kernel``, ``epochs`` (permutations drawn).

    Raises
    ------
    ValueError
        On bad arguments (each names the argument and its allowed range).
    DivergenceError
        When the weights become non-finite or exceed 1e6 in magnitude; the message names
        the first such step and time and suggests ``lr / 4``.
    """
    rule = get_rule(rule)
    if settings is None:
        if lr is None:
            raise ValueError("lr (learning rate) must be given (a number > 0)")
        settings = RunSettings(lr=lr, batch=batch, lam=lam, wd=wd, p_rate=p_rate,
                               oja_scale=oja_scale, oja_drive=oja_drive)
    lr, batch, oja_scale, oja_drive = (settings.lr, settings.batch, settings.oja_scale,
                                       settings.oja_drive)
    lam, wd, p_rate = settings.rates
    check_choice("engine", engine, ENGINES)
    if not isinstance(init, Weights):
        raise ValueError(f"init must be a lintheory.Weights, got {type(init).__name__}")
    init.check_task(task)
    check_direct(rule, init)
    N = task.N
    B = batch_size(batch, N)
    times = check_times(times)
    _preflight(task, init, times, lr)
    steps_out, t_out = output_steps(times, lr)
    full = isinstance(batch, str) and batch == "full"
    stream = None if full else SampleStream(N, np.random.default_rng(0 if rng is None else rng))

    w0 = init.unrotate(task)
    X = np.ascontiguousarray(task.X, dtype=np.float64)
    Y = np.ascontiguousarray(task.Y, dtype=np.float64)
    n, m = w0.dims[0], w0.dims[-1]
    if X.shape != (N, n) or Y.shape != (N, m):  # before any compiled kernel reads them
        raise ValueError(f"task data must be X (N, n) = ({N}, {n}) and Y (N, m) = ({N}, {m}) "
                         f"for these weights, got X {X.shape} and Y {Y.shape}")
    eta_P = p_rate * lr
    if engine == "numba" and w0.depth == 2 and rule.fused is not None:
        stepper = _Fused(w0, X, Y, B, full, rule, lr, lam, wd, eta_P)
    else:
        stepper = _General(w0, X, Y, B, full, rule, lr, lam, wd, eta_P, oja_scale, oja_drive,
                           compiled=engine == "numba")
    chunk = CHUNK_FULL_STEPS if full else max(1, CHUNK_SAMPLES // B)
    L = w0.depth
    label = rule.name if L == 2 else f"{rule.name} L={L}"

    states = np.empty((len(steps_out), w0.pack().size))
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=int(steps_out[-1]), desc=f"SGD {label}", unit="step", leave=False)
    step = 0
    try:
        for j, target in enumerate(steps_out):
            while step < target:
                todo = int(min(chunk, target - step))
                idx = None if full else stream.take(todo * B)
                done = stepper.advance(todo, idx)
                raise_pending()  # Ctrl-C / SIGTERM that arrived inside the kernel's set-up
                if done < todo:
                    _raise_divergence(step + done + 1, lr, label, batch)
                step += todo
                if bar is not None:
                    bar.update(todo)
            states[j] = stepper.state(w0).rotate(task).pack()
    finally:
        if bar is not None:
            bar.close()

    info = {
        "lr": lr, "batch": batch if isinstance(batch, str) else B, "batch_size": B,
        "steps": steps_out.tolist(), "p_rate": p_rate, "lam": lam, "wd": wd, "engine": engine,
        "kernel": stepper.name, "oja_scale": bool(oja_scale), "oja_drive": oja_drive,
        "epochs": 0 if stream is None else stream.epochs,
        "sample_order": "full batch" if full else
        "fresh permutation per epoch; consecutive batches wrap across epochs",
        "dims": list(w0.dims), "ranks": list(w0.ranks),
    }
    return stack_states(task, rule.name, w0.rotate(task), t_out, states, "sgd", info)


def _preflight(task, init: Weights, times, lr) -> None:
    """Before any step: finite data (NaN in X or Y is not a learning-rate problem), weights
    below the blow-up threshold, at most ``MAX_STEPS`` steps, room for the snapshots."""
    from .preflight import check_initial_weights, check_memory, check_steps, linear_memory

    for name in ("X", "Y"):
        a = np.asarray(getattr(task, name))
        finite = np.isfinite(a)
        if not finite.all():
            raise ValueError(f"task.{name} holds {a.size - int(np.count_nonzero(finite))} "
                             f"NaN or infinite value(s) of {a.size}: the "
                             f"{'inputs' if name == 'X' else 'targets'} must be finite; a "
                             "smaller learning rate cannot help")
    check_steps(float(times[-1]), lr)
    check_memory(linear_memory(n=task.n, m=task.m, N=task.N, widths=init.widths,
                               ranks=init.ranks, direct=init.direct, points=0,
                               sgd_points=len(times),
                               parts=("sgd_data", "sgd_points")), "the SGD run")
    check_initial_weights(init, BLOWUP)


def _raise_divergence(step, lr, label, batch):
    """The run blew up at (1-based) step ``step``: stop and suggest a smaller rate."""
    t = step * lr
    suggestion = lr / 4
    raise DivergenceError(
        f"SGD ({label}, batch={batch}) diverged at step {step} (t = {t:.4g}): the weights "
        f"became non-finite or exceeded {BLOWUP:.0e} in magnitude; use a smaller learning "
        f"rate, e.g. lr={suggestion:.3g} (lr/4)",
        step=step, time=t, suggestion=suggestion,
    )
