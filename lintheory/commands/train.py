"""``lintheory train``: train an MLP, CNN or ViT with BP, FA, KP or RAF on digits, MNIST-1D or
CIFAR-10."""

from __future__ import annotations

import argparse

from ._args import (
    add_data_args,
    add_quiet,
    int_list,
    key_value,
    nonneg_float,
    positive_float,
    positive_int,
)

NAME = "train"
ORDER = 40
HELP = "train a nonlinear network (MLP, CNN, ViT) with BP or low-rank feedback (RAF, FA, ...)"
DESCRIPTION = (
    "Train a network with the NumPy engine on scikit-learn's 8x8 digits (default), "
    "MNIST-1D or CIFAR-10 (--dataset cifar10 --data-dir PATH; defaults then follow the "
    "recipe chosen on its validation split: the 4 x 512 MLP with BatchNorm, 4 epochs), "
    "with backpropagation or a feedback rule that sends the error through a "
    "rank-r channel Q P. With no options it trains the digits MLP (4 hidden layers of 256 "
    "ReLU units) with BP, Adam (AMSGrad), batch 32. Writes a JSON with the per-epoch "
    "train/validation/test loss and accuracy and the final per-layer feedback alignment "
    "(angle between Q P and W^T, overlap of P with the top principal directions of its "
    "errors). Several seeds (--seed 0,1,2) are run one after another and summarised. "
    "RAF in the CNN and ViT needs a small initial Q and the same weight decay on W and Q "
    "(theory §5), e.g. --model vit --epochs 50 --lr 3e-3 --weight-decay 1e-3 --lr-decay 0.97 "
    "--rule raf --rank 10 --feedback-arg q_init_scale=0.3 (CNN: --epochs 30, lr 1e-3, "
    "q_init_scale=0); both are then within ~1 point of BP with the same options."
)


def _rank(text: str):
    vals = int_list(text)
    if not vals:
        raise argparse.ArgumentTypeError(f"expected a rank like 10 or 8,8,4,10; got {text!r}")
    if any(v < 1 for v in vals):
        raise argparse.ArgumentTypeError(f"ranks must be integers >= 1, got {text!r}")
    return vals[0] if len(vals) == 1 else vals


def _classes(text: str):
    vals = int_list(text)
    if not vals:
        raise argparse.ArgumentTypeError(f"expected a class count like 4 or labels like 0,3,7; "
                                         f"got {text!r}")
    return vals[0] if len(vals) == 1 else vals


def _seeds(text: str):
    vals = int_list(text)
    if not vals or any(v < 0 for v in vals):
        raise argparse.ArgumentTypeError(f"expected seeds >= 0 like 0 or 0,1,2; got {text!r}")
    return vals




