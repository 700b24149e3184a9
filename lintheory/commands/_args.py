"""Small argparse helpers shared by the command modules."""

from __future__ import annotations

import argparse
import ast


def positive_int(text: str) -> int:
    """argparse type: an int >= 1."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {v}")
    return v


def nonneg_float(text: str) -> float:
    """argparse type: a finite float >= 0."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not v >= 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text}")
    return v


def positive_float(text: str) -> float:
    """argparse type: a finite float > 0."""
    v = nonneg_float(text)
    if v == 0:
        raise argparse.ArgumentTypeError("expected a number > 0, got 0")
    return v


def float_list(text: str) -> list[float]:
    """argparse type: comma-separated floats, e.g. ``4,3,2,1``."""
    try:
        return [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers like 4,3,2,1; got {text!r}"
        ) from None


def int_list(text: str) -> list[int]:
    """argparse type: comma-separated ints, e.g. ``1,2,4``."""
    try:
        return [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers like 1,2,4; got {text!r}"
        ) from None


def add_quiet(parser: argparse.ArgumentParser) -> None:
    """Add the ``--quiet`` flag (no progress bar or chatter)."""
    parser.add_argument("--quiet", action="store_true", help="no progress bar or chatter")


def add_data_args(parser, *, grayscale: bool = False) -> None:
    """Add ``--data-dir PATH`` (and ``--grayscale``): where the user's CIFAR-10 copy is."""
    parser.add_argument("--data-dir", default=None, metavar="PATH",
                        help="cifar10 only (required): your CIFAR-10 copy, a folder holding "
                             "cifar-10-batches-py/ or cifar-10-batches-bin/, train/ + test/ "
                             "image folders, or a .zip of them")
    if grayscale:
        parser.add_argument("--grayscale", action="store_true",
                            help="cifar10 only: one luma channel instead of RGB")


def key_value(text: str) -> tuple[str, object]:
    """Parse ``KEY=VALUE``; the value as a Python literal (1e-3, True, [8, 16]) or a string."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    try:
        value = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        pass  # keep as a string
    return key.strip(), value
