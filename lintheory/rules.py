"""Learning rules of linear networks of any depth: each rule is one object.

A :class:`Rule` carries its behaviour as three small functions written with matrix
operations only (``@``, ``.T``, ``+``, ``-``, scalar ``*``), so that the *same* code runs
everywhere a rule is used:

* on NumPy arrays - the ODE right-hand side (:func:`lintheory.flow.flow`) and the NumPy
  SGD engine (:mod:`lintheory.batch`);
* compiled by numba - the ODE integrator's right-hand side and the SGD kernel, which take
  the rule's functions as first-class function arguments with fixed signatures
  (:attr:`Rule.jit`), so one cached compiled kernel serves every rule, even one defined in
  a user's script;
* on SymPy matrices - the checks of ``lintheory verify`` (:mod:`lintheory.symbolic`).

The three functions (column layout: a batch of B errors is a ``(dim, B)`` matrix; in the
averaged dynamics the same functions receive the data-averaged moments instead)::

    feedback(W, Q, P, e) -> e_below    the error sent to the layer below through the
                                        pathway of forward weight ``W (d_out, d_in)`` with
                                        feedback factors ``Q (d_in, r)``, ``P (r, d_src)``;
                                        ``e (d_src, B)`` is the error the pathway reads (the
                                        error above for layered rules, the output error for
                                        direct ones). Must be linear in ``e``.
    q_update(W, Q, P, h, e, lam) -> dQ  ``h (d_in, B)`` the layer's activity scaled by 1/B
                                        and ``e`` as above: the update of ``Q`` per unit of
                                        learning rate (KP-Q: ``h (P e)^T - lam Q``).
    p_update(W, Q, P, C, h, e) -> dP    ``C (d_src, d_src)`` the (normalised) covariance of
                                        what drives ``P`` (targets or the arriving error,
                                        see :meth:`Rule.drives_error`), ``h``, ``e`` as for
                                        ``q_update``: the update of ``P`` per unit of its
                                        learning rate (Oja: ``P C (I - P^T P)``).

Every function must return a *new* array (any arithmetic result is one). A rule that does
not learn a factor uses :func:`fixed_q` / :func:`fixed_p`.

The rule also *declares* what the engines must know, as data: whether its error pathway
reads the output error directly (``direct``: dRAF, DFA, which fixes the shape of ``P``);
whether it commutes with the SVD rotation of the task (``rotatable``; otherwise the ODE is
integrated in the unrotated frame); whether its feedback factors are used at all
(``uses_feedback``, False for BP); and, for speed, which switches of the fused two-layer
kernels reproduce it (``fused``; None for a rule those kernels do not know).

Adding a rule
-------------
Write its three functions (or reuse those below) and register it::

    from lintheory.rules import Rule, register, fixed_q, fixed_p

    def sign_feedback(W, Q, P, e):              # sign-symmetry: B = sign(W)^T
        return sign(W).T @ e                    # lintheory.ops.sign runs on all three

    register(Rule("my_sign", "sign-symmetry feedback", sign_feedback, fixed_q, fixed_p,
                  uses_feedback=False, rotatable=False))

(The registry already holds this one as ``sign``.)

It is then picked up by ``integrate``, ``run_sgd`` (both engines), ``simulate`` and the
averaging checks of ``lintheory verify`` (which iterate over :data:`RULES`), with no edit
elsewhere. ``tests/test_rule_registry.py`` does exactly this.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numba
from numba import types
from numba.typed import List

from ._jit import lazy_njit
from ._validate import check_choice
from .ops import sign

# --------------------------------------------------------------------------- signatures
A2 = types.float64[:, ::1]
FEEDBACK_SIG = A2(A2, A2, A2, A2)
"""``feedback(W, Q, P, e)``: float64 C-contiguous matrices in and out."""
Q_UPDATE_SIG = A2(A2, A2, A2, A2, A2, types.float64)
"""``q_update(W, Q, P, h, e, lam)``."""
P_UPDATE_SIG = A2(A2, A2, A2, A2, A2, A2)
"""``p_update(W, Q, P, C, h, e)``."""
FEEDBACK_FN = types.FunctionType(FEEDBACK_SIG)
Q_UPDATE_FN = types.FunctionType(Q_UPDATE_SIG)
P_UPDATE_FN = types.FunctionType(P_UPDATE_SIG)
"""numba types of the three functions as first-class values inside the compiled engines."""
FEEDBACK_LIST = types.ListType(FEEDBACK_FN)
Q_UPDATE_LIST = types.ListType(Q_UPDATE_FN)
P_UPDATE_LIST = types.ListType(P_UPDATE_FN)
"""How the compiled engines receive them: one-element typed lists. Passing a compiled
function itself from Python costs ~0.1 ms per call (numba converts it every time); a typed
list holding it is converted once, when the rule is first used (:meth:`Rule.jitted`)."""

OJA_DRIVES = ("error", "targets")
"""Values of ``oja_drive``: what a direct rule's ``P`` learns from (Oja's covariance)."""
DEFAULT_OJA_DRIVE = "error"
"""The default, as in the paper's authors' code and in ``lintheory.nn``."""


# --------------------------------------------------------------------------- building blocks
def transport_feedback(W, Q, P, e):
    """Weight transport (BP): ``W^T e``."""
    return W.T @ e


def factor_feedback(W, Q, P, e):
    """The rank-r channel ``B e = Q (P e)`` (FA, KP-Q, RAF, dRAF, DFA)."""
    return Q @ (P @ e)


def kp_q_update(W, Q, P, h, e, lam):
    """The Kolen-Pollack-like rule ``dQ = h (P e)^T - lam Q`` (paper Eq. 7, 10)."""
    return h @ (e.T @ P.T) - lam * Q


def fixed_q(W, Q, P, h, e, lam):
    """``Q`` does not learn."""
    return 0.0 * Q


def oja_p_update(W, Q, P, C, h, e):
    """Oja's subspace rule ``dP = P C (I - P^T P)`` (paper Eq. 8)."""
    PC = P @ C
    return PC - (PC @ P.T) @ P


