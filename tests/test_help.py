"""Every command's ``--help``: each option has a help text, states its default at most once,
and shows no Python repr (``['bp', 'raf']``, ``None)``, ``(default: True)``).

The parser is the real one (``lintheory.cli.build_parser``) and each option's text is the
one argparse prints, with ``%(default)s`` expanded and the formatter's ``(default: X)``
appended. Cases in commands being reworked elsewhere (the linear refactor) are marked
xfail when they fail, so this file still runs, and fails, for every other command.
"""

from __future__ import annotations

import argparse
import re

import pytest

from lintheory.cli import build_parser

#: commands whose help is owned by the linear refactor: failures there are xfail
LINEAR_OWNED = {"simulate", "figure2", "figure-deep", "verify", "sweep"}

#: what a Python repr looks like inside a help text
REPRS = ("['", "('", "{'", "None)", "(default: True)", "(default: False)", "<function",
         "object at 0x")


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


COMMANDS = _commands()


def _options():
    for name, parser in COMMANDS.items():
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
                continue
            if action.help == argparse.SUPPRESS:  # a deprecated alias, not in --help
                continue                          # (tests/test_deprecated_names.py)
            label = action.option_strings[0] if action.option_strings else action.dest
            yield pytest.param(name, label, id=f"{name} {label}")


def _action(command: str, label: str) -> argparse.Action:
    for action in COMMANDS[command]._actions:
        if label in action.option_strings or (not action.option_strings
                                              and action.dest == label):
            return action
    raise LookupError(label)


def help_problems(parser: argparse.ArgumentParser, action: argparse.Action) -> list[str]:
    """What is wrong with one option's help as ``parser`` prints it (empty: nothing)."""
    if not action.help or action.help == argparse.SUPPRESS or not action.help.strip():
        return ["no help text"]
    text = parser._get_formatter()._expand_help(action)
    problems = []
    n = len(re.findall(r"\(default", text))
    if n > 1:
        problems.append(f"'(default' {n} times")
    problems += [f"Python repr {r!r}" for r in REPRS if r in text]
    return [f"{p}: {text!r}" for p in problems]


def _check(command: str, problems: list[str]) -> None:
    if problems and command in LINEAR_OWNED:
        pytest.xfail("owned by the linear refactor: " + "; ".join(problems))
    assert not problems, "; ".join(problems)


@pytest.mark.parametrize("command,label", list(_options()))
def test_option_help(command, label):
    parser = COMMANDS[command]
    _check(command, help_problems(parser, _action(command, label)))


@pytest.mark.parametrize("command", list(COMMANDS))
def test_rendered_help(command):
    """The whole ``--help`` page renders, and no entry carries two default notes."""
    text = COMMANDS[command].format_help()
    assert command in text
    doubled = re.findall(r"\(default[^()]*(?:\([^()]*\)[^()]*)*\)\s*\(default", text)
    _check(command, [f"doubled default: {d!r}" for d in doubled])


def test_checker_catches_the_known_defects():
    """The checks fail on the defects of issue 13 (so the tests above can fail)."""
    from lintheory.cli import _HelpFormatter

    p = argparse.ArgumentParser(formatter_class=_HelpFormatter)
    cases = {
        "--a": p.add_argument("--a", default=None, help="rank (default: None)"),
        "--b": p.add_argument("--b", default=["bp", "raf"], help="rules %(default)s"),
        "--c": p.add_argument("--c", type=int, default=3),
        "--d": p.add_argument("--d", default=1, help="x (default 1) (default: 1)"),
        "--e": p.add_argument("--e", default=2, help="a fine text"),
    }
    found = {k: help_problems(p, a) for k, a in cases.items()}
    assert "None)" in found["--a"][0]
    assert "['" in found["--b"][0]
    assert found["--c"] == ["no help text"]
    assert "'(default' 2 times" in found["--d"][0]
    assert found["--e"] == []


@pytest.mark.parametrize("argv", [["--rank", "2"], ["--rank", "2,3", "--rule", "BP"]])
def test_train_rank_needs_feedback_factors(argv, tmp_path, capsys):
    """``train --rank`` with bp (no Q, P) is a one-line error naming the option, before any
    data is loaded or file written (it used to be accepted and ignored)."""
    from lintheory.cli import main

    out = tmp_path / "r.json"
    assert main(["train", *argv, "--epochs", "1", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--rank" in err and "bp" in err and "raf" in err
    assert not out.exists()


def test_train_rank_with_a_feedback_rule_is_accepted(tmp_path):
    from lintheory.cli import main

    out = tmp_path / "r.json"
    assert main(["train", "--rule", "fa", "--rank", "2", "--hidden", "8", "--depth", "1",
                 "--epochs", "1", "--out", str(out), "--quiet"]) == 0
    assert out.exists()
