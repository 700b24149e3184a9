"""``lintheory demo``: a narrated two-minute tour of the package in the terminal."""

from __future__ import annotations

NAME = "demo"
HELP = "a narrated 2-minute tour: the theory's key results, run live, with figures"
DESCRIPTION = (
    "Run a short tour of the package and say, at each step, what is being run and what "
    "to look at: the task and its SVD, backprop against the Saxe et al. closed form, "
    "low-rank feedback alignment stalling at S Pi, RAF learning the top-r modes, a few "
    "symbolic checks, and RAF vs BP on a small MLP on the 8x8 digits (CPU, not CIFAR). "
    "Each step saves a small figure (PNG + PDF) and a JSON of its numbers in --out-dir. "
    "The computations take seconds once numba's cache is warm (the first run compiles); "
    "reading along takes about two minutes. --quiet prints only the final summary line."
)
ORDER = 5


def add_arguments(parser) -> None:
    """Add the options of ``lintheory demo`` to ``parser``."""
    parser.add_argument("--out-dir", default="figures/demo", metavar="DIR",
                        help="where the figures (PNG + PDF) and their JSON go (figures/demo "
                        "is git-ignored, so a clone stays clean)")
    parser.add_argument("--fast", action="store_true",
                        help="smaller sizes everywhere (a smoke test, used by the tests)")
    parser.add_argument("--quiet", action="store_true",
                        help="no narration or progress bars; print only the final summary")


def run(args) -> int:
    """``lintheory demo``: run the narrated demo; returns 1 if any of its checks failed, else 0."""
    from ..demo import run_demo

    ctx = run_demo(args.out_dir, fast=args.fast, quiet=args.quiet)
    failed = [c for c in ctx.numbers.get("05_verify", {}).get("checks", []) if not c["ok"]]
    return 1 if failed else 0
