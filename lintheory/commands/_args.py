"""Small argparse helpers shared by the command modules."""

from __future__ import annotations

import argparse


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


def add_data_args(parser, *, grayscale: bool = False, required: bool = False) -> None:
    """Add ``--data-dir PATH`` (and ``--grayscale``): where the user's CIFAR-10 copy is.

    ``required``: for commands that only run on CIFAR-10 (``figure4``)."""
    parser.add_argument("--data-dir", default=None, metavar="PATH", required=required,
                        help=("" if required else "cifar10 only (required): ")
                        + "your CIFAR-10 copy, a folder holding cifar-10-batches-py/ or "
                          "cifar-10-batches-bin/, train/ + test/ image folders, or a .zip "
                          "of them")
    if grayscale:
        parser.add_argument("--grayscale", action="store_true",
                            help="cifar10 only: one luma channel instead of RGB")


MAX_VALUE_LENGTH = 1000  # characters of one KEY=VALUE option (a list of ~100 numbers)


def _scalar(text: str, where: str):
    t = text.strip()
    low = t.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    if len(t) >= 2 and t[0] == t[-1] and t[0] in "'\"":
        return t[1:-1]
    try:
        return int(t)
    except ValueError:
        pass
    try:
        v = float(t)
    except ValueError:
        return t
    if v != v or v in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"{where} must be a finite number, got {t}")
    return v


def parse_value(text: str, where: str = "value"):
    """A typed option value: an int (``16``), float (``1e-3``), bool (``true``/``True``),
    ``none``, a quoted or bare string, or a flat list of those (``[8, 16]`` or
    ``(32,32,64)``, a tuple). No code is evaluated; nested lists are refused."""
    t = text.strip()
    if t[:1] in "[(" and t:
        close = "]" if t[0] == "[" else ")"
        if not t.endswith(close):
            raise argparse.ArgumentTypeError(f"{where}: unclosed {t[0]!r} in {text!r}")
        inner = t[1:-1]
        if any(c in inner for c in "[]()"):
            raise argparse.ArgumentTypeError(f"{where}: nested lists are not supported, "
                                             f"got {text!r}")
        items = [_scalar(v, where) for v in inner.split(",") if v.strip()]
        return items if t[0] == "[" else tuple(items)
    return _scalar(t, where)


def key_value(text: str) -> tuple[str, object]:
    """Parse ``KEY=VALUE``: ``KEY`` a name, the value typed by :func:`parse_value`
    (1e-3, true, [8, 16] or a string); at most ``MAX_VALUE_LENGTH`` characters."""
    if len(text) > MAX_VALUE_LENGTH:
        raise argparse.ArgumentTypeError(
            f"KEY=VALUE is {len(text)} characters long; at most {MAX_VALUE_LENGTH}")
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    key = key.strip()
    if not key.isidentifier():
        raise argparse.ArgumentTypeError(
            f"expected KEY=VALUE with KEY an option name like q_decay, got {text!r}")
    if not value.strip():
        raise argparse.ArgumentTypeError(f"{key}= needs a value, e.g. {key}=0.1")
    return key, parse_value(value, key)
