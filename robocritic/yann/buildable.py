"""Can a valid spec be built? Feasibility and conditioning checks before the mpQP solver runs.

PPOPT and DAQP do not report an infeasible or degenerate problem: they fail deep inside with a
``TypeError``, ``IndexError`` or ``RuntimeError``. :func:`check_buildable` asks the same questions
first with small LPs (``scipy.optimize.linprog``, HiGHS) on the spec's constraint sets, and
refuses a condensed QP too badly conditioned to solve, with a :class:`SpecError` that says which
set is empty or what is too large:

1. ``terminal_set`` is non-empty and meets ``state_bounds``;
2. ``output_constraint`` can hold somewhere inside ``state_bounds``;
3. the online MPC (DAQP) can be set up, and its condensed Hessian's condition number is at most
   :data:`MAX_CONDITION` (an unstable ``A`` over a long horizon, or ``Q`` and ``R`` far apart);
4. some state of ``x0_domain`` has an input sequence meeting every constraint over the horizon;
5. those states form a full-dimensional set: the largest ball inside the feasible
   ``(U, x0)`` set has radius at least :data:`MIN_RADIUS` (deviation units), so PPOPT's
   tolerances do not swallow it.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import OptimizeResult, linprog

from robocritic.controllers.mpc import LinearMPC
from robocritic.dynamics.base import Box
from robocritic.yann.spec import ExplicitSpec, SpecError

__all__ = ["MAX_CONDITION", "MIN_RADIUS", "check_buildable"]

MAX_CONDITION = 1e10
"""Largest condition number of the condensed QP's Hessian accepted for an explicit build."""

MIN_RADIUS = 1e-6
"""Smallest inscribed-ball radius of the feasible ``(U, x0)`` set accepted (deviation units)."""

_INFEASIBLE = 2  # linprog status


def check_buildable(spec: ExplicitSpec) -> LinearMPC:
    """Refuse a spec the mpQP solver cannot build (module docstring); return its online MPC.

    Raises:
        SpecError: naming the empty, degenerate or badly conditioned part of the spec.
    """
    _check_terminal_set(spec)
    _check_output_constraint(spec)
    mpc = _online_mpc(spec)
    _check_conditioning(mpc)
    _check_feasible(spec, mpc)
    return mpc


def _bounds(box: Box) -> list[tuple[float | None, float | None]]:
    return [(lo if np.isfinite(lo) else None, hi if np.isfinite(hi) else None)
            for lo, hi in zip(box.low.tolist(), box.high.tolist(), strict=True)]


def _lp(c: np.ndarray, A_ub: np.ndarray, b_ub: np.ndarray, bounds: list) -> OptimizeResult:
    return linprog(c, A_ub=A_ub if A_ub.size else None, b_ub=b_ub if A_ub.size else None, bounds=bounds,
                   method="highs")


def _check_terminal_set(spec: ExplicitSpec) -> None:
    if spec.config.terminal_set is None:
        return
    T, t = spec.config.terminal_set
    free = [(None, None)] * T.shape[1]
    if _lp(np.zeros(T.shape[1]), T, t, free).status == _INFEASIBLE:
        raise SpecError("terminal_set is empty: no state satisfies T x <= t")
    if _lp(np.zeros(T.shape[1]), T, t, _bounds(spec.model.state_box)).status == _INFEASIBLE:
        raise SpecError("terminal_set does not intersect state_bounds: x_N cannot satisfy both")


def _check_output_constraint(spec: ExplicitSpec) -> None:
    if spec.config.output_constraint is None:
        return
    C, low, high = spec.config.output_constraint
    up, lo = np.isfinite(high), np.isfinite(low)
    A_ub = np.vstack([C[up], -C[lo]])
    b_ub = np.concatenate([high[up], -low[lo]])
    if _lp(np.zeros(C.shape[1]), A_ub, b_ub, _bounds(spec.model.state_box)).status == _INFEASIBLE:
        raise SpecError("output_constraint cannot hold inside state_bounds: no state there has low <= C x <= high")


def _online_mpc(spec: ExplicitSpec) -> LinearMPC:
    try:
        return LinearMPC(spec.model, spec.config)
    except ValueError as exc:
        raise SpecError(str(exc)) from exc
    except (RuntimeError, ArithmeticError, np.linalg.LinAlgError) as exc:  # DAQP setup, overflow
        raise SpecError(f"the MPC's QP cannot be set up (Q, R, terminal_cost, horizon too badly scaled): "
                        f"{type(exc).__name__}: {exc}") from exc


def _check_conditioning(mpc: LinearMPC) -> None:
    with np.errstate(all="ignore"):
        cond = float(np.linalg.cond(mpc.qp.H))
    if not cond <= MAX_CONDITION:  # also NaN / inf
        raise SpecError(
            f"the condensed QP is too badly conditioned (condition number {cond:.3g} > {MAX_CONDITION:.0e}): "
            "shorten horizon (A is unstable or the horizon long), or bring Q and R closer in scale"
        )


def _check_feasible(spec: ExplicitSpec, mpc: LinearMPC) -> None:
    """LPs in ``z = (U, x0)``: ``A_c U - B0 x0 <= b0`` with ``x0`` in ``x0_domain``."""
    A_c, b0, B0 = mpc.qp.inequalities()
    n_U, n_x = A_c.shape[1], B0.shape[1]
    G = np.hstack([A_c, -B0])
    bounds = [(None, None)] * n_U + _bounds(spec.domain)
    if _lp(np.zeros(n_U + n_x), G, b0, bounds).status == _INFEASIBLE:
        raise SpecError(f"the MPC is infeasible on all of x0_domain: {_infeasible_because(spec)}")
    _check_interior(spec, G, b0, n_U)


def _infeasible_because(spec: ExplicitSpec) -> str:
    dom, box = spec.domain, spec.model.state_box
    parts = ["input_bounds", "state_bounds"]
    if spec.config.output_constraint is not None:
        parts.append("output_constraint")
    if spec.config.terminal_set is not None:
        parts.append("terminal_set (at step N)")
    hint = ""
    if np.any(dom.low > box.high) or np.any(dom.high < box.low):
        hint = " (x0_domain does not even intersect state_bounds)"
    return (f"no state there has an input sequence meeting {', '.join(parts)} over the horizon of "
            f"{spec.config.horizon} steps{hint}")


def _check_interior(spec: ExplicitSpec, G: np.ndarray, b0: np.ndarray, n_U: int) -> None:
    """Chebyshev ball of the feasible ``(U, x0)`` set: maximise ``s`` with every row moved in by
    ``s`` times its norm, the domain box's sides included."""
    n_x = G.shape[1] - n_U
    dom = spec.domain
    box = np.hstack([np.zeros((2 * n_x, n_U)), np.vstack([np.eye(n_x), -np.eye(n_x)])])
    rows = np.vstack([G, box])
    rhs = np.concatenate([b0, dom.high, -dom.low])
    norms = np.linalg.norm(rows, axis=1)
    c = np.zeros(n_U + n_x + 1)
    c[-1] = -1.0
    res = _lp(c, np.hstack([rows, norms[:, None]]), rhs, [(None, None)] * (n_U + n_x) + [(0.0, 1.0)])
    radius = float(res.x[-1]) if res.status == 0 else 0.0
    if radius < MIN_RADIUS:
        raise SpecError(
            f"the feasible set is degenerate: the largest ball inside it has radius {radius:.3g} < {MIN_RADIUS:g} "
            "(deviation units); widen x0_domain, state_bounds, input_bounds, output_constraint or terminal_set"
        )
