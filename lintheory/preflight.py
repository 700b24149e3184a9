"""Preflight checks of linear runs: memory, step counts and stiffness, before any work.

A run that cannot finish should fail at once with one line naming the option to change,
not allocate for minutes, hang or die with a traceback (issue 14). Three checks:

* **Memory** (:func:`check_memory`, :func:`linear_memory`): the arrays a run will
  allocate (task data ``N x (n + m)``, solver workspace, trajectories ``points x
  parameters``) against the memory available now (``MemAvailable`` of ``/proc/meminfo``,
  capped by the environment variable ``LINTHEORY_MAX_MEMORY``, bytes or ``8G``), before
  anything is allocated. The estimate counts the large arrays only (a lower bound).
* **Steps** (:func:`check_steps`): a discrete run makes ``T / lr`` steps; at most
  :data:`MAX_STEPS`.
* **Stiffness** (:func:`check_stiffness`): an explicit ODE solver (RK45, RK23, DOP853)
  needs about ``2 T x rate`` right-hand-side evaluations, where ``rate`` is the fastest
  time scale of the dynamics (:func:`fastest_rate`: the Q decay, weight decay, Oja rate,
  task and initial weights); at most :data:`MAX_EXPLICIT_STIFFNESS` (measured: RK45 made
  2.1 evaluations per unit of ``T x rate`` at ``lam`` = 1e2-1e4; 6e5 evaluations took
  115 s at n, k, m = 6, 8, 5), or :data:`MAX_IMPLICIT_STIFFNESS` for the implicit
  solvers, which are not limited by stiffness.

Every error is a :class:`PreflightError` (a ``ValueError``), so the CLI prints one line.
"""

from __future__ import annotations

import math
import os
import re

import numpy as np

MEMORY_FRACTION = 0.8
"""Share of the available memory a run may plan to use."""
MAX_STEPS = 10**10
"""Most discrete steps ``T / lr`` of one run (about 3 hours at 1 microsecond a step)."""
MAX_EXPLICIT_STIFFNESS = 1e5
"""Most ``T x rate`` for RK45, RK23 and DOP853 (about 2e5 right-hand-side evaluations)."""
MAX_IMPLICIT_STIFFNESS = 1e12
"""Most ``T x rate`` for Radau, BDF and LSODA (keeps ``T x rate`` finite; not a
measured limit)."""
MAX_WORK = 1e9
"""Most ``2 T x rate x max(parameters, 1000)`` for an explicit solver: right-hand-side
evaluations times the state's size (measured: 0.2 microseconds per weight per
evaluation for RAF at depth 1000, width 6, so about 200 s). Every solve also stops after
``MAX_WORK / max(parameters, 1000)`` evaluations. ``LINTHEORY_MAX_WORK`` overrides it
(:func:`max_work`)."""
EXPLICIT_SOLVERS = ("RK45", "RK23", "DOP853")

BYTES = 8  # float64
ODE_WORKSPACE = 16
"""Solver and right-hand-side vectors of the state's size held at once (RK45: 7 stages,
y, f, error estimate, scale, and the flow's temporaries)."""
TRAJECTORY_COPIES = 4
"""Copies of ``points x parameters`` a run holds: the solver output, its transpose, the
Trajectory's stacked matrices and the arrays written to the NPZ."""


def max_work() -> float:
    """:data:`MAX_WORK`, or the environment variable ``LINTHEORY_MAX_WORK`` (a number > 0)
    for runs that are meant to take longer."""
    try:
        value = float(os.environ.get("LINTHEORY_MAX_WORK", ""))
    except ValueError:
        return MAX_WORK
    return value if math.isfinite(value) and value > 0 else MAX_WORK


class PreflightError(ValueError):
    """A run that cannot fit in memory or finish: the message names the option."""


