"""The ``lintheory`` command line.

Each sub-command lives in its own module under :mod:`lintheory.commands` and is found
automatically. A command module defines::

    NAME = "figure2"                 # the sub-command
    HELP = "one line for the list"   # shown by ``lintheory --help``
    DESCRIPTION = "a paragraph"      # shown by ``lintheory NAME --help``
    def add_arguments(parser): ...   # argparse options
    def run(args) -> int: ...        # the work; import heavy modules inside

Errors that users can fix (``ValueError``, :class:`~lintheory.errors.DivergenceError`)
end the program with a one-line message and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from . import __version__, commands


def _command_modules():
    mods = []
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        mods.append(importlib.import_module(f"{commands.__name__}.{info.name}"))
    return sorted(mods, key=lambda m: getattr(m, "ORDER", 50))


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Appends ``(default: X)`` once, and only where it says something: not when the help
    text already states its default, not for flags (``store_true``/``store_false``) and
    not for a default of None; lists are shown as ``a,b`` as they are typed."""

    def _get_help_string(self, action):
        text = action.help or ""
        d = action.default
        if ("default" in text or action.nargs == 0 or d is None or d is argparse.SUPPRESS
                or action.option_strings == [] or (isinstance(d, (list, tuple)) and not d)):
            return text
        if isinstance(d, (list, tuple)):
            d = ",".join(str(v) for v in d)
        return f"{text} (default: {d})" if text else f"(default: {d})"


def build_parser() -> argparse.ArgumentParser:
    """The ``lintheory`` parser, one sub-parser per discovered command module."""
    parser = argparse.ArgumentParser(
        prog="lintheory",
        description=(
            "Learning with low-dimensional error feedback (Hanut & Kadmon, arXiv 2502.20580): "
            "linear theory (ODEs and SGD), symbolic checks, and a NumPy engine for "
            "nonlinear networks. Run 'lintheory COMMAND --help' for a command's options."
        ),
    )
    parser.add_argument("--version", action="version", version=f"lintheory {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in _command_modules():
        p = sub.add_parser(
            mod.NAME,
            help=mod.HELP,
            description=getattr(mod, "DESCRIPTION", mod.HELP),
            formatter_class=_HelpFormatter,
        )
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run, _parser=p)
    return parser


def main(argv=None) -> int:
    """Entry point: parse ``argv`` and run the command; returns the exit code
    (ValueError and DivergenceError print a one-line error and return 2)."""
    from .errors import DivergenceError

    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "_run", None) is None:
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except (ValueError, DivergenceError) as exc:
        print(f"lintheory {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"lintheory {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
