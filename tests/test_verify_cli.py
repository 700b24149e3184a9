"""``lintheory verify``: table, --json, --only, --list, exit status, --break."""

from __future__ import annotations

import json

from lintheory.cli import main


def test_table_subset(capsys):
    assert main(["verify", "--only", "kp,saxe.flow"]) == 0
    out = capsys.readouterr().out
    for name in ("kp.align.matrix", "kp.align.explicit", "saxe.flow"):
        assert name in out
    assert "verified" in out and "FAILED" not in out
    assert "3/3 verified" in out
    assert "equations" in out and "seconds" in out


def test_json(capsys):
    assert main(["verify", "--only", "oja.*", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["failed"] == 0 and data["passed"] == 2
    assert {c["name"] for c in data["checks"]} == {"oja.stationary", "oja.stability"}
    assert all(c["status"] == "verified" and c["seconds"] >= 0 for c in data["checks"])


def test_broken_variant_exits_nonzero_and_prints_residual(capsys):
    assert main(["verify", "--only", "saxe.flow", "--break", "sign_flip"]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "residual:" in out and "0/1 verified" in out


def test_broken_json(capsys):
    assert main(["verify", "--only", "rot.fa.matrix", "--break", "rotate_q_too", "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["failed"] == 1 and data["checks"][0]["status"] == "FAILED"
    assert "U.T" in data["checks"][0]["residual"]


def test_list_and_errors(capsys):
    assert main(["verify", "--list"]) == 0
    out = capsys.readouterr().out
    assert "fp.family" in out and "saxe.dsolve" in out
    assert main(["verify", "--only", "zzz"]) == 2
    assert "matches no check" in capsys.readouterr().err
    assert main(["verify", "--only", "saxe.flow", "--break", "nope"]) == 2


def test_weight_decay_is_checked(capsys):
    """The averaging checks run with a symbolic weight decay: a wrong sign or a missing
    ``- wd W`` term in the flow FAILS them (issue 10)."""
    for variant in ("wd_sign_flip", "wd_missing"):
        assert main(["verify", "--only", "avg.fa.explicit,avg.raf.matrix", "--break",
                     variant, "--quiet"]) == 1
        assert "0/2 verified" in capsys.readouterr().out


def test_a_broken_integrator_rotation_fails_verify(monkeypatch, capsys):
    """``verify`` calls the integrator's own rotation: a bug put into the integrator module
    (Pbar = P U^T instead of P U) makes ``rot.integrator`` FAIL, and it really changes what
    the integrator returns (so the check guards the simulated numbers)."""
    import numpy as np

    import lintheory.dynamics as integrator
    from lintheory import integrate, make_init, make_task
    from lintheory.weights import Weights

    class BrokenWeights(Weights):
        def rotate(self, task):
            if self.rotated:
                return self
            return Weights.two_layer(self.W1 @ task.V, task.U.T @ self.W2, self.Q,
                                     self.P @ task.U.T, True)

    task = make_task(n=5, m=3, d=2, N=40, seed=0)
    w0 = make_init(task, 4, 2, scale=0.3, rng=1)
    good = integrate(task, "raf", w0, [0.0, 1.0], frame="unrotated").P[-1]
    assert main(["verify", "--only", "rot.integrator", "--quiet"]) == 0
    capsys.readouterr()
    monkeypatch.setattr(integrator, "Weights", BrokenWeights)
    bad = integrate(task, "raf", w0, [0.0, 1.0], frame="unrotated").P[-1]
    assert np.max(np.abs(bad - good)) > 1e-3
    assert main(["verify", "--only", "rot.integrator", "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "FAILED rot.integrator (A14, A37)" in out  # one Weights class: depth 3 fails too


def test_a_broken_deep_integrator_rotation_fails_verify(monkeypatch, capsys):
    """Same at depth 3: ``Weights.rotate`` forgetting the output P."""
    import lintheory.dynamics as integrator
    from lintheory.weights import Weights as DeepWeights

    class BrokenDeep(DeepWeights):
        def rotate(self, task):
            if self.rotated:
                return self
            Ws = (self.Ws[0] @ task.V, *self.Ws[1:-1], task.U.T @ self.Ws[-1])
            return DeepWeights(Ws, self.Qs, self.Ps, True, self.direct)

    monkeypatch.setattr(integrator, "Weights", BrokenDeep)
    assert main(["verify", "--only", "rot.integrator.deep", "--quiet"]) == 1
    assert "FAILED rot.integrator.deep" in capsys.readouterr().out
