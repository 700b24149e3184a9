"""Property-based tests (hypothesis) of the discrete engines and the NN model builder.

Issue 6, item 4, for the parts ``tests/test_properties.py`` (task, init, ODE) leaves out:

* two-layer SGD (:func:`lintheory.run_sgd`) and deep SGD (:func:`lintheory.deep.run_sgd_deep`):
  for random sizes, ranks, rules, batch modes and seeds the numba kernels equal the NumPy
  reference to 1e-10 (or both stop at the same divergent step), every array has its
  documented shape, and invalid combinations raise ``ValueError``;
* :func:`lintheory.nn.build_model`: random small MLPs, CNNs and ViTs with random per-layer
  ranks give logits ``(B, C)`` and a gradient of each parameter's shape; a rank above a
  layer's allowed dimension is a ``ValueError``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from lintheory import RULES, make_init, make_task, run_sgd
from lintheory.deep import DEEP_RULES, make_deep_init, run_sgd_deep
from lintheory.errors import DivergenceError
from lintheory.nn import build_model

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def linear_case(draw):
    n = draw(st.integers(1, 6))
    m = draw(st.integers(1, 5))
    d = draw(st.integers(1, min(m, n)))
    N = draw(st.integers(max(n, 2), 30))
    batch = draw(st.one_of(st.sampled_from(["full", "online"]), st.integers(1, N)))
    steps = sorted(draw(st.sets(st.integers(0, 25), min_size=1, max_size=4)))
    return dict(
        n=n, m=m, d=d, N=N, k=draw(st.integers(1, 6)), r=draw(st.integers(1, m)),
        seed=draw(st.integers(0, 2**32 - 1)), batch=batch, steps=steps,
        lr=draw(st.sampled_from([1e-3, 0.01, 0.05, 0.2])),
        lam=draw(st.sampled_from([0.0, 0.1])), wd=draw(st.sampled_from([0.0, 0.05])),
        p_rate=draw(st.sampled_from([0.0, 0.5, 1.0])),
    )


def _both_engines(fn, **kw):
    """Run ``fn`` with each engine; return the two results (or the two DivergenceErrors)."""
    out = []
    for engine in ("numba", "numpy"):
        try:
            out.append(fn(engine=engine, **kw))
        except DivergenceError as exc:
            out.append(exc)
    return out


@FAST
@given(linear_case(), st.sampled_from(sorted(RULES)))
def test_run_sgd_numba_equals_numpy_with_documented_shapes(c, rule):
    task = make_task(c["n"], c["m"], c["d"], c["N"], seed=c["seed"])
    w0 = make_init(task, c["k"], c["r"], scale=0.3, rng=np.random.default_rng(c["seed"]))
    times = c["lr"] * np.array(c["steps"], dtype=float)
    a, b = _both_engines(
        lambda engine: run_sgd(task, rule, w0, times, lr=c["lr"], batch=c["batch"], lam=c["lam"],
                               wd=c["wd"], p_rate=c["p_rate"], rng=c["seed"], engine=engine))
    if isinstance(a, DivergenceError) or isinstance(b, DivergenceError):
        event("diverged (both engines at the same step)")
        assert isinstance(a, DivergenceError) and isinstance(b, DivergenceError)
        assert a.step == b.step and a.suggestion == b.suggestion == c["lr"] / 4
        return
    T, (n, m, k, r) = len(times), (c["n"], c["m"], c["k"], c["r"])
    assert a.W1.shape == (T, k, n) and a.W2.shape == (T, m, k)
    assert a.Q.shape == (T, k, r) and a.P.shape == (T, r, m)
    assert a.mode_strengths.shape == (T, c["d"]) and a.loss.shape == (T,)
    assert a.info["steps"] == c["steps"] and a.method == "sgd"
    np.testing.assert_allclose(a.times, times, rtol=1e-15)
    for x, y in ((a.W1, b.W1), (a.W2, b.W2), (a.Q, b.Q), (a.P, b.P)):
        np.testing.assert_allclose(x, y, rtol=1e-10, atol=1e-10)
    # the first output is the initial weights, untouched by either engine
    if c["steps"][0] == 0:
        w0r = w0.rotate(task)
        np.testing.assert_allclose(a.W1[0], w0r.W1, atol=1e-14)


@FAST
@given(linear_case(), st.integers(1, 5))
def test_run_sgd_rejects_invalid_combinations(c, extra):
    task = make_task(c["n"], c["m"], c["d"], c["N"], seed=c["seed"])
    w0 = make_init(task, c["k"], c["r"], scale=0.3, rng=np.random.default_rng(0))
    times = c["lr"] * np.arange(3.0)
    ok = dict(lr=c["lr"], batch="full")

    def bad(match, times=times, init=w0, **kw):
        with pytest.raises(ValueError, match=match):
            run_sgd(task, "raf", init, times, **{**ok, **kw})

    bad(r"batch \(mini-batch size\) must be in \[1, " + str(c["N"]), batch=c["N"] + extra)
    bad(r"batch \(mini-batch size\) must be in", batch=1 - extra)
    bad("batch .--batch. must be full, online or an integer", batch="half")
    bad(r"lr \(learning rate\) must be in \(0.0, inf\)", lr=-c["lr"] * extra)
    bad(r"lr \(learning rate\) must be in", lr=0.0)
    bad("lr .* must be finite", lr=float("nan"))
    bad("lam must be in", lam=-0.1 * extra)
    bad(r"wd \(weight decay\) must be in", wd=-0.1 * extra)
    bad("p_rate must be in", p_rate=-0.1 * extra)
    bad("engine must be one of", engine="torch")
    bad("times must be >= 0 and strictly increasing", times=times[::-1])
    bad("times must be >= 0", times=times - c["lr"])
    bad("both map to step", times=np.array([0.0, 0.4, 0.6]) * c["lr"])
    other = make_task(c["n"] + extra, c["m"], c["d"], max(c["N"], c["n"] + extra), seed=1)
    w_other = make_init(other, c["k"], c["r"], rng=np.random.default_rng(0))
    bad(f"weights are for n={c['n'] + extra}, m={c['m']} but the task has n={c['n']}",
        init=w_other)
    with pytest.raises(ValueError, match="rank r must be in"):
        make_init(task, c["k"], c["m"] + extra, rng=np.random.default_rng(0))


@st.composite
def deep_case(draw):
    n = draw(st.integers(1, 5))
    m = draw(st.integers(1, 4))
    d = draw(st.integers(1, min(m, n)))
    N = draw(st.integers(max(n, 2), 24))
    widths = draw(st.lists(st.integers(1, 5), min_size=1, max_size=3))
    rule = draw(st.sampled_from(sorted(DEEP_RULES)))
    direct = DEEP_RULES[rule].direct
    dims = [n, *widths, m]
    ranks = [draw(st.integers(1, m if direct else dims[j + 2])) for j in range(len(widths))]
    batch = draw(st.one_of(st.sampled_from(["full", "online"]), st.integers(1, N)))
    steps = sorted(draw(st.sets(st.integers(0, 20), min_size=1, max_size=3)))
    return dict(n=n, m=m, d=d, N=N, widths=widths, ranks=ranks, rule=rule, direct=direct,
                dims=dims, batch=batch, steps=steps, seed=draw(st.integers(0, 2**32 - 1)),
                lr=draw(st.sampled_from([1e-3, 0.02, 0.1])),
                oja_scale=draw(st.booleans()))


@FAST
@given(deep_case())
def test_run_sgd_deep_numba_equals_numpy_with_documented_shapes(c):
    task = make_task(c["n"], c["m"], c["d"], c["N"], seed=c["seed"])
    w0 = make_deep_init(task, c["widths"], c["ranks"], scale=0.5, rng=c["seed"],
                        direct=c["direct"])
    times = c["lr"] * np.array(c["steps"], dtype=float)
    a, b = _both_engines(
        lambda engine: run_sgd_deep(task, c["rule"], w0, times, lr=c["lr"], batch=c["batch"],
                                    lam=0.05, oja_scale=c["oja_scale"], rng=c["seed"],
                                    engine=engine))
    if isinstance(a, DivergenceError) or isinstance(b, DivergenceError):
        event("diverged (both engines at the same step)")
        assert isinstance(a, DivergenceError) and isinstance(b, DivergenceError)
        assert a.step == b.step
        return
    T, dims, L = len(times), c["dims"], len(c["dims"]) - 1
    assert len(a.Ws) == L and len(a.Qs) == len(a.Ps) == L - 1
    for i in range(L):
        assert a.Ws[i].shape == (T, dims[i + 1], dims[i])
    for j, r in enumerate(c["ranks"]):
        assert a.Qs[j].shape == (T, dims[j + 1], r)
        assert a.Ps[j].shape == (T, r, c["m"] if c["direct"] else dims[j + 2])
    assert a.mode_strengths.shape == (T, c["d"])
    for xs, ys in ((a.Ws, b.Ws), (a.Qs, b.Qs), (a.Ps, b.Ps)):
        for x, y in zip(xs, ys):
            np.testing.assert_allclose(x, y, rtol=1e-10, atol=1e-10)


@FEW
@given(deep_case(), st.integers(1, 3))
def test_deep_invalid_architectures_raise(c, extra):
    task = make_task(c["n"], c["m"], c["d"], c["N"], seed=c["seed"])
    cols = c["m"] if c["direct"] else c["dims"][2]
    with pytest.raises(ValueError, match=r"ranks\[0\] \(feedback rank into layer 1\) must be in"):
        make_deep_init(task, c["widths"], [cols + extra, *c["ranks"][1:]], direct=c["direct"])
    with pytest.raises(ValueError, match=r"ranks must be one int or"):
        make_deep_init(task, c["widths"], [1] * (len(c["widths"]) + extra), direct=c["direct"])
    with pytest.raises(ValueError, match=r"widths\[0\] must be in"):
        make_deep_init(task, [1 - extra, *c["widths"][1:]], 1, direct=c["direct"])
    w0 = make_deep_init(task, c["widths"], c["ranks"], rng=0, direct=c["direct"])
    with pytest.raises(ValueError, match=r"batch \(mini-batch size\) must be in"):
        run_sgd_deep(task, c["rule"], w0, [0.0, 0.1], lr=0.1, batch=c["N"] + extra)
    with pytest.raises(ValueError, match=r"lr \(learning rate\) must be in"):
        run_sgd_deep(task, c["rule"], w0, [0.0, 0.1], lr=-0.1)
    # a layered init for a direct rule (or the other way round) is refused beyond depth 2
    # (at depth 2 the one pathway reads the output error either way)
    other = "raf" if c["direct"] else "draf"
    if len(c["widths"]) > 1:
        with pytest.raises(ValueError, match="feedback weights; build the init with"):
            run_sgd_deep(task, other, w0, [0.0, 0.1], lr=0.1)


# --------------------------------------------------------------------------- NN builder

NN_RULES = ("bp", "fa", "kp", "raf", "normative", "draf", "dfa")


def _feedback_dims(model):
    """The dimension each feedback layer's P projects from (what bounds its rank)."""
    return [layer.Wm.shape[0] for layer in model.feedback_layers]


