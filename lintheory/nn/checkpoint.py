"""Models you can keep: save a trained :class:`~.models.Model` to one NPZ file and load it.

::

    hist, model = train(cfg, return_model=True)
    save_model("mlp_raf.npz", model, config=cfg)
    model2 = load_model("mlp_raf.npz")          # same architecture, same arrays
    evaluate(model2, X_test, y_test)            # the same accuracy, bit for bit

The file holds every array of ``model.state_dict()`` under its own name (``fc1.W``,
``fc2.fb.Q``, ``bn1.running_mean``, ...) and one JSON string, under the key
:data:`META_KEY`, with the options that rebuild the architecture (``Model.build_args``)
and, when given, the training config. It is read with ``numpy.load(allow_pickle=False)``:
no pickled object is ever executed.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

#: the NPZ key of the JSON metadata (never a parameter name: those contain no "__")
META_KEY = "__lintheory_model__"
#: format tag written into the metadata
FORMAT = "lintheory.nn.model/1"


def save_model(path, model, *, config=None) -> Path:
    """Write ``model``'s state and build options to ``path`` (an ``.npz``), atomically.

    Parameters
    ----------
    path : str or Path
        Output file; ``.npz`` is appended when missing.
    model : Model
        Built by :func:`~lintheory.nn.build_model` (its ``build_args`` rebuild it).
    config : TrainConfig, optional
        Stored alongside (``read_model_meta(path)["config"]``) to record how it was trained.

    Returns
    -------
    Path of the written file.
    """
    from ..io import write_npz

    if getattr(model, "build_args", None) is None:
        raise ValueError("model has no build_args (it was not made by build_model), so a "
                         "saved file could not rebuild it; save model.state_dict() instead")
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    state = model.state_dict()
    if META_KEY in state:
        raise ValueError(f"a model array is named {META_KEY!r}, the metadata key")
    meta = {"format": FORMAT, "build": model.build_args,
            "config": None if config is None else config.to_dict()}
    text = json.dumps(meta, sort_keys=True, default=_jsonable)
    return write_npz(path, **state, **{META_KEY: np.array(text)})


def _jsonable(obj):
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, (tuple, set)):
        return list(obj)
    raise TypeError(f"build option {obj!r} of type {type(obj).__name__} is not JSON-able")


def _open(path):
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such model file (expected an .npz written by "
                                "save_model or lintheory train --save-model)")
    try:
        npz = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path} is not a readable NPZ model file ({exc})") from None
    if META_KEY not in npz.files:
        npz.close()
        raise ValueError(f"{path} has no {META_KEY!r} entry: not a model file written by "
                         "save_model / lintheory train --save-model")
    return path, npz


def read_model_meta(path) -> dict:
    """The metadata of a model file: ``{"format", "build", "config"}``."""
    path, npz = _open(path)
    with npz:
        return _meta(path, npz)


def _meta(path, npz) -> dict:
    try:
        meta = json.loads(str(npz[META_KEY][()]))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: the {META_KEY!r} entry is not valid JSON ({exc.msg})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{path}: unknown model file format "
                         f"{meta.get('format') if isinstance(meta, dict) else meta!r} "
                         f"(expected {FORMAT!r})")
    return meta


def load_state(path) -> dict[str, np.ndarray]:
    """The arrays of a model file (``{name: array}``), without the metadata."""
    path, npz = _open(path)
    with npz:
        return {k: npz[k] for k in npz.files if k != META_KEY}


def load_model(path, *, rng: np.random.Generator | None = None):
    """Rebuild the model saved in ``path`` and load its arrays.

    Parameters
    ----------
    path : str or Path
        A file written by :func:`save_model` or ``lintheory train --save-model``.
    rng : numpy.random.Generator, optional
        The model's generator for later random draws (dropout when training on);
        default ``np.random.default_rng(0)``. It does not affect the loaded arrays.

    Returns
    -------
    Model
        With ``build_args`` as saved and every parameter, feedback factor and BatchNorm
        statistic equal to the saved arrays.
    """
    from .models import build_model

    path, npz = _open(path)
    with npz:
        meta = _meta(path, npz)
        state = {k: npz[k] for k in npz.files if k != META_KEY}
    build = dict(meta["build"])
    rng = np.random.default_rng(0) if rng is None else rng
    kind = build.pop("kind")
    input_shape = tuple(build.pop("input_shape"))
    n_classes = build.pop("n_classes")
    dtype = np.dtype(build.pop("dtype"))
    model = build_model(kind, input_shape, n_classes, rng=rng, dtype=dtype, **build)
    try:
        model.load_state_dict(state)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    return model