# --------------------------------------------------------------------------- memory
def _parse_bytes(text: str) -> int | None:
    t = text.strip().upper().removesuffix("B")
    scale = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}.get(t[-1:], 1)
    try:
        value = float(t[:-1] if scale > 1 else t) * scale
    except ValueError:
        return None
    return int(value) if math.isfinite(value) and value > 0 else None


def available_memory() -> int | None:
    """Bytes of memory available now (None if unknown), capped by ``LINTHEORY_MAX_MEMORY``."""
    found = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    found = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    if found is None:
        try:
            found = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            found = None
    cap = _parse_bytes(os.environ.get("LINTHEORY_MAX_MEMORY", "") or "0")
    if cap is not None:
        found = cap if found is None else min(found, cap)
    return found


def format_bytes(n: float) -> str:
    """``1.5 GB`` style (powers of 1024)."""
    if not math.isfinite(n):
        return "inf bytes"
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB", "EB"):
        if n < 1024 or unit == "EB":
            return f"{n:.0f} {unit}" if unit == "bytes" or n >= 100 else f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} EB"  # pragma: no cover


def check_memory(terms, what: str = "this run") -> float:
    """Raise :class:`PreflightError` when the ``(label, bytes)`` terms exceed the memory.

    The message lists the largest terms and asks for smaller values of the options their
    labels name (``--k``, ``--points``...). Returns the total bytes.
    """
    terms = sorted(((label, float(b)) for label, b in terms), key=lambda t: -t[1])
    total = float(sum(b for _, b in terms))
    avail = available_memory()
    if avail is None or total <= MEMORY_FRACTION * avail:
        return total
    big = [(lab, b) for lab, b in terms[:3] if b >= 0.1 * total] or terms[:1]
    options = []
    for lab, _ in big:
        for opt in re.findall(r"--[a-z][\w-]*", lab) or [lab.split(" = ")[0]]:
            if opt not in options:
                options.append(opt)
    parts = "; ".join(f"{lab}: {format_bytes(b)}" for lab, b in big)
    raise PreflightError(
        f"{what} needs about {format_bytes(total)} of memory ({parts}), more than the "
        f"{format_bytes(MEMORY_FRACTION * avail)} available ({MEMORY_FRACTION:.0%} of "
        f"{format_bytes(avail)} free; LINTHEORY_MAX_MEMORY sets a cap): choose a smaller "
        f"{' or '.join(options)}")


def parameter_count(n: int, m: int, widths, ranks, direct: bool = False) -> int:
    """Entries of ``Ws + Qs + Ps`` of a linear network (Python ints: no overflow)."""
    dims = [int(n), *[int(k) for k in widths], int(m)]
    L = len(dims) - 1
    ranks = [int(ranks)] * (L - 1) if np.ndim(ranks) == 0 else [int(r) for r in ranks]
    count = sum(dims[i] * dims[i + 1] for i in range(L))
    for j, r in enumerate(ranks[: L - 1]):
        cols = dims[-1] if direct else dims[j + 2]
        count += dims[j + 1] * r + r * cols
    return count


