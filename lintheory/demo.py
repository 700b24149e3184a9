"""A narrated tour of the package in the terminal (``lintheory demo``).

The tour is data: :data:`STEPS` is a list of :class:`Step` records (a title, what is
being run, what to look at, and a function). Each function does one small experiment
with the public API, saves one figure (PNG + PDF, with a JSON of its numbers beside it)
into the output folder and returns the lines of measured results to print. The
narration and the experiments stay apart, so the text can be read (or changed) without
touching the code, and each step is a plain function that tests can call alone.

Sizes: every step computes in seconds on a laptop CPU once numba's cache is warm (the
first run compiles the ODE right-hand side), so the tour lasts as long as it takes to
read along, about two minutes; ``fast=True`` shrinks every step (used by the tests).
"""

from __future__ import annotations

import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

WIDTH = 80


@dataclass
class Context:
    """What every step receives: where figures go, the size switch, and a record."""

    out_dir: Path
    fast: bool = False
    quiet: bool = False
    figures: list = field(default_factory=list)
    numbers: dict = field(default_factory=dict)

    def save(self, fig, name: str, numbers: dict, sizes: str = "") -> Path:
        """Save ``fig`` as ``out_dir/name.png`` (+ ``.pdf``) and ``numbers`` as JSON, all
        three or none (:func:`lintheory.io.atomic_outputs`); ``sizes`` becomes the
        figure's caption line."""
        from .io import atomic_outputs
        from .plots import caption

        if sizes:
            caption(fig, "Sizes: " + sizes, y=0.995)
            fig.subplots_adjust(top=0.84)
        with atomic_outputs() as out:
            paths = out.save_figure(fig, self.out_dir / name)
            out.write_json(self.out_dir / f"{name}.json", numbers)
        self.figures.append(paths[0])
        self.numbers[name] = numbers
        return paths[0]


@dataclass(frozen=True)
class Step:
    """One stop of the tour."""

    title: str
    what: str                                   # what is being run (said before)
    look: str                                   # what to look at (said after)
    func: Callable[[Context], list[str]]        # runs, saves a figure, returns result lines


# ---------------------------------------------------------------------------- helpers
def _task(fast: bool):
    from .task import make_task

    return make_task(n=20, m=10, d=4, N=1000 if fast else 2000, sigma=1.0,
                     singular_values=[4, 3, 2, 1], seed=0)


def _fig(ncols=1, width=6.0, height=4.0):
    """A figure in the shared style (:mod:`lintheory.plots`; no pyplot) and its axes."""
    from .plots import style

    with style() as Figure:
        fig = Figure(figsize=(width, height))
        axes = fig.subplots(1, ncols)
    return fig, axes


def _sizes(task, **more) -> str:
    from .plots import sizes_text

    return sizes_text([("n", task.n), ("m", task.m), ("d", task.d), ("N", task.X.shape[0]),
                       *more.items()])


def _ascii(text: str) -> str:
    return text.replace("\u00a7", "sec. ")


def _fmt(a) -> str:
    return "(" + ", ".join(f"{x:.3f}" for x in np.asarray(a).ravel()) + ")"


def _mode_plot(ax, times, strengths, title, dashed=None):
    from .plots import REFERENCE, mode_style

    for i in range(strengths.shape[1]):
        st = mode_style(i)
        ax.plot(times, strengths[:, i], lw=2.2, color=st["color"], ls=st["ls"],
                label=f"mode {i + 1}")
        if dashed is not None:
            ax.axhline(dashed[i], **REFERENCE)
    ax.set_xscale("log")
    ax.set_xlabel("time t")
    ax.set_ylabel("mode strength $a_i(t)$")
    ax.set_title(title)
    ax.legend(frameon=False, loc="center right")


# ---------------------------------------------------------------------------- steps
def step_task(ctx: Context) -> list[str]:
    """The linear teacher task and the SVD of Sigma_yx."""
    from .plots import GREYS, OKABE_ITO

    task = _task(ctx.fast)
    fig, ax = _fig()
    colors = [OKABE_ITO["blue"]] * task.d + [GREYS["grey"]] * (task.s.size - task.d)
    ax.bar(np.arange(1, task.s.size + 1), task.s, color=colors)
    ax.set_xlabel("mode i")
    ax.set_ylabel("singular value $s_i$ of $\\Sigma_{yx}$")
    ax.set_title("the task: d = 4 signal modes (blue) and noise (grey)")
    path = ctx.save(fig, "01_task_svd", {"s": task.s, "d": task.d, "N": task.X.shape[0]},
                    _sizes(task))
    return [f"n={task.n} inputs, m={task.m} outputs, N={task.X.shape[0]} samples, "
            f"task rank d={task.d}",
            f"singular values: signal {_fmt(task.s[:task.d])}, "
            f"largest noise {task.s[task.d]:.3f}",
            f"max |Sigma_xx - I| = {np.abs(task.Sigma_xx - np.eye(task.n)).max():.1e} "
            "(whitened inputs)",
            f"figure: {path}"]