def _recipe_text(option: str) -> str:
    """``"MLP 4, CNN 2, ViT 5"``: a recipe option of cifar10 per model, for help texts."""
    from ..nn.recipes import recipe

    return ", ".join(f"{m.upper() if m != 'vit' else 'ViT'} {recipe('cifar10', m)[option]}"
                     for m in ("mlp", "cnn", "vit"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``lintheory train`` to ``parser``."""
    from ..nn.feedback import FEEDBACK_RULES
    from ..nn.train import DTYPES, MODELS, OPTIMIZERS, TrainConfig

    d = TrainConfig()
    g = parser.add_argument_group("model and rule")
    g.add_argument("--model", choices=MODELS, default=d.model, help="network kind")
    g.add_argument("--rule", default=d.rule,
                   help=f"feedback rule, one of {', '.join(FEEDBACK_RULES)}, or one per "
                        "feedback layer, comma-separated (e.g. raf,raf,oja,bp); sign and "
                        "mirror take no --rank: sign has no factors, mirror is Kolen-Pollack "
                        "at full rank")
    g.add_argument("--rank", type=_rank, default=None,
                   help="feedback rank: one integer for every layer or a comma list, one per "
                        "feedback layer; not with --rule bp, which has no feedback factors "
                        "(default: unconstrained)")
    g.add_argument("--hidden", type=positive_int, default=None,
                   help="width: MLP hidden units (default 256; cifar10: 512), CNN dense layer "
                        "(128), ViT token dimension (64)")
    g.add_argument("--depth", type=positive_int, default=None,
                   help="MLP hidden layers (default 4) or ViT blocks (2)")
    g.add_argument("--model-arg", type=key_value, action="append", default=[],
                   metavar="KEY=VALUE",
                   help="extra build_model option (repeatable), e.g. heads=4, patch=2, "
                        "mlp_ratio=2 (ViT), channels=(32,32,64) (CNN), dropout=0.1, "
                        "batchnorm=true (MLP, CNN; cifar10 turns it on for both, "
                        "batchnorm=false turns it off)")
    g.add_argument("--feedback-arg", type=key_value, action="append", default=[],
                   metavar="KEY=VALUE",
                   help="feedback-rule hyperparameter (repeatable): q_decay, p_decay, "
                        "p_lr_scale, centre, scale, cov_eps, clip, source, q_init_scale (0: Q "
                        "starts at zero)")
    g = parser.add_argument_group("optimisation")
    g.add_argument("--epochs", type=positive_int, default=None,
                   help=f"passes over the training split (default {d.epochs}; cifar10: "
                        f"{_recipe_text('epochs')})")
    g.add_argument("--batch-size", type=positive_int, default=d.batch_size,
                   help="examples per training step")
    g.add_argument("--optimizer", choices=OPTIMIZERS, default=d.optimizer,
                   help="optimiser of the forward weights")
    g.add_argument("--lr", type=positive_float, default=None,
                   help=f"learning rate (default {d.lr:g})")
    g.add_argument("--momentum", type=nonneg_float, default=d.momentum, help="SGD momentum")
    g.add_argument("--weight-decay", type=nonneg_float, default=d.weight_decay,
                   help="L2 weight decay in the optimiser (coupled, as torch's)")
    g.add_argument("--no-amsgrad", dest="amsgrad", action="store_false",
                   help="plain Adam instead of AMSGrad")
    g.add_argument("--lr-decay", type=positive_float, default=d.lr_decay,
                   help="multiply the learning rates by this factor after every epoch")
    g.add_argument("--feedback-optimizer", choices=OPTIMIZERS, default=None,
                   help="optimiser of the feedback factors Q, P (default: --optimizer)")
    g.add_argument("--feedback-lr", type=nonneg_float, default=None,
                   help="learning rate of Q, P (default: --lr)")
    g.add_argument("--feedback-weight-decay", type=nonneg_float, default=None,
                   help="weight decay of Q, P in the optimiser (default: --weight-decay)")
    g = parser.add_argument_group("data and run")
    g.add_argument("--dataset", choices=("digits", "mnist1d", "cifar10"), default=d.dataset,
                   help="data set: scikit-learn's 8x8 digits, MNIST-1D (the data extra) or "
                        "CIFAR-10 (needs --data-dir)")
    add_data_args(g, grayscale=True)
    g.add_argument("--classes", type=_classes, default=None,
                   help="number of classes c (the first c) or a comma list of labels")
    g.add_argument("--val-fraction", type=nonneg_float, default=None,
                   help="fraction of the training split held out for validation (default "
                        "0.15; cifar10: 0.1, i.e. 5,000 images)")
    g.add_argument("--seed", type=_seeds, default=[0],
                   help="random seed, or a comma list of seeds run one after another")
    g.add_argument("--dtype", choices=DTYPES, default=d.dtype,
                   help="floating-point type of the weights and the data")
    g.add_argument("--timings", action="store_true",
                   help="also store wall-clock seconds in the JSON (without them the same "
                        "command and seed write byte-identical files)")
    g.add_argument("--out", default=None, metavar="PATH.json",
                   help="result file (default: results/train/<model>_<rule>_<key>.json)")
    g.add_argument("--save-model", default=None, metavar="PATH.npz",
                   help="also save each trained model (parameters, feedback factors Q and P, "
                        "BatchNorm statistics and its build options) to this NPZ; with several "
                        "seeds one file per seed, PATH_seed<N>.npz; load it with "
                        "lintheory.nn.checkpoint.load_model (default: not saved)")
    add_quiet(parser)


def check_rank_for_rule(rule: str, rank) -> None:
    """``ValueError`` when ``--rank`` is given with a rule that has no feedback factors
    (bp sends ``W^T e``: a rank would be ignored, and stored under another result key)."""
    from ..nn.config import per_layer_rules
    from ..nn.feedback import FEEDBACK_RULES

    classes = [FEEDBACK_RULES[n] for n in per_layer_rules(rule)]
    if rank is not None and all(c.transport for c in classes):
        others = ", ".join(k for k, c in FEEDBACK_RULES.items() if not c.transport)
        raise ValueError(f"--rank {rank if isinstance(rank, int) else ','.join(map(str, rank))}"
                         f" needs a rule with feedback factors Q, P ({others}); --rule "
                         f"{','.join(c.name for c in classes)} sends W^T e and has no rank")


def model_paths(save_model, seeds) -> list:
    """Where ``--save-model`` writes the model of each seed (``[]`` when not given)."""
    from pathlib import Path

    if save_model is None:
        return []
    path = Path(save_model)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    if len(seeds) == 1:
        return [path]
    return [path.with_name(f"{path.stem}_seed{s}.npz") for s in seeds]


def config_from_args(args, seed: int):
    """The :class:`~lintheory.nn.train.TrainConfig` the parsed arguments describe."""
    from ..nn.train import TrainConfig

    given = {k: getattr(args, k) for k in ("hidden", "depth", "epochs", "lr")
             if getattr(args, k) is not None}
    return TrainConfig.for_dataset(
        args.dataset, args.model, rule=args.rule, rank=args.rank, **given,
        batch_size=args.batch_size, optimizer=args.optimizer, momentum=args.momentum,
        weight_decay=args.weight_decay, amsgrad=args.amsgrad, lr_decay=args.lr_decay,
        feedback_optimizer=args.feedback_optimizer, feedback_lr=args.feedback_lr,
        feedback_weight_decay=args.feedback_weight_decay, seed=seed,
        classes=args.classes, val_fraction=args.val_fraction, dtype=args.dtype,
        data_dir=args.data_dir, grayscale=args.grayscale,
        model_kwargs=dict(args.model_arg), feedback_kwargs=dict(args.feedback_arg),
    )


def _summary(values):
    import numpy as np

    vals = [v for v in values if v is not None]
    if not vals:
        return None
    a = np.asarray(vals, dtype=float)
    return {"mean": float(a.mean()), "std": float(a.std()), "min": float(a.min()),
            "max": float(a.max()), "values": vals}


def run(args) -> int:
    """``lintheory train``: train one run per seed and write the JSON result; returns 0."""
    import numpy as np

    from ..io import check_output_path, write_json
    from ..nn.checkpoint import save_model
    from ..nn.data import load_dataset
    from ..nn.train import train

    check_rank_for_rule(args.rule, args.rank)
    configs = [config_from_args(args, s) for s in args.seed]
    model_files = model_paths(args.save_model, args.seed)
    for path in model_files:                 # fail now, not after the training
        check_output_path(path)
    if args.out is not None:
        check_output_path(args.out)
    c0 = configs[0]
    data = load_dataset(
        c0.dataset, classes=c0.classes, shape="flat" if c0.model == "mlp" else "image",
        seed=c0.data_seed, val_fraction=c0.val_fraction, dtype=np.dtype(c0.dtype),
        data_dir=c0.data_dir, grayscale=c0.grayscale,
    )
    runs = []
    for i, cfg in enumerate(configs):
        hist, model = train(cfg, progress=not args.quiet, data=data, return_model=True)
        runs.append(hist)
        if not args.quiet:
            f = hist["final"]
            val = "" if f["val_acc"] is None else f" val {f['val_acc']:.4f}"
            print(f"seed {cfg.seed}: train {f['train_acc']:.4f}{val} test {f['test_acc']:.4f} "
                  f"({hist['seconds_total']:.1f} s)")
        if model_files:
            saved = save_model(model_files[i], model, config=cfg)
            if not args.quiet:
                print(f"seed {cfg.seed}: model -> {saved}")
    summary = {k: _summary([r["final"][k] for r in runs])
               for k in ("train_acc", "val_acc", "test_acc", "test_loss")}
    base = c0.replace(seed=0)
    result = {
        "command": "train",
        "config": base.to_dict() | {"seed": list(args.seed)},
        "key": c0.key() if len(configs) == 1 else
        f"{base.key()}-s{'_'.join(map(str, args.seed))}",
        "data": data.summary(),
        "summary": summary,
        "runs": runs if args.timings else [
            {k: v for k, v in r.items() if k not in ("seconds", "seconds_total")} for r in runs],
    }
    if model_files:
        result["model_files"] = [str(p) for p in model_files]
    out = args.out
    if out is None:
        out = f"results/train/{c0.model}_{c0.rule_label}_{result['key']}.json"
    path = write_json(out, result)
    t = summary["test_acc"]
    rank = ("full" if c0.rank is None else
            ",".join(map(str, c0.rank)) if isinstance(c0.rank, tuple) else c0.rank)
    print(f"{c0.dataset} {c0.model} {c0.rule_label} rank {rank}: test accuracy "
          f"{100 * t['mean']:.2f}% (mean of {len(runs)} seed(s), std {100 * t['std']:.2f}) "
          f"-> {path}")
    return 0
