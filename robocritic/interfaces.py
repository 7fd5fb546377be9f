"""The two verbs every controller and safety filter in robocritic speaks.

Data path (the same in tests, scripts and on the robot)::

    obs -> controller.act(obs) -> action -> safety_filter.certify(obs, action) -> (action, info)
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Controller(Protocol):
    """A feedback law ``u = pi(obs)``.

    ``act`` takes one observation of shape ``(n_obs,)`` and returns an action of shape
    ``(n_u,)`` in the units of the system's input (N m, N, K, ...). ``reset`` clears any internal
    state (warm starts, integrators, delay lines) before a new episode.
    """

    def reset(self) -> None: ...

    def act(self, obs: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class SafetyFilter(Protocol):
    """Certifies a nominal action: returns the (possibly changed) action and why it changed."""

    def certify(self, obs: np.ndarray, action: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]: ...


@runtime_checkable
class BatchController(Controller, Protocol):
    """A stateless :class:`Controller` that also acts on a batch of observations at once.

    ``act_batch`` maps ``(B, n_obs)`` to ``(B, n_u)``, row ``i`` equal to ``act(obs[i])``; being
    stateless (``reset`` clears nothing), it can drive ``B`` independent episodes in lockstep with
    one call per step (evaluation from many start states).
    """

    def act_batch(self, obs: np.ndarray) -> np.ndarray: ...
