"""The clipped-pendulum task, written once for every engine.

A concrete env implements the engine hooks of
:class:`~robocritic.envs.base.task.EngineHooks` (state ``[theta, theta_dot]``); this mixin
supplies observation, cost, constraints, start-state distribution and the
``step``/``reset_model``/``_get_obs`` override surface.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from robocritic.envs.base.task import EngineHooks

from robocritic.dynamics import PendulumModel
from robocritic.utils.fields import is_finite_real
from robocritic.utils.validation import short_repr

#: Cost weights of the MPC benchmark (the YANN paper's pendulum): c = x'Qx + u'Ru.
STATE_WEIGHT = np.eye(2)
INPUT_WEIGHT = np.array([[1e-3]])
#: Half-widths of the uniform start-state box: theta (rad), theta_dot (rad/s).
START_HALF_WIDTH = np.array([0.3, 0.3])
#: Physical range of a given start state: |theta| <= one turn (every pose) and |theta_dot| <= 100
#: rad/s (at 100 rad/s a 5 ms physics step already turns the pole by half a radian); widened to
#: the model's state constraints if those are wider.
START_ANGLE_LIMIT = 2.0 * np.pi
START_SPEED_LIMIT = 100.0


def wrap_angle(theta: np.ndarray | float) -> np.ndarray | float:
    """Wrap to [-pi, pi)."""
    return (np.asarray(theta) + np.pi) % (2 * np.pi) - np.pi


def check_pendulum_model(model: Any) -> PendulumModel:
    """The env's ``model``: a :class:`PendulumModel` (its defaults for None; ValueError otherwise)."""
    if model is None:
        return PendulumModel()
    if not isinstance(model, PendulumModel):
        raise ValueError(f"model must be a PendulumModel or None; got {type(model).__name__}")  # noqa: TRY004 - documented
    return model


class PendulumTask(EngineHooks):
    """Mixin for ClippedPendulum envs (MuJoCo and PyBullet); see clipped_pendulum_v0.py."""

    def __init__(self, terminate_on_violation: bool, violation_penalty: float) -> None:
        if not isinstance(terminate_on_violation, bool):
            raise ValueError(
                f"terminate_on_violation must be a bool; got {short_repr(terminate_on_violation)}")
        if not (is_finite_real(violation_penalty) and violation_penalty >= 0):
            raise ValueError(
                f"violation_penalty must be finite and >= 0; got {short_repr(violation_penalty)}")
        self.terminate_on_violation = terminate_on_violation
        self.violation_penalty = float(violation_penalty)
        self.observation_space = gym.spaces.Box(
            low=np.array([-np.pi, -np.inf], dtype=np.float32),
            high=np.array([np.pi, np.inf], dtype=np.float32),
            dtype=np.float32,
        )

    def _check_model_matches_asset(self, engine: str) -> None:
        """The engine's asset encodes g=10, l=m=1 and the env's dt; only the limits of the shared
        :class:`~robocritic.dynamics.PendulumModel` may differ from its defaults."""
        model = self.dynamics
        same_physics = PendulumModel(
            dt=model.dt, max_torque=model.max_torque, max_angle=model.max_angle, max_speed=model.max_speed
        )
        if abs(self.dt - model.dt) > 1e-12 or model != same_physics:
            self.close()
            raise ValueError(
                f"model: the {engine} asset encodes g=10, l=m=1, dt={self.dt:g}; got {model}. "
                "Use the ODE reference (PendulumModel.step) for other parameters."
            )

    def state_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """``|theta| <= max(2 pi, max_angle)`` rad, ``|theta_dot| <= max(100, max_speed)`` rad/s."""
        model = self.dynamics
        limit = np.array([max(START_ANGLE_LIMIT, model.max_angle), max(START_SPEED_LIMIT, model.max_speed)])
        return -limit, limit

    def reset_model(self, options: dict[str, Any] | None) -> np.ndarray:
        x0 = self._initial_state(
            options, lambda: self.np_random.uniform(-START_HALF_WIDTH, START_HALF_WIDTH)
        )
        self._set_true_state(x0)
        return self._get_obs()

    def _get_obs(self) -> np.ndarray:
        theta, theta_dot = self._true_state()
        return np.array([wrap_angle(theta), theta_dot])

    def _observe(self, obs: np.ndarray) -> np.ndarray:
        # Noise first, then wrap, so the observation stays inside observation_space.
        noisy = super()._observe(obs)
        noisy[0] = wrap_angle(float(noisy[0]))
        return noisy

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        u = self._prepare_action(action)
        x = self._true_state()
        x_wrapped = np.array([wrap_angle(x[0]), x[1]])
        cost = float(x_wrapped @ STATE_WEIGHT @ x_wrapped + u @ INPUT_WEIGHT @ u)
        self._simulate(u)
        x_next = self._true_state()
        info = self._cost_info(x_next, u, cost)
        terminated = self.terminate_on_violation and info["unsafe"]
        if terminated:
            cost += self.violation_penalty
            info["cost"] = cost
        return self._observe(self._get_obs()), -cost, terminated, False, info
