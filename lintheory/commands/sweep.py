"""``lintheory sweep``: a resumable grid of independent runs on all cores or a Dask cluster."""

from __future__ import annotations

import argparse
import json

from ._args import add_quiet, int_list, key_value, positive_float, positive_int

NAME = "sweep"
ORDER = 60
HELP = "resumable rank x rule x layer x class x seed grids, on all cores or a Dask cluster"
DESCRIPTION = (
    "Run a grid of independent training runs (--kind train, the NumPy engine on digits or "
    "MNIST-1D) or linear-theory ODE runs (--kind linear): every combination of --rules, "
    "--ranks, --layers, --classes and --seeds. Each run writes RESULTS/<key>.json, where "
    "<key> is a hash of the run's spec, so re-running the same command skips finished runs "
    "(resume after Ctrl-C or a killed job) and serial, --workers N and --scheduler runs of "
    "one sweep share results. Failing runs (e.g. a diverging learning rate) are reported "
    "with their spec and error at the end; the others finish. Runs use --workers local "
    "processes (default: all cores), each pinned to one BLAS/numba thread, or a Dask "
    "distributed cluster with --scheduler tcp://HOST:8786. Any other run function: "
    "--specs FILE.jsonl --run package.module:function."
)


def _str_list(text: str) -> list[str]:
    vals = [t.strip() for t in text.split(",") if t.strip()]
    if not vals:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list, got {text!r}")
    return vals


def _layers(text: str):
    if text.strip() in ("all", ""):
        return None
    vals = int_list(text)
    if not vals or any(v < 1 for v in vals):
        raise argparse.ArgumentTypeError(
            f"expected 'all' or feedback-layer numbers from 1 like 1,2,3; got {text!r}"
        )
    return vals


def _classes(text: str):
    if text.strip() == "all":
        return [None]
    vals = int_list(text)
    if not vals or any(v < 2 for v in vals):
        raise argparse.ArgumentTypeError(f"expected class counts >= 2 like 2,5,10; got {text!r}")
    return vals


def _ranks(text: str):
    out = []
    for t in text.split(","):
        t = t.strip()
        if t in ("full", "none"):
            out.append(None)
        elif t:
            try:
                v = int(t)
            except ValueError:
                raise argparse.ArgumentTypeError(
                    f"expected ranks like 1,2,4,10,full; got {text!r}") from None
            if v < 1:
                raise argparse.ArgumentTypeError(f"ranks must be >= 1, got {v}")
            out.append(v)
    if not out:
        raise argparse.ArgumentTypeError(f"expected ranks like 1,2,4,10,full; got {text!r}")
    return out




