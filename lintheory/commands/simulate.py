"""``lintheory simulate``: one run of the linear theory (ODE, SGD or both) to JSON + NPZ."""

from __future__ import annotations

from pathlib import Path

from ._args import add_quiet, int_list

NAME = "simulate"
ORDER = 20
HELP = "one run of the two-layer linear network (ODE and/or SGD) -> JSON + NPZ"
DESCRIPTION = (
    "Samples the linear teacher task of theory §2, draws initial weights and trains the "
    "two-layer linear network with one rule (bp, fa, kp, raf): the averaged ODE of theory §4, "
    "discrete SGD of theory §3 (t = lr * steps for every batch size, each step applying the "
    "mean update over its batch), or both from the same initial weights. Writes OUT (JSON: "
    "times, mode strengths a_i(t), leak, alignment, loss, singular values, every parameter) "
    "and, beside it with the same stem, an NPZ with S and the rotated weights W1bar, W2bar, "
    "Q, Pbar at every output time (with --method both also sgd_W1bar, sgd_W2bar, sgd_Q, "
    "sgd_Pbar). Nothing is written if a run diverges."
)


def parse_floats(name: str, text: str | None):
    """Comma-separated floats, or ``None`` for ``None`` (ValueError naming ``name`` otherwise)."""
    if text is None:
        return None
    try:
        return [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise ValueError(
            f"{name} must be comma-separated numbers like 4,3,2,1; got {text!r}"
        ) from None


def add_arguments(p):
    """Add the options of ``lintheory simulate`` to ``parser``."""
    from ..rules import RULES

    p.add_argument("--rule", default="raf", choices=tuple(RULES),
                   help="learning rule from the registry (lintheory.rules.RULES; draf, dfa: "
                   "direct feedback)")
    p.add_argument("--depth", type=int, default=2,
                   help="number of weight matrices L (>= 2); one engine for every depth. For "
                   "RAF/dRAF at L >= 3 give Q a decay and a larger init (--lam 0.1 "
                   "--init-scale 0.1): without decay the deep feedback loop W_1 <-> Q grows "
                   "exponentially and the ODE becomes very stiff")
    p.add_argument("--widths", type=int_list, default=None,
                   help="hidden widths k_1,...,k_(L-1) (default: --k for every layer)")
    p.add_argument("--ranks", type=int_list, default=None,
                   help="feedback rank per pathway r_2,...,r_L (default: --rank for each)")
    p.add_argument("--n", type=int, default=20, help="input dimension")
    p.add_argument("--k", type=int, default=40, help="hidden width")
    p.add_argument("--m", type=int, default=10, help="output dimension")
    p.add_argument("--d", type=int, default=4, help="task rank (number of modes)")
    p.add_argument("--rank", type=int, default=None, help="feedback rank r (default: d)")
    p.add_argument("--samples", type=int, default=2000, help="number of samples N")
    p.add_argument("--noise", type=float, default=1.0, help="output noise sigma")
    p.add_argument("--singular-values", default=None,
                   help="teacher singular values, d comma-separated numbers (default d,...,1)")
    p.add_argument("--no-whiten", action="store_true",
                   help="do not whiten the sampled inputs (SGD and ODE then differ at finite N)")
    p.add_argument("--seed", type=int, default=0, help="seed of task, weights and sample order")
    p.add_argument("--init", default="random", choices=("random", "balanced"),
                   help="small random weights, or balanced mode-aligned ones (Saxe et al.)")
    p.add_argument("--init-scale", type=float, default=1e-3, help="initial weight scale")
    p.add_argument("--T", type=float, default=30.0, help="final time")
    p.add_argument("--points", type=int, default=61, help="number of output times")
    p.add_argument("--log-times", action="store_true",
                   help="log-spaced output times from T/2000 (default: linear from 0)")
    p.add_argument("--method", default="ode", choices=("ode", "sgd", "both"), help="engine(s)")
    from ..run_settings import add_arguments as add_settings

    add_settings(p)  # --lam --wd --p-rate --oja-drive --solver --rtol --atol --lr --batch
    p.add_argument("--out", type=Path, default=Path("run.json"), help="output JSON (NPZ beside)")
    add_quiet(p)


def preflight(args, settings) -> None:
    """Refuse, before any allocation, a run that cannot fit in memory or take its steps
    (:func:`lintheory.preflight.check_linear_options`); every message names the option."""
    from ..preflight import check_linear_options

    ranks = args.ranks if args.ranks is not None else [
        args.rank if args.rank is not None else args.d]
    sgd = args.method in ("sgd", "both")
    check_linear_options(
        n=args.n, m=args.m, N=args.samples, width=args.k, depth=args.depth,
        widths=args.widths, rank=max(ranks, default=1),
        points=args.points if args.method != "sgd" else 0,
        sgd_points=args.points if sgd else 0, T=args.T, lr=settings.lr,
        init_scale=args.init_scale, noise=args.noise,
        singular_values=parse_floats("--singular-values", args.singular_values))


def run(args) -> int:
    """``lintheory simulate``: run the ODE and/or SGD, write JSON and NPZ; returns 0."""
    import numpy as np

    from .. import __version__
    from .._validate import check_int
    from ..experiments import output_times, simulate
    from ..init import make_init
    from ..io import atomic_outputs
    from ..task import make_task

    out = Path(args.out)
    if out.suffix.lower() != ".json":
        raise ValueError(f"--out must end in .json (the NPZ goes beside it), got {out}")
    from ..run_settings import from_args

    settings = from_args(args)  # validated once, here
    lr, batch = settings.lr, settings.batch
    preflight(args, settings)  # sizes and step counts, before anything is allocated
    task = make_task(
        args.n, args.m, args.d, args.samples, sigma=args.noise,
        singular_values=parse_floats("--singular-values", args.singular_values),
        whiten=not args.no_whiten, seed=args.seed,
    )
    r = task.d if args.rank is None else check_int("rank r", args.rank, low=1, high=task.m)
    times = output_times(args.T, args.points, log=args.log_times)
    from ..rules import get_rule

    rule = get_rule(args.rule)
    deep = (args.depth != 2 or args.widths is not None or args.ranks is not None
            or rule.direct)
    depth = check_int("depth", args.depth, low=2)
    widths = args.widths if args.widths is not None else [args.k] * (depth - 1)
    if len(widths) != depth - 1:
        raise ValueError(f"--widths must list depth - 1 = {depth - 1} widths, "
                         f"got {len(widths)}")
    ranks = args.ranks if args.ranks is not None else r
    init = make_init(task, widths if deep else args.k, ranks, args.init,
                     scale=args.init_scale, rng=np.random.default_rng([args.seed, 1]),
                     direct=rule.direct)
    from ..threads import single_threaded

    with single_threaded():  # one BLAS thread: the same bytes for every thread count
        runs = simulate(task, args.rule, init, times, method=args.method,
                        rng=np.random.default_rng([args.seed, 2]), progress=not args.quiet,
                        settings=settings)

    primary = runs["ode"] if "ode" in runs else runs["sgd"]
    params = {
        "rule": args.rule, "method": args.method, "n": task.n, "k": args.k, "m": task.m,
        "d": task.d, "r": r, "N": task.N, "sigma": task.sigma,
        "teacher_singular_values": task.teacher_singular_values, "whiten": task.whiten,
        "seed": args.seed, "init": args.init, "init_scale": args.init_scale, "T": args.T,
        "points": args.points, "log_times": args.log_times, "lam": args.lam, "wd": args.wd,
        "p_rate": args.p_rate, "lr": lr, "batch": batch, "solver": args.solver,
        "rtol": args.rtol, "atol": args.atol,
    }
    if deep:
        params.update(depth=init.depth, widths=list(init.widths), ranks=list(init.ranks),
                      oja_drive=args.oja_drive)
    result = {
        "lintheory_version": __version__,
        "parameters": params,
        "singular_values": task.s,
        "method": primary.method,
        **primary.summary(),
        "info": primary.info,
    }
    arrays = {"S": task.S, "U": task.U, "V": task.V, "s": task.s, **primary.arrays()}
    if args.method == "both":
        sgd = runs["sgd"]
        result["sgd"] = {**sgd.summary(), "info": sgd.info}
        arrays.update(sgd.arrays(prefix="sgd_"))
    npz = out.with_suffix(".npz")
    with atomic_outputs() as staged:  # both files, or (error, Ctrl-C, SIGTERM) neither
        staged.write_npz(npz, **arrays)
        staged.write_json(out, result)
    if not args.quiet:
        print(f"wrote {out} and {npz}")
        for name, traj in runs.items():
            a = ", ".join(f"{v:.4f}" for v in traj.mode_strengths[-1])
            print(f"  {name}: a(t = {traj.times[-1]:g}) = ({a}), loss {traj.loss[-1]:.5g}")
    return 0
