"""Every figure, the demo's figures and the animation use one colour-blind-safe palette,
and their curves stay apart in greyscale and under red-green colour blindness.

Each figure is built from its committed JSON (figures/*.json, no recomputation) or at
small sizes (demo steps, animation), and every panel is checked:

(a) every line, marker, error bar, bar and band colour is in :data:`lintheory.plots.PALETTE`;
(b) two curves of one panel that differ in colour also differ in line style or marker,
    or their greyscale values (Rec. 601 luma, computed here from RGB) differ by more than
    :data:`LUMA_GAP`; and such a pair stays apart (:data:`CVD_GAP`) under simulated
    deuteranopia and protanopia (Machado, Oliveira & Fernandes 2009, severity 1), unless
    line style or marker already tells them apart;
(c) no panel pairs a red with a green (hue ranges below).

The checks are independent of the plotting code (colours are read back from the drawn
artists and converted here), and ``test_checks_catch_a_bad_figure`` shows they fail on a
red/green, same-style figure in matplotlib's default colours.
"""

from __future__ import annotations

import colorsys
import itertools
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure

from lintheory.io import read_json
from lintheory.plots import PALETTE

matplotlib.use("Agg")

pytestmark = pytest.mark.filterwarnings("ignore:Animation was deleted")
FIGURES = Path(__file__).resolve().parents[1] / "figures"
LUMA_GAP = 0.2
CVD_GAP = 0.12
#: linear-RGB matrices of Machado et al. (2009), severity 1.0
CVD = {
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968],
                              [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "protanopia": np.array([[0.152286, 1.052583, -0.204868],
                            [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
}


# ----------------------------------------------------------------------------- colour maths
def luma(rgb) -> float:
    """Greyscale value (Rec. 601 luma of the gamma-encoded RGB), 0 black .. 1 white."""
    r, g, b = rgb
    return 0.299 * r + 0.587 * g + 0.114 * b


def _to_linear(c):
    c = np.asarray(c, dtype=float)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _to_srgb(c):
    c = np.clip(c, 0, 1)
    return np.where(c <= 0.0031308, 12.92 * c, 1.055 * c ** (1 / 2.4) - 0.055)


def simulate_cvd(rgb, kind: str) -> np.ndarray:
    """``rgb`` as seen with ``kind`` colour blindness (sRGB in, sRGB out)."""
    return _to_srgb(CVD[kind] @ _to_linear(rgb))


def is_red(rgb) -> bool:
    h, s, v = colorsys.rgb_to_hsv(*rgb)
    return (h * 360 >= 345 or h * 360 <= 15) and s >= 0.5 and v >= 0.35


def is_green(rgb) -> bool:
    h, s, v = colorsys.rgb_to_hsv(*rgb)
    return 75 <= h * 360 <= 155 and s >= 0.4 and v >= 0.3


def in_palette(rgb) -> bool:
    return any(np.allclose(rgb, to_rgb(c), atol=2 / 255) for c in PALETTE)


# ----------------------------------------------------------------------------- what is drawn
def _visible_rgb(color):
    if color is None or (isinstance(color, str) and color.lower() == "none"):
        return None
    rgba = matplotlib.colors.to_rgba(color)
    return None if rgba[3] == 0 else rgba[:3]


def _curves(ax):
    """``(rgb, style key)`` of each curve of ``ax``: plotted lines (error bar caps and
    bars belong to their curve and are left out), style = (dash pattern, marker)."""
    caps = set()
    for cont in ax.containers:
        if isinstance(cont, matplotlib.container.ErrorbarContainer):
            _, capl, _ = cont.lines
            caps.update(capl)
    out = []
    for line in ax.lines:
        if line in caps or not line.get_visible():
            continue
        rgb = _visible_rgb(line.get_color())
        if rgb is None:
            continue
        ls = line.get_linestyle()
        dashes = None if ls in ("None", "none", " ", "") else line._unscaled_dash_pattern
        marker = line.get_marker()
        marker = None if marker in ("None", "none", "", " ", None) else str(marker)
        if dashes is None and marker is None:
            continue
        out.append((rgb, (repr(dashes), marker)))
    return out


def _all_colours(fig):
    """Every colour drawn on ``fig``'s axes and legends (lines, markers, collections,
    patches), as RGB."""
    found = []
    axes = [ax for ax in fig.axes if ax.get_visible()]
    for ax in axes:
        for line in ax.lines:
            found += [line.get_color(), line.get_markeredgecolor(),
                      line.get_markerfacecolor()]
        for coll in ax.collections:
            if coll.get_array() is not None:
                continue  # colour-mapped (a colorbar): its colours come from the colormap
            found += list(coll.get_edgecolor()) + list(coll.get_facecolor())
        for patch in ax.patches:
            found += [patch.get_facecolor(), patch.get_edgecolor()]
    for leg in fig.legends + [ax.get_legend() for ax in axes if ax.get_legend()]:
        for h in leg.legend_handles:
            if isinstance(h, matplotlib.lines.Line2D):
                found += [h.get_color(), h.get_markeredgecolor()]
    rgbs = [_visible_rgb(c) for c in found]
    return [c for c in rgbs if c is not None]


def style_problems(fig) -> list[str]:
    """Every violation of (a), (b), (c) on ``fig`` (empty: none)."""
    problems = [f"(a) colour {matplotlib.colors.to_hex(c)} is not in the palette"
                for c in {tuple(np.round(c, 4)) for c in _all_colours(fig)}
                if not in_palette(c)]
    for k, ax in enumerate(fig.axes):
        curves = _curves(ax)
        where = ax.get_title() or ax.get_title(loc="left") or f"axes {k}"
        colours = {tuple(np.round(c, 4)) for c, _ in curves}
        if any(map(is_red, colours)) and any(map(is_green, colours)):
            problems.append(f"(c) {where}: a red and a green curve in one panel")
        for (c1, s1), (c2, s2) in itertools.combinations(curves, 2):
            if np.allclose(c1, c2, atol=1 / 255) or s1 != s2:
                continue  # same colour, or told apart by line style / marker
            h1, h2 = matplotlib.colors.to_hex(c1), matplotlib.colors.to_hex(c2)
            if abs(luma(c1) - luma(c2)) <= LUMA_GAP:
                problems.append(f"(b) {where}: {h1} and {h2} share style {s1} and have "
                                f"greyscale {luma(c1):.2f} vs {luma(c2):.2f}")
            for kind in CVD:
                gap = np.linalg.norm(simulate_cvd(c1, kind) - simulate_cvd(c2, kind))
                if gap <= CVD_GAP:
                    problems.append(f"(b) {where}: {h1} and {h2} share style {s1} and "
                                    f"look alike with {kind} ({gap:.2f})")
    return problems


# ----------------------------------------------------------------------------- the figures
def _from_json(stem):
    from lintheory.replot import plot

    return plot(read_json(FIGURES / f"{stem}.json"))


STORED = ["figure2", "figure_rules", "figure_deep", "figure3", "figure3_quick",
          "figure3_cifar10", "figure4", "figure4_quick"]


@pytest.mark.parametrize("stem", STORED)
def test_committed_figures_are_colour_blind_and_greyscale_safe(stem):
    fig = _from_json(stem)
    assert len([ax for ax in fig.axes if ax.lines]) >= 1
    assert not style_problems(fig)


def _demo_figures(tmp_path):
    """The demo's figures at the fast size, captured instead of saved."""
    from lintheory import demo

    figs = {}

    class Capture(demo.Context):
        def save(self, fig, name, numbers, sizes=""):
            figs[name] = (fig, sizes)
            return Path(name)

    ctx = Capture(out_dir=tmp_path, fast=True, quiet=True)
    for step in (demo.step_task, demo.step_saxe, demo.step_fa_stall, demo.step_raf,
                 demo.step_digits):
        step(ctx)
    return figs


def test_demo_figures_use_the_palette_and_state_their_sizes(tmp_path):
    figs = _demo_figures(tmp_path)
    assert len(figs) == 5
    for name, (fig, sizes) in figs.items():
        assert not style_problems(fig), name
        assert "N = " in sizes or "images" in sizes, name  # the caption line's sizes


def test_animation_uses_the_mode_styles():
    from lintheory.animate import compute, make_animation
    from lintheory.plots import mode_style
    from lintheory.task import make_task

    task = make_task(6, 5, 3, 100, seed=0)
    data = compute(task, (("bp", None), ("raf", 1)), k=6, T=2.0, frames=3)
    fig, anim = make_animation(data, task, k=6)
    anim._func(2)  # draw the last frame's curves
    assert not style_problems(fig)
    curves = [ax for ax in fig.axes if ax.lines][0].lines
    assert [matplotlib.colors.to_hex(ln.get_color()) for ln in curves[:3]] == [
        mode_style(i)["color"].lower() for i in range(3)]
    assert "n = 6, k = 6, m = 5, d = 3, N = 100" in fig._suptitle.get_text()


def test_sizes_are_in_every_figure_caption():
    """The caption line names the sizes of its config (read from the JSON)."""
    for stem, keys in [("figure2", ("n", "k", "m", "d", "N")), ("figure_rules", ("n", "k")),
                       ("figure_deep", ("n", "m", "d", "N", "width"))]:
        fig = _from_json(stem)
        text = " ".join(t.get_text() for t in fig.texts)
        cfg = read_json(FIGURES / f"{stem}.json")["config"]
        for key in keys:
            assert f"{key} = {cfg[key]}" in text, (stem, key)
    text = " ".join(t.get_text() for t in _from_json("figure3").texts)
    cfg = read_json(FIGURES / "figure3.json")["config"]
    assert f"MLP {cfg['depth']} x {cfg['hidden']}" in text
    assert f"{len(cfg['seeds'])} seeds" in text
    assert "grayscale CIFAR-10" in _from_json("figure4").get_suptitle()


def test_figure2_fixed_points_are_drawn_above_the_curves_and_named():
    data = read_json(FIGURES / "figure2.json")
    fig = _from_json("figure2")
    axes = [ax for ax in fig.axes if ax.get_visible()]
    for ax, p in zip(axes, data["panels"]):
        refs = [ln for ln in ax.lines if len(set(np.atleast_1d(ln.get_ydata()))) == 1
                and len(ln.get_xdata()) == 2 and tuple(ln.get_xdata()) == (0, 1)]
        if p["prediction"] is None:
            assert not refs
            continue
        assert sorted(r.get_ydata()[0] for r in refs) == pytest.approx(sorted(p["prediction"]))
        curves = [ln for ln in ax.lines if ln not in refs]
        assert min(r.get_zorder() for r in refs) > max(c.get_zorder() for c in curves)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any("fixed point" in t and "(c)-(f)" in t for t in labels)


def test_figure3_panels_are_in_percent_with_comparable_ranges():
    from lintheory.figure3 import MIN_SPAN

    data = read_json(FIGURES / "figure3.json")
    fig = _from_json("figure3")
    axes = [ax for ax in fig.axes if ax.lines]
    assert len(axes) == len(data["panels"])
    for ax, (key, panel) in zip(axes, sorted(data["panels"].items())):
        lo, hi = ax.get_ylim()
        assert hi - lo >= MIN_SPAN - 1e-9 and hi <= 100 + 1e-9, key
        assert "%" in ax.get_ylabel()
        means = [100 * q["mean"] for pts in panel["series"].values() for q in pts]
        assert lo <= min(means) and max(means) <= hi, key  # every point on the panel
    caption = " ".join(t.get_text() for t in fig.texts)
    assert "band" in caption and "ring" in caption and "mean ± std" in caption


def test_deep_figure_time_axis_starts_at_zero():
    fig = _from_json("figure_deep")
    for ax in [ax for ax in fig.axes if ax.lines]:
        assert ax.get_xlim()[0] == 0 and ax.get_xscale() == "symlog"
        assert min(min(ln.get_xdata()) for ln in ax.lines if len(ln.get_xdata())) == 0


def test_checks_catch_a_bad_figure():
    """Matplotlib's default red and green, both solid, in one panel: (a), (b), (c) fire;
    the same curves with the palette and distinct line styles pass."""
    fig = Figure()
    ax = fig.subplots()
    x = np.linspace(0, 1, 5)
    ax.plot(x, x, color="#d62728")
    ax.plot(x, x**2, color="#2ca02c")
    found = style_problems(fig)
    assert any(p.startswith("(a)") for p in found)
    assert any(p.startswith("(b)") for p in found)
    assert any(p.startswith("(c)") for p in found)
    good = Figure()
    ax = good.subplots()
    ax.plot(x, x, color=PALETTE[0], ls="-")
    ax.plot(x, x**2, color=PALETTE[1], ls="--")
    assert style_problems(good) == []


def test_colour_maths_against_known_values():
    """Luma of pure colours and the deuteranope view of red and green (they converge)."""
    assert luma((1, 1, 1)) == pytest.approx(1) and luma((0, 1, 0)) == pytest.approx(0.587)
    red, green = simulate_cvd((0.8, 0.1, 0.1), "deuteranopia"), simulate_cvd(
        (0.1, 0.55, 0.1), "deuteranopia")
    assert np.linalg.norm(red - green) < 0.2 < np.linalg.norm(
        np.subtract((0.8, 0.1, 0.1), (0.1, 0.55, 0.1)))
    assert is_red(to_rgb("#d62728")) and is_green(to_rgb("#2ca02c"))
    assert not is_red(to_rgb("#D55E00")) and not is_green(to_rgb("#009E73"))
