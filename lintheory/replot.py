"""Every figure drawn again from its JSON: :func:`replot`.

Each ``lintheory`` figure command writes ``STEM.json`` beside ``STEM.png`` and
``STEM.pdf`` holding every number drawn. :func:`replot` reads such a JSON, recognises
which figure it is (:func:`figure_kind`) and calls that figure's plot function on it, so a
figure can be restyled or redrawn without recomputing anything::

    from lintheory.replot import replot
    replot("figures/figure2.json", "my_figure2")          # my_figure2.png, .pdf
    fig = replot("figures/figure_deep.json")               # the matplotlib Figure only
"""

from __future__ import annotations

from pathlib import Path

from .io import read_json

KINDS = ("figure2", "figure-rules", "figure-deep", "figure3", "figure4")


def figure_kind(data: dict) -> str:
    """Which figure a JSON document is: one of :data:`KINDS` (ValueError otherwise)."""
    if data.get("figure") in ("3", "4"):
        return f"figure{data['figure']}"
    panels = data.get("panels")
    config = data.get("config", {})
    if isinstance(panels, list) and panels and isinstance(panels[0], dict):
        if "depth" in panels[0]:
            return "figure-deep"
        if config.get("rules") is not None:
            return "figure-rules"
        if "r_low" in config:
            return "figure2"
    raise ValueError("the JSON is not one written by a lintheory figure command (figure2, "
                     "figure-rules, figure-deep, figure3, figure4)")


def plot(data: dict):
    """The matplotlib ``Figure`` of a figure's JSON document (no file written)."""
    kind = figure_kind(data)
    if kind in ("figure2", "figure-rules"):
        from .figure2 import plot_figure2

        return plot_figure2(data, ncols=3 if kind == "figure2" else 2)
    if kind == "figure-deep":
        from .deep_figure import plot_deep

        return plot_deep(data)
    if kind == "figure3":
        from .figure3 import plot_figure3

        return plot_figure3(data, note=data.get("data_note", ""))
    from .figure4 import plot_figure4

    return plot_figure4(data, note=data.get("data_note", ""))


def replot(path, out=None, formats=("png", "pdf"), dpi: int = 150):
    """Draw the figure whose JSON is at ``path``; with ``out`` (a stem) also save it.

    Returns the ``Figure`` when ``out`` is None, else the list of written paths (written
    all or none, atomically; Figure 2 and figure-rules with their own fixed layout, as the
    commands save them, so the same JSON gives the same PNG bytes).
    """
    from .io import save_figure

    data = read_json(Path(path))
    fig = plot(data)
    if out is None:
        return fig
    tight = figure_kind(data) not in ("figure2", "figure-rules")
    return save_figure(fig, out, formats, dpi, tight=tight)
