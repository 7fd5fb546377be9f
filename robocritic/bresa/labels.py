"""Training targets of the Bresa safety critic, from one episode's per-step arrays (pure numpy).

Conventions (``T`` steps of one episode, step ``t`` = the state after control step ``t``):

* cost ``c_t = 1[force_filtered_t > limit]`` (strict, as the env's ``info["unsafe"]``);
* label ``y_t = 1`` iff ``c_k = 1`` for some ``k`` in ``[t, t + H]`` -- BOTH ends inclusive, so
  ``H = 0`` is ``y_t = c_t`` and the window holds ``H + 1`` steps;
* censoring: if the episode was TRUNCATED (time limit, not a true end), the window of a step
  with ``t + H > T - 1`` runs past the recorded data; when no violation was seen in its
  recorded part the label is set to 0 but the step is masked out (``mask_t = False``), because
  the truth is unknown. A step whose window already holds a violation is labelled 1 and kept. A
  TERMINATED episode (nothing follows its last step) has no censored steps.
* bootstrapped target (Recovery RL, Thananjeyan et al. 2021)::

      Q_t = c_t + (1 - c_t) * (1 - done_t) * gamma * max(Q1'_{t+1}, Q2'_{t+1})

  the discounted probability of a future violation; the max of the twin estimates is the
  pessimistic (risk-averse) choice. ``done_t`` marks a true terminal (no bootstrap); at a
  truncation pass ``done_t = 0`` and the next state's estimates.
"""

from __future__ import annotations

import numpy as np

__all__ = ["gamma_for_horizon", "recovery_target", "safety_cost", "violation_labels"]


def safety_cost(force_filtered: np.ndarray, limit: float = 30.0) -> np.ndarray:
    """``c_t = 1[force_filtered_t > limit]``.

    Args:
        force_filtered: ``(T,)`` filtered normal contact force, N (``info["force_filtered"]``).
        limit: force limit, N (the env's ``force_limit``, default 30 N).

    Returns:
        ``(T,)`` float64 of 0.0 / 1.0. NaN forces raise ``ValueError``.
    """
    f = np.asarray(force_filtered, dtype=np.float64)
    if f.ndim != 1:
        raise ValueError(f"force_filtered: expected shape (T,), got {f.shape}")
    if np.isnan(f).any():
        raise ValueError("force_filtered: contains NaN")
    return (f > float(limit)).astype(np.float64)


def violation_labels(
    cost: np.ndarray, horizon_steps: int, *, truncated: bool
) -> tuple[np.ndarray, np.ndarray]:
    """"Violation within ``H`` steps" labels and the censoring mask (module docstring).

    Args:
        cost: ``(T,)`` per-step cost of 0 / 1 (:func:`safety_cost`); any value > 0 counts.
        horizon_steps: ``H >= 0``; the window ``[t, t + H]`` is inclusive at both ends.
        truncated: the episode was cut by a time limit (its future is unknown) rather than
            ending for real.

    Returns:
        ``labels (T,)`` float64 0.0 / 1.0 and ``mask (T,)`` bool (``False`` = censored: drop in
        training). ``mask_t = not truncated or t + H <= T - 1 or labels_t == 1``.
    """
    c = np.asarray(cost, dtype=np.float64)
    if c.ndim != 1:
        raise ValueError(f"cost: expected shape (T,), got {c.shape}")
    H = int(horizon_steps)
    if H < 0 or H != horizon_steps:
        raise ValueError(f"horizon_steps: expected an integer >= 0, got {horizon_steps!r}")
    T = c.shape[0]
    cs = np.concatenate([[0], np.cumsum(c > 0, dtype=np.int64)])
    t = np.arange(T)
    end = np.minimum(t + H + 1, T)  # exclusive end of the recorded part of the window
    labels = (cs[end] - cs[t] > 0).astype(np.float64)
    if truncated:
        mask = (t + H <= T - 1) | (labels > 0)
    else:
        mask = np.ones(T, dtype=bool)
    return labels, mask


def recovery_target(
    cost: np.ndarray, q_next: np.ndarray, gamma: float, done: np.ndarray | None = None
) -> np.ndarray:
    """``Q_t = c_t + (1 - c_t) (1 - done_t) gamma max(Q1'_t, Q2'_t)`` (module docstring).

    Args:
        cost: ``(B,)`` cost of 0 / 1 of each transition.
        q_next: ``(B, 2)`` twin critic estimates at the next state (and the next action).
        gamma: discount in [0, 1] (:func:`gamma_for_horizon`).
        done: ``(B,)`` true-terminal flags (0 / 1 or bool), or ``None`` for none.

    Returns:
        ``(B,)`` float64 targets; in [0, 1] when ``q_next`` is.
    """
    c = np.asarray(cost, dtype=np.float64)
    q = np.asarray(q_next, dtype=np.float64)
    if c.ndim != 1 or q.shape != (c.shape[0], 2):
        raise ValueError(f"cost (B,) and q_next (B, 2) expected; got {c.shape} and {q.shape}")
    if not 0.0 <= gamma <= 1.0:
        raise ValueError(f"gamma: expected a value in [0, 1], got {gamma}")
    cont = 1.0 - c
    if done is not None:
        d = np.asarray(done, dtype=np.float64)
        if d.shape != c.shape:
            raise ValueError(f"done: expected shape {c.shape}, got {d.shape}")
        cont = cont * (1.0 - d)
    return c + cont * gamma * q.max(axis=1)


def gamma_for_horizon(horizon_s: float, dt: float) -> float:
    """Discount whose effective horizon is ``horizon_s``: ``gamma = 1 - dt / horizon_s``.

    With this choice the discount weights sum to ``sum_k gamma^k = 1 / (1 - gamma) =
    horizon_s / dt`` steps exactly, e.g. 30 ms at 1 kHz -> ``1 - 1/30 = 0.96667`` (30 steps).
    (``exp(-dt / horizon_s)`` = 0.96722 would agree to first order in ``dt / horizon_s``.)

    Args:
        horizon_s: horizon, s; must exceed ``dt``. dt: control period, s (> 0).
    """
    if not (dt > 0 and horizon_s > dt and np.isfinite(horizon_s)):
        raise ValueError(f"need 0 < dt < horizon_s < inf; got dt={dt}, horizon_s={horizon_s}")
    return 1.0 - float(dt) / float(horizon_s)
