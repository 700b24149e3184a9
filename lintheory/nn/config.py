"""One training run's options: :class:`TrainConfig`, frozen, validated once, hashable.

The config is JSON-serialisable (:meth:`TrainConfig.to_dict`) and has a stable content
hash (:meth:`TrainConfig.key`), so a sweep can store one result file per config.
:meth:`TrainConfig.for_dataset` starts from the recipe of :mod:`lintheory.nn.recipes`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields

from .._validate import check_choice, check_float, check_int

MODELS = ("mlp", "cnn", "vit")
OPTIMIZERS = ("adam", "sgd")
DTYPES = ("float32", "float64")


def per_layer_rules(rule) -> tuple:
    """``rule`` (a name, a comma-separated string or a sequence) as a tuple of names."""
    r = _rules(rule)
    return (r,) if isinstance(r, str) else r


def _rules(rule) -> str | tuple:
    """``rule`` as one lower-case name, or a tuple of them (one per feedback layer), each a
    key of :data:`lintheory.nn.feedback.FEEDBACK_RULES`."""
    from .feedback import FEEDBACK_RULES

    names = rule.split(",") if isinstance(rule, str) else rule
    if not isinstance(names, (list, tuple)) or not names:
        raise ValueError(f"rule must be a rule name or a list of them, got {rule!r}")
    names = tuple(str(n).strip().lower() for n in names)
    for n in names:
        if n not in FEEDBACK_RULES:
            raise ValueError(f"rule must be one of {', '.join(FEEDBACK_RULES)} (or a comma-"
                             f"separated list, one per feedback layer); got {n!r}")
    return names[0] if len(names) == 1 and isinstance(rule, str) else names


@dataclass(frozen=True)
class TrainConfig:
    """Every option of one training run (defaults: the digits MLP, 4 x 256 ReLU, BP).

    ``rule`` is one rule for every feedback layer, or one per feedback layer (a tuple,
    or a comma-separated string such as ``"raf,raf,oja,bp"``). ``rank`` is None (the rule's
    default / full), an int for all layers, or a tuple with one entry per feedback layer.
    ``classes`` is None (all), an int ``c`` (first ``c``)
    or a tuple of labels. ``feedback_*`` options default (None) to the forward-weight
    values. ``model_kwargs`` are passed to ``build_model`` (e.g. ``dim``, ``heads``,
    ``blocks``, ``patch`` for the ViT; ``channels`` for the CNN).
    """

    model: str = "mlp"
    rule: str | tuple = "bp"
    rank: int | tuple | None = None
    hidden: int | None = None
    depth: int | None = None
    epochs: int = 30
    batch_size: int = 32
    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 0.0
    amsgrad: bool = True
    betas: tuple = (0.9, 0.999)
    lr_decay: float = 1.0
    feedback_optimizer: str | None = None
    feedback_lr: float | None = None
    feedback_weight_decay: float | None = None
    seed: int = 0
    dataset: str = "digits"
    classes: int | tuple | None = None
    val_fraction: float | None = None
    data_seed: int = 0
    data_dir: str | None = None
    grayscale: bool = False
    dtype: str = "float32"
    eval_batch_size: int = 512
    train_eval_max: int | None = 10000
    model_kwargs: dict = field(default_factory=dict)
    feedback_kwargs: dict = field(default_factory=dict)

    def __post_init__(self):
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731 (frozen dataclass)
        check_choice("model", self.model, MODELS)
        set_("rule", _rules(self.rule))
        if self.rank is not None:
            if isinstance(self.rank, (list, tuple)):
                set_("rank", tuple(check_int("rank", r, low=1) for r in self.rank))
                if not self.rank:
                    raise ValueError("rank must be an integer >= 1 or a non-empty list of them")
            else:
                set_("rank", check_int("rank", self.rank, low=1))
        if self.hidden is not None:
            set_("hidden", check_int("hidden", self.hidden, low=1))
        if self.depth is not None:
            set_("depth", check_int("depth", self.depth, low=1))
        set_("epochs", check_int("epochs", self.epochs, low=1))
        set_("batch_size", check_int("batch_size", self.batch_size, low=1))
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        set_("lr", check_float("lr", self.lr, low=0.0, low_open=True))
        set_("momentum", check_float("momentum", self.momentum, low=0.0, high=1.0))
        set_("weight_decay", check_float("weight_decay", self.weight_decay, low=0.0))
        set_("amsgrad", bool(self.amsgrad))
        betas = tuple(check_float("betas", b, low=0.0, high=1.0) for b in self.betas)
        if len(betas) != 2:
            raise ValueError(f"betas must be two numbers, got {self.betas!r}")
        set_("betas", betas)
        set_("lr_decay", check_float("lr_decay", self.lr_decay, low=0.0, high=1.0, low_open=True))
        if self.feedback_optimizer is not None:
            check_choice("feedback_optimizer", self.feedback_optimizer, OPTIMIZERS)
        if self.feedback_lr is not None:
            set_("feedback_lr", check_float("feedback_lr", self.feedback_lr, low=0.0))
        if self.feedback_weight_decay is not None:
            set_("feedback_weight_decay",
                 check_float("feedback_weight_decay", self.feedback_weight_decay, low=0.0))
        set_("seed", check_int("seed", self.seed, low=0))
        set_("data_seed", check_int("data_seed", self.data_seed, low=0))
        if self.val_fraction is not None:      # None: the data set's own default
            set_("val_fraction",
                 check_float("val_fraction", self.val_fraction, low=0.0, high=0.5))
        if self.data_dir is not None:
            import os

            try:
                set_("data_dir", str(os.fspath(self.data_dir)))
            except TypeError:
                raise ValueError(f"data_dir must be a path, got {self.data_dir!r}") from None
        set_("grayscale", bool(self.grayscale))
        if self.dataset == "cifar10" and self.data_dir is None:
            raise ValueError("dataset cifar10 needs data_dir (--data-dir PATH): the folder or "
                             ".zip holding your CIFAR-10 copy")
        if self.dataset != "cifar10" and (self.data_dir is not None or self.grayscale):
            raise ValueError(f"data_dir (--data-dir) and grayscale (--grayscale) are for "
                             f"dataset cifar10 only, not {self.dataset!r}")
        if isinstance(self.classes, (list, tuple)):
            set_("classes", tuple(int(c) for c in self.classes))
        check_choice("dtype", self.dtype, DTYPES)
        set_("eval_batch_size", check_int("eval_batch_size", self.eval_batch_size, low=1))
        if self.train_eval_max is not None:
            set_("train_eval_max", check_int("train_eval_max", self.train_eval_max, low=1))
        for name in ("model_kwargs", "feedback_kwargs"):
            value = getattr(self, name)
            if not isinstance(value, dict):
                raise ValueError(f"{name} must be a dict, got {type(value).__name__}")
            set_(name, dict(value))

    @property
    def rule_label(self) -> str:
        """The rule for names and messages: ``raf``, or ``raf+raf+oja+bp`` per layer."""
        return self.rule if isinstance(self.rule, str) else "+".join(self.rule)

    # -- serialisation ------------------------------------------------------------------
    def to_dict(self) -> dict:
        """A JSON-serialisable dict of every option (tuples become lists)."""
        return json.loads(json.dumps(asdict(self)))

    @classmethod
    def for_dataset(cls, dataset: str, model: str = "mlp", **overrides) -> TrainConfig:
        """A config with the recipe of :mod:`lintheory.nn.recipes` for ``dataset`` and
        ``model`` (e.g. the CIFAR-10 MLP: 4 x 512 with BatchNorm), then ``overrides``.

        ``model_kwargs`` in ``overrides`` are merged into the recipe's, not replacing them.
        """
        from .recipes import recipe

        opts = recipe(dataset, model)
        extra = overrides.pop("model_kwargs", None) or {}
        opts["model_kwargs"] = {**opts.get("model_kwargs", {}), **extra}
        opts.update(overrides)
        return cls(dataset=dataset, model=model, **opts)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        """Inverse of :meth:`to_dict`; unknown keys are refused."""
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown TrainConfig options: {', '.join(sorted(unknown))}")
        return cls(**d)

    def key(self) -> str:
        """A stable 16-hex-digit content hash (same options -> same key, across runs)."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def __hash__(self):
        return hash(self.key())

    def replace(self, **changes) -> TrainConfig:
        """A copy with some options changed."""
        d = asdict(self)
        d.update(changes)
        return TrainConfig(**d)
