"""The classroom notebooks (notebooks/*.ipynb) and their slider logic (lintheory.classroom).

(a) every notebook executes top to bottom on a fresh kernel (nbclient; skipped when nbclient
or ipykernel is not installed: ``pip install -e ".[classroom]"`` or ``".[dev]"``, and under
``CI=true``, where .ci/run executes them in their own venv instead), is stored with cleared
outputs, and writes nothing into the repository;
(b) a slider's callback re-solves the ODE: the figure's line data change and equal an
independent recomputation (Saxe's closed form written out here, ``integrate`` called
directly, ``numpy.linalg`` for ``S Pi`` and the singular values).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

from lintheory import classroom, integrate, make_init, make_task

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
NAMES = ["01_task_and_svd", "02_saxe_modes", "03_fa_stalls", "04_raf_and_oja"]


def _tool(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _slug(title: str) -> str:
    s = re.sub(r"[^\w\- ]", "", title.strip().lower())
    return s.replace(" ", "-")


# ----------------------------------------------------------------------------- the files
def test_the_four_notebooks_exist():
    assert [p.stem for p in NOTEBOOKS] == NAMES


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_with_outputs_cleared_and_no_forced_backend(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code
    for c in code:
        assert c["outputs"] == [] and c["execution_count"] is None
    src = "\n".join("".join(c["source"]) for c in nb["cells"])
    assert "%matplotlib inline" in src
    assert "Agg" not in src and "matplotlib.use" not in src
    assert "widgets()" in src                     # every notebook has sliders
    assert "SPEC" not in src


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_theory_links_point_at_existing_sections(path):
    theory = (ROOT / "docs" / "theory.md").read_text(encoding="utf-8")
    slugs = {_slug(t) for t in re.findall(r"^#{2,3} (.+)$", theory, flags=re.MULTILINE)}
    text = path.read_text(encoding="utf-8")
    links = re.findall(r"\.\./docs/theory\.md#([\w\-]+)", text)
    assert links, "each notebook links the theory page"
    assert set(links) <= slugs, sorted(set(links) - slugs)


def test_generator_reproduces_the_committed_notebooks():
    pytest.importorskip("nbformat")
    assert _tool("make_notebooks").main(["--check"]) == 0


# ----------------------------------------------------------------------------- (a) execution
def _tree_state():
    """Every file in notebooks/ with its size and mtime (the notebooks run in a temporary
    directory; other engineers' edits elsewhere in a shared tree must not fail this)."""
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in (ROOT / "notebooks").rglob("*")}


@pytest.mark.skipif(os.environ.get("CI", "") not in ("", "0", "false"),
                    reason="CI runs the notebooks once, in .ci/run's classroom step (a fresh "
                           "venv with only the classroom extra, tools/run_notebooks.py)")
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes_on_a_fresh_kernel(path):
    pytest.importorskip("nbclient", reason="nbclient not installed (the classroom extra)")
    pytest.importorskip("ipykernel", reason="ipykernel not installed (the classroom extra)")
    pytest.importorskip("ipywidgets", reason="ipywidgets not installed (the classroom extra)")
    before = _tree_state()
    nb, _ = _tool("run_notebooks").run_notebook(path, timeout=300)
    assert _tree_state() == before, "executing the notebook wrote into the repository"
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    # the slider cell rendered a widget (the live figure sits inside it), and the inline
    # backend drew the package's pyplot-free figures as PNG
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {})
               for o in outputs)
    assert any("image/png" in o.get("data", {}) for o in outputs)


# ----------------------------------------------------------------------------- (b) callbacks
def _saxe(s, a0, t):
    """a_i(t) of theory §4.5, written out: s e^{2st} / (e^{2st} - 1 + s/a0), divided by s."""
    g = np.exp(2.0 * s * t)
    return g / (g - 1.0 + s / a0)


def test_bp_callback_redraws_saxe_closed_form():
    ex = classroom.ModeExplorer("bp", init_scale=0.01, T=8, init="balanced", log_time=False)
    before = [line.get_ydata().copy() for line in ex.lines]
    data = ex.update(init_scale=0.003)
    t = ex.lines[0].get_xdata()
    np.testing.assert_array_equal(t, np.linspace(0, 8, 80))
    s = ex.task.s[: ex.task.d]
    for i, line in enumerate(ex.lines):
        y = line.get_ydata()
        assert np.max(np.abs(y - before[i])) > 0.05               # the figure changed
        np.testing.assert_allclose(y, _saxe(s[i], 0.003**2, t), atol=1e-4)
        np.testing.assert_allclose(ex.closed[i].get_ydata(), _saxe(s[i], 0.003**2, t),
                                   rtol=1e-12, atol=1e-14)
    # the same ODE solved directly from the same initial weights
    w0 = make_init(ex.task, classroom.K, 2, "balanced", scale=0.003,
                   rng=np.random.default_rng(1))
    direct = integrate(ex.task, "bp", w0, t, **classroom.SOLVER)
    np.testing.assert_allclose(data["a"], direct.mode_strengths, rtol=0, atol=1e-12)
    assert ex.ax.get_title(loc="left").startswith("BP, init scale 0.003")


