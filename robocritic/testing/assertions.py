"""Assertions for controller unit tests, with failure messages a control engineer can read.

Each ``assert_*`` raises ``AssertionError`` whose message names the signal, the step, the time,
the value and the limit, e.g.::

    state constraint violated at 3 of 201 states; first at step 17 (t=0.85 s):
    theta_dot = 8.312 > 8 (upper limit)
"""

from __future__ import annotations

import numpy as np

from robocritic.dynamics import Box
from robocritic.testing.closed_loop import Trajectory

_MAX_LISTED = 3


def _describe_box_violations(
    kind: str, values: np.ndarray, box: Box, names: tuple[str, ...], dt: float, tol: float
) -> str | None:
    """Human-readable description of where ``values`` (T, n) leave ``box`` by more than ``tol``."""
    over = values - box.high > tol
    under = box.low - values > tol
    bad_steps = np.flatnonzero(np.any(over | under, axis=1))
    if bad_steps.size == 0:
        return None
    lines = [
        f"{kind} constraint violated at {bad_steps.size} of {values.shape[0]} samples; "
        f"first at step {bad_steps[0]} (t={bad_steps[0] * dt:.3g} s):"
    ]
    for k in bad_steps[:_MAX_LISTED]:
        for i in np.flatnonzero(over[k] | under[k]):
            side, limit = (">", box.high[i]) if over[k, i] else ("<", box.low[i])
            lines.append(f"  step {k}: {names[i]} = {values[k, i]:.6g} {side} {limit:.6g}")
    return "\n".join(lines)


def assert_constraints_satisfied(
    traj: Trajectory,
    state_box: Box | None = None,
    input_box: Box | None = None,
    tol: float = 1e-9,
) -> None:
    """Every state within ``state_box`` and every command within ``input_box`` (default: the
    limits the trajectory was run with), up to ``tol``."""
    problems = [
        _describe_box_violations(
            "state", traj.states, state_box or traj.state_box, traj.state_names, traj.dt, tol
        ),
        _describe_box_violations(
            "input", traj.actions, input_box or traj.input_box, traj.input_names, traj.dt, tol
        ),
    ]
    message = "\n".join(p for p in problems if p)
    if message:
        raise AssertionError(message)


def _reference(traj: Trajectory, reference: np.ndarray | float | None) -> np.ndarray:
    n_x = traj.states.shape[1]
    if reference is None:
        return np.zeros((1, n_x))
    ref = np.asarray(reference, dtype=np.float64)
    if ref.ndim <= 1:
        return np.broadcast_to(ref, (n_x,)).reshape(1, n_x)
    if ref.shape != traj.states.shape:
        raise ValueError(f"reference must have shape (n_x,) or {traj.states.shape}; got {ref.shape}")
    return ref


def settling_time(
    traj: Trajectory, tolerance: float | np.ndarray, reference: np.ndarray | float | None = None
) -> float | None:
    """Earliest time (s) after which every state stays within ``tolerance`` of ``reference``
    (default 0) until the end of the run; ``None`` if the final state is outside the band."""
    error = np.abs(traj.states - _reference(traj, reference))
    inside = np.all(error <= np.asarray(tolerance), axis=1)
    if not inside[-1]:
        return None
    outside = np.flatnonzero(~inside)
    first_settled = 0 if outside.size == 0 else outside[-1] + 1
    return float(first_settled * traj.dt)


def assert_settles(
    traj: Trajectory,
    within: float,
    tolerance: float | np.ndarray,
    reference: np.ndarray | float | None = None,
) -> float:
    """Assert the state settles into the ``tolerance`` band around ``reference`` within
    ``within`` seconds and stays there; returns the settling time."""
    t_settle = settling_time(traj, tolerance, reference)
    if t_settle is None or t_settle > within:
        err = np.abs(traj.states - _reference(traj, reference))
        final = ", ".join(f"{n}={v:.4g}" for n, v in zip(traj.state_names, err[-1], strict=True))
        when = "never settled (final state outside the band)" if t_settle is None else f"settled at t={t_settle:.3g} s"
        raise AssertionError(
            f"expected settling within {within:.3g} s to |error| <= {tolerance}; {when}. "
            f"Final |error|: {final}; run length {traj.times[-1]:.3g} s"
        )
    return t_settle


def tracking_error(
    traj: Trajectory, reference: np.ndarray | float | None = None, indices: list[int] | None = None
) -> np.ndarray:
    """RMS error per state (shape (n_x,) or (len(indices),)) against ``reference``."""
    err = traj.states - _reference(traj, reference)
    if indices is not None:
        err = err[:, indices]
    return np.sqrt(np.mean(err**2, axis=0))


def assert_tracking_error(
    traj: Trajectory,
    max_rms: float | np.ndarray,
    reference: np.ndarray | float | None = None,
    indices: list[int] | None = None,
) -> np.ndarray:
    """Assert the RMS tracking error of each (selected) state is at most ``max_rms``."""
    rms = tracking_error(traj, reference, indices)
    limit = np.broadcast_to(np.asarray(max_rms, dtype=np.float64), rms.shape)
    bad = np.flatnonzero(rms > limit)
    if bad.size:
        names = [traj.state_names[i] for i in (indices or range(len(traj.state_names)))]
        details = ", ".join(f"{names[i]}: {rms[i]:.4g} > {limit[i]:.4g}" for i in bad)
        raise AssertionError(f"RMS tracking error too large: {details}")
    return rms
