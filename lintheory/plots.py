"""Drawing shared by the figures: style, mode colours, the mode-strength panel.

Each figure is its own module holding a config, a data function and a plot function
(:mod:`lintheory.figure2`, :mod:`lintheory.deep_figure`, :mod:`lintheory.figure3`,
:mod:`lintheory.figure4`); the linear ones draw their panels with :func:`mode_panel`.
Nothing here computes dynamics or writes files. Figures are made without pyplot, so no
screen or GUI backend is needed (save them with :func:`lintheory.io.save_figure`).
"""

from __future__ import annotations

import contextlib

import numpy as np

STYLE = {
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "lines.linewidth": 1.6,
}
"""rcParams shared by every lintheory figure (applied while the figure is built)."""

MODE_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf",
               "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22")


def mode_color(i: int) -> str:
    """Colour of signal mode ``i`` (0-based), the same in every panel and figure."""
    return MODE_COLORS[i % len(MODE_COLORS)]


@contextlib.contextmanager
def style():
    """Context manager applying :data:`STYLE`; yields ``matplotlib.figure.Figure``.

    Figures are built without pyplot (no global figure registry to leak into, no GUI
    backend, and a faster import); save them with :func:`lintheory.io.save_figure`.
    """
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(STYLE):
        yield Figure


def mode_panel(ax, p: dict, d: int, *, title_size=None) -> None:
    """Draw one panel of mode strengths on ``ax``: the ODE's ``a_i(t)`` as lines, SGD as
    open markers, the fixed-point prediction (if any) as dashed lines, log time axis.

    ``p`` holds ``times`` (T,), ``ode`` (T, d), optional ``sgd_times`` and ``sgd``
    (T', d), ``prediction`` (d,) and ``title``; only times > 0 are drawn (log axis).
    Shared by Figure 2 and the deep-network figure.
    """
    from matplotlib.ticker import NullLocator

    t = np.asarray(p["times"], dtype=float)
    ode = np.asarray(p["ode"], dtype=float)
    on = t > 0
    pred = p.get("prediction")
    for i in range(d):
        c = mode_color(i)
        if pred is not None:
            ax.axhline(float(pred[i]), color=c, ls="--", lw=1.0, alpha=0.8)
        ax.plot(t[on], ode[on, i], color=c)
        if p.get("sgd") is not None:
            ts = np.asarray(p["sgd_times"], dtype=float)
            a = np.asarray(p["sgd"], dtype=float)
            keep = ts > 0
            ax.plot(ts[keep], a[keep, i], "o", color=c, ms=4, mfc="none", mew=1.1)
    ax.set_xscale("log")
    # No minor ticks: log-axis tick generation dominates the drawing time.
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlim(t[on][0], t[-1])
    ax.set_ylim(-0.05, 1.12)
    if title_size is None:
        ax.set_title(p["title"], loc="left")
    else:
        ax.set_title(p["title"], loc="left", fontsize=title_size)
    ax.grid(alpha=0.25, lw=0.5)


def label_mode_axes(axes) -> None:
    """Axis labels of a grid of :func:`mode_panel` axes (time below, ``a_i`` on the left)."""
    for ax in axes[-1]:
        ax.set_xlabel("time t (= lr × steps)")
    for ax in axes[:, 0]:
        ax.set_ylabel(r"mode strength $a_i$")


def __getattr__(name):
    """``figure2`` (the drawing of Figure 2) now lives in :mod:`lintheory.figure2`."""
    if name == "figure2":
        from .figure2 import plot_figure2

        return plot_figure2
    raise AttributeError(f"module 'lintheory.plots' has no attribute {name!r}")