def test_widget_change_resolves_fa_and_its_fixed_point():
    pytest.importorskip("ipywidgets", reason="ipywidgets not installed (the classroom extra)")
    ex = classroom.ModeExplorer("bp", rank=2, init_scale=1e-3, T=50, second="distance")
    box = ex.widgets()
    assert set(ex.controls) == {"rule", "rank", "init_scale", "T"}
    assert len(box.children) == 2
    before = ex.lines[0].get_ydata().copy()
    ex.controls["rule"].value = "fa"                  # what moving the dropdown does
    assert ex.values["rule"] == "fa"
    t = ex.lines[0].get_xdata()
    w0 = make_init(ex.task, classroom.K, 2, scale=1e-3, rng=np.random.default_rng(1))
    direct = integrate(ex.task, "fa", w0, t, **classroom.SOLVER)
    y = np.stack([line.get_ydata() for line in ex.lines], axis=1)
    assert np.max(np.abs(y - before[:, None])) > 0.1
    np.testing.assert_allclose(y, direct.mode_strengths, rtol=0, atol=1e-12)
    # the dashed lines: S Pi of the initial (fixed) Pbar, Pi from numpy's pseudo-inverse
    PS = direct.P[0] @ ex.task.S
    Pi = np.linalg.pinv(PS) @ PS
    pred = np.diag(ex.task.S @ Pi)[: ex.task.d] / ex.task.s[: ex.task.d]
    np.testing.assert_allclose([p.get_ydata()[0] for p in ex.preds], pred, atol=1e-10)
    # FA stalls there (theory §5.2): within 1e-2 of S Pi at T = 50
    np.testing.assert_allclose(y[-1], pred, atol=1e-2)
    assert ex.line2.get_ydata()[-1] < 1e-2
    ex.controls["rank"].value = 3
    assert ex.values["rank"] == 3 and ex.data["trajectory"].P.shape[1] == 3


def test_raf_overlap_reaches_one():
    ex = classroom.ModeExplorer("raf", rank=2, init_scale=1e-3, T=100, second="overlap")
    ov = ex.line2.get_ydata()
    P = ex.data["trajectory"].P                       # (T, r, m)
    top = np.linalg.eigh(ex.task.Sigma_yy_bar)[1][:, ::-1][:, :2]
    q = np.linalg.qr(P[-1].T)[0]                      # (m, r): basis of row(Pbar(T))
    cos = np.linalg.svd(top.T @ q, compute_uv=False)  # cosines of the principal angles
    assert ov[0] < 0.9 and abs(ov[-1] - 1.0) < 1e-6
    np.testing.assert_allclose(np.sort(cos), 1.0, atol=1e-6)
    np.testing.assert_allclose(ex.data["a"][-1], [1, 1, 0, 0], atol=5e-3)


def test_spectrum_callback_matches_numpy_svd():
    ex = classroom.SpectrumExplorer(N=1000, sigma=1.0)
    before = np.array([b.get_height() for b in ex.bars])
    ex.update(N=200, sigma=2.0)
    after = np.array([b.get_height() for b in ex.bars])
    task = make_task(**{**classroom.TASK, "N": 200, "sigma": 2.0})
    ref = np.linalg.svd(task.Y.T @ task.X / task.N, compute_uv=False)
    np.testing.assert_allclose(after, ref, rtol=1e-12)
    assert np.max(np.abs(after - before)) > 0.1
    assert ex.edge.get_ydata()[0] == pytest.approx(2.0 * (np.sqrt(10) + np.sqrt(20))
                                                   / np.sqrt(200))


def test_bad_settings_name_the_argument():
    ex = classroom.ModeExplorer("fa", rank=1, T=1)
    with pytest.raises(ValueError, match="unknown setting"):
        ex.update(rnk=2)
    task = ex.task
    with pytest.raises(ValueError, match="rule"):
        classroom.mode_curves(task, "xx")
    with pytest.raises(ValueError, match="rank"):
        classroom.mode_curves(task, "fa", rank=11)
    with pytest.raises(ValueError, match="T"):
        classroom.mode_curves(task, "fa", T=0)


def test_figures_are_colour_blind_and_greyscale_safe():
    """The explorers' figures pass the checks every lintheory figure passes (palette,
    greyscale, colour-blind; tests/test_figure_style.py)."""
    pytest.importorskip("matplotlib")
    spec = importlib.util.spec_from_file_location("figure_style",
                                                  ROOT / "tests" / "test_figure_style.py")
    style = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(style)
    figs = [classroom.SpectrumExplorer().fig,
            classroom.ModeExplorer("bp", T=5, init="balanced", log_time=False).fig,
            classroom.ModeExplorer("fa", rank=2, T=5, second="distance").fig]
    for fig in figs:
        fig.canvas.draw()
        assert style.style_problems(fig) == []
