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
