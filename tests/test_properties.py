"""Property-based tests (hypothesis) over the public linear-theory API.

Random sizes, ranks and seeds: no crash, documented shapes, ``ValueError`` for invalid
combinations, and the rotated and unrotated ODEs agree.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lintheory import RULES, integrate, make_init, make_task

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def sizes(draw):
    n = draw(st.integers(1, 7))
    m = draw(st.integers(1, 6))
    d = draw(st.integers(1, min(m, n)))
    k = draw(st.integers(1, 6))
    r = draw(st.integers(1, m))
    N = draw(st.integers(max(n, 2), 40))
    seed = draw(st.integers(0, 2**32 - 1))
    return dict(n=n, m=m, d=d, k=k, r=r, N=N, seed=seed)


@FAST
@given(sizes(), st.sampled_from(["random", "balanced"]))
def test_task_and_init_shapes(sz, kind):
    task = make_task(sz["n"], sz["m"], sz["d"], sz["N"], seed=sz["seed"])
    assert task.X.shape == (sz["N"], sz["n"]) and task.Y.shape == (sz["N"], sz["m"])
    assert task.S.shape == (sz["m"], sz["n"]) and task.U.shape == (sz["m"], sz["m"])
    assert np.all(np.diff(task.s) <= 1e-12)  # descending singular values
    if kind == "balanced" and sz["k"] < sz["d"]:
        with pytest.raises(ValueError, match="k \\(hidden width\\) >= d"):
            make_init(task, sz["k"], sz["r"], kind, rng=np.random.default_rng(0))
        return
    w = make_init(task, sz["k"], sz["r"], kind, rng=np.random.default_rng(sz["seed"]))
    assert w.shape == {"n": sz["n"], "k": sz["k"], "m": sz["m"], "r": sz["r"]}


@FAST
@given(sizes(), st.integers(-3, 0), st.integers(1, 4))
def test_invalid_ranks_and_widths_raise(sz, bad, extra):
    task = make_task(sz["n"], sz["m"], sz["d"], sz["N"], seed=sz["seed"])
    with pytest.raises(ValueError, match="rank r must be in"):
        make_init(task, sz["k"], bad, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="rank r must be in"):
        make_init(task, sz["k"], sz["m"] + extra, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="k \\(hidden width\\) must be in"):
        make_init(task, bad, sz["r"], rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="d must be in"):
        make_task(sz["n"], sz["m"], min(sz["m"], sz["n"]) + extra, sz["N"])


@settings(max_examples=12, deadline=None)
@given(sizes(), st.sampled_from(sorted(n for n, r in RULES.items() if r.rotatable)),
       st.floats(0.0, 0.5))
def test_rotated_and_unrotated_odes_agree(sz, rule, lam):
    """Rotating the unrotated solution gives the rotated solution (theory §4)."""
    task = make_task(sz["n"], sz["m"], sz["d"], sz["N"], seed=sz["seed"])
    w0 = make_init(task, sz["k"], sz["r"], scale=0.3, rng=np.random.default_rng(sz["seed"]))
    times = np.linspace(0.0, 3.0, 4)
    kw = dict(lam=lam, rtol=1e-10, atol=1e-12)
    a = integrate(task, rule, w0, times, frame="rotated", **kw)
    b = integrate(task, rule, w0, times, frame="unrotated", **kw)
    assert a.W1.shape == (4, sz["k"], sz["n"]) and a.P.shape == (4, sz["r"], sz["m"])
    for x, y in ((a.W1, b.W1), (a.W2, b.W2), (a.Q, b.Q), (a.P, b.P)):
        np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-8)
    assert a.mode_strengths.shape == (4, sz["d"])