def linear_memory(*, n, m, N, widths, ranks, direct=False, points=2, sgd_points=0,
                  at_once=1, labels=None, parts=None) -> list[tuple[str, float]]:
    """``(label, bytes)`` of the large arrays of one linear run (or ``at_once`` at a time).

    ``widths``: hidden widths (``L - 1`` ints, or ``{"width": k, "depth": L}`` for a
    deep network of one width, without building the list); ``points``/``sgd_points``:
    output times of the ODE/SGD (0: none). ``labels`` maps the parts ``"N"`` (the task's
    data), ``"sgd_data"`` (the SGD engine's copies of it), ``"params"`` (solver
    workspace), ``"points"``, ``"sgd_points"`` (trajectories) to the option text shown
    (e.g. ``"--samples 10000000000"``); ``parts`` selects some of them (default: all).
    """
    P = _params(n, m, widths, ranks, direct)
    labels = {"N": f"N (samples) = {N}", "sgd_data": f"the SGD data copies (N = {N})",
              "points": f"points (output times) = {points}",
              "sgd_points": f"SGD output times = {sgd_points}",
              "params": "widths, depth", **(labels or {})}
    weights = f"{P:.3g} weights ({labels['params']})"
    labels["params"] = f"solver workspace for {weights}"
    labels["points"] = f"{labels['points']} x {weights}"
    labels["sgd_points"] = f"{labels['sgd_points']} x {weights}"
    N, n, m, k = int(N), int(n), int(m), max(1, int(at_once))
    sizes = {
        "N": BYTES * (2 * N * n + 3 * N * m),  # X, its whitened copy, noise, Y, X A^T
        "sgd_data": k * BYTES * 2 * N * (n + m) if sgd_points else 0,  # copies, transposes
        "params": k * BYTES * ODE_WORKSPACE * P,
        "points": k * BYTES * TRAJECTORY_COPIES * P * int(points),
        "sgd_points": k * BYTES * TRAJECTORY_COPIES * P * int(sgd_points),
    }
    return [(labels[key], float(sizes[key])) for key in (parts or sizes)]


def _params(n, m, widths, ranks, direct) -> int:
    if isinstance(widths, dict):  # {"width": k, "depth": L}: one width, no list built
        k, L = int(widths["width"]), int(widths["depth"])
        r = int(ranks) if np.ndim(ranks) == 0 else max(int(v) for v in ranks)
        cols = int(m) if direct else k
        return (int(n) * k + (L - 2) * k * k + k * int(m)
                + (L - 2) * (k * r + r * cols) + (k * r + r * int(m)))
    return parameter_count(n, m, widths, ranks, direct)


# --------------------------------------------------------------------------- steps
def check_steps(T: float, lr: float, names=("T (final time)", "lr (learning rate)")) -> int:
    """Steps ``round(T / lr)`` of a discrete run, or :class:`PreflightError` above
    :data:`MAX_STEPS` (checked before any cast to int64 can overflow)."""
    steps = float(T) / float(lr)
    if not steps <= MAX_STEPS:
        raise PreflightError(
            f"{names[0]} = {T:g} / {names[1]} = {lr:g} makes {steps:.3g} SGD steps, at most "
            f"{MAX_STEPS:.0e}: use a larger {names[1].split()[0]} or a smaller "
            f"{names[0].split()[0]}")
    return int(round(steps))


# --------------------------------------------------------------------------- stiffness
def _norm2(W: np.ndarray) -> float:
    """Largest singular value of ``W`` (exact for a thin matrix, else 30 power steps)."""
    W = np.asarray(W, dtype=np.float64)
    if W.size == 0:
        return 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        if min(W.shape) <= 64:
            G = W.T @ W if W.shape[1] <= W.shape[0] else W @ W.T
            return float(np.sqrt(max(np.linalg.eigvalsh(G)[-1], 0.0)))
        v = np.random.default_rng(0).standard_normal(W.shape[1])
        s = 0.0
        for _ in range(30):
            u = W @ v
            s = float(np.linalg.norm(u))
            if not s > 0 or not math.isfinite(s):
                return s
            v = W.T @ (u / s)
            v /= np.linalg.norm(v)
        return s


