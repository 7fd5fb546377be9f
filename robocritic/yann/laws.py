"""Small explicit laws built in closed form, without PPOPT (tests, examples, fall-backs).

:func:`saturated_linear_law` writes ``u = clip(-K x)`` of a single-input linear feedback on a
box of states as a 3-region :class:`~robocritic.controllers.explicit_mpc.ExplicitLaw`::

    region 0  |K x| <= u_max-side bounds   u = -K x
    region 1  -K x >= u_high               u = u_high      (E row  K, f = -u_high)
    region 2  -K x <= u_low                u = u_low       (E row -K, f =  u_low)

each intersected with the state box. It is the exact explicit MPC of horizon 1 with the LQR
terminal cost and no state constraints active, and the simplest law a YANN actor can start from.
"""

from __future__ import annotations

import numpy as np

from robocritic.controllers.explicit_mpc import ExplicitLaw
from robocritic.dynamics.base import LinearModel

__all__ = ["saturated_linear_law"]


def saturated_linear_law(model: LinearModel, K: np.ndarray) -> ExplicitLaw:
    """The explicit law of ``u = clip(-K x, input box)`` on ``model``'s (finite) state box.

    Args:
        model: linear model (deviation units) with a finite state box and one input.
        K: ``(1, n_x)`` gain of the law ``u = -K x``.

    Raises:
        ValueError: more than one input, an infinite state-box side, or a wrong ``K`` shape.
    """
    n_x, n_u = model.n_x, model.n_u
    if n_u != 1:
        raise ValueError(f"saturated_linear_law supports one input; the model has {n_u}")
    K = np.asarray(K, dtype=np.float64).reshape(1, -1)
    if K.shape != (1, n_x):
        raise ValueError(f"K must have shape (1, {n_x}); got {K.shape}")
    lo, hi = model.state_box.low, model.state_box.high
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
        raise ValueError("saturated_linear_law needs a finite state box")
    u_lo, u_hi = float(model.input_box.low[0]), float(model.input_box.high[0])
    box_E = np.vstack([np.eye(n_x), -np.eye(n_x)])
    box_f = np.concatenate([hi, -lo])
    regions = [
        (np.vstack([box_E, -K, K]), np.concatenate([box_f, [u_hi, -u_lo]])),
        (np.vstack([box_E, K]), np.concatenate([box_f, [-u_hi]])),
        (np.vstack([box_E, -K]), np.concatenate([box_f, [u_lo]])),
    ]
    # Unit-norm rows, like the PPOPT-built laws (margins are distances).
    regions = [(E / np.linalg.norm(E, axis=1)[:, None], f / np.linalg.norm(E, axis=1)) for E, f in regions]
    return ExplicitLaw.from_regions(
        regions,
        K=np.stack([-K, np.zeros((1, n_x)), np.zeros((1, n_x))]),
        r=np.array([[0.0], [u_hi], [u_lo]]),
        domain_A=box_E,
        domain_b=box_f,
        domain_low=lo.copy(),
        domain_high=hi.copy(),
        x_eq=model.x_eq,
        u_eq=model.u_eq,
        u_low=model.input_box.low,
        u_high=model.input_box.high,
        dt=model.dt,
        state_names=model.state_names,
        input_names=model.input_names,
        metadata={"source": "robocritic.yann.laws.saturated_linear_law", "K": K.tolist()},
    )
