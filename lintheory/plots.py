"""Drawing shared by the figures: style, palette, line styles, the mode-strength panel.

Every lintheory figure, the demo and the animation take their colours and line styles
from here, so they are the same everywhere and stay readable by colour-blind readers and
in greyscale:

- :data:`PALETTE`: the Okabe & Ito (2008) colour-blind-safe colours plus two greys;
  nothing else is drawn (``tests/test_figure_style.py`` checks every figure);
- :func:`mode_style`: signal mode ``i``'s colour, line style (ODE lines) and marker (SGD
  points): modes differ in dash pattern and marker too, not in colour alone;
- :func:`series_style`: the same for the i-th curve of a panel (rules, conditions);
- :data:`REFERENCE`: how a reference line (BP, a fixed point) is drawn: black, dashed,
  on top of the curves.

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

OKABE_ITO = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "bluish green": "#009E73",
    "reddish purple": "#CC79A7",
    "vermillion": "#D55E00",
    "sky blue": "#56B4E9",
    "black": "#000000",
    "yellow": "#F0E442",
}
"""The eight colours of Okabe & Ito, "Color Universal Design" (2008), by name."""

GREYS = {"dark grey": "#555555", "grey": "#999999", "light grey": "#CCCCCC"}
"""Neutral greys for bands, noise and backgrounds."""

PALETTE = tuple(OKABE_ITO.values()) + tuple(GREYS.values())
"""Every colour a lintheory figure draws lines, markers, bars and bands with."""

_ORDER = ("blue", "orange", "bluish green", "reddish purple", "vermillion", "sky blue",
          "black")  # yellow is too light for lines on white
_DASHES = ("-", (0, (5, 1.5)), (0, (5, 1.5, 1.2, 1.5)), (0, (1.2, 1.2)), (0, (8, 2, 2, 2)),
           (0, (3, 1, 1, 1, 1, 1)), (0, (2, 3)))
_MARKERS = ("o", "s", "^", "D", "v", "P", "X")

MODE_COLORS = tuple(OKABE_ITO[name] for name in _ORDER)
"""Colour of signal mode i (0-based) is ``MODE_COLORS[i % 7]``."""

REFERENCE = {"color": OKABE_ITO["black"], "ls": (0, (3, 2)), "lw": 1.0, "zorder": 4}
"""Keyword arguments of a reference line (BP, a fixed-point prediction): black, dashed,
thinner than the curves and drawn above them, so it is never hidden."""

BAND = {"color": GREYS["grey"], "alpha": 0.25, "lw": 0}
"""Keyword arguments of a reference band (e.g. BP's mean +- std)."""


def mode_color(i: int) -> str:
    """Colour of signal mode ``i`` (0-based), the same in every panel and figure."""
    return MODE_COLORS[i % len(MODE_COLORS)]


def mode_style(i: int) -> dict:
    """``{"color", "ls", "marker"}`` of signal mode ``i`` (0-based): the line style of
    its ODE curve and the marker of its SGD points differ between modes, so the modes
    stay apart in greyscale (seven distinct combinations, then they repeat)."""
    j = i % len(_ORDER)
    return {"color": MODE_COLORS[j], "ls": _DASHES[j], "marker": _MARKERS[j]}


series_style = mode_style
"""``series_style(i)``: the style of the i-th curve of a panel (a rule, a condition): the
same sequence as :func:`mode_style`."""


def caption(fig, text: str, *, y: float = 1.0, fontsize="small") -> None:
    """A caption line at the top of ``fig`` (above the panels): the figure's sizes and
    what its marks mean."""
    fig.text(0.5, y, text, ha="center", va="top", fontsize=fontsize, wrap=True)


def sizes_text(pairs) -> str:
    """``"n = 20, k = 40, ..."`` from ``(name, value)`` pairs (None values left out)."""
    return ", ".join(f"{k} = {_num(v)}" for k, v in pairs if v is not None)


def _num(v) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, int) and abs(v) >= 10_000:
        return f"{v:,}"
    return str(v)


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


