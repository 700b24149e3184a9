"""One name per concept (issue 13, item 6): ``--samples`` for the number of samples and
``--out STEM`` for an output stem; the old spellings (``figure-deep --N``, ``figure2
--out-dir``) still work, are hidden from ``--help`` and print a one-line note."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from lintheory.cli import build_parser, main


def _sub(name):
    parser = build_parser(only=name)
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return sub.choices[name]


def test_hidden_options_are_deprecated_aliases_of_visible_ones():
    """Every option hidden from --help is an alias: it stores into a destination that a
    visible option also sets, or (figure2 --out-dir) one the command translates."""
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    hidden = []
    for name, p in sub.choices.items():
        visible = {a.dest for a in p._actions if a.help != argparse.SUPPRESS}
        for a in p._actions:
            if a.help == argparse.SUPPRESS:
                hidden.append((name, a.option_strings[0]))
                assert a.dest in visible or a.dest == "out_dir", (name, a.option_strings)
                assert a.option_strings[0] not in p.format_help()
    assert ("figure-deep", "--N") in hidden and ("figure2", "--out-dir") in hidden


def test_figure_deep_N_is_samples_with_a_note(capsys):
    p = _sub("figure-deep")
    assert p.parse_args(["--samples", "50"]).samples == 50
    assert p.parse_args([]).samples == 1000
    assert p.parse_args(["--N", "40"]).samples == 40
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--N is deprecated" in err and "--samples" in err


def test_figure2_out_dir_still_names_the_folder(capsys):
    from lintheory.commands.figure2 import output_stem

    p = _sub("figure2")
    assert output_stem(p.parse_args([])) == Path("figures/figure2")
    assert output_stem(p.parse_args(["--out", "a/b"])) == Path("a/b")
    assert output_stem(p.parse_args(["--rules", "raf"])) == Path("figures/figure2_rules")
    assert output_stem(p.parse_args(["--out-dir", "x"])) == Path("x/figure2")
    assert "--out-dir is deprecated" in capsys.readouterr().err
    with pytest.raises(ValueError, match="not both"):
        output_stem(p.parse_args(["--out-dir", "x", "--out", "y"]))
    q = _sub("figure-rules")
    assert output_stem(q.parse_args([])) == Path("figures/figure_rules")
    assert output_stem(q.parse_args(["--out-dir", "x"])) == Path("x/figure_rules")


def test_figure2_out_writes_the_stem(tmp_path):
    args = ["figure2", "--n", "6", "--k", "8", "--m", "5", "--d", "3", "--samples", "60",
            "--rank-low", "1", "--T", "2", "--points", "5", "--sgd-points", "3", "--lr",
            "0.05", "--batch", "10", "--quiet"]
    assert main([*args, "--out", str(tmp_path / "a" / "fig")]) == 0
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [
        "fig.json", "fig.pdf", "fig.png"]
    assert main([*args, "--out-dir", str(tmp_path / "b")]) == 0
    assert (tmp_path / "b" / "figure2.json").read_bytes() == (
        tmp_path / "a" / "fig.json").read_bytes()