def _check_forward_backward(model, X, C, rng):
    logits = model.forward(X, train=True)
    assert logits.shape == (len(X), C) and logits.dtype == model.dtype
    assert np.all(np.isfinite(logits))
    e = rng.standard_normal(logits.shape).astype(model.dtype)
    y = rng.integers(0, C, size=len(X))
    model.backward(e, targets_onehot=np.eye(C, dtype=model.dtype)[y])
    for p in [*model.params(), *model.feedback_params()]:
        assert p.grad.shape == p.value.shape and p.grad.dtype == p.value.dtype, p.name
        assert np.all(np.isfinite(p.grad)), p.name


@FAST
@given(
    st.integers(2, 12), st.integers(2, 6), st.lists(st.integers(1, 9), min_size=1, max_size=3),
    st.sampled_from(NN_RULES), st.integers(0, 2**32 - 1), st.integers(1, 5),
    st.sampled_from(["float32", "float64"]), st.data(),
)
def test_mlp_shapes_and_rank_limits(n_in, C, widths, rule, seed, B, dtype, data):
    rng = np.random.default_rng(seed)
    kw = dict(hidden=widths, depth=len(widths), dtype=np.dtype(dtype))
    probe = build_model("mlp", (n_in,), C, rule="bp", rng=np.random.default_rng(0), **kw)
    dims = _feedback_dims(probe)  # [widths[1:]..., C]: each feedback layer's output width
    assert dims == [*widths[1:], C]
    direct = rule in ("draf", "dfa")
    if direct:  # the output layer is local: direct rules go to hidden layers only
        rules = [rule] * (len(dims) - 1) + ["raf"]
        limits = [C] * (len(dims) - 1) + [C]
    else:
        rules, limits = rule, dims
    if rule == "bp":
        ranks = None
    else:
        ranks = [data.draw(st.integers(1, lim)) for lim in limits]
    model = build_model("mlp", (n_in,), C, rule=rules, rank=ranks, rng=rng, **kw)
    if rule == "bp":
        assert model.feedback_params() == []
    _check_forward_backward(model, rng.standard_normal((B, n_in)).astype(dtype), C, rng)
    if rule != "bp":
        j = data.draw(st.integers(0, len(limits) - 1))
        too_big = list(ranks)
        too_big[j] = limits[j] + data.draw(st.integers(1, 3))
        with pytest.raises(ValueError, match="rank of layer"):
            build_model("mlp", (n_in,), C, rule=rules, rank=too_big, rng=rng, **kw)
        with pytest.raises(ValueError, match="rank"):
            build_model("mlp", (n_in,), C, rule=rules, rank=[0] * len(limits), rng=rng, **kw)


