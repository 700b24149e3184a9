"""Old option spellings kept working: hidden from ``--help``, with a one-line note.

One name per concept across commands (``--samples`` for the number of samples, ``--out
STEM`` for an output stem); an old spelling (``figure-deep --N``, ``figure2 --out-dir``)
still parses, is left out of ``--help`` and prints one line on stderr naming the new one.
"""

from __future__ import annotations

import argparse
import sys


class _DeprecatedAlias(argparse.Action):
    """Store the value like the new option would, after a one-line deprecation note."""

    def __init__(self, option_strings, dest, *, new: str, **kwargs):
        self.new = new
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"{parser.prog}: note: {option_string} is deprecated and will be removed; "
              f"use {self.new}", file=sys.stderr)
        setattr(namespace, self.dest, values)


def add_deprecated_alias(parser, old: str, new: str, *, dest: str, type=None,
                         metavar: str | None = None) -> argparse.Action:
    """Add ``old`` as a hidden alias storing into ``dest`` (the new option's, or its own
    when the command translates it); the new option is named ``new`` in the note."""
    return parser.add_argument(old, dest=dest, type=type, action=_DeprecatedAlias, new=new,
                               default=argparse.SUPPRESS, metavar=metavar,
                               help=argparse.SUPPRESS)
