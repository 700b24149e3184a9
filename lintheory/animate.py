"""Animated GIF of learning in the linear network, for slides and classrooms.

For each rule (default BP, low-rank FA, low-rank RAF) the ODE of theory §4 is integrated
from the same small initial weights; each frame shows ``W2bar W1bar`` (the rotated
input-output map, which fills in along its diagonal as modes are learned) above the mode
strengths ``a_i(t)`` up to the current time.
"""

from __future__ import annotations

import numpy as np

from .dynamics import integrate
from .init import make_init
from .rules import get_rule

DEFAULT_PANELS = (("bp", None), ("fa", 2), ("raf", 2))


def compute(task, panels=DEFAULT_PANELS, *, k=40, T=20.0, frames=60, scale=1e-3, seed=1,
            progress=False):
    """Integrate every panel; returns ``{"times", "panels": [{rule, r, M (F,m,n), a (F,d)}]}``.

    ``r=None`` means full rank (``r = m``). Times are log-spaced-ish so early growth shows.
    """
    times = np.concatenate([[0.0], np.geomspace(T / 200.0, T, frames - 1)])
    out = []
    for name, r in panels:
        rule = get_rule(name)
        r = task.m if r is None else r
        w0 = make_init(task, k, r, "random", scale=scale, rng=np.random.default_rng(seed))
        traj = integrate(task, rule, w0, times, progress=progress)
        out.append({"rule": rule.name, "r": r, "M": traj.M, "a": traj.mode_strengths})
    return {"times": times, "panels": out}


def make_animation(data, task, *, fps=12, k=None):
    """Return ``(fig, matplotlib.animation.FuncAnimation)`` for :func:`compute`'s output.

    Colours and line styles of the modes are :func:`lintheory.plots.mode_style`'s (the
    same as in every figure); the map uses the diverging blue-red ``RdBu_r`` colormap,
    safe for red-green colour blindness. The title line states the sizes (``k``: the
    hidden width, if given).
    """
    from matplotlib.animation import FuncAnimation

    from .plots import GREYS, mode_style, sizes_text, style

    panels, times = data["panels"], data["times"]
    d = task.d
    q = min(task.m, task.n, d + 2)  # show the signal block and a little of the noise
    vmax = float(task.s[0])
    with style() as Figure:
        fig = Figure(figsize=(3.6 * len(panels), 6.6))
        axes = fig.subplots(2, len(panels), gridspec_kw={"height_ratios": [1.1, 1]},
                            squeeze=False)
    sizes = sizes_text([("n", task.n), ("k", k), ("m", task.m), ("d", d),
                        ("N", task.X.shape[0])])
    images, lines = [], []
    for j, p in enumerate(panels):
        ax = axes[0, j]
        im = ax.imshow(p["M"][0, :q, :q], cmap="RdBu_r", vmin=-vmax, vmax=vmax)
        uses = get_rule(p["rule"]).uses_feedback
        label = p["rule"].upper() + (f"  r = {p['r']}" if uses else "")
        ax.set_title(label + "\n" + r"$\bar W_2 \bar W_1$", fontsize=12)
        ax.set_xticks(range(q))
        ax.set_yticks(range(q))
        ax.set_xticklabels(range(1, q + 1))
        ax.set_yticklabels(range(1, q + 1))
        images.append(im)
        ax = axes[1, j]
        ls = [ax.plot([], [], color=mode_style(i)["color"], ls=mode_style(i)["ls"], lw=2.2,
                      label=f"mode {i + 1}")[0] for i in range(d)]
        ax.set_xscale("log")
        ax.set_xlim(times[1], times[-1])
        ax.set_ylim(-0.05, 1.1)
        ax.axhline(1.0, color=GREYS["grey"], lw=0.8, ls=":")
        ax.set_xlabel("time t")
        if j == 0:
            ax.set_ylabel(r"mode strength $a_i(t)$")
            ax.legend(loc="upper left", fontsize=9, frameon=False)
        lines.append(ls)
    fig.colorbar(images[-1], ax=axes[0, :].tolist(), shrink=0.8)
    stamp = fig.suptitle("", fontsize=13)

    def draw(f):
        for p, im, ls in zip(panels, images, lines):
            im.set_data(p["M"][f, :q, :q])
            for i, line in enumerate(ls):
                line.set_data(times[1 : f + 1], p["a"][1 : f + 1, i])
        stamp.set_text(f"{sizes}     t = {times[f]:.3g}")
        return [*images, *(line for ls in lines for line in ls), stamp]

    anim = FuncAnimation(fig, draw, frames=len(times), interval=1000 / fps, blit=False)
    return fig, anim


def save_gif(anim, path, *, fps=12, progress=False, staged=None):
    """Write the animation to ``path`` atomically (Pillow writer); returns ``path``.

    ``progress``: a tqdm bar over the frames while they are drawn (drawing takes most of
    the command's time). ``staged``: a :class:`lintheory.io.StagedOutputs` to stage the
    GIF in (committed with the other files of the output), instead of writing it now.
    """
    import contextlib

    from matplotlib.animation import PillowWriter

    from .io import atomic_path

    frames = getattr(anim, "_save_count", None)
    callback = None
    with contextlib.ExitStack() as stack:
        if progress:
            from tqdm.auto import tqdm

            bar = stack.enter_context(tqdm(total=frames, desc="drawing GIF", unit="frame"))
            callback = lambda i, n: bar.update(1)  # noqa: E731
        if staged is not None:
            tmp = staged.path(path, suffix=".gif")
        else:
            tmp = stack.enter_context(atomic_path(path, suffix=".gif"))
        anim.save(tmp, writer=PillowWriter(fps=fps), progress_callback=callback)
    return path