def fixed_p(W, Q, P, C, h, e):
    """``P`` does not learn."""
    return 0.0 * P


def sign_feedback(W, Q, P, e):
    """Sign-symmetry (Liao, Leibo & Poggio 2016): ``sign(W)^T e``."""
    return sign(W).T @ e


def normative_q_update(W, Q, P, h, e, lam):
    """Normative: ``Q`` descends ``|Q P - W^T|_F^2 / 2``: ``dQ = (W^T - Q P) P^T - lam Q``."""
    return (W.T - Q @ P) @ P.T - lam * Q


def normative_p_update(W, Q, P, C, h, e):
    """Normative: ``P`` descends ``|Q P - W^T|_F^2 / 2``: ``dP = Q^T (W^T - Q P)``."""
    return Q.T @ (W.T - Q @ P)


def factorised_p_update(W, Q, P, C, h, e):
    """Factorised local rule: ``dP = (Q^T h) e^T``, the gradient of ``<Q P, h e^T>`` (the
    transposed forward update ``(dW)^T = h e^T``) with respect to ``P``; with
    :func:`kp_q_update` for ``Q`` (its gradient with respect to ``Q``, plus decay). The
    same form as the NumPy engine's ``factorised`` rule (``lintheory.nn.rules_extra``)."""
    return Q.T @ (h @ e.T)


def mirror_q_update(W, Q, P, h, e, lam):
    """Weight mirror (Akrout et al. 2019), averaged over its noise: ``dQ = W^T P^T - (1 +
    lam) Q``. In the mirror phase the layer's input is white noise ``z`` (variance 1) and
    ``B`` learns Hebbian-ly from ``z`` and ``W z`` with unit decay, so ``Q`` relaxes to
    ``W^T P^T`` at rate 1 (``lam`` adds the decay every rule has). Needs no error: it reads
    the forward weights only through the layer's own response to noise."""
    return W.T @ P.T - (1.0 + lam) * Q


