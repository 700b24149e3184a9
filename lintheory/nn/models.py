"""Models: a root layer, its feedback wiring, and the forward/backward entry points.

``build_model("mlp" | "cnn" | "vit", input_shape, n_classes, rule=..., rank=..., rng=...)``
returns a :class:`Model`. Every weight layer except the first sends its input error
through its own feedback rule (the first layer's input error would reach the data and
is never computed); ``rule`` and ``rank`` are one value or a list with one entry per
feedback layer, in forward order (``Model.feedback_layers``).
"""

from __future__ import annotations

import numpy as np

from .alignment import feedback_alignment  # noqa: F401 (re-exported)
from .base import BackwardContext, ForwardContext, as_dtype
from .feedback import make_feedback
from .layers import Linear, Sequential

MODEL_KINDS = ("mlp", "cnn", "vit")


class Model:
    """A network with explicit forward and backward passes.

    ``forward(X, train=)`` returns logits ``(B, C)`` and keeps the caches in
    ``self.cache`` (also accepted explicitly by ``backward``); ``backward(e_out,
    targets_onehot=)`` fills the ``grad`` of every forward and feedback parameter.
    After a backward pass ``self.errors`` maps each weight layer's name to the error at
    its output (what ``feedback_report(errors=...)`` takes).
    """

    def __init__(self, root, kind: str, input_shape, n_classes: int, rng, dtype):
        self.root, self.kind = root, kind
        self.input_shape, self.n_classes = tuple(input_shape), int(n_classes)
        self.rng, self.dtype = rng, as_dtype(dtype)
        self.cache = None
        #: the keyword arguments of :func:`build_model` that rebuild this architecture
        #: (set by ``build_model``; None for a model assembled by hand)
        self.build_args: dict | None = None
        self.errors: dict[str, np.ndarray] = {}
        self.bp_cosines: dict[str, float] = {}
        self.weight_layers = root.weight_layers()
        self.weight_layers[-1].is_output = True
        self.feedback_layers = self.weight_layers[1:]
        self.penultimate = self.weight_layers[-2].name if len(self.weight_layers) > 1 else None
        # one forward pass records every weight layer's per-sample input shape
        root.forward(np.zeros((1,) + self.input_shape, self.dtype), ForwardContext(False))

    # ------------------------------------------------------------------ wiring
    def set_feedback(self, rule="bp", rank=None, **hyper) -> None:
        """Give every feedback layer a fresh rule instance (Q, P drawn from ``self.rng``)."""
        layers = self.feedback_layers
        rules = _per_layer("rule", rule, layers)
        ranks = _per_layer("rank", rank, layers)
        for i, (layer, rl, rk) in enumerate(zip(layers, rules, ranks)):
            fb = make_feedback(rl, **hyper)
            if rk is not None and (isinstance(rk, bool) or not isinstance(rk, (int, np.integer))):
                raise ValueError(f"rank of layer {layer.name!r} must be an int or None, got {rk!r}")
            if rk is not None and rk <= 0:
                raise ValueError(f"rank of layer {layer.name!r} must be >= 1, got {rk}")
            Wm = layer.Wm
            if fb.direct:
                if self.kind == "vit":
                    raise ValueError("direct rules (draf, dfa) are for the mlp and cnn models")
                src = fb.hyper["source"]
                if src == "penultimate" and i == len(layers) - 1:
                    raise ValueError(
                        f"layer {layer.name!r} is the output layer and cannot receive the "
                        "penultimate layer's error; use a local rule (e.g. raf) there"
                    )
                if src == "output":
                    d_src = self.n_classes
                else:
                    d_src = self.weight_layers[-2].Wm.shape[0]
                    if not isinstance(self.weight_layers[-2], Linear):
                        raise ValueError("source='penultimate' needs a Linear penultimate layer")
                d_in = int(np.prod(layer.in_shape))
            else:
                d_src, d_in = Wm.shape
            fb.setup(layer.name, d_in, d_src, rk, layer.w_std, self.rng, self.dtype)
            layer.feedback = fb

    # ------------------------------------------------------------------ passes
    def forward(self, X, *, train: bool):
        """X ``(B, *input_shape)`` -> logits ``(B, n_classes)``; caches kept in ``self.cache``."""
        X = np.asarray(X, dtype=self.dtype)
        if X.shape[1:] != self.input_shape:
            raise ValueError(f"X must have shape (B, {self.input_shape}), got {X.shape}")
        out, self.cache = self.root.forward(X, ForwardContext(bool(train), self.rng))
        return out

    def backward(self, e_out, *, targets_onehot=None, cache=None,
                 compare_bp: bool = False) -> None:
        """Fill every grad from ``e_out = -dL/dlogits (B, C)`` (already / B).

        ``targets_onehot (B, C)`` drive Oja at the output layer; with ``compare_bp`` the
        cosine between each feedback layer's input error and ``W^T e`` is stored in
        ``self.bp_cosines`` (one extra matrix product per layer).
        """
        cache = self.cache if cache is None else cache
        if cache is None:
            raise ValueError("backward needs a forward pass first (or an explicit cache)")
        e_out = np.asarray(e_out, dtype=self.dtype)
        if e_out.ndim != 2 or e_out.shape[1] != self.n_classes:
            raise ValueError(f"e_out must have shape (B, {self.n_classes}), got {e_out.shape}")
        t = None if targets_onehot is None else np.asarray(targets_onehot, self.dtype)
        if t is not None and t.shape != e_out.shape:
            raise ValueError(f"targets_onehot must have shape {e_out.shape}, got {t.shape}")
        ctx = BackwardContext(e_out, t, self.penultimate, compare_bp=bool(compare_bp))
        self.root.backward(e_out, cache, ctx)
        self.errors = ctx.errors
        self.bp_cosines = ctx.bp_cosines

    def params(self):
        """All forward parameters (``W``, ``b``, norms, embeddings)."""
        return self.root.params()

    def feedback_params(self):
        """All learned feedback parameters (Q, P)."""
        return self.root.feedback_params()

    def zero_grad(self) -> None:
        """Zero the grads of the forward and feedback parameters."""
        for p in self.params() + self.feedback_params():
            p.grad[...] = 0

    # ------------------------------------------------------------------ state
    def _state_arrays(self) -> dict[str, np.ndarray]:
        """Every array that defines the model, live (not copied), keyed by name.

        Forward parameters (``fc1.W``, ``bn1.g``, ``embed.pos``, ...), every feedback
        factor whether learned or fixed (``fc2.fb.Q``, ``fc2.fb.P``; a ``P`` that is the
        identity is not stored, see :mod:`lintheory.nn.feedback`) and the non-trainable
        buffers of layers that keep some (BatchNorm's ``bn1.running_mean``,
        ``bn1.running_var``), in forward order.
        """
        out: dict[str, np.ndarray] = {}

        def put(key, arr):
            if key in out and out[key] is not arr:
                raise RuntimeError(f"two different arrays of the model are both named {key!r}")
            out[key] = arr

        for p in self.params():
            put(p.name, p.value)
        for layer in self.feedback_layers:
            fb = layer.feedback
            for p in (getattr(fb, "Q", None), getattr(fb, "P", None)):
                if p is not None:
                    put(p.name, p.value)
        for layer in _walk_layers(self.root):
            buffers = getattr(layer, "state_buffers", None)
            if buffers is not None:
                for key, arr in buffers().items():
                    put(key, arr)
        return out

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter, feedback factor and buffer, keyed by name.

        Returns
        -------
        dict of str to ndarray
            ``{name: array}``: the forward parameters (``Param.name``, e.g. ``"fc1.W"``),
            the feedback factors ``Q``, ``P`` of every feedback layer, learned or fixed
            (``"fc2.fb.Q"``), and the BatchNorm running statistics
            (``"bn1.running_mean"``, ``"bn1.running_var"``). Together with the options the
            model was built with (:attr:`build_args`) this is everything a forward and a
            backward pass depend on; optimiser state is not included. Save it with
            ``numpy.savez`` or :func:`lintheory.nn.checkpoint.save_model`.
        """
        return {k: v.copy() for k, v in self._state_arrays().items()}

    def load_state_dict(self, state) -> None:
        """Copy ``state`` (from :meth:`state_dict`, or a loaded NPZ) into the model.

        Every key the model has must be present with the same shape and dtype, and no
        other key may be; otherwise ``ValueError`` names the first offending key and
        nothing is changed. Arrays are written in place, so optimisers holding the
        parameters keep working.
        """
        own = self._state_arrays()
        keys = list(state.keys())
        missing = [k for k in own if k not in state]
        if missing:
            k = missing[0]
            more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
            raise ValueError(f"state dict has no key {k!r}{more}: the model expects shape "
                             f"{own[k].shape}, dtype {own[k].dtype}; was it saved from a model "
                             "built with the same options?")
        extra = [k for k in keys if k not in own]
        if extra:
            k = extra[0]
            more = f" (and {len(extra) - 1} more)" if len(extra) > 1 else ""
            raise ValueError(f"state dict key {k!r}{more} is not an array of this model; was "
                             "it saved from a model built with the same options?")
        arrays = {}
        for k, target in own.items():
            a = np.asarray(state[k])
            if a.shape != target.shape:
                raise ValueError(f"state dict key {k!r} has shape {a.shape}; the model "
                                 f"expects {target.shape}")
            if a.dtype != target.dtype:
                raise ValueError(f"state dict key {k!r} has dtype {a.dtype}; the model expects "
                                 f"{target.dtype} (build it with dtype={str(a.dtype)!r})")
            arrays[k] = a
        for k, target in own.items():
            target[...] = arrays[k]

    # ------------------------------------------------------------------ report
    def feedback_report(self, errors=None) -> list[dict]:
        """Alignment of each feedback layer (see ``feedback_alignment``), plus ``bp_cos``
        when the last backward ran with ``compare_bp=True``."""
        out = []
        for layer in self.feedback_layers:
            fb = layer.feedback
            err = None
            if errors is not None:
                key = layer.name
                if fb.direct:
                    key = (self.weight_layers[-1].name if fb.hyper["source"] == "output"
                           else self.penultimate)
                err = errors.get(key)
            rep = feedback_alignment(layer.name, fb, layer.Wm, err)
            if layer.name in self.bp_cosines:
                rep["bp_cos"] = self.bp_cosines[layer.name]
            out.append(rep)
        return out


def _walk_layers(layer, seen=None):
    """``layer`` and every layer below it (attributes that are layers or lists of them)."""
    from .base import Layer

    seen = set() if seen is None else seen
    if id(layer) in seen:
        return
    seen.add(id(layer))
    yield layer
    for value in vars(layer).values():
        items = value if isinstance(value, (list, tuple)) else (value,)
        for item in items:
            if isinstance(item, Layer):
                yield from _walk_layers(item, seen)


def _per_layer(what, value, layers):
    if isinstance(value, (list, tuple)):
        if len(value) != len(layers):
            raise ValueError(
                f"{what} list must have one entry per feedback layer ({len(layers)}: "
                f"{', '.join(la.name for la in layers)}), got {len(value)}"
            )
        return list(value)
    return [value] * len(layers)


def build_model(kind: str, input_shape, n_classes: int, *, rule="bp", rank=None,
                hidden=None, depth=None, rng: np.random.Generator, dtype=np.float32,
                feedback_kwargs: dict | None = None, **kind_specific) -> Model:
    """Build a model and wire its feedback.

    Parameters
    ----------
    kind : str
        "mlp" (``depth`` hidden ReLU layers of width ``hidden``, default 4 x 256;
        ``dropout=p``, ``batchnorm=True`` optional), "cnn" (see ``cnn.build_cnn``:
        ``hidden`` is the width of the dense layer, default 128; ``channels``,
        ``batchnorm``, ``dropout``), "vit" (see ``vit.build_vit``: ``hidden`` (alias
        ``dim``) is the token dimension, default 64, ``depth`` (alias ``blocks``) the
        number of blocks, default 2; ``heads``, ``patch``, ``mlp_ratio``, ``dropout``).
    input_shape : int or tuple of int
        Shape of one input (``(D,)`` for the MLP, ``(C, H, W)`` for the CNN and ViT).
    n_classes : int
        Number of outputs.
    rule, rank
        One value or one per feedback layer (``Model.feedback_layers``).
    rng : numpy.random.Generator
        Source of every random initial weight and feedback factor.
    feedback_kwargs : dict, optional
        Rule hyperparameters (``q_decay``, ``p_decay``, ``p_lr_scale``, ``centre``,
        ``scale``, ``cov_eps``, ``clip``, ``source``, ``q_init_scale``).

    Returns
    -------
    Model
    """
    if kind not in MODEL_KINDS:
        raise ValueError(f"kind must be one of {', '.join(MODEL_KINDS)}; got {kind!r}")
    if not isinstance(rng, np.random.Generator):
        raise ValueError("rng must be a numpy.random.Generator")
    dt = as_dtype(dtype)
    input_shape = tuple(int(s) for s in np.atleast_1d(input_shape))
    if len(input_shape) == 0 or min(input_shape) < 1:
        raise ValueError(f"input_shape must be a tuple of positive ints, got {input_shape}")
    if int(n_classes) < 2:
        raise ValueError(f"n_classes must be >= 2, got {n_classes}")
    kind_specific = _check_kind_options(kind, kind_specific)
    build_args = {"kind": kind, "input_shape": list(input_shape), "n_classes": int(n_classes),
                  "rule": rule, "rank": rank, "hidden": hidden, "depth": depth,
                  "dtype": dt.name, "feedback_kwargs": dict(feedback_kwargs or {}),
                  **kind_specific}
    if kind == "cnn" and depth is not None:
        raise ValueError("depth is not an option of the cnn (its layout is fixed; see "
                         "lintheory.nn.cnn)")
    if kind == "vit":                       # aliases: dim = hidden, blocks = depth
        hidden = _alias("hidden", hidden, "dim", kind_specific.pop("dim", None))
        depth = _alias("depth", depth, "blocks", kind_specific.pop("blocks", None))
    if kind == "mlp":
        root = build_mlp(input_shape, n_classes, hidden=256 if hidden is None else hidden,
                         depth=4 if depth is None else depth, rng=rng, dtype=dt,
                         **kind_specific)
    elif kind == "cnn":
        from .cnn import build_cnn
        root = build_cnn(input_shape, n_classes, hidden=128 if hidden is None else hidden,
                         rng=rng, dtype=dt, **kind_specific)
    else:
        from .vit import build_vit
        root = build_vit(input_shape, n_classes, dim=64 if hidden is None else hidden,
                         depth=2 if depth is None else depth, rng=rng, dtype=dt,
                         **kind_specific)
    model = Model(root, kind, input_shape, n_classes, rng, dt)
    model.set_feedback(rule, rank, **(feedback_kwargs or {}))
    model.build_args = build_args
    return model


_KIND_OPTIONS = {
    "mlp": ("dropout", "batchnorm"),
    "cnn": ("channels", "batchnorm", "dropout"),
    "vit": ("heads", "patch", "mlp_ratio", "dropout", "dim", "blocks"),
}


def _check_kind_options(kind, options):
    bad = sorted(set(options) - set(_KIND_OPTIONS[kind]))
    if bad:
        base = "hidden" if kind == "cnn" else "hidden, depth"
        raise ValueError(f"unknown option(s) {bad} for model {kind!r}; allowed: "
                         f"{base}, {', '.join(_KIND_OPTIONS[kind])}")
    return dict(options)


def _alias(name, value, alias, alias_value):
    if alias_value is None:
        return value
    if value is not None and value != alias_value:
        raise ValueError(f"{name}={value} and {alias}={alias_value} disagree; give one")
    return alias_value


def build_mlp(input_shape, n_classes, *, hidden=256, depth=4, rng, dtype=np.float32,
              dropout: float = 0.0, batchnorm: bool = False) -> Sequential:
    """``depth`` hidden layers ``Linear (-> BatchNorm1d) -> ReLU (-> Dropout)``, then a
    Linear head.

    ``hidden`` is an int or a list of ``depth`` widths. ``batchnorm`` puts a BatchNorm1d
    between each hidden Linear layer and its ReLU (as the paper's authors' CIFAR-10 MLP);
    the normalisation is weight-free for the feedback, so it passes errors exactly.
    """
    from .conv import BatchNorm1d
    from .layers import Dropout, Flatten, ReLU

    if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or depth < 0:
        raise ValueError(f"depth must be an int >= 0, got {depth!r}")
    widths = list(hidden) if isinstance(hidden, (list, tuple)) else [hidden] * depth
    if len(widths) != depth or not all(
            isinstance(w, (int, np.integer)) and w >= 1 for w in widths):
        raise ValueError(f"hidden must be a positive int or {depth} positive ints, got {hidden}")
    layers = [Flatten()] if len(input_shape) > 1 else []
    d = int(np.prod(input_shape))
    for i, w in enumerate(widths):
        layers.append(Linear(d, int(w), rng=rng, name=f"fc{i + 1}", dtype=dtype))
        if batchnorm:
            layers.append(BatchNorm1d(int(w), name=f"bn{i + 1}", dtype=dtype))
        layers.append(ReLU())
        if dropout:
            layers.append(Dropout(dropout))
        d = int(w)
    layers.append(Linear(d, n_classes, rng=rng, name=f"fc{depth + 1}", dtype=dtype,
                         init="lecun"))
    return Sequential(layers)