def mode_panel(ax, p: dict, d: int, *, title_size=None, linear_below: float | None = None
               ) -> None:
    """Draw one panel of mode strengths on ``ax``: the ODE's ``a_i(t)`` as lines (one
    :func:`mode_style` per mode), SGD as open markers, the fixed-point prediction (if any)
    as :data:`REFERENCE` lines above the curves; log time axis.

    ``p`` holds ``times`` (T,), ``ode`` (T, d), optional ``sgd_times`` and ``sgd``
    (T', d), ``prediction`` (d,) and ``title``. Without ``linear_below`` only times > 0
    are drawn (log axis); with it the axis is linear on ``[0, linear_below]`` and
    logarithmic above (symlog), so a curve starting at ``t = 0`` is shown from there.
    Shared by Figure 2 and the deep-network figure.
    """
    from matplotlib.ticker import NullLocator

    t = np.asarray(p["times"], dtype=float)
    ode = np.asarray(p["ode"], dtype=float)
    on = t >= 0 if linear_below is not None else t > 0
    pred = p.get("prediction")
    for i in range(d):
        st = mode_style(i)
        ax.plot(t[on], ode[on, i], color=st["color"], ls=st["ls"], zorder=2)
        if p.get("sgd") is not None:
            ts = np.asarray(p["sgd_times"], dtype=float)
            a = np.asarray(p["sgd"], dtype=float)
            keep = ts >= 0 if linear_below is not None else ts > 0
            ax.plot(ts[keep], a[keep, i], ls="none", marker=st["marker"], color=st["color"],
                    ms=4, mfc="none", mew=1.1, zorder=3)
        if pred is not None:
            ax.axhline(float(pred[i]), **REFERENCE)
    if linear_below is None:
        ax.set_xscale("log")
    else:
        ax.set_xscale("symlog", linthresh=linear_below, linscale=0.4)
    # No minor ticks: log-axis tick generation dominates the drawing time.
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlim(t[on][0], t[-1])
    ax.set_ylim(-0.05, 1.12)
    if title_size is None:
        ax.set_title(p["title"], loc="left")
    else:
        ax.set_title(p["title"], loc="left", fontsize=title_size)
    ax.grid(alpha=0.25, lw=0.5)


def mode_handles(s, d: int, *, sgd_label: str | None = "SGD",
                 reference_label: str | None = None) -> list:
    """Legend entries of :func:`mode_panel`: one per mode (its colour, line style and
    marker), then ODE / SGD / reference explanations in black."""
    from matplotlib.lines import Line2D

    handles = []
    for i in range(d):
        st = mode_style(i)
        handles.append(Line2D([], [], color=st["color"], ls=st["ls"], marker=st["marker"],
                              mfc="none", ms=4, label=f"mode {i + 1} (s = {s[i]:.2f})"))
    handles.append(Line2D([], [], color="k", label="ODE (lines)"))
    if sgd_label:
        handles.append(Line2D([], [], color="k", ls="none", marker="o", mfc="none", ms=4,
                              label=sgd_label + " (markers)"))
    if reference_label:
        handles.append(Line2D([], [], label=reference_label, **REFERENCE))
    return handles


def label_mode_axes(axes) -> None:
    """Axis labels of a grid of :func:`mode_panel` axes (time below, ``a_i`` on the left)."""
    for ax in axes[-1]:
        ax.set_xlabel("time t (= lr × steps)")
    for ax in axes[:, 0]:
        ax.set_ylabel(r"mode strength $a_i$")


def panel_range(keys) -> str:
    """``"(c)-(f)"`` for consecutive panel letters, else ``"(c), (e)"``."""
    keys = sorted(keys)
    if len(keys) > 2 and all(ord(b) - ord(a) == 1 for a, b in zip(keys, keys[1:])):
        return f"({keys[0]})-({keys[-1]})"
    return ", ".join(f"({k})" for k in keys)


def __getattr__(name):
    """``figure2`` (the drawing of Figure 2) now lives in :mod:`lintheory.figure2`."""
    if name == "figure2":
        from .figure2 import plot_figure2

        return plot_figure2
    raise AttributeError(f"module 'lintheory.plots' has no attribute {name!r}")