@dataclass(frozen=True, eq=False)
class Rule:
    """One learning rule of linear networks of any depth (see the module docstring).

    Attributes
    ----------
    name, summary : str
        Registry key and one line for tables and help texts.
    feedback, q_update, p_update : callables
        The rule's behaviour (signatures in the module docstring).
    direct : bool
        Every feedback pathway reads the *output* error (dRAF, DFA); otherwise the error
        of the layer above. ``P`` of pathway ``j`` is ``r_j x m`` when direct.
    uses_feedback : bool
        Whether ``Q``, ``P`` enter the error at all (False for BP, which transports ``W``).
    rotatable : bool
        Whether the rule commutes with the SVD rotation (``W_1 V``, ``U^T W_L``, ``P U``,
        ``Q`` unrotated), so the ODE may be integrated in the rotated frame (paper Eqs. 5,
        9, 10). A rule built from ``@`` and ``.T`` of ``W``, ``Q``, ``P`` alone is; one
        that applies an elementwise function to ``W`` (sign-symmetry) is not.
    fused : (transport, learns_Q, learns_P) or None
        Switches of the fused two-layer kernels (:mod:`lintheory.kernels`) that compute
        exactly this rule at depth 2; None when they cannot.
    equations : str
        The paper's equations the rule's ODE is (for ``lintheory verify``'s table).
    smooth : bool
        Whether the right-hand side is differentiable in the weights. ``sign(W)`` is not:
        where an entry of ``W`` crosses zero the flow jumps, discrete steps cross a step
        early or late, and SGD's gap to the ODE is not a clean power of the learning rate
        (it still shrinks with it).
    predicts : "initial_p", "top_r", "final_p" or None
        What the theory predicts the two-layer network learns from small weights at
        ``r < d`` (``lintheory.experiments.predicted_mode_strengths``): the fixed point
        ``S Pi`` of the initial ``P`` (FA, KP-Q), that of Oja's limit, i.e. the top-r modes
        (RAF, Oja-only, normative), that of the rule's own final ``P`` (factorised: ``P``
        keeps its initial entries in the modes it does not learn, so the top r modes are
        learned only approximately; theory §6.2, derivations/08), or no prediction.
    """

    name: str
    summary: str
    feedback: Callable
    q_update: Callable = fixed_q
    p_update: Callable = fixed_p
    direct: bool = False
    uses_feedback: bool = True
    rotatable: bool = True
    fused: tuple | None = None
    equations: str = ""
    smooth: bool = True
    predicts: str | None = None
    _jit: dict = field(default_factory=dict, repr=False, compare=False, init=False)

    @property
    def learns_Q(self) -> bool:
        """Whether ``Q`` learns (its update is not :func:`fixed_q`)."""
        return self.q_update is not fixed_q

    @property
    def learns_P(self) -> bool:
        """Whether ``P`` learns (its update is not :func:`fixed_p`)."""
        return self.p_update is not fixed_p

    def drives_error(self, j: int, depth: int, oja_drive: str = DEFAULT_OJA_DRIVE) -> bool:
        """Whether the ``P`` of pathway ``j`` (0-based) learns from an *error* covariance.

        Layered rules: the pathway into the top hidden layer (``j = depth - 2``) reads
        the output error and its ``P`` learns from the target covariance ``Sigma_yy``
        (as in the two-layer theory); deeper pathways learn from the error arriving at
        them. Direct rules: from the output error (``oja_drive="error"``) or the targets
        (``"targets"``). False for every pathway of a rule whose ``P`` does not learn.
        """
        if not self.learns_P:
            return False
        if self.direct:
            return oja_drive == "error"
        return j < depth - 2

    def jitted(self) -> tuple:
        """``(feedback, q_update, p_update)`` compiled by numba with the fixed signatures
        (:data:`FEEDBACK_SIG`, ...), cached on disk, each in a one-element typed list (the
        form the compiled engines take); compiled on first use."""
        if "fns" not in self._jit:
            self._jit["fns"] = _in_lists(_compile(self.feedback, FEEDBACK_SIG),
                                         _compile(self.q_update, Q_UPDATE_SIG),
                                         _compile(self.p_update, P_UPDATE_SIG))
        return self._jit["fns"]

    @cached_property
    def label(self) -> str:
        """Display name: ``BP``, ``FA``, ``KP-Q``, ``RAF``, ``dRAF``, ... ."""
        return LABELS.get(self.name, self.name)


_COMPILED: dict = {}


# The compiled functions go to the engines in one-element typed lists built inside this
# (cached) compiled function, so no process compiles numba's typed-list methods (building
# them with ``List.empty_list`` + ``append`` from Python: about 7 s per process, never cached).
@lazy_njit(types.Tuple((FEEDBACK_LIST, Q_UPDATE_LIST, P_UPDATE_LIST))(
    FEEDBACK_FN, Q_UPDATE_FN, P_UPDATE_FN), cache=True)
def _in_lists(feedback, q_update, p_update):
    fb = List.empty_list(FEEDBACK_FN)
    fb.append(feedback)
    qu = List.empty_list(Q_UPDATE_FN)
    qu.append(q_update)
    pu = List.empty_list(P_UPDATE_FN)
    pu.append(p_update)
    return fb, qu, pu


def _compile(fn, sig):
    """``numba.njit(sig, cache=True)(fn)``, once per function."""
    key = (fn, sig)
    if key not in _COMPILED:
        _COMPILED[key] = numba.njit(sig, cache=True)(fn)
    return _COMPILED[key]


