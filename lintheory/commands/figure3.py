"""``lintheory figure3``: accuracy against feedback rank, like the paper's Fig. 3 (on CPU)."""

from __future__ import annotations

import argparse

from ._args import add_data_args, add_quiet, int_list, positive_float, positive_int

NAME = "figure3"
ORDER = 62
HELP = "accuracy vs feedback rank like the paper's Fig. 3 (digits, MNIST-1D or CIFAR-10)"
DESCRIPTION = (
    "Train the networks of the paper's Fig. 3 with the NumPy engine and plot test accuracy "
    "against feedback rank: (a) one MLP layer constrained at a time, (b) all layers "
    "constrained vs a narrower BP network, (c) class subsets, (d) dRAF, (e) CNN with ranks "
    "at fractions of the layer width, (f) ViT. Data: scikit-learn's 8x8 digits (default) "
    "or MNIST-1D, on CPU, qualitative; or the paper's CIFAR-10 (--dataset cifar10 --data-dir "
    "PATH: the 4 x 512 MLP with BatchNorm, 4 epochs, panels a-d, 84 runs, 83 minutes on 2 "
    "cores; --quick 2 seeds of 1 epoch, panels a, b, d). Mean "
    "and spread over seeds. Every run is a resumable sweep entry in --results (re-running "
    "skips finished runs), run on --workers local processes or a Dask cluster "
    "(--scheduler). Writes OUT.png, OUT.pdf and OUT.json. --quick: fewer ranks, seeds and "
    "epochs for a classroom (digits: about a minute on 2 cores)."
)


def _panels(text: str) -> str:
    text = text.strip().lower()
    if not text or set(text) - set("abcdef"):
        raise argparse.ArgumentTypeError(f"expected panel letters from 'abcdef', got {text!r}")
    return "".join(p for p in "abcdef" if p in text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``lintheory figure3`` to ``parser``."""
    from ..parallel import add_worker_args

    parser.add_argument("--quick", action="store_true",
                        help="classroom preset: 2 seeds, fewer ranks and epochs")
    parser.add_argument("--dataset", choices=("digits", "mnist1d", "cifar10"),
                        default="digits", help="data set (default: digits)")
    add_data_args(parser)
    parser.add_argument("--panels", type=_panels, default=None,
                        help="which panels to compute, e.g. ab or f (default: abcdef; "
                             "cifar10: abcd, quick abd)")
    parser.add_argument("--seeds", type=positive_int, default=None,
                        help="number of seeds (default: 3, quick: 2)")
    parser.add_argument("--epochs", type=positive_int, default=None,
                        help="MLP epochs (default: 30, quick: 12; cifar10: 4, quick: 1)")
    parser.add_argument("--ranks", type=int_list, default=None,
                        help="MLP ranks for panels a, b (default 1,2,4,8,16,32; cifar10: "
                             "1,2,4,10,32, and rank 1 alone in panel a)")
    parser.add_argument("--lr", type=positive_float, default=None,
                        help="Adam learning rate (default 3e-3; cifar10: 1e-3)")
    parser.add_argument("--results", default=None, metavar="DIR",
                        help="sweep folder, one file per run; re-running resumes (default: "
                             "results/figure3, cifar10: results/figure3_cifar10)")
    parser.add_argument("--out", default=None, metavar="STEM",
                        help="output stem: STEM.png, STEM.pdf, STEM.json (default: "
                             "figures/figure3, cifar10: figures/figure3_cifar10)")
    add_worker_args(parser)
    add_quiet(parser)


def build_config(args):
    """The ``quick`` or ``full`` preset of :mod:`lintheory.figure3` with the CLI overrides."""
    from ..figure3 import presets

    cfg = presets(args.dataset)["quick" if args.quick else "full"]
    changes = {}
    if args.panels is not None:
        changes["panels"] = args.panels
    if args.data_dir is not None:
        changes["data_dir"] = args.data_dir
    if args.seeds is not None:
        changes["seeds"] = tuple(range(args.seeds))
    if args.epochs is not None:
        changes["epochs"] = args.epochs
    if args.ranks is not None:
        changes["ranks"] = tuple(args.ranks)
    if args.lr is not None:
        changes["lr"] = args.lr
    import dataclasses

    return dataclasses.replace(cfg, **changes)


def run(args) -> int:
    """``lintheory figure3``: run the rank sweep, write the figure and JSON.

    Returns 1 if any run failed, else 0.
    """
    import dataclasses
    import time

    from .. import __version__
    from ..figure3 import collect, data_note, figure3_points, plot_figure3
    from ..io import atomic_outputs, check_output_path
    from ..sweep import run_sweep

    cfg = build_config(args)
    stem = "figure3" if cfg.dataset != "cifar10" else "figure3_cifar10"
    if args.results is None:
        args.results = f"results/{stem}"
    if args.out is None:
        args.out = f"figures/{stem}"
    check_output_path(f"{args.out}.json")  # fail before the training, not after it
    t0 = time.perf_counter()
    points = figure3_points(cfg)
    report = run_sweep("lintheory.nn.runs:train_run", [p["spec"] for p in points], args.results,
                       workers=args.workers, scheduler=args.scheduler,
                       progress=not args.quiet, desc="figure3")
    data = collect(points, args.results)
    if not data["panels"]:
        raise ValueError("no run finished; nothing to plot\n" + report.summary())
    note = data_note(cfg)
    seconds = time.perf_counter() - t0
    # No wall-clock seconds in the file (they are printed below): same command, same bytes.
    doc = {
        "figure": "3", "lintheory_version": __version__, "data_note": note,
        "preset": "quick" if args.quick else "full",
        "config": dataclasses.asdict(cfg), "results_dir": args.results,
        "sweep": {k: v for k, v in report.to_dict().items() if k != "seconds"}, **data,
    }
    fig = plot_figure3(doc, note=note)  # drawn from the JSON's content, as replot does
    with atomic_outputs() as staged:  # PNG, PDF and JSON together, or none of them
        paths = staged.save_figure(fig, args.out)
        staged.write_json(f"{args.out}.json", doc)
    print(report.summary())
    if not args.quiet:
        for d in data["panels"].values():
            bp = ", ".join(f"{k} {v['mean']:.3f}" for k, v in d["bp"].items())
            print(f"{d['title']}: {bp}")
            for name, pts in d["series"].items():
                row = "  ".join(f"{q['x']:g}:{q['mean']:.3f}" for q in pts)
                print(f"    {name}: {row}")
        if "c" in data["panels"]:
            print(f"minimal rank within 0.02 of BP, per class count: "
                  f"{data['panels']['c']['minimal_rank']}")
    print(f"wrote {', '.join(str(p) for p in paths)}, {args.out}.json ({seconds:.0f} s)")
    return 0 if not report.failures else 1
