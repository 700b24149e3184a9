"""``lintheory animate``: a GIF of modes being learned under BP, FA and RAF."""

from __future__ import annotations

from pathlib import Path

from ._args import add_quiet, positive_float, positive_int

NAME = "animate"
ORDER = 60
HELP = "animated GIF of W2bar W1bar and the mode strengths filling in (for slides)"
DESCRIPTION = (
    "Integrates the averaged dynamics (theory §4) for BP, low-rank FA and low-rank RAF from the "
    "same small initial weights and writes an animated GIF: the rotated map W2bar W1bar (top; "
    "its diagonal fills in as modes are learned) and the mode strengths a_i(t) (bottom). "
    "FA with r < d stalls at a random projection of the task; RAF learns the top r modes. "
    "Writes OUT (the GIF) and OUT with .json (every curve) together; a progress bar shows "
    "the frames being drawn (--quiet hides it)."
)


def add_arguments(p):
    """Add the options of ``lintheory animate`` to ``parser``."""
    p.add_argument("--out", type=Path, default=Path("figures/learning.gif"), help="GIF path")
    p.add_argument("--rank", type=positive_int, default=2, help="feedback rank r of FA and RAF")
    p.add_argument("--n", type=positive_int, default=20, help="input dimension")
    p.add_argument("--k", type=positive_int, default=40, help="hidden width")
    p.add_argument("--m", type=positive_int, default=10, help="output dimension")
    p.add_argument("--d", type=positive_int, default=4, help="task rank")
    p.add_argument("--samples", type=positive_int, default=2000, help="N")
    p.add_argument("--T", type=positive_float, default=20.0, help="final time")
    p.add_argument("--frames", type=positive_int, default=60, help="number of frames (>= 2)")
    p.add_argument("--fps", type=positive_int, default=12, help="frames per second")
    p.add_argument("--seed", type=int, default=0, help="seed of the task and initial weights")
    add_quiet(p)


def run(args) -> int:
    """``lintheory animate``: write the GIF and its JSON; returns 0."""
    from .. import __version__
    from ..animate import compute, make_animation, save_gif
    from ..io import atomic_outputs, check_output_path
    from ..task import make_task

    if args.frames < 2:
        raise ValueError(f"--frames must be >= 2, got {args.frames}")
    if args.out.suffix.lower() != ".gif":
        raise ValueError(f"--out must end in .gif, got {args.out}")
    from ..preflight import check_animation

    check_animation(args.n, args.m, args.samples, args.k, args.frames, args.rank)
    task = make_task(args.n, args.m, args.d, args.samples, seed=args.seed)
    if args.rank > task.m:
        raise ValueError(f"--rank must be in [1, {task.m}] (m), got {args.rank}")
    check_output_path(args.out)  # fail before the work (and before matplotlib warns)
    panels = (("bp", None), ("fa", args.rank), ("raf", args.rank))
    data = compute(task, panels, k=args.k, T=args.T, frames=args.frames, seed=args.seed + 1,
                   progress=not args.quiet)
    fig, anim = make_animation(data, task, fps=args.fps, k=args.k)
    with atomic_outputs() as staged:  # the GIF and its JSON together, or neither
        save_gif(anim, args.out, fps=args.fps, progress=not args.quiet, staged=staged)
        staged.write_json(args.out.with_suffix(".json"), {
            "lintheory_version": __version__,
            "parameters": {"rank": args.rank, "T": args.T, "frames": args.frames,
                           "fps": args.fps, "seed": args.seed},
            "times": data["times"],
            "panels": [{"rule": p["rule"], "r": p["r"], "mode_strengths": p["a"]}
                       for p in data["panels"]],
            "task": task.params(), "k": args.k,
        })
    if not args.quiet:
        print(f"wrote {args.out} and {args.out.with_suffix('.json')}")
    return 0
