"""The ``lintheory`` command line.

Each sub-command lives in its own module under :mod:`lintheory.commands` and is found
automatically. A command module defines::

    NAME = "figure2"                 # the sub-command
    HELP = "one line for the list"   # shown by ``lintheory --help``
    DESCRIPTION = "a paragraph"      # shown by ``lintheory NAME --help``
    def add_arguments(parser): ...   # argparse options
    def run(args) -> int: ...        # the work; import heavy modules inside

Every failure ends the program with one line on stderr, ``lintheory COMMAND: error: ...``,
never a traceback (``lintheory --debug COMMAND ...`` prints it): exit status 2 for what
the user can fix (bad values, ``DivergenceError``, ``SolverError``, a path or disk
problem, not enough memory, argparse errors) and 1 for anything unexpected (a bug: please
report it). Ctrl-C exits 130; SIGTERM and SIGHUP are handled the same way
(:mod:`lintheory.shutdown`) and exit 143 and 129. A run function calling ``sys.exit``
inside a sweep fails that run only.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
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


class _Parser(argparse.ArgumentParser):
    """An argparse parser whose usage errors are one line: the error and where the help is."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} "
                     f"(see {self.prog} --help)\n")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The ``lintheory`` parser, one sub-parser per discovered command module.

    With ``only`` (a command name), only that command's options are added (the others are
    listed, without options): what :func:`main` does, so that one command does not pay
    for importing what the others' options need.
    """
    parser = _Parser(
        prog="lintheory",
        description=(
            "Learning with low-dimensional error feedback (Hanut & Kadmon, arXiv 2502.20580): "
            "linear theory (ODEs and SGD), symbolic checks, and a NumPy engine for "
            "nonlinear networks. Run 'lintheory COMMAND --help' for a command's options."
        ),
    )
    parser.add_argument("--version", action="version", version=f"lintheory {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="on an error, print the full traceback before the one-line "
                        "message (also: LINTHEORY_DEBUG=1)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in _command_modules():
        p = sub.add_parser(
            mod.NAME,
            help=mod.HELP,
            description=getattr(mod, "DESCRIPTION", mod.HELP),
            formatter_class=_HelpFormatter,
        )
        if only is None or mod.NAME == only:
            mod.add_arguments(p)
        p.set_defaults(_run=mod.run, _parser=p)
    return parser


def _one_line(exc: BaseException) -> str:
    text = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    return text if len(text) <= 2000 else text[:2000] + " ..."


def describe_error(exc: BaseException) -> tuple[int, str]:
    """``(exit status, one-line message)`` for an exception that ended a command."""
    from .errors import DivergenceError, SolverError

    text = _one_line(exc)
    if isinstance(exc, (ValueError, DivergenceError, SolverError)):
        return 2, text or type(exc).__name__
    if isinstance(exc, OSError):
        what = exc.strerror or text or type(exc).__name__
        names = [str(n) for n in (exc.filename, exc.filename2) if n is not None]
        return 2, f"{what}: {' -> '.join(names)}" if names else what
    if isinstance(exc, MemoryError):
        return 2, ("not enough memory for these sizes (MemoryError); choose smaller sizes"
                   + (f": {text}" if text else ""))
    if isinstance(exc, RecursionError):
        return 2, f"input nested too deeply ({text or 'RecursionError'})"
    return 1, (f"{type(exc).__name__}: {text} (unexpected; 'lintheory --debug ...' shows "
               "the traceback)")


def _stdout_closed() -> int:
    """The reader of stdout went away (``| head``): exit 141 quietly, like ``cat``."""
    with contextlib.suppress(OSError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 141


def main(argv=None) -> int:
    """Entry point: parse ``argv`` and run the command; returns the exit code.

    Any exception is one line on stderr (see the module docstring for the exit codes);
    ``--debug`` adds the traceback. Output is flushed here, so a closed stdout (also
    for ``--help``) exits 141 quietly instead of failing at interpreter exit.
    """
    try:
        code = _main(argv)
        sys.stdout.flush()
        return code
    except SystemExit as exc:  # --help, --version and argparse errors
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            return _stdout_closed()
        raise exc from None
    except BrokenPipeError:
        return _stdout_closed()


def _main(argv=None) -> int:
    import traceback

    from .shutdown import Terminated, signals_as_interrupts

    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(only=command)
    args = parser.parse_args(argv)
    if getattr(args, "_run", None) is None:
        parser.print_help()
        return 2
    debug = args.debug or os.environ.get("LINTHEORY_DEBUG", "") not in ("", "0")
    try:
        with signals_as_interrupts():
            return int(args._run(args) or 0)
    except Terminated as exc:
        print(f"lintheory {args.command}: terminated by {exc.name}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"lintheory {args.command}: interrupted", file=sys.stderr)
        return 130
    except SystemExit:
        raise
    except BrokenPipeError:  # the reader of stdout went away (| head): quiet, like cat
        return _stdout_closed()
    except BaseException as exc:  # noqa: BLE001 - every failure is one line
        if debug:
            traceback.print_exc()
        code, message = describe_error(exc)
        print(f"lintheory {args.command}: error: {message}", file=sys.stderr)
        return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