def step_saxe(ctx: Context) -> list[str]:
    """BP ODE from balanced small weights vs the Saxe et al. closed form."""
    from .dynamics import integrate
    from .init import balanced_init

    task = _task(ctx.fast)
    scale = 1e-2
    w0 = balanced_init(task, k=40, r=task.m, scale=scale, rng=np.random.default_rng(1))
    times = np.linspace(0, 8, 41 if ctx.fast else 161)
    traj = integrate(task, "bp", w0, times, rtol=1e-10, atol=1e-12)
    s = task.s[: task.d]
    e = np.exp(2 * s * times[:, None])
    closed = e / (e - 1 + s / scale**2)          # a(t) / s, with a0 = scale^2
    err = float(np.abs(traj.mode_strengths - closed).max())
    from .plots import REFERENCE, mode_style

    fig, ax = _fig()
    for i in range(task.d):
        st = mode_style(i)
        ax.plot(times, traj.mode_strengths[:, i], lw=2.2, color=st["color"], ls=st["ls"],
                label=f"mode {i + 1}, s={s[i]:.2f}")
        ax.plot(times, closed[:, i], **REFERENCE)
    ax.set_xlabel("time t")
    ax.set_ylabel("mode strength $a_i(t)$")
    ax.set_title("BP: ODE (colour) and Saxe closed form (black dashed)")
    ax.legend(frameon=False)
    path = ctx.save(fig, "02_bp_vs_saxe", {"max_abs_error": err, "s": s},
                    _sizes(task, k=40, **{"init scale": scale}))
    return [f"max |ODE - closed form| over all modes and times = {err:.1e}",
            f"final mode strengths {_fmt(traj.mode_strengths[-1])}",
            f"figure: {path}"]


def step_fa_stall(ctx: Context) -> list[str]:
    """FA with a fixed random rank-2 channel converges to S Pi, not to S."""
    from .dynamics import integrate
    from .init import make_init

    task = _task(ctx.fast)
    r = 2
    w0 = make_init(task, k=40, r=r, scale=1e-3, rng=np.random.default_rng(1))
    times = np.geomspace(1e-2, 100 if ctx.fast else 200, 50)
    traj = integrate(task, "fa", w0, times)
    PbarS = traj.P[0] @ task.S
    Pi = np.linalg.pinv(PbarS) @ PbarS
    pred = np.diag(task.S @ Pi)[: task.d] / task.s[: task.d]
    reached = traj.mode_strengths[-1]
    fig, ax = _fig()
    _mode_plot(ax, times, traj.mode_strengths,
               f"FA, fixed rank-{r} feedback: stalls at $S\\Pi$ (black dashed)", dashed=pred)
    path = ctx.save(fig, "03_fa_stalls", {"predicted": pred, "reached": reached, "r": r},
                    _sizes(task, k=40, r=r))
    rows = [("a_i predicted by S Pi", _fmt(pred)),
            (f"a_i reached at t={times[-1]:g}", _fmt(reached)),
            ("max difference", f"{np.abs(pred - reached).max():.1e}")]
    return [f"{label:<22}: {value}" for label, value in rows] + [
        f"figure: {path}"]


def step_raf(ctx: Context) -> list[str]:
    """RAF: Oja's rule turns P to the top-r modes; the network learns exactly those."""
    from .dynamics import integrate
    from .init import make_init

    task = _task(ctx.fast)
    r = 2
    w0 = make_init(task, k=40, r=r, scale=1e-3, rng=np.random.default_rng(1))
    times = np.geomspace(1e-2, 100 if ctx.fast else 200, 50)
    traj = integrate(task, "raf", w0, times)
    evecs = np.linalg.eigh(task.Sigma_yy_bar)[1][:, ::-1][:, :r]
    cos = np.linalg.svd(traj.P[-1] @ evecs, compute_uv=False)
    fig, ax = _fig()
    _mode_plot(ax, times, traj.mode_strengths, f"RAF, rank r = {r}: the top {r} modes")
    reached = traj.mode_strengths[-1]
    path = ctx.save(fig, "04_raf_top_modes", {"reached": reached, "r": r,
                                              "principal_cos": cos}, _sizes(task, k=40, r=r))
    return [f"mode strengths at t={times[-1]:g}: {_fmt(reached)}   (theory: 1, 1, 0, 0)",
            f"P's rows vs the top-{r} eigenvectors of Sigma_yy: principal-angle "
            f"cosines {_fmt(cos)}",
            f"figure: {path}"]


