"""Every committed figure is drawn again from its JSON (lintheory.replot).

Reference: the committed PNG of Figure 2 and figure-rules, which the same JSON must
reproduce byte for byte (the commands draw them from the same data); the other figures
must draw without error and be recognised as what they are.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lintheory.io import read_json
from lintheory.replot import figure_kind, replot

FIGURES = Path(__file__).resolve().parents[1] / "figures"


@pytest.mark.parametrize("stem", ["figure2", "figure_rules"])
def test_replot_gives_the_committed_png(tmp_path, stem):
    paths = replot(FIGURES / f"{stem}.json", tmp_path / stem, formats=("png",))
    assert paths[0].read_bytes() == (FIGURES / f"{stem}.png").read_bytes()


@pytest.mark.parametrize(("stem", "kind"), [
    ("figure_deep", "figure-deep"), ("figure3", "figure3"), ("figure4_quick", "figure4"),
])
def test_other_figures_redraw(tmp_path, stem, kind):
    path = FIGURES / f"{stem}.json"
    assert figure_kind(read_json(path)) == kind
    out = replot(path, tmp_path / stem, formats=("png",))
    assert out[0].stat().st_size > 10_000


def test_unknown_json_is_a_clear_error(tmp_path):
    p = tmp_path / "x.json"
    p.write_text('{"a": 1}')
    with pytest.raises(ValueError, match="not one written by a lintheory figure command"):
        replot(p)