def _layer_gains(Ws, max_width: int = 1024) -> list[float]:
    """``|A_l|^2 |B_l|^2`` per layer ``l``: ``A_l = W_L ... W_(l+1)`` and
    ``B_l = W_(l-1) ... W_1`` (the curvature of the loss in ``W_l`` for whitened inputs).

    Exact norms of the partial products when every hidden width is at most ``max_width``;
    else the product of the layers' norms (an upper bound)."""
    L = len(Ws)
    with np.errstate(over="ignore", invalid="ignore"):
        if L > 2 and max(W.shape[0] for W in Ws[:-1]) > max_width:
            norms = [_norm2(W) for W in Ws]
            return [math.prod(v * v for j, v in enumerate(norms) if j != i)
                    for i in range(L)]
        below, prod = [1.0] * L, None
        for i in range(L):
            below[i] = 1.0 if prod is None else _norm2(prod) ** 2
            prod = Ws[i] if prod is None else Ws[i] @ prod
        above, prod = [1.0] * L, None
        for i in reversed(range(L)):
            above[i] = 1.0 if prod is None else _norm2(prod) ** 2
            prod = Ws[i] if prod is None else prod @ Ws[i]
        return [a * b for a, b in zip(above, below)]


RATE_FLAGS = {"wd": "--wd", "task": "--singular-values", "init": "--init-scale, --depth",
              "lam": "--lam", "p_rate": "--p-rate, --noise"}
"""Options named by :func:`fastest_rate` for what sets the rate (``simulate``'s)."""


def fastest_rate(task, rule, w0, settings, flags=None) -> tuple[float, str]:
    """An estimate of the fastest rate of the averaged dynamics, and what sets it.

    The largest of: the Q decay ``lam`` (rules that learn Q), the weight decay ``wd``,
    ``p_rate x (s_1^2 + sigma^2)`` (rules that learn P; an upper bound of the Oja rate),
    ``L s_1^(2 - 2/L)`` (the learned modes, Saxe et al.) and
    ``max_l |W_L ... W_(l+1)|^2 |W_(l-1) ... W_1|^2`` (the initial weights' gain).
    ``flags`` overrides :data:`RATE_FLAGS`, the options named for each.
    """
    from .rules import fixed_p, fixed_q

    f = {**RATE_FLAGS, **(flags or {})}
    s1 = float(np.max(task.s)) if task.s.size else 0.0
    L = w0.depth
    gains = _layer_gains(w0.Ws)
    candidates = [
        (settings.wd, f"wd (weight decay, {f['wd']})"),
        (L * s1 ** (2.0 - 2.0 / L), f"the task's largest singular value ({f['task']})"),
        (max(gains), f"the initial weights' gain at depth {L} ({f['init']})"),
    ]
    if rule.q_update is not fixed_q:
        candidates.append((settings.lam, f"lam (Q decay, {f['lam']})"))
    if rule.p_update is not fixed_p:
        syy = float(np.max(np.linalg.eigvalsh(task.Sigma_yy))) if task.m else 0.0
        candidates.append((settings.p_rate * syy, f"p_rate x Sigma_yy ({f['p_rate']})"))
    rate, what = max(candidates, key=lambda c: c[0] if not math.isnan(c[0]) else math.inf)
    return float(rate), what


def check_stiffness(T: float, rate: float, what: str, solver: str, *,
                    T_name: str = "--T", other_solvers: bool = True, params: int = 0,
                    size: str = "the weights") -> float:
    """Raise :class:`PreflightError` when ``T x rate`` is above the solver's limit, or
    (explicit solvers) the work ``2 T x rate x max(params, 1000)`` above :data:`MAX_WORK`.

    ``what`` says what sets the rate and names its options (``"lam (--lam)"``);
    ``T_name`` is the option of ``T``; ``other_solvers``: suggest an implicit solver;
    ``params``: the state's size and ``size`` the options that set it.
    """
    explicit = isinstance(solver, str) and solver in EXPLICIT_SOLVERS
    limit = MAX_EXPLICIT_STIFFNESS if explicit else MAX_IMPLICIT_STIFFNESS
    with np.errstate(over="ignore"):
        product = float(T) * float(rate)
    hint = ("an implicit --solver (LSODA, BDF or Radau), " if explicit and other_solvers
            else "")
    if product > limit:
        options = re.findall(r"--[a-z][\w-]*", what)
        raise PreflightError(
            f"T (final time, {T_name}) = {T:.3g} x rate {rate:.3g} set by {what} = "
            f"{product:.3g}, above the {limit:.0e} that the {solver} solver can integrate "
            f"in reasonable time (about 2 T x rate right-hand-side evaluations): use "
            f"{hint}a smaller {T_name} or a smaller {' / '.join(options) or 'rate'}")
    work = 2.0 * product * max(int(params), 1000)
    if explicit and work > max_work():
        options = re.findall(r"--[a-z][\w-]*", size)
        raise PreflightError(
            f"the ODE of {params} weights ({size}) needs about 2 T x rate = "
            f"{2 * product:.3g} right-hand-side evaluations (T = {T:.3g}, rate {rate:.3g} "
            f"set by {what}), {work:.3g} weight updates in all, above the {max_work():.0e} "
            f"the {solver} solver can do in a few minutes: use {hint}a smaller "
            f"{' / '.join(options) or 'size'} or a smaller {T_name} (or raise "
            "LINTHEORY_MAX_WORK)")
    return product