VERIFY_CHECKS = ("fp.spi.matrix", "kp.align.matrix", "oja.stationary", "saxe.flow")


def step_verify(ctx: Context) -> list[str]:
    """A few symbolic checks (SymPy) of the derivations behind the last three steps."""
    from .symbolic import CHECKS

    results = [CHECKS[name].run() for name in VERIFY_CHECKS]
    lines = [f"{r.status:<8}  {r.name:<16} ({_ascii(r.equations)}, {r.seconds:.1f} s)"
             for r in results]
    fig, ax = _fig(height=0.5 + 0.4 * len(results))
    ax.axis("off")
    ax.table(cellText=[[r.name, r.equations, r.status] for r in results],
             colLabels=["check", "equations", "result"], loc="center", cellLoc="left")
    ax.set_title("lintheory verify (a few of the symbolic checks)")
    path = ctx.save(fig, "05_verify", {"checks": [r.as_dict() for r in results]})
    n_ok = sum(r.ok for r in results)
    return lines + [f"{n_ok}/{len(results)} verified", f"figure: {path}"]


def step_digits(ctx: Context) -> list[str]:
    """A small MLP on the 8x8 digits with BP and with rank-10 RAF."""
    from .nn.data import load_dataset
    from .nn.train import TrainConfig, train

    data = load_dataset("digits", shape="flat")
    if ctx.fast:
        base = TrainConfig(hidden=32, depth=2, epochs=2, lr=3e-3, feedback_lr=1e-2)
    else:
        base = TrainConfig(hidden=128, depth=3, epochs=10, lr=3e-3, feedback_lr=1e-2)
    runs = {"BP": base.replace(rule="bp"), "RAF r=10": base.replace(rule="raf", rank=10)}
    hists = {k: train(c, data=data, progress=not ctx.quiet) for k, c in runs.items()}
    from .plots import REFERENCE, series_style

    fig, ax = _fig()
    for i, (name, h) in enumerate(hists.items()):
        st = REFERENCE if name == "BP" else {"color": series_style(0)["color"]}
        ax.plot(h["epoch"], 100 * np.asarray(h["test_acc"]), marker="os"[i % 2],
                lw=2.0 if name != "BP" else 1.4, label=name,
                **{k: v for k, v in st.items() if k != "lw"})
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"digits (8x8, CPU, not CIFAR): MLP {base.depth} x {base.hidden}")
    ax.legend(frameon=False)
    path = ctx.save(fig, "06_digits_raf_vs_bp",
                    {k: {"test_acc": h["test_acc"], "config": h["config"]}
                     for k, h in hists.items()},
                    f"1,797 images of 8x8 digits, MLP {base.depth} x {base.hidden}, "
                    f"{base.epochs} epochs, RAF rank 10")
    angles = [f["angle_deg"] for f in hists["RAF r=10"]["feedback"]]
    return [f"{name:<9} test accuracy {h['test_acc'][-1]:.3f} after {len(h['epoch'])} "
            f"epochs ({h['seconds_total']:.1f} s)" for name, h in hists.items()] + [
            "RAF angle between Q P and W^T per layer (deg): "
            + ", ".join(f"{a:.0f}" for a in angles),
            f"figure: {path}"]


NEXT = [
    ("lintheory figure2", "the paper's Figure 2: modes under BP, FA, KP-Q, RAF"),
    ("lintheory verify", "every symbolic check of the derivations"),
    ("lintheory simulate", "one linear run (ODE and/or SGD) to JSON + NPZ"),
    ("lintheory train", "one MLP / CNN / ViT on digits with any feedback rule"),
    ("lintheory sweep", "resumable grids of ranks, rules, layers, seeds"),
    ("lintheory figure3", "accuracy vs feedback rank, like the paper's Fig. 3"),
    ("lintheory figure-deep", "deep linear networks: the theory beyond two layers"),
    ("lintheory animate", "a GIF of W2bar W1bar filling in, for slides"),
    ("examples/", "numbered scripts (percent format: open as notebooks)"),
]


def step_next(ctx: Context) -> list[str]:
    """Where to go next (nothing is run). Every command of :data:`NEXT` exists (the
    tests check it against the CLI; the tour itself does not import the CLI)."""
    return [f"{cmd:<22} {text}" for cmd, text in NEXT]


