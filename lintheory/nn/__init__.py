"""Torch-free NumPy neural-network engine with pluggable feedback rules (issue 4).

::

    rng = np.random.default_rng(0)
    model = build_model("mlp", (64,), 10, rule="raf", rank=10, rng=rng)
    opt = optimisers.Adam(model.params() + model.feedback_params(), lr=1e-3, amsgrad=True)
    logits = model.forward(X, train=True)
    loss, e_out = losses.softmax_cross_entropy(logits, y)
    opt.zero_grad()
    model.backward(e_out, targets_onehot=losses.one_hot(y, 10))
    opt.step()
"""

from . import losses
from . import optim as optimisers
from .base import Param
from .feedback import FEEDBACK_RULES, Feedback, make_feedback
from .models import MODEL_KINDS, Model, build_model

__all__ = [
    "build_model", "Model", "Param", "losses", "optimisers", "FEEDBACK_RULES", "Feedback",
    "make_feedback", "MODEL_KINDS",
]