@FEW
@given(st.integers(4, 7), st.integers(4, 7), st.integers(1, 2), st.integers(2, 4),
       st.sampled_from(["bp", "fa", "raf"]), st.integers(0, 2**32 - 1), st.data())
def test_cnn_shapes_and_rank_limits(H, W, Cin, C, rule, seed, data):
    rng = np.random.default_rng(seed)
    kw = dict(hidden=data.draw(st.integers(2, 8)), channels=(2, 2, 3), dtype=np.float64)
    model = build_model("cnn", (Cin, H, W), C, rule="bp", rng=np.random.default_rng(0), **kw)
    dims = _feedback_dims(model)
    ranks = None if rule == "bp" else [data.draw(st.integers(1, dd)) for dd in dims]
    model = build_model("cnn", (Cin, H, W), C, rule=rule, rank=ranks, rng=rng, **kw)
    _check_forward_backward(model, rng.standard_normal((3, Cin, H, W)), C, rng)
    if rule != "bp":
        with pytest.raises(ValueError, match="rank of layer"):
            build_model("cnn", (Cin, H, W), C, rule=rule, rank=max(dims) + 1, rng=rng, **kw)


@FEW
@given(st.sampled_from([(4, 4, 2), (6, 6, 3), (4, 8, 2)]), st.sampled_from([(4, 2), (6, 3)]),
       st.sampled_from(["bp", "fa", "raf"]), st.integers(0, 2**32 - 1), st.data())
def test_vit_shapes_and_rank_limits(hwp, dim_heads, rule, seed, data):
    (H, W, patch), (dim, heads) = hwp, dim_heads
    rng = np.random.default_rng(seed)
    C = data.draw(st.integers(2, 4))
    kw = dict(hidden=dim, depth=1, heads=heads, patch=patch, dtype=np.float64)
    model = build_model("vit", (1, H, W), C, rule="bp", rng=np.random.default_rng(0), **kw)
    dims = _feedback_dims(model)
    ranks = None if rule == "bp" else [data.draw(st.integers(1, dd)) for dd in dims]
    model = build_model("vit", (1, H, W), C, rule=rule, rank=ranks, rng=rng, **kw)
    _check_forward_backward(model, rng.standard_normal((2, 1, H, W)), C, rng)
    if rule != "bp":
        with pytest.raises(ValueError, match="rank of layer"):
            build_model("vit", (1, H, W), C, rule=rule, rank=max(dims) + 1, rng=rng, **kw)
    with pytest.raises(ValueError, match="heads must be >= 1 and divide dim"):
        build_model("vit", (1, H, W), C, rng=rng, **{**kw, "heads": dim + 1})