STEPS: list[Step] = [
    Step("The task and its SVD",
         "A linear teacher y = A x + noise with four signal modes (singular values 4, "
         "3, 2, 1), n=20 inputs, m=10 outputs. Everything in the theory is organised by "
         "the SVD Sigma_yx = U S V^T: each singular value s_i is a mode.",
         "Four large singular values (the signal) and six small ones (finite-sample "
         "noise).",
         step_task),
    Step("Backprop: the ODE against the Saxe et al. closed form",
         "Integrate the averaged gradient flow of a two-layer linear network (paper "
         "Eq. 5) from small balanced weights, and compare each mode with the closed "
         "form a(t) = s e^{2st} / (e^{2st} - 1 + s/a0).",
         "The error is at the solver's tolerance; strong modes are learned first.",
         step_saxe),
    Step("Feedback alignment with a fixed rank-2 channel stalls at S Pi",
         "Now the hidden layer gets the error through a fixed random B = Q P of rank "
         "r=2 < d=4. The theory (Sec. 3.1) predicts W2bar W1bar -> S Pi, Pi the "
         "projector onto the row space of Pbar S: a random 2-D slice of the task.",
         "The reached mode strengths equal the prediction from the initial P alone, "
         "and are not 1: low-rank FA learns a random projection of the task.",
         step_fa_stall),
    Step("RAF: Oja's rule finds the top-r modes",
         "Restricted Adaptive Feedback lets P learn by Oja's rule on the target "
         "covariance and Q by a Kolen-Pollack rule (Eqs. 7-10), same rank r=2.",
         "Modes 1 and 2 reach 1, modes 3 and 4 stay near 0: a rank-r channel learns "
         "exactly the r strongest modes, and P spans their eigenvectors (cosines 1).",
         step_raf),
    Step("The derivations, checked symbolically",
         "SymPy runs a few of the checks of 'lintheory verify' on the very function "
         "the ODE solver compiles: S Pi is a fixed point, KP-Q aligns Q with W2^T P^T, "
         "Oja's fixed points, and the Saxe mode equation.",
         "Every check says 'verified'. 'lintheory verify --break sign_flip' runs the "
         "same checks on a deliberately broken flow and shows which ones catch it.",
         step_verify),
    Step("A nonlinear network on digits: RAF rank 10 vs BP",
         "The NumPy engine lintheory.nn trains a ReLU MLP on scikit-learn's 8x8 digits "
         "(1,797 images, 10 classes; on CPU, not CIFAR) with BP and with RAF of rank "
         "10 in every layer, the number of classes.",
         "RAF starts behind BP: its feedback Q P must first turn towards W^T (the "
         "angles above; 90 deg is no alignment) and it closes the gap over the epochs. "
         "Ranks 1 to 10 and more epochs: examples/05_raf_rank_vs_accuracy.py and "
         "'lintheory figure3'.",
         step_digits),
    Step("Where to go next",
         "Each step above has a command (or an example script) that does it in full.",
         "'lintheory COMMAND --help' lists a command's options.",
         step_next),
]


# ---------------------------------------------------------------------------- driver
def _say(text: str, indent: str = "  ") -> str:
    return textwrap.fill(" ".join(text.split()), WIDTH, initial_indent=indent,
                         subsequent_indent=indent)


def run_demo(out_dir="figures/demo", *, fast: bool = False, quiet: bool = False,
             steps: list[Step] | None = None, echo=print) -> Context:
    """Run the tour, printing the narration through ``echo`` (nothing but the final
    summary line when ``quiet``). Returns the :class:`Context` (figures, numbers)."""
    steps = STEPS if steps is None else steps
    ctx = Context(out_dir=Path(out_dir), fast=bool(fast), quiet=bool(quiet))
    say = (lambda *a: None) if quiet else echo
    t_start = time.perf_counter()
    say("lintheory demo: a tour of learning with low-dimensional error feedback")
    say("(Hanut & Kadmon, arXiv 2502.20580)")
    say(f"figures go to {ctx.out_dir}/" + ("  (fast mode: small sizes)" if fast else ""))
    with _one_blas_thread():
        _run_steps(steps, ctx, say)
    total = time.perf_counter() - t_start
    echo(f"demo finished in {total:.0f} s: {len(ctx.figures)} figures in {ctx.out_dir}/")
    return ctx


def _one_blas_thread():
    """One BLAS thread: the demo's matrices are tiny, and on a busy machine OpenBLAS's
    spinning worker threads made the digits step up to 6x slower (measured)."""
    import contextlib

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:                                  # pragma: no cover
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _run_steps(steps, ctx, say) -> None:
    for i, step in enumerate(steps, 1):
        say("")
        say(f"[{i}/{len(steps)}] {step.title}")
        say("-" * min(WIDTH, len(step.title) + 6))
        say(_say("What runs: " + step.what))
        t0 = time.perf_counter()
        lines = step.func(ctx)
        dt = time.perf_counter() - t0
        for line in lines:
            say(textwrap.fill(line, WIDTH, initial_indent="    ", subsequent_indent="      ",
                              break_on_hyphens=False, break_long_words=False))
        say(_say("What to look at: " + step.look))
        if step.func is not step_next:
            say(f"  ({dt:.1f} s)")
