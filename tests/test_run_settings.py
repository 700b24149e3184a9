"""One validated run configuration (lintheory.run_settings): checks once, shared CLI options.

References: the keyword path of simulate (the same numbers), argparse's own parse of each
command (the same option text everywhere), and counted calls of the validators.
"""

from __future__ import annotations

import numpy as np
import pytest

from lintheory import make_init, make_task, simulate
from lintheory.cli import build_parser
from lintheory.run_settings import OPTIONS, RunSettings, parse_batch


@pytest.mark.parametrize(("field", "value", "match"), [
    ("lam", -1, r"lam must be in \[0.0, 1e\+06\]"),
    ("wd", float("nan"), "wd \\(weight decay\\) must be finite"),
    ("p_rate", "x", "p_rate must be a number"),
    ("oja_drive", "both", "oja_drive must be one of error, targets"),
    ("solver", "Euler", "solver must be one of RK45"),
    ("rtol", 0, r"rtol must be in \(0.0, inf\)"),
    ("lr", -0.1, r"lr \(learning rate\) must be in \(0.0, inf\)"),
    ("batch", 0, r"batch \(mini-batch size\) must be in \[1, inf\)"),
    ("batch", "half", "batch \\(--batch\\) must be full, online or an integer"),
])
def test_each_field_is_checked_with_a_one_line_error(field, value, match):
    with pytest.raises(ValueError, match=match):
        RunSettings(**{field: value})


def test_batch_forms():
    assert parse_batch("Full") == "full" and parse_batch("7") == 7 and parse_batch(3) == 3
    assert RunSettings(batch="12").batch == 12


def test_settings_give_the_same_numbers_as_keywords():
    task = make_task(n=6, m=4, d=2, N=40, seed=1)
    w0 = make_init(task, 5, 2, scale=0.3, rng=2)
    kw = dict(lam=0.1, wd=0.01, p_rate=1.5, lr=0.02, batch=5)
    a = simulate(task, "raf", w0, np.linspace(0, 1, 5), method="both", rng=3, **kw)
    b = simulate(task, "raf", w0, np.linspace(0, 1, 5), method="both", rng=3,
                 settings=RunSettings(**kw))
    for key in ("ode", "sgd"):
        for x, y in zip(a[key].Ws + a[key].Qs + a[key].Ps, b[key].Ws + b[key].Qs + b[key].Ps):
            np.testing.assert_array_equal(x, y)


def test_simulate_validates_once(monkeypatch):
    """The learning rate is checked once on the way from simulate to the kernels."""
    import lintheory.run_settings as rs

    calls = []
    real = rs.check_float

    def counting(name, *a, **k):
        calls.append(name)
        return real(name, *a, **k)

    monkeypatch.setattr(rs, "check_float", counting)
    task = make_task(n=6, m=4, d=2, N=40, seed=1)
    w0 = make_init(task, 5, 2, scale=0.3, rng=2)
    simulate(task, "raf", w0, [0.0, 0.5], method="both", lr=0.05)
    assert calls.count("lr (learning rate)") == 1


def _option_help(command):
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return {a.option_strings[0]: a.help for a in sub.choices[command]._actions
            if a.option_strings}


def test_the_linear_commands_share_option_names_and_help():
    flags = {name: spec[0] for name, spec in OPTIONS.items()}
    per = {c: _option_help(c) for c in ("simulate", "figure2", "figure-deep")}
    for flag in flags.values():
        texts = {c: h[flag] for c, h in per.items() if flag in h}
        assert len(set(texts.values())) <= 1, (flag, texts)
    assert {"--lr", "--batch", "--lam"} <= set(per["figure-deep"]) & set(per["figure2"])
    sweep = _option_help("sweep")  # sweep --kind linear: the rule's settings, same text
    for flag in ("--lam", "--wd", "--p-rate"):
        assert sweep[flag] == per["simulate"][flag]