def check_initial_weights(w0, blowup: float) -> None:
    """The divergence guard (``|w| > blowup``) needs weights that start below it."""
    big = max((float(np.max(np.abs(a))) if a.size else 0.0) for a in w0.arrays)
    if not big < blowup / 10:
        raise PreflightError(
            f"the initial weights reach |w| = {big:.3g}, at or near the divergence threshold "
            f"{blowup:.0e}, so a blow-up could not be detected: use a smaller init scale "
            f"(--init-scale; at most {blowup / 1e3:.0e} per layer)")


# --------------------------------------------------------------------------- commands
FLAGS = {"n": "--n", "m": "--m", "N": "--samples", "width": "--k", "depth": "--depth",
         "points": "--points", "sgd_points": "--points", "T": "--T", "lr": "--lr",
         "init_scale": "--init-scale", "noise": "--noise (sigma)",
         "singular_values": "--singular-values"}
"""Option of each :func:`check_linear_options` argument in ``simulate`` (the default)."""


def check_linear_options(*, n, m, N, width, rank, points, depth=2, widths=None,
                         sgd_points=0, at_once=1, T=None, lr=None, init_scale=None,
                         noise=None, singular_values=None, flags=None) -> None:
    """A linear command's sizes and values checked before anything is allocated.

    Ranges (init scale, noise, singular values), the SGD step count ``T / lr`` and the
    memory of ``at_once`` runs (task data, solver workspace, ``points`` and
    ``sgd_points`` output times); every message names the option (``flags`` maps each
    argument to the command's option, default :data:`FLAGS`).
    """
    from ._validate import check_float, check_int
    from .init import MAX_SCALE
    from .task import MAX_DATA_SCALE

    f = {**FLAGS, **(flags or {})}
    for name, value, low in (("n", n, 1), ("m", m, 1), ("N", N, 2), ("width", width, 1),
                             ("depth", depth, 2)):
        check_int(f[name], value, low=low)
    check_int(f["points"], max(points, sgd_points), low=1)
    if init_scale is not None:
        check_float(f["init_scale"], init_scale, low=0.0, low_open=True, high=MAX_SCALE)
    if noise is not None:
        check_float(f["noise"], noise, low=0.0, high=MAX_DATA_SCALE)
    for v in singular_values or ():
        check_float(f["singular_values"], v, low=0.0, low_open=True, high=MAX_DATA_SCALE)
    if sgd_points and lr is not None and T is not None:
        check_steps(T, lr, names=(f["T"], f["lr"]))
    if widths is not None:
        shape, wlabel = widths, f"--widths {','.join(map(str, widths))}"
    else:
        shape = {"width": width, "depth": depth}
        wlabel = f"{f['width']} {width}" + (f", {f['depth']} {depth}" if depth > 2 else "")
    rank = max(1, min(int(rank), int(m), int(width)))
    check_memory(linear_memory(
        n=n, m=m, N=N, widths=shape, ranks=rank, points=points, sgd_points=sgd_points,
        at_once=at_once,
        labels={"N": f"{f['N']} {N}", "params": wlabel,
                "sgd_data": f"the SGD engine's copies of the data ({f['N']} {N})",
                "points": f"{f['points']} {points}",
                "sgd_points": f"{f['sgd_points']} {sgd_points}"}), "the run")