LABELS = {"bp": "BP", "fa": "FA", "kp": "KP-Q", "raf": "RAF", "draf": "dRAF", "dfa": "DFA",
          "oja": "Oja-only", "normative": "normative", "sign": "sign-symmetry",
          "factorised": "factorised", "mirror": "weight mirror"}

RULES: dict[str, Rule] = {}
"""The registry: name -> :class:`Rule`. Every engine, test and check iterates over it."""


def register(rule: Rule) -> Rule:
    """Add ``rule`` to :data:`RULES` (its name must be new); returns it."""
    if not isinstance(rule, Rule):
        raise ValueError(f"rule must be a lintheory.rules.Rule, got {type(rule).__name__}")
    if rule.name in RULES and RULES[rule.name] is not rule:
        raise ValueError(f"a rule named {rule.name!r} is already registered")
    RULES[rule.name] = rule
    return rule


def unregister(name: str) -> None:
    """Remove a rule added by :func:`register` (built-in rules stay)."""
    if name in BUILTIN:
        raise ValueError(f"rule {name!r} is built in and cannot be removed")
    RULES.pop(name, None)


for _r in (
    Rule("bp", "backpropagation: B_l = W_l^T", transport_feedback, uses_feedback=False,
         fused=(True, False, False), equations="A1-A12, Eq. 5"),
    Rule("fa", "feedback alignment: B = Q P fixed random (rank r)", factor_feedback,
         fused=(False, False, False), equations="A1-A12, Eq. 4-5", predicts="initial_p"),
    Rule("kp", "KP-Q: Q learns by the Kolen-Pollack-like rule, P fixed", factor_feedback,
         kp_q_update, fused=(False, True, False), equations="A27-A36, Eq. 7, 9, 10",
         predicts="initial_p"),
    Rule("raf", "restricted adaptive feedback: Q by KP-Q, P by Oja", factor_feedback,
         kp_q_update, oja_p_update, fused=(False, True, True), equations="A27-A36, Eq. 7-10",
         predicts="top_r"),
    Rule("draf", "direct RAF: hidden layer l gets Q_l P_l e_L from the output error; Q_l by "
         "the KP-like rule, P_l by Oja on the output error (oja_drive='error', default) or "
         "on Sigma_yy (oja_drive='targets')", factor_feedback, kp_q_update, oja_p_update,
         direct=True, equations="Eq. 11"),
    Rule("dfa", "direct feedback alignment: hidden layer l gets Q_l P_l e_L, Q_l, P_l fixed",
         factor_feedback, direct=True, equations="Eq. 11"),
    Rule("oja", "Oja-only: B = Q P with P by Oja's rule and Q fixed at its random start",
         factor_feedback, fixed_q, oja_p_update, fused=(False, False, True),
         equations="Eq. 8", predicts="top_r"),
    Rule("normative", "normative (weight transport, a baseline): Q and P descend "
         "|Q P - W^T|_F^2", factor_feedback, normative_q_update, normative_p_update,
         equations="later version, normative rule", predicts="top_r"),
    Rule("factorised", "factorised local: dQ = h (P e)^T - lam Q, dP = (Q^T h) e^T (the "
         "gradients of <Q P, (dW)^T> through the factorisation)", factor_feedback,
         kp_q_update, factorised_p_update, equations="later version, factorised rule",
         predicts="final_p"),
    Rule("mirror", "weight mirror (Akrout et al. 2019), averaged over its noise: "
         "dQ = W^T P^T - (1 + lam) Q, P fixed; B = Q P -> W^T P^T P (W^T at full rank with "
         "an orthogonal P)", factor_feedback, mirror_q_update,
         equations="weight mirror", predicts="initial_p"),
    Rule("sign", "sign-symmetry feedback: B = sign(W)^T (Liao, Leibo & Poggio 2016)",
         sign_feedback, uses_feedback=False, rotatable=False, smooth=False,
         equations="sign-symmetry"),
):
    register(_r)
BUILTIN = tuple(RULES)
"""Names of the built-in rules."""


def get_rule(rule) -> Rule:
    """Return the registered :class:`Rule` named ``rule`` (or ``rule`` itself if a Rule).

    Names are the keys of :data:`RULES`, case-insensitive.
    """
    if isinstance(rule, Rule):
        return rule
    try:
        return RULES[str(getattr(rule, "name", rule)).lower()]
    except KeyError:
        raise ValueError(f"rule must be one of {', '.join(RULES)}; got {rule!r}") from None


def check_oja_drive(oja_drive) -> str:
    """Validate ``oja_drive`` (``"error"`` or ``"targets"``)."""
    return check_choice("oja_drive", oja_drive, OJA_DRIVES)
