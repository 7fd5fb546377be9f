"""A joint posture held in the null space of a Cartesian task: what keeps a redundant arm's
unobserved directions (a 7-DoF arm's tool tilt, tool yaw and elbow swivel under a 3-D position
task) where they started.

:class:`~robocritic.controllers.impedance.CartesianImpedance` damps those directions (``k_q``) but
nothing restores them, and a contact that touches the tool away from the TCP (the fingertip's
surface, its friction) applies a moment the position task cannot balance, so the tool rolls.
:class:`NullSpacePosture` adds a joint-space spring-damper towards a posture ``q0``, projected so
that it does not act on the task::

    tau_n = (I - J' Jbar') (K_p (q0 - q) - D_p qd),   Jbar = M^-1 J' Lambda,   Lambda = (J M^-1 J')^-1

``Jbar`` is the dynamically consistent generalised inverse: ``J M^-1 tau_n = 0``, so the torque
causes no TCP acceleration at the current state. A fixed joint posture alone keeps the tool
orientation only near the start pose (away from it the closest posture that reaches the TCP has
the tool tilted), so an optional *tool-axis hold* adds, inside the same projection, a rotational
spring-damper that turns the tool axis ``a`` (z column of the tool orientation ``R``) onto a
target axis ``a*`` (default straight down)::

    tau_o = J_r' (K_o (a x a*) - D_o omega),   omega = J_r qd

with ``R`` and the rotational Jacobian ``J_r`` from a ``kinematics(q)`` callable the caller passes
(the arm's own model: :func:`robocritic.envs.arm.model7.dh_tool_rotation_jacobian` for the 7-DoF
arm). Everything else is read from :class:`~robocritic.interfaces.ArmState` (no engine). :class:`PostureImpedance` is a Cartesian law plus a posture,
with the law's ``torques(state, setpoint, gains)`` interface, so it drops into
:class:`~robocritic.bresa.hierarchy.TwoRateLoop` in the law's place.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from robocritic.controllers.impedance import CartesianImpedance, ImpedanceGains

from robocritic.interfaces import ArmState

__all__ = ["NullSpacePosture", "PostureImpedance"]


def _per_joint(owner: str, name: str, value: float | np.ndarray, n: int) -> np.ndarray:
    arr = np.array(value, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    if arr.shape != (n,) or not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{owner}.{name} must be a finite number >= 0 or {n} of them; got {value!r}")
    return arr


class NullSpacePosture:
    """Null-space posture torque (module docstring).

    Args:
        n_joints: ``n``.
        stiffness: ``K_p`` [N m/rad], a scalar or ``(n,)``, ``>= 0``.
        damping: ``D_p`` [N m s/rad], a scalar or ``(n,)``, ``>= 0``.
        posture: ``q0`` ``(n,)`` [rad], or ``None``: the ``q`` of the first call after
            :meth:`reset` (the start pose).
        kinematics: ``q -> (R (3, 3), J_r (3, n))``, tool orientation and rotational Jacobian;
            ``None``: no tool-axis hold.
        axis_stiffness: ``K_o`` [N m/rad], ``>= 0``. axis_damping: ``D_o`` [N m s/rad], ``>= 0``.
        target_axis: ``a*`` ``(3,)``, base frame (normalised); default straight down.
    """

    def __init__(self, n_joints: int, stiffness: float | np.ndarray, damping: float | np.ndarray,
                 posture: np.ndarray | None = None, *,
                 kinematics: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None,
                 axis_stiffness: float = 0.0, axis_damping: float = 0.0,
                 target_axis: tuple[float, float, float] = (0.0, 0.0, -1.0)) -> None:
        owner = "NullSpacePosture"
        if isinstance(n_joints, bool) or int(n_joints) != n_joints or n_joints < 1:
            raise ValueError(f"{owner}.n_joints must be an integer >= 1; got {n_joints!r}")
        self.n_joints = int(n_joints)
        self.stiffness = _per_joint(owner, "stiffness", stiffness, self.n_joints)
        self.damping = _per_joint(owner, "damping", damping, self.n_joints)
        self._fixed = None
        if posture is not None:
            q0 = np.array(posture, dtype=np.float64)
            if q0.shape != (self.n_joints,) or not np.all(np.isfinite(q0)):
                raise ValueError(f"{owner}.posture must be {self.n_joints} finite angles [rad] or None; "
                                 f"got {posture!r}")
            self._fixed = q0
        self.posture = None if self._fixed is None else self._fixed.copy()
        for name, v in (("axis_stiffness", axis_stiffness), ("axis_damping", axis_damping)):
            if isinstance(v, bool) or not (np.isfinite(v) and v >= 0):
                raise ValueError(f"{owner}.{name} must be a finite number >= 0; got {v!r}")
        if kinematics is not None and not callable(kinematics):
            raise ValueError(f"{owner}.kinematics must be a callable q -> (R, J_r) or None; got {kinematics!r}")
        axis = np.array(target_axis, dtype=np.float64)
        if axis.shape != (3,) or not np.all(np.isfinite(axis)) or np.linalg.norm(axis) == 0:
            raise ValueError(f"{owner}.target_axis must be a finite non-zero 3-vector; got {target_axis!r}")
        self.kinematics = kinematics
        self.axis_stiffness, self.axis_damping = float(axis_stiffness), float(axis_damping)
        self.target_axis = axis / np.linalg.norm(axis)

    def reset(self) -> None:
        """Forget a captured posture (a fixed one stays)."""
        self.posture = None if self._fixed is None else self._fixed.copy()

    def torques(self, state: ArmState) -> np.ndarray:
        """``tau_n`` ``(n,)`` [N m] at ``state`` (shapes as :class:`ArmState`)."""
        q = np.asarray(state.q, dtype=np.float64)
        if q.shape != (self.n_joints,):
            raise ValueError(f"state.q must have shape ({self.n_joints},); got {q.shape}")
        if self.posture is None:
            self.posture = q.copy()
        jac = np.asarray(state.jacobian, dtype=np.float64)
        m_inv_jt = np.linalg.solve(state.mass_matrix, jac.T)  # M^-1 J'  (n, m)
        inv_lambda = jac @ m_inv_jt  # J M^-1 J'  (m, m)
        qd = np.asarray(state.qd, dtype=np.float64)
        tau0 = self.stiffness * (self.posture - q) - self.damping * qd
        if self.kinematics is not None:
            rot, jac_r = self.kinematics(q)
            # a x a*: the rotation (axis times sine of the angle) that turns the tool axis onto a*.
            err = np.cross(rot[:, 2], self.target_axis)
            tau0 = tau0 + jac_r.T @ (self.axis_stiffness * err - self.axis_damping * (jac_r @ qd))
        # (I - J' Jbar') tau0 = tau0 - J' Lambda (M^-1 J')' tau0
        return tau0 - jac.T @ np.linalg.solve(inv_lambda, m_inv_jt.T @ tau0)


class PostureImpedance:
    """A :class:`CartesianImpedance` plus a :class:`NullSpacePosture`, clipped to the law's torque
    limit; same ``n_task``, ``n_joints``, ``reset()`` and ``torques(state, setpoint, gains)``."""

    def __init__(self, law: CartesianImpedance, posture: NullSpacePosture) -> None:
        if law.n_joints != posture.n_joints:
            raise ValueError(f"posture.n_joints ({posture.n_joints}) must equal the law's ({law.n_joints})")
        self.law, self.posture = law, posture
        self.n_task, self.n_joints = law.n_task, law.n_joints

    def reset(self) -> None:
        self.law.reset()
        self.posture.reset()

    def torques(self, state: ArmState, setpoint: np.ndarray, gains: ImpedanceGains) -> np.ndarray:
        """Joint torques ``(n,)`` [N m]: the law's plus the null-space posture's."""
        tau = self.law.torques(state, setpoint, gains) + self.posture.torques(state)
        limit = self.law.torque_limit
        return tau if limit is None else np.clip(tau, -limit, limit)
