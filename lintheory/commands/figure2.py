"""``lintheory figure2``: the paper's Figure 2 (ODE lines, SGD markers, fixed-point predictions)."""

from __future__ import annotations

from pathlib import Path

from ..parallel import add_worker_args
from ._args import add_quiet

NAME = "figure2"
ORDER = 10
HELP = "regenerate the paper's Figure 2 (mode strengths under BP, FA, KP-Q, RAF) + JSON"
DESCRIPTION = (
    "Regenerates Figure 2 of Hanut & Kadmon (arXiv 2502.20580) as OUT.png, OUT.pdf and "
    "OUT.json (every curve; OUT: figures/figure2). Six panels on one linear teacher task "
    "(theory §2): (a) BP, (b) FA with full-rank feedback, (c) FA and (d) KP-Q with fixed random "
    "P of rank r_low < d, which stall at the spurious fixed point S Pi of theory §5 (dashed), "
    "(e) RAF with r = d < m, which learns every mode, and (f) RAF with r_low < d, which learns "
    "exactly the top r_low modes. Lines: the averaged ODE (theory §4); markers: discrete "
    "mini-batch SGD from the same initial weights (t = lr * steps). All panels share the "
    "task and the initial forward weights. Nothing is written if a run diverges. "
    "--workers defaults to 1 here: the six panels take about half a second each, less than "
    "starting worker processes costs; use --workers 0 (all cores) for large sizes or long T. "
    "Every worker count gives byte-identical files."
)


def add_arguments(p, *, stem: str = "figure2"):
    """Add the options of ``lintheory figure2`` to ``parser`` (``stem``: the default file
    name in ``figures/``; ``figure-rules`` passes its own)."""
    from ..figure2 import Figure2Config
    from ..run_settings import add_arguments as add_settings
    from ._deprecated import add_deprecated_alias

    c = Figure2Config()
    rules_note = "" if stem != "figure2" else f"; with --rules: figures/{stem}_rules"
    p.add_argument("--out", default=None, metavar="STEM",
                   help=f"output stem: STEM.png, STEM.pdf, STEM.json (default: "
                   f"figures/{stem}{rules_note})")
    add_deprecated_alias(p, "--out-dir", "--out STEM", dest="out_dir", type=Path,
                         metavar="DIR")
    p.add_argument("--n", type=int, default=c.n, help="input dimension")
    p.add_argument("--k", type=int, default=c.k, help="hidden width")
    p.add_argument("--m", type=int, default=c.m, help="output dimension")
    p.add_argument("--d", type=int, default=c.d, help="task rank (number of modes)")
    p.add_argument("--rank-low", type=int, default=c.r_low,
                   help="feedback rank r < d of panels c, d, f")
    p.add_argument("--samples", type=int, default=c.N, help="number of samples N")
    p.add_argument("--noise", type=float, default=c.sigma, help="output noise sigma")
    p.add_argument("--singular-values", type=str, default=None,
                   help="singular values of the teacher, d comma-separated numbers "
                   "(default: d, d-1, ..., 1, i.e. 4,3,2,1 for d = 4 as in the paper)")
    p.add_argument("--T", type=float, default=c.T, help="final time")
    p.add_argument("--points", type=int, default=c.points, help="ODE output times (log-spaced)")
    p.add_argument("--t-min", type=float, default=c.t_min, help="first output time")
    p.add_argument("--seed", type=int, default=c.seed, help="seed of task, weights, sample order")
    p.add_argument("--init-scale", type=float, default=c.init_scale,
                   help="scale of the small random initial weights")
    add_settings(p, ("lam", "lr", "batch", "rtol"),
                 {"lam": c.lam, "lr": c.lr, "batch": c.batch, "rtol": c.rtol})
    p.add_argument("--sgd-points", type=int, default=c.sgd_points, help="SGD markers per mode")
    p.add_argument("--no-sgd", action="store_true", help="ODE lines only")
    p.add_argument("--rules", type=str, default=None, metavar="R1,R2,...",
                   help="draw these registered rules instead of Figure 2's six panels: two "
                   "panels per rule (r = d and --rank-low), with the rule's prediction; "
                   "writes STEM_rules files (see also lintheory figure-rules)")
    add_worker_args(p)
    p.set_defaults(workers=1, stem=stem)
    add_quiet(p)


