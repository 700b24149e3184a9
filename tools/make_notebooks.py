# ruff: noqa: E501  (the markdown cells hold long links and formulas)
"""Write the classroom notebooks ``notebooks/*.ipynb`` (outputs cleared) from the cells below.

    python tools/make_notebooks.py            # (re)write the notebooks
    python tools/make_notebooks.py --check    # exit 1 if a notebook differs from this script

The committed ``.ipynb`` files are the product; this script is how they were written (cell
ids are fixed, so regenerating an unchanged notebook gives the same bytes). The slider
logic lives in :mod:`lintheory.classroom`; the notebooks only call it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "notebooks"
THEORY = "../docs/theory.md"

SETUP = """\
%matplotlib inline
import numpy as np
from IPython.display import display

import lintheory
from lintheory import classroom"""


def md(text):
    return ("markdown", text.strip("\n"))


def code(text):
    return ("code", text.strip("\n"))


NB1 = [
    md(f"""
# 1. The teacher task and its SVD

Every experiment of the linear theory starts from a *teacher*: a rank-`d` linear map `A`
that produces the targets, plus Gaussian noise (theory §2,
[docs/theory.md §2]({THEORY}#2-the-linear-teacher-task)):

$$y = A x + \\varepsilon,\\qquad A = \\sum_{{i=1}}^{{d}} s_i\\,u_i v_i^\\top,\\qquad
x\\sim\\mathcal N(0, I_n),\\quad \\varepsilon \\sim \\mathcal N(0, \\sigma^2 I_m).$$

The network never sees `A`, only `N` samples. Everything it can learn is in the empirical
second moments `Sigma_xx`, `Sigma_yx`, `Sigma_yy`, and the singular value decomposition
`Sigma_yx = U S V^T` sorts the task into *modes* of decreasing strength `s_1 >= s_2 >= ...`.

We use the sizes of theory §5.7: `n = 20` inputs, `m = 10` outputs, rank `d = 4`,
teacher singular values `4, 3, 2, 1`, noise `sigma = 1`, `N = 1000` samples.
"""),
    code(SETUP),
    code("""
task = lintheory.make_task(**classroom.TASK)
print("X:", task.X.shape, " Y:", task.Y.shape, " A:", task.A.shape)
print("teacher singular values:", task.teacher_singular_values)
print("singular values of A (numpy):", np.round(np.linalg.svd(task.A, compute_uv=False)[:6], 6))
"""),
    md("""
## Whitened inputs

`make_task` whitens the sampled inputs, so that `Sigma_xx` is *exactly* the identity. Then
the data-averaged update of every rule is exactly the learning rate times the right-hand
side of the ODEs of theory §4, not only as `N -> infinity`.
"""),
    code("""
Sxx = task.X.T @ task.X / task.N
print("max |Sigma_xx - I| =", np.abs(Sxx - np.eye(task.n)).max())
"""),
    md(f"""
## The SVD of `Sigma_yx` and the rotation

`U` (`m x m`) and `V` (`n x n`) rotate the output and input spaces so that the task becomes
diagonal: `U^T Sigma_yx V = S` (rectangular diagonal). The theory works in this frame
([theory §4.2]({THEORY}#42-the-rotation)): there the modes are the coordinate axes, and
a network's end-to-end map `W2 W1` becomes `W2bar W1bar = U^T W2 W1 V`.
We check `task.S` against numpy's own SVD.
"""),
    code("""
Syx = task.Y.T @ task.X / task.N
s_numpy = np.linalg.svd(Syx, compute_uv=False)
print("singular values of Sigma_yx:", np.round(task.s, 3))
print("max |task.s - numpy| =", np.abs(task.s - s_numpy).max())
rotated = task.U.T @ Syx @ task.V                 # (m, n)
off = rotated.copy()
off[np.arange(task.m), np.arange(task.m)] = 0.0   # m <= n here: drop the diagonal
print("largest off-diagonal entry of U^T Sigma_yx V:", np.abs(off).max())
"""),
    md(f"""
## Signal and noise

The first `d` singular values of `Sigma_yx` are close to the teacher's `s_i`; the other
`min(m, n) - d` are noise, of size about `sigma (sqrt(m) + sqrt(n)) / sqrt(N)` (the
largest singular value of an `m x n` matrix of independent entries of variance
`sigma^2 / N`). Move the sliders: with few samples or much noise the weakest mode sinks
into the noise, and no learning rule can tell it apart.

The output covariance in the rotated frame is close to `S S^T + sigma^2 I`
([theory §4.3]({THEORY}#43-the-rotated-system-paper-eqs-5-9-10)). Its top eigenvectors
are what Oja's rule finds in notebook 4.
"""),
    code("""
explorer = classroom.SpectrumExplorer(N=1000, sigma=1.0)
explorer.widgets()
"""),
    code("""
Syy_bar = task.Sigma_yy_bar
print("diag of U^T Sigma_yy U   :", np.round(np.diag(Syy_bar), 2))
print("s_i^2 + sigma^2 (i <= d) :", np.round(task.s[: task.d] ** 2 + task.sigma**2, 2))
"""),
    md("""
## Try it

- Set `sigma = 0`: the noise singular values vanish and `s_i` equals the teacher's exactly.
- Lower `N` until the fourth singular value is no longer clearly above the noise line.

For comparison, a fixed picture with few samples and much noise (`N = 100`,
`sigma = 2`):
"""),
    code("""
display(classroom.SpectrumExplorer(N=100, sigma=2.0).fig)
"""),
]

NB2 = [
    md(f"""
# 2. Backpropagation learns the modes one after another (Saxe et al. 2013)

A two-layer linear network `yhat = W2 W1 x` trained by gradient descent on the averaged
loss follows the ODE of theory §4.1 ([docs/theory.md §4]({THEORY}#4-averaged-continuous-time-dynamics)):

$$\\tau\\,\\dot W_2 = (\\Sigma_{{yx}} - W_2W_1)\\,W_1^\\top,\\qquad
\\tau\\,\\dot W_1 = W_2^\\top(\\Sigma_{{yx}} - W_2W_1).$$

In the rotated frame each mode `i` has a *strength* `a_i = [W2bar W1bar]_ii / s_i`
(theory §4.4), which tends to 1 when the mode is learned. From small *balanced,
mode-aligned* weights every mode evolves on its own, and in the un-normalised strength
`a = s a_i` ([theory §4.5]({THEORY}#45-saxes-closed-form-bp))

$$\\tau\\,\\dot a = 2a\\,(s - a),\\qquad a(t) = \\frac{{s\\,e^{{2st/\\tau}}}}{{e^{{2st/\\tau}} - 1 + s/a_0}},$$

a sigmoid that starts at `a_0 = scale^2` and is half-way at `t_half = log(s/a_0 - 1) / (2s)`:
strong modes are learned first.
"""),
    code(SETUP),
    code("""
task = lintheory.make_task(**classroom.TASK)
curves = classroom.mode_curves(task, "bp", init="balanced", init_scale=0.01, T=8,
                               log_time=False, points=161)
print("max |ODE - closed form| over all modes and times:",
      np.abs(curves["a"] - curves["closed_form"]).max())
"""),
    md("""
The half-way times measured on the ODE's curves against the formula (`a0 = 0.01^2`):
"""),
    code("""
a0 = 0.01**2
for i, s in enumerate(task.s[: task.d]):
    t_measured = np.interp(0.5, curves["a"][:, i], curves["times"])  # a_i rises monotonically
    t_formula = np.log(s / a0 - 1) / (2 * s)
    print(f"mode {i + 1}: s = {s:.3f}  t_half ODE = {t_measured:.4f}  formula = {t_formula:.4f}")
"""),
    md("""
## Sliders

The figure re-solves the ODE every time a slider is released. The dotted black curves are
the closed form; the thick ones are the ODE. Try:

- a smaller **init scale**: every mode starts later (`t_half` grows like `log(1/a_0)`),
  but the order and the shape stay;
- **rule** `fa` (fixed random feedback `B = Q P`, rank `r`) or `raf`: the curves leave the
  closed form, which holds for BP only;
- with `fa`, move the **rank** `r` below `d = 4` (notebook 3 explains what you see).
"""),
    code("""
explorer = classroom.ModeExplorer("bp", rank=4, init_scale=0.01, T=8, init="balanced",
                                  log_time=False)
explorer.widgets()
"""),
    md("""
## From random weights

The closed form needs balanced, mode-aligned initial weights. From small *random* weights
the modes are coupled at first, yet BP still learns them one after another, strongest
first (no closed form drawn):
"""),
    code("""
display(classroom.ModeExplorer("bp", init_scale=0.01, T=8, init="random", log_time=False).fig)
"""),
]

NB3 = [
    md(f"""
# 3. Feedback alignment with a low-rank channel stalls at `S Pi`

Feedback alignment (FA) sends the output error to the hidden layer through a fixed random
matrix `B` instead of `W2^T`. Here `B = Q P` has rank `r`: the hidden layer only ever
hears the `r`-dimensional projection `P e` of the error ([theory §3]({THEORY}#3-learning-rules-of-the-two-layer-linear-network)).

At a fixed point of the rotated dynamics (paper Eq. 6, [theory §5.1]({THEORY}#51-stationarity-paper-eq-6))

$$\\bar P\\,(S - \\bar W_2\\bar W_1) = 0,\\qquad (S - \\bar W_2\\bar W_1)\\,\\bar W_1^\\top = 0,$$

and from small initial weights the network reaches ([theory §5.2]({THEORY}#52-the-fixed-point-s-pi))

$$\\bar W_2\\bar W_1 = S\\,\\Pi,\\qquad \\Pi = (\\bar P S)^\\top\\big(\\bar P S (\\bar P S)^\\top\\big)^{{-1}}\\bar P S,$$

the projector onto the row space of `Pbar S`. With `r >= d` that row space is the whole
signal space and the task is learned exactly (§5.3); with `r < d` the network learns a
*random* `r`-dimensional projection of the task chosen by the initial `P`, and stops there
([theory §5.4]({THEORY}#54-the-rd---r-family-when-r--d-and-pbar-is-fixed)).
"""),
    code(SETUP),
    code("""
task = lintheory.make_task(**classroom.TASK)
curves = classroom.mode_curves(task, "fa", rank=2, init_scale=1e-3, T=200)
Pbar = curves["trajectory"].P[0]                 # (r, m), fixed during FA
PS = Pbar @ task.S                               # (r, n)
Pi = np.linalg.pinv(PS) @ PS                     # projector onto row(Pbar S), numpy only
pred = np.diag(task.S @ Pi)[: task.d] / task.s[: task.d]
print("final a_i          :", np.round(curves["a"][-1], 4))
print("S Pi (numpy pinv)  :", np.round(pred, 4))
print("S Pi (lintheory)   :", np.round(curves["prediction"], 4))
print("|W2bar W1bar - S Pi| / |S Pi| at T:", f"{curves['distance'][-1]:.2e}")
"""),
    md("""
## Rank against the task's rank

The same seed for `r = 1 ... 5` (each rank draws its own `P`). The final strengths follow
`S Pi` at every rank, and below `d = 4` `S Pi` is not the top `r` modes. `a_i = Pi_ii`
and `Pi` is a rank-`r` projector, so the diagonal of `Pi` sums to `r` over *all* modes;
the signal modes get at most `r` of it.
"""),
    code("""
for r in range(1, 6):
    c = classroom.mode_curves(task, "fa", rank=r, init_scale=1e-3, T=200, points=20)
    print(f"r = {r}: a(T) = {np.round(c['a'][-1], 3)}  S Pi = {np.round(c['prediction'], 3)}"
          f"  sum = {c['prediction'].sum():.3f}")
"""),
    md("""
## `r = d` is enough only without noise

At `r = 4` the fourth mode is far from learned. Theory §5.2-5.3 assume that `S` has
exact rank `d`; with noise, `Sigma_yx` has `min(m, n) = 10` non-zero singular values (the
small ones of notebook 1), the random rows of `Pbar S` lean into those noise directions,
and `row(Pbar S)` is no longer the signal space. Without noise (`sigma = 0`) the same
seed learns every mode:
"""),
    code("""
clean = lintheory.make_task(**{**classroom.TASK, "sigma": 0.0})
for name, t in (("sigma = 1", task), ("sigma = 0", clean)):
    c = classroom.mode_curves(t, "fa", rank=4, init_scale=1e-3, T=200, points=20)
    print(f"{name}: r = 4, a(T) = {np.round(c['a'][-1], 3)}  S Pi = {np.round(c['prediction'], 3)}")
"""),
    md("""
## Sliders

Left: the mode strengths and the predicted `S Pi` (thin dashed). Right: the distance
`|W2bar W1bar - S Pi|_F / |S Pi|_F`. Things to try:

- **rank** `r`: the dashed lines move with the random `P` of each rank, and approach 1
  only as `r` grows past `d` (with this noise);
- **rule** `kp` (KP-Q: `Q` learns, `P` stays fixed): without decay it stalls at the same
  `S Pi` (§5.4); `raf` lets `P` learn too (notebook 4);
- a larger **init scale**: the distance to `S Pi` first falls, then creeps up again. The
  prediction assumes that `W1bar` grows from small weights inside the row space of
  `Pbar S`; the random part of the initial `W1` outside it never decays (no weight decay),
  and `W2`, which learns by the exact delta rule, slowly reads the task through it;
- a longer **T** at a large init scale makes that drift visible in `a_i` too.
"""),
    code("""
explorer = classroom.ModeExplorer("fa", rank=2, init_scale=1e-3, T=200, second="distance")
explorer.widgets()
"""),
    md("""
A fixed picture of the last point: FA of rank 2 from a large initial scale (`0.1`) up to
`T = 400`. The network first goes to `S Pi`, then leaves it: with `k = 40 >= n = 20`
hidden units the random initial `W1` spans every input direction, and `W2` alone fits the
whole task through those random features, on a time scale of order `1 / scale^2`. By
`T = 400` every mode is close to 1. The `S Pi` story is the story of *small* initial
weights.
"""),
    code("""
display(classroom.ModeExplorer("fa", rank=2, init_scale=0.1, T=400, second="distance").fig)
"""),
]

NB4 = [
    md(f"""
# 4. RAF: Oja's rule finds the error subspace, and the top `r` modes are learned

Restricted Adaptive Feedback (RAF) keeps the low-rank channel `B = Q P` of notebook 3 but
lets both factors learn from local signals ([theory §3]({THEORY}#3-learning-rules-of-the-two-layer-linear-network)):

- `Q` by the Kolen-Pollack-like rule `dQ = eta h (P e)^T - eta lam Q`;
- `P` by Oja's subspace rule on the targets ([theory §3.1]({THEORY}#31-ojas-subspace-rule-eq-8)),

$$\\tau\\,\\dot P = P\\,\\Sigma_{{yy}}\\,(I - P^\\top P).$$

Oja's stable fixed points are the `P` whose rows are an orthonormal basis of the top-`r`
eigenvectors of `Sigma_yy`. In the rotated frame `Sigma_yy_bar ≈ S S^T + sigma^2 I`, so
those eigenvectors are the `r` strongest modes: `Pbar = R [I_r 0]`, `row(Pbar S)` is spanned
by the first `r` axes, and the fixed point `S Pi` of notebook 3 becomes
`diag(s_1, ..., s_r, 0, ..., 0)`: RAF learns exactly the top `r` modes
([theory §5.5]({THEORY}#55-raf-learns-the-top-r-modes)).
"""),
    code(SETUP),
    code("""
task = lintheory.make_task(**classroom.TASK)
curves = classroom.mode_curves(task, "raf", rank=2, init_scale=1e-3, T=200)
P_end = curves["trajectory"].P[-1]                           # (r, m), rotated frame
evals, evecs = np.linalg.eigh(task.Sigma_yy_bar)             # numpy, ascending
top = evecs[:, ::-1][:, :2]                                  # (m, r): top-2 eigenvectors
print("|Pbar Pbar^T - I| at T            :", f"{np.abs(P_end @ P_end.T - np.eye(2)).max():.2e}")
print("cosines of principal angles       :", np.round(np.linalg.svd(P_end @ top,
                                                                    compute_uv=False), 6))
print("overlap with the top-2 modes, t=0 :", round(curves["overlap"][0], 4),
      "  t=T:", round(curves["overlap"][-1], 6))
print("final a_i                         :", np.round(curves["a"][-1], 4))
"""),
    md("""
## FA and RAF from the same start

The same initial `W1, W2, Q, P` (seed 1): FA keeps the random `P` and stalls at its
`S Pi`; RAF turns `P` towards the top-2 output modes and learns modes 1 and 2.
"""),
    code("""
fa = classroom.mode_curves(task, "fa", rank=2, init_scale=1e-3, T=200, points=20)
print("FA  a(T) =", np.round(fa["a"][-1], 3))
print("RAF a(T) =", np.round(curves["a"][-1], 3))
"""),
    md("""
## Sliders

Left: mode strengths and the predicted top-`r` fixed point. Right: how much of the top-`r`
output subspace the channel `row(Pbar)` spans (1 when Oja has converged). Try:

- **rank** `r = 1, 2, 3, 4`: exactly the `r` strongest modes are learned;
- **rule** `fa` or `kp`: the overlap stays where the random `P` started;
- a larger **init scale** with a long **T**: modes outside the channel creep up (see the
  table below and notebook 3's explanation).
"""),
    code("""
explorer = classroom.ModeExplorer("raf", rank=2, init_scale=1e-3, T=200, second="overlap")
explorer.widgets()
"""),
    md("""
## When the initial weights are not small

The top-`r` prediction assumes small initial weights (theory §5.2). Measured here at
`T = 100` for two initial scales: the strengths of modes 3 and 4, which the channel never
carries. From the large scale they are learned all the same, slowly, by `W2` reading the
random initial features of `W1` (notebook 3, last figure).
"""),
    code("""
for scale in (1e-3, 1e-1):
    c = classroom.mode_curves(task, "raf", rank=2, init_scale=scale, T=100, points=5)
    print(f"init scale {scale:g}: a_3(T) = {c['a'][-1, 2]:.3f}, a_4(T) = {c['a'][-1, 3]:.3f}")
"""),
    md("""
## Rank 3

A fixed picture for `r = 3`: three modes learned, and the channel finds the top-3 subspace.
"""),
    code("""
display(classroom.ModeExplorer("raf", rank=3, init_scale=1e-3, T=200, second="overlap").fig)
"""),
]

NOTEBOOKS = {
    "01_task_and_svd.ipynb": NB1,
    "02_saxe_modes.ipynb": NB2,
    "03_fa_stalls.ipynb": NB3,
    "04_raf_and_oja.ipynb": NB4,
}


def build(cells, stem: str):
    """An nbformat v4 notebook of ``cells`` (outputs empty, fixed cell ids)."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    for i, (kind, text) in enumerate(cells):
        make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        cell = make(text)
        cell.id = f"{stem}-{i:02d}"
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def render(cells, stem: str) -> str:
    import nbformat

    return nbformat.writes(build(cells, stem)) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true",
                    help="only compare: exit 1 if a notebook differs from this script")
    args = ap.parse_args(argv)
    OUT.mkdir(exist_ok=True)
    differ = []
    for name, cells in NOTEBOOKS.items():
        path = OUT / name
        text = render(cells, name.split("_")[0])
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        differ.append(name)
        if not args.check:
            fd, tmp = tempfile.mkstemp(dir=OUT, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
            print(f"wrote {path.relative_to(ROOT)}")
    if args.check and differ:
        print("differ from tools/make_notebooks.py:", ", ".join(differ), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
