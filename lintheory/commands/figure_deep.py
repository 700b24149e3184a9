"""``lintheory figure-deep``: mode strengths of deep linear networks (beyond the paper)."""

from __future__ import annotations

import argparse

from ..parallel import add_worker_args
from ._args import add_quiet, int_list, positive_float, positive_int

NAME = "figure-deep"
ORDER = 64
HELP = "deep linear networks: mode strength over time, depths 2-4, BP/RAF/FA/dRAF"
DESCRIPTION = (
    "Goes beyond the paper (which derives the deep rules but does not simulate deep linear "
    "networks): mode strengths a_i(t) of depth-L linear networks (rows: depths) trained by "
    "BP, RAF with rank r = d, RAF with r < d, FA with fixed random rank r < d, and dRAF "
    "(columns). Lines: the averaged ODE (derivations/deep_linear.md); markers: mini-batch "
    "SGD from the same initial weights. Every layer starts at scale product_init^(1/L). "
    "Writes OUT.png, OUT.pdf and OUT.json (every curve, and per panel sgd_ode_gap, the "
    "largest |a_i(SGD) - a_i(ODE)|)."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``lintheory figure-deep`` to ``parser``."""
    from ..deep_figure import DeepFigureConfig
    from ..run_settings import add_arguments as add_settings
    from ._deprecated import add_deprecated_alias

    c = DeepFigureConfig()
    parser.add_argument("--depths", type=int_list, default=list(c.depths),
                        help="network depths L (number of weight matrices), each >= 2")
    parser.add_argument("--width", type=positive_int, default=c.width, help="hidden width")
    parser.add_argument("--n", type=positive_int, default=c.n, help="input dimension")
    parser.add_argument("--m", type=positive_int, default=c.m, help="output dimension")
    parser.add_argument("--d", type=positive_int, default=c.d, help="task rank")
    parser.add_argument("--samples", type=positive_int, default=c.N, help="number of samples N")
    add_deprecated_alias(parser, "--N", "--samples", dest="samples", type=positive_int)
    parser.add_argument("--low-rank", type=positive_int, default=c.low_rank,
                        help="feedback rank r < d of the low-rank panels")
    parser.add_argument("--T", type=positive_float, default=c.T, help="final time")
    add_settings(parser, ("lr", "batch", "lam", "oja_drive"),
                 {"lr": c.lr, "batch": c.batch, "lam": c.lam, "oja_drive": c.oja_drive})
    parser.add_argument("--product-init", type=positive_float, default=c.product_init,
                        help="initial size of the end-to-end map (per layer: this^(1/L))")
    parser.add_argument("--seed", type=int, default=c.seed,
                        help="seed of the task, the weights and the sample order")
    parser.add_argument("--no-sgd", action="store_true", help="ODE lines only")
    parser.add_argument("--out", default="figures/figure_deep", metavar="STEM",
                        help="output stem: STEM.png, STEM.pdf, STEM.json")
    add_worker_args(parser)
    add_quiet(parser)


def run(args) -> int:
    """``lintheory figure-deep``: integrate the deep networks, write figure and JSON; returns 0."""
    import time

    from .. import __version__
    from ..deep_figure import DeepFigureConfig, deep_figure_data, plot_deep
    from ..io import atomic_outputs, check_output_path

    if any(L < 2 for L in args.depths) or not args.depths:
        raise ValueError(f"--depths must list depths >= 2, got {args.depths}")
    if not 1 <= args.low_rank < args.d:
        raise ValueError(f"--low-rank must be in [1, d - 1] = [1, {args.d - 1}], "
                         f"got {args.low_rank}")
    from ..run_settings import from_args

    settings = from_args(args, ("lr", "batch", "lam", "oja_drive"))  # validated once
    cfg = DeepFigureConfig(n=args.n, m=args.m, d=args.d, N=args.samples, width=args.width,
                           depths=tuple(args.depths), low_rank=args.low_rank, T=args.T,
                           lr=settings.lr, batch=settings.batch, lam=settings.lam,
                           oja_drive=settings.oja_drive,
                           product_init=args.product_init, seed=args.seed)
    from ..preflight import check_deep_figure
    from ..task import make_task

    check_deep_figure(cfg, sgd=not args.no_sgd, workers=args.workers)  # before any work
    make_task(args.n, args.m, args.d, args.samples, seed=args.seed)  # validates the task
    if isinstance(settings.batch, int) and settings.batch > args.samples:
        raise ValueError(f"batch (mini-batch size) must be in [1, {args.samples}], got "
                         f"{settings.batch}")
    check_output_path(f"{args.out}.json")  # fail before the work, not after it
    t0 = time.perf_counter()
    data = deep_figure_data(cfg, progress=not args.quiet, sgd=not args.no_sgd,
                            workers=args.workers, scheduler=args.scheduler)
    data["lintheory_version"] = __version__
    data["beyond_paper"] = ("the paper derives the deep rules (Eq. 11) but omits simulations "
                            "of deep linear networks; this figure is new")
    fig = plot_deep(data)
    with atomic_outputs() as staged:  # PNG, PDF and JSON together, or none of them
        paths = staged.save_figure(fig, args.out)
        staged.write_json(f"{args.out}.json", data)
    if not args.quiet:
        for p in data["panels"]:
            a = ", ".join(f"{x:.3f}" for x in p["ode"][-1])
            gap = f"  SGD-ODE gap {p['sgd_ode_gap']:.3g}" if "sgd_ode_gap" in p else ""
            print(f"{p['title']:28s} a(T) = {a}{gap}")
    print(f"wrote {', '.join(str(p) for p in paths)}, {args.out}.json "
          f"({time.perf_counter() - t0:.0f} s)")
    return 0