# --------------------------------------------------------------------------- sweep specs
LINEAR_INT_FIELDS = {"r": None, "seed": 0, "n": 20, "k": 40, "m": 10, "d": 4, "N": 1000,
                    "task_seed": None}
LINEAR_FLOAT_FIELDS = {"sigma": 1.0, "T": 200.0, "init_scale": 1e-3, "lam": 0.0, "wd": 0.0,
                      "p_rate": 1.0}
SWEEP_FLAGS = {"r": "--ranks", "seed": "--seeds", "n": "--n", "k": "--k", "m": "--m",
               "d": "--d", "N": "--samples", "T": "--T", "init_scale": "--init-scale",
               "lam": "--lam", "wd": "--wd", "p_rate": "--p-rate", "rule": "--rules"}
"""``sweep --kind linear`` option of each spec field."""


def check_linear_spec(spec: dict, flags=None) -> dict:
    """Types and ranges of one linear-run spec (``lintheory.linear_run``), and the run's
    memory and ``T x rate``, before it runs; returns the spec with its defaults filled in.

    Integers must be integers (``"r": 1.7`` is an error, not ``r = 1``); ``flags`` maps a
    field to the option named in messages (:data:`SWEEP_FLAGS` for a grid; by default the
    message says ``spec field r``).
    """
    from ._validate import check_float, check_int, check_rates
    from .init import MAX_SCALE
    from .rules import get_rule
    from .task import MAX_DATA_SCALE

    def name(field):
        return (flags or {}).get(field) or f"spec field {field}"

    if "rule" not in spec or "r" not in spec:
        raise ValueError("a linear-run spec needs the fields rule and r")
    out = dict(spec)
    for field, default in LINEAR_INT_FIELDS.items():
        value = out.get(field, default)
        if field == "task_seed" and value is None:
            value = out["seed"]
        low = {"N": 2, "seed": 0, "task_seed": 0}.get(field, 1)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name(field)} must be an integer, got {value!r}")
        out[field] = check_int(name(field), value, low=low)
    for field, default in LINEAR_FLOAT_FIELDS.items():
        value = out.get(field, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{name(field)} must be a number, got {value!r}")
        high = {"sigma": MAX_DATA_SCALE, "init_scale": MAX_SCALE}.get(field)
        out[field] = check_float(name(field), value, low=0.0, low_open=field in (
            "T", "init_scale"), high=high)
    check_rates(out["lam"], out["wd"], out["p_rate"])
    rule = get_rule(out["rule"])
    check_int(name("d"), out["d"], low=1, high=min(out["n"], out["m"]))
    check_int(name("r"), out["r"], low=1, high=out["m"])
    check_memory(linear_memory(
        n=out["n"], m=out["m"], N=out["N"], widths=[out["k"]], ranks=out["r"], points=2,
        labels={"N": f"{name('N')} {out['N']}", "params": f"{name('k')} {out['k']}",
                "points": "2 output times"}), "one run")
    s1 = float(out["d"])  # the task's singular values are d, ..., 1
    candidates = [(out["wd"], f"wd ({name('wd')})"), (2 * s1, f"the task ({name('d')})")]
    if rule.q_update is not _fixed("q"):
        candidates.append((out["lam"], f"lam ({name('lam')})"))
    if rule.p_update is not _fixed("p"):
        candidates.append((out["p_rate"] * (s1 * s1 + out["sigma"] ** 2),
                           f"p_rate x Sigma_yy ({name('p_rate')})"))
    rate, what = max(candidates, key=lambda c: c[0])
    check_stiffness(out["T"], rate, what, "RK45", T_name=name("T"), other_solvers=False,
                    params=parameter_count(out["n"], out["m"], [out["k"]], out["r"]),
                    size=f"{name('n')}, {name('k')}, {name('m')}")
    return out


def _fixed(which):
    from .rules import fixed_p, fixed_q

    return fixed_q if which == "q" else fixed_p


# --------------------------------------------------------------------------- figures
def _at_once(workers, runs: int) -> int:
    return max(1, min(runs, (os.cpu_count() or 1) if not workers else int(workers)))


def check_figure2(cfg, workers=1) -> None:
    """``lintheory figure2`` (a validated :class:`~lintheory.figure2.Figure2Config`):
    ranges, SGD steps and the memory of ``workers`` panels at once, before any work."""
    check_linear_options(
        n=cfg.n, m=cfg.m, N=cfg.N, width=cfg.k, rank=cfg.m, points=cfg.points,
        sgd_points=cfg.sgd_points if cfg.sgd else 0, T=cfg.T, lr=cfg.lr,
        init_scale=cfg.init_scale, noise=cfg.sigma, singular_values=cfg.singular_values,
        at_once=_at_once(workers, 6), flags={"sgd_points": "--sgd-points"})


def check_deep_figure(cfg, sgd=True, workers=1) -> None:
    """``lintheory figure-deep`` (a :class:`~lintheory.deep_figure.DeepFigureConfig`):
    ``--product-init``, SGD steps, memory at the largest depth and, per depth, the
    ``T x rate`` of the initial weights; every message names ``--depths`` or the option."""
    from ._validate import check_float
    from .init import MAX_SCALE, make_init
    from .rules import get_rule
    from .run_settings import RunSettings
    from .task import make_task

    if not cfg.depths:
        raise ValueError("--depths must list depths >= 2, got none")
    L = max(int(v) for v in cfg.depths)
    check_float("--product-init", cfg.product_init, low=0.0, low_open=True,
                high=MAX_SCALE ** 2)
    points = cfg.ode_points + (cfg.sgd_points if sgd else 0)
    check_linear_options(
        n=cfg.n, m=cfg.m, N=cfg.N, width=cfg.width, depth=L, rank=cfg.d, points=points,
        sgd_points=cfg.sgd_points if sgd else 0, T=cfg.T, lr=cfg.lr,
        at_once=_at_once(workers, 5 * len(cfg.depths)),
        flags={"N": "--samples", "width": "--width", "depth": "--depths",
               "points": "ODE and SGD output times", "sgd_points": "SGD output times"})
    task = make_task(cfg.n, cfg.m, cfg.d, cfg.N, sigma=cfg.sigma, seed=cfg.seed)
    settings = RunSettings(lam=cfg.lam)
    for depth in sorted(set(int(v) for v in cfg.depths)):
        w0 = make_init(task, [cfg.width] * (depth - 1), cfg.d,
                       scale=cfg.product_init ** (1.0 / depth),
                       rng=np.random.default_rng([cfg.seed, depth, cfg.d]))
        rate, what = fastest_rate(task, get_rule("raf"), w0, settings, flags={
            "init": f"--depths {depth}, --product-init, --width", "task": "--d",
            "p_rate": "the noise", "lam": "--lam"})
        check_stiffness(cfg.T, rate, what, "RK45", other_solvers=False,
                        params=w0.pack().size, size=f"--depths {depth}, --width {cfg.width}")


def check_animation(n, m, N, k, frames, rank) -> None:
    """``lintheory animate``: the memory of the three panels' ``--frames`` snapshots
    (trajectories and the frames' maps are kept for the GIF), before any work."""
    check_linear_options(n=n, m=m, N=N, width=k, rank=rank, points=frames, at_once=3,
                         flags={"points": "--frames"})
