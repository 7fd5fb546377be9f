"""The two verbs every controller and safety filter in robocritic speaks.

Data path (the same in tests, scripts and on the robot)::

    obs -> controller.act(obs) -> action -> safety_filter.certify(obs, action) -> (action, info)
"""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class ArmState:
    """What a Cartesian arm controller needs at one control step, in SI units.

    A simulator fills it from its model (MuJoCo: joint state, site Jacobian, ``mj_fullM``, bias
    forces); a robot driver fills it from the robot's own model, so controllers never import a
    simulator. ``n`` joints; the task space has ``m`` coordinates (2 or 3 positions for a planar
    or spatial arm; orientation is not part of this record).

    Attributes:
        q: joint positions ``(n,)`` [rad].
        qd: joint velocities ``(n,)`` [rad/s].
        x: end-effector position ``(m,)`` [m], in the base frame.
        jacobian: ``(m, n)`` with ``xd = jacobian @ qd``.
        mass_matrix: joint-space inertia ``(n, n)`` [kg m^2], symmetric positive definite.
        bias: gravity + Coriolis/centrifugal torques ``(n,)`` [N m] (what ``tau = bias`` holds
            still at ``qd = 0``).
        wrench: measured contact force at the end effector ``(m,)`` [N], base frame, or ``None``.
    """

    q: np.ndarray
    qd: np.ndarray
    x: np.ndarray
    jacobian: np.ndarray
    mass_matrix: np.ndarray
    bias: np.ndarray
    wrench: np.ndarray | None = None

    @property
    def n_joints(self) -> int:
        return int(np.shape(self.q)[0])

    @property
    def n_task(self) -> int:
        return int(np.shape(self.x)[0])