def config_from_args(args):
    """Build a :class:`~lintheory.figure2.Figure2Config` from parsed arguments."""
    from ..figure2 import Figure2Config
    from ..run_settings import parse_batch

    try:
        sv = None if args.singular_values is None else tuple(
            float(v) for v in args.singular_values.split(",") if v.strip()
        )
    except ValueError:
        raise ValueError(
            f"--singular-values must be comma-separated numbers, got {args.singular_values!r}"
        ) from None
    rules = None if args.rules is None else tuple(
        r.strip() for r in args.rules.split(",") if r.strip())
    return Figure2Config(
        rules=rules, n=args.n, k=args.k, m=args.m, d=args.d, r_low=args.rank_low, N=args.samples,
        sigma=args.noise, singular_values=sv, T=args.T, points=args.points, t_min=args.t_min,
        seed=args.seed, init_scale=args.init_scale, lam=args.lam, sgd=not args.no_sgd,
        lr=args.lr, batch=parse_batch(args.batch), sgd_points=args.sgd_points, rtol=args.rtol,
    )


def save_exact(fig, stem, formats=("png", "pdf"), dpi: int = 150):
    """:func:`lintheory.io.save_figure` without a tight bounding box: Figure 2's layout is
    explicit (:func:`lintheory.figure2.plot_figure2` sets every margin), so the extra drawing pass
    per format (about 0.2 s each, a tenth of the warm run) is skipped."""
    from ..io import save_figure

    return save_figure(fig, stem, formats, dpi, tight=False)


def output_stem(args) -> Path:
    """``--out STEM``, or (the deprecated ``--out-dir DIR``) ``DIR/NAME``, or
    ``figures/NAME``: NAME is the command's (``figure2``, ``figure_rules``; ``figure2
    --rules`` gives ``figure2_rules``)."""
    name = args.stem if args.rules is None or args.stem != "figure2" else "figure2_rules"
    out_dir = getattr(args, "out_dir", None)
    if args.out is not None:
        if out_dir is not None:
            raise ValueError("give --out STEM or the deprecated --out-dir DIR, not both")
        return Path(args.out)
    return Path(out_dir if out_dir is not None else "figures") / name


def run(args) -> int:
    """``lintheory figure2``: compute Figure 2, write PNG/PDF and JSON; returns 0."""
    from .. import __version__
    from ..figure2 import figure2_data
    from ..figure2 import plot_figure2 as figure2
    from ..io import atomic_outputs, check_output_path, figure_path

    cfg = config_from_args(args)
    from ..preflight import check_figure2

    check_figure2(cfg.validated(), args.workers)  # ranges, steps, memory: before any work
    stem = output_stem(args)
    json_path = figure_path(stem, "json")  # STEM.json beside STEM.png (exp.a -> exp.a.json)
    check_output_path(json_path)  # fail before the work, not after it
    # Compute everything first: a ValueError or DivergenceError here writes nothing.
    data = figure2_data(cfg, progress=not args.quiet, workers=args.workers,
                        scheduler=args.scheduler)
    fig = figure2(data, ncols=2 if cfg.rules is not None else 3)
    with atomic_outputs() as staged:  # PNG, PDF and JSON together, or none of them
        staged.write_json(json_path, {"lintheory_version": __version__, **data})
        paths = staged.save_figure(fig, stem, ("png", "pdf"), 150, tight=False)
    if not args.quiet:
        print(f"wrote {', '.join(map(str, paths))}, {json_path}")
        for p in data["panels"]:
            a = ", ".join(f"{v:.3f}" for v in p["ode"][-1])
            line = f"  {p['title']:<28s} a(T) = ({a})"
            if p["prediction"] is not None:
                line += " predicted (" + ", ".join(f"{v:.3f}" for v in p["prediction"]) + ")"
            print(line)
    return 0
