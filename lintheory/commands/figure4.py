"""``lintheory figure4``: retinal receptive fields against error dimensionality (paper Fig. 4)."""

from __future__ import annotations

import argparse

from ._args import add_data_args, add_quiet, int_list, positive_int

NAME = "figure4"
ORDER = 63
HELP = "retinal receptive fields vs feedback rank into the retina, like the paper's Fig. 4"
DESCRIPTION = (
    "Train the retina + ventral-stream CNN of Lindsey et al. (2019) on grayscale CIFAR-10 "
    "(--data-dir PATH, required) and measure the receptive fields of the last retinal "
    "layer (the gradient of each channel's centre unit at a blank image): BP (wide), BP "
    "with a feed-forward bottleneck, RAF with rank r into the retina (every layer full "
    "width), and dRAF from the dense layer to the bottleneck (the control). Each field "
    "gets an orientedness index (bar bank) and an isotropy index (energy in its "
    "rotational average), against white-noise fields. CPU size: 8 channels, 7 x 7 "
    "kernels, the central 16 x 16 crop, 2 ventral layers, dense 64. Every run is a "
    "resumable sweep entry in --results (re-running skips finished runs), on --workers "
    "local processes or a Dask cluster (--scheduler). Writes OUT.png, OUT.pdf, OUT.json "
    "and OUT.npz (every field). --quick: ranks 1 and 8, 5,000 images, 3 epochs."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``lintheory figure4`` to ``parser``."""
    from ..parallel import add_worker_args

    add_data_args(parser, required=True)
    parser.add_argument("--quick", action="store_true",
                        help="classroom preset: ranks 1 and 8, 5,000 images, 3 epochs")
    parser.add_argument("--seeds", type=positive_int, default=None,
                        help="number of seeds (default: 3)")
    parser.add_argument("--epochs", type=positive_int, default=None,
                        help="epochs per run (default: 5, quick: 3)")
    parser.add_argument("--ranks", type=int_list, default=None,
                        help="RAF ranks into the retina, each in [1, 8] (default: 1,2,4,8; "
                             "quick: 1,8)")
    parser.add_argument("--results", default="results/figure4", metavar="DIR",
                        help="sweep folder, one file per run; re-running resumes (default: "
                             "results/figure4)")
    parser.add_argument("--out", default="figures/figure4", metavar="STEM",
                        help="output stem: STEM.png, STEM.pdf, STEM.json, STEM.npz "
                             "(default: figures/figure4)")
    add_worker_args(parser)
    add_quiet(parser)


def build_config(args):
    """The ``quick`` or ``full`` preset of :mod:`lintheory.figure4` with the CLI overrides."""
    import dataclasses

    from ..figure4 import PRESETS

    changes = {"data_dir": str(args.data_dir)}
    if args.seeds is not None:
        changes["seeds"] = tuple(range(args.seeds))
    if args.epochs is not None:
        changes["epochs"] = args.epochs
    if args.ranks is not None:
        changes["ranks"] = tuple(args.ranks)
    return dataclasses.replace(PRESETS["quick" if args.quick else "full"], **changes)


def run(args) -> int:
    """``lintheory figure4``: run the sweep, write the figure, JSON and NPZ.

    Returns 1 if any run failed, else 0.
    """
    import dataclasses
    import time

    from .. import __version__
    from ..figure4 import RUN, collect, data_note, figure4_points, plot_figure4
    from ..io import atomic_outputs, check_output_path
    from ..sweep import run_sweep

    cfg = build_config(args)
    check_output_path(f"{args.out}.json")  # fail before the training, not after it
    t0 = time.perf_counter()
    points = figure4_points(cfg)
    report = run_sweep(RUN, [p["spec"] for p in points], args.results, workers=args.workers,
                       scheduler=args.scheduler, progress=not args.quiet, desc="figure4")
    data = collect(points, args.results)
    if not data["conditions"]:
        raise ValueError("no run finished; nothing to plot\n" + report.summary())
    note = data_note(cfg)
    fields = data.pop("fields")
    fig = plot_figure4(data, note=note)
    with atomic_outputs() as staged:  # PNG, PDF, NPZ and JSON together, or none of them
        paths = staged.save_figure(fig, args.out)
        staged.write_npz(f"{args.out}.npz", **fields)
        staged.write_json(f"{args.out}.json", {
            "figure": "4", "lintheory_version": __version__, "data_note": note,
            "preset": "quick" if args.quick else "full", "config": dataclasses.asdict(cfg),
            "results_dir": args.results,
            "sweep": {k: v for k, v in report.to_dict().items() if k != "seconds"}, **data,
        })
    print(report.summary())
    if not args.quiet:
        b = data["baseline"]
        print(f"white-noise fields: orientedness {b['orientedness']['mean']:.3f} ± "
              f"{b['orientedness']['std']:.3f}, isotropy {b['isotropy']['mean']:.3f} ± "
              f"{b['isotropy']['std']:.3f}")
        for c in data["conditions"]:
            o, i = c["orientedness"], c["isotropy"]
            print(f"  {c['series']:>16} x={c['x']:<3} orientedness {o['mean']:.3f} ± "
                  f"{o['std']:.3f}  isotropy {i['mean']:.3f} ± {i['std']:.3f}  (n={o['n']}, "
                  f"test acc {c['test_acc']['mean']:.3f})")
    seconds = time.perf_counter() - t0
    print(f"wrote {', '.join(str(p) for p in paths)}, {args.out}.json, {args.out}.npz "
          f"({seconds:.0f} s)")
    return 0 if not report.failures else 1