def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``lintheory sweep`` to ``parser``."""
    from ..parallel import add_worker_args

    parser.add_argument("--kind", choices=("train", "linear"), default="train",
                        help="NN training runs or linear-theory ODE runs")
    parser.add_argument("--results", default="results/sweep", metavar="DIR",
                        help="results folder: one <key>.json per finished run")
    g = parser.add_argument_group("grid")
    g.add_argument("--rules", type=_str_list, default=["bp", "raf"],
                   help="feedback rules, e.g. bp,fa,raf,draf (linear: bp,fa,kp,raf)")
    g.add_argument("--ranks", type=_ranks, default=[None],
                   help="feedback ranks, e.g. 1,2,4,10,full (ignored for bp; default: full)")
    g.add_argument("--layers", type=_layers, default=None, metavar="all|1,2,...",
                   help="train: 'all' constrains every feedback layer to the rank; a list "
                   "constrains one feedback layer at a time (1 = first), the others full rank")
    g.add_argument("--classes", type=_classes, default=[None], metavar="all|2,5,10",
                   help="train: class subsets (the first c classes; default: all)")
    g.add_argument("--seeds", type=int_list, default=[0], help="seeds, e.g. 0,1,2")
    g = parser.add_argument_group("train runs (--kind train)")
    g.add_argument("--model", choices=("mlp", "cnn", "vit"), default="mlp",
                   help="network kind")
    g.add_argument("--dataset", choices=("digits", "mnist1d"), default="digits",
                   help="data set")
    g.add_argument("--hidden", type=positive_int, default=256,
                   help="width: MLP hidden units, CNN dense layer, ViT token dimension")
    g.add_argument("--depth", type=positive_int, default=4,
                   help="MLP hidden layers or ViT blocks")
    g.add_argument("--epochs", type=positive_int, default=40,
                   help="passes over the training split")
    g.add_argument("--batch-size", type=positive_int, default=32,
                   help="examples per training step")
    g.add_argument("--lr", type=positive_float, default=1e-3, help="learning rate")
    g.add_argument("--optimizer", choices=("adam", "sgd"), default="adam",
                   help="optimiser of the weights")
    g.add_argument("--set", type=key_value, action="append", default=[], metavar="KEY=VALUE",
                   help="any other TrainConfig option (repeatable), e.g. feedback_lr=1e-4")
    g = parser.add_argument_group("linear runs (--kind linear)")
    for name, typ, default, text in (
            ("n", positive_int, 20, "input dimension"),
            ("k", positive_int, 40, "hidden width"),
            ("m", positive_int, 10, "output dimension"),
            ("d", positive_int, 4, "rank of the teacher (signal modes)"),
            ("samples", positive_int, 1000, "number of samples N"),
            ("T", positive_float, 200.0, "integration time of the ODE"),
            ("init-scale", positive_float, 1e-3, "scale of the small initial weights")):
        g.add_argument(f"--{name}", type=typ, default=default, help=text,
                       **({"dest": "N"} if name == "samples" else {}))
    from ._deprecated import add_deprecated_alias

    add_deprecated_alias(g, "--N", "--samples", dest="N", type=positive_int)
    from ..run_settings import add_arguments as add_settings

    add_settings(g, ("lam", "wd", "p_rate"))  # the same options as simulate and figure2
    g = parser.add_argument_group("any run function")
    g.add_argument("--specs", default=None, metavar="FILE.jsonl",
                   help="one JSON spec per line instead of a grid (needs --run)")
    g.add_argument("--run", default=None, metavar="MODULE:FUNCTION",
                   help="importable run function taking a spec dict, returning a JSON dict. "
                   "Trust: the module is imported and its code executed, here and in "
                   "every worker (the forkserver preloads it); name only code you trust")
    g = parser.add_argument_group("execution")
    add_worker_args(parser)
    parser.add_argument("--no-retry", action="store_true",
                        help="do not re-run specs that failed in an earlier sweep")
    parser.add_argument("--dry-run", action="store_true",
                        help="only count the runs to do and the ones already done")
    add_quiet(parser)


def _train_specs(args) -> list[dict]:
    from ..nn.runs import feedback_dims, layer_ranks, train_spec

    base = dict(model=args.model, dataset=args.dataset, hidden=args.hidden, depth=args.depth,
                epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                optimizer=args.optimizer)
    base.update(dict(args.set))
    specs = []
    for classes in args.classes:
        for rule in args.rules:
            proto = train_spec(**{**base, "rule": rule, "classes": classes})
            dims = None
            for rank in ([None] if rule == "bp" else args.ranks):
                layers = [None] if args.layers is None or rank is None else args.layers
                for layer in layers:
                    if rank is None:
                        ranks = None
                    else:
                        dims = dims or feedback_dims(proto)
                        if layer is not None and layer > len(dims):
                            raise ValueError(
                                f"--layers {layer}: the model has {len(dims)} feedback layers"
                            )
                        ranks = layer_ranks(dims, rank, None if layer is None else layer - 1)
                    for seed in args.seeds:
                        specs.append(train_spec(**{**base, "rule": rule, "classes": classes,
                                                   "rank": ranks, "seed": seed}))
    return specs


def _linear_specs(args) -> list[dict]:
    from ..run_settings import RunSettings, from_args
    from ..sweep import grid

    ranks = [args.m if r is None else r for r in args.ranks]
    s, default = from_args(args, ("lam", "wd", "p_rate")), RunSettings()
    # only settings that differ from the default enter the spec (earlier results keep their keys)
    extra = {k: getattr(s, k) for k in ("lam", "wd", "p_rate")
             if getattr(s, k) != getattr(default, k)}
    return grid(kind="linear", rule=args.rules, r=ranks, seed=args.seeds, n=args.n, k=args.k,
                m=args.m, d=args.d, N=args.N, T=args.T, init_scale=args.init_scale, **extra)


MAX_LINE_CHARS = 100_000  # characters of one --specs line
MAX_NESTING = 20  # nesting of lists and objects in one spec


def _depth(text: str) -> int:
    """Deepest nesting of ``[`` / ``{`` in a JSON text (brackets inside strings skipped)."""
    depth = deepest = 0
    in_str = esc = False
    for ch in text:
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _read_specs(path) -> list[dict]:
    """The specs of a JSON-lines file; every error names the file and the line."""
    from ..specs import canonical_spec

    specs = []
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except IsADirectoryError:
        raise ValueError(f"--specs {path} is a folder, expected a JSON-lines file") from None
    except OSError as exc:
        raise ValueError(f"cannot read --specs {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"--specs {path} is not UTF-8 text ({exc.reason})") from None
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"--specs {path} line {i}"
        if len(line) > MAX_LINE_CHARS:
            raise ValueError(f"{where}: {len(line)} characters; at most {MAX_LINE_CHARS}")
        if _depth(line) > MAX_NESTING:
            raise ValueError(f"{where}: nested more than {MAX_NESTING} levels deep")
        try:
            spec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{where}: not JSON ({exc.msg})") from None
        if not isinstance(spec, dict):
            raise ValueError(f"{where}: expected a JSON object like {{\"seed\": 0}}, got "
                             f"{type(spec).__name__}")
        try:
            specs.append(canonical_spec(spec))
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
    return specs


def _table(records) -> list[str]:
    """Mean and spread over seeds of the final test accuracy, per spec without its seed."""
    import numpy as np

    groups = {}
    for rec in records:
        spec, res = rec["spec"], rec["result"]
        if not isinstance(res, dict) or "final" not in res:
            return []
        label = (spec.get("rule"), json.dumps(spec.get("rank")), json.dumps(spec.get("classes")))
        groups.setdefault(label, []).append(res["final"]["test_acc"])
    lines = [f"{'rule':8} {'classes':8} {'seeds':5} {'test acc':>16}  rank"]
    for (rule, rank, classes), accs in sorted(groups.items()):
        a = np.array(accs, dtype=float)
        lines.append(f"{rule:8} {classes:8} {len(a):5d} {a.mean():8.4f} +- {a.std():.4f}  {rank}")
    return lines


def _preflight_linear(specs, run_fn, args) -> None:
    """Check every linear-run spec (:func:`lintheory.preflight.check_linear_spec`) before
    the sweep starts; errors name the grid option, or the --specs file and line."""
    from ..linear_run import linear_run
    from ..preflight import SWEEP_FLAGS, check_linear_spec
    from ..sweep import resolve_run

    if resolve_run(run_fn) is not linear_run:
        return
    lines = _spec_lines(args.specs) if args.specs is not None else None
    for i, spec in enumerate(specs):
        try:
            check_linear_spec(spec, flags=SWEEP_FLAGS if lines is None else None)
        except ValueError as exc:
            if lines is None:
                raise
            raise ValueError(f"--specs {args.specs} line {lines[i]}: {exc}") from None


def _spec_lines(path) -> list[int]:
    """Line numbers of the non-blank lines of a --specs file (one per spec)."""
    with open(path, encoding="utf-8") as f:
        return [i for i, line in enumerate(f.read().splitlines(), 1) if line.strip()]


def run(args) -> int:
    """``lintheory sweep``: run (or resume) the grid; returns 1 if any run failed, else 0."""
    from ..sweep import load_results, pending_specs, resolve_run, run_sweep

    if args.specs is not None or args.run is not None:
        if args.specs is None or args.run is None:
            raise ValueError("--specs and --run go together")
        specs, run_fn = _read_specs(args.specs), args.run
    elif args.kind == "linear":
        specs, run_fn = _linear_specs(args), "lintheory.linear_run:linear_run"
    else:
        specs, run_fn = _train_specs(args), "lintheory.nn.runs:train_run"
    if not specs:
        raise ValueError("the sweep is empty")
    _preflight_linear(specs, run_fn, args)  # bad values, memory, T x rate: before any file

    if args.dry_run:
        todo = pending_specs(specs, args.results, run_fn)
        unique = len({json.dumps(s, sort_keys=True) for s in specs})
        print(f"sweep {args.results}: {unique} runs, {unique - len(todo)} already done, "
              f"{len(todo)} to run")
        return 0

    report = run_sweep(run_fn, specs, args.results, workers=args.workers,
                       scheduler=args.scheduler, progress=not args.quiet,
                       retry_failed=not args.no_retry)
    print(report.summary())
    from ..nn.runs import train_run

    if not args.quiet and resolve_run(run_fn) is train_run:  # also its old name
        records = [r for r in load_results(args.results, specs, run=run_fn) if r is not None]
        for line in _table(records):
            print(line)
    return 0 if not report.failures else 1
