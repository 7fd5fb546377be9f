"""ClippedPendulum-v1 (MuJoCo): the pendulum "clipped" as in Gymnasium's Pendulum-v1.

## Description
ClippedPendulum-v0 (``clipped_pendulum_v0.py``: same dynamics, torque limit, cost, start box,
safety box, randomisation and episode length) with one change: the angular speed is **clipped
at** ``|theta_dot| <= max_speed`` (8 rad/s by default) after every physics step, as Gymnasium's
Pendulum-v1 clips it after every control step. A falling pole therefore cannot spin up without
bound: this is the "clipped pendulum" of the YANN-RL paper, whose test starts the N=2 MPC loses
cost about a thousand per episode instead of v0's several thousand.

Why after every 5 ms physics step and not once per 0.05 s control step: Gymnasium integrates the
angle with the already clipped speed (semi-implicit Euler); clipping the MuJoCo RK4 state after
each physics step keeps the speed within the bound during the whole control step too, which is the
closest match on a higher-order integrator. The remaining difference to Pendulum-v1 is the
integrator (RK4 at 5 ms here, one Euler step of 0.05 s there) and the angle origin (upright here).

## Action space
As v0: one torque in ``[-2, 2]`` N m, saturated.

## Observation space
``observation="state"`` (default): ``[theta, theta_dot]`` as v0 (what the MPC and the YANN use).
``observation="gym"``: Gymnasium's 3-D observation ``[cos(theta), sin(theta), theta_dot]``
(``theta`` from upright, so ``cos = 1`` at the top, as in Pendulum-v1), bounds
``[-1, -1, -max_speed]`` to ``[1, 1, max_speed]``. Observation noise (randomisation) acts on the
2-D state before the 3-D map. ``info["state"]`` is always the true ``[theta, theta_dot]``.

## Cost, safety constraints, start state, episode end
As v0. Since the speed is clipped, ``|theta_dot| <= 8`` never counts as violated (a clipped
speed equals the bound); ``|theta| <= 2`` rad still does.

## Arguments
``gym.make("robocritic/ClippedPendulum-v1", observation="state", randomization=None,
terminate_on_violation=False, violation_penalty=0.0, model=PendulumModel(), render_mode=None)``.

## Version history
v1: theta_dot clipped at the model's ``max_speed`` (Gymnasium's Pendulum-v1 convention); the
optional Gym observation. v0 is unchanged and keeps its own id.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import mujoco
import numpy as np
from robocritic.envs.base.randomization import DomainRandomization
from robocritic.envs.base.robocritic_env import names_env_errors
from robocritic.envs.pendulum.clipped_pendulum_v0 import ClippedPendulumEnv

from robocritic.dynamics import PendulumModel
from robocritic.utils.validation import short_repr

OBSERVATIONS: tuple[str, ...] = ("state", "gym")
"""Observation modes of v1: ``[theta, theta_dot]`` or Gymnasium's ``[cos, sin, theta_dot]``."""


def gym_observation(state: np.ndarray) -> np.ndarray:
    """``[theta, theta_dot] (..., 2)`` -> Gymnasium's ``[cos theta, sin theta, theta_dot] (..., 3)``."""
    s = np.asarray(state, dtype=np.float64)
    return np.stack([np.cos(s[..., 0]), np.sin(s[..., 0]), s[..., 1]], axis=-1)


class ClippedPendulumV1Env(ClippedPendulumEnv):
    """MuJoCo implementation of ClippedPendulum-v1 (see module docstring)."""

    env_name = "ClippedPendulum-v1"

    @names_env_errors
    def __init__(
        self,
        model: PendulumModel | None = None,
        randomization: DomainRandomization | dict[str, Any] | None = None,
        terminate_on_violation: bool = False,
        violation_penalty: float = 0.0,
        render_mode: str | None = None,
        observation: str = "state",
    ) -> None:
        if observation not in OBSERVATIONS:
            raise ValueError(f"observation must be one of {list(OBSERVATIONS)}; got {short_repr(observation)}")
        super().__init__(model, randomization, terminate_on_violation, violation_penalty, render_mode)
        self.observation_mode = observation
        self.max_speed = float(self.dynamics.max_speed)
        if observation == "gym":
            high = np.array([1.0, 1.0, self.max_speed], dtype=np.float32)
            self.observation_space = gym.spaces.Box(low=-high, high=high, dtype=np.float32)

    def _simulate(self, u: np.ndarray) -> None:
        # As MujocoEnv.do_simulation, one physics step at a time with the speed clipped after each.
        self.data.ctrl[:] = u
        push = self._sample_push() if self._push_body_id >= 0 else None
        self.data.xfrc_applied[:] = 0.0
        if push is not None:
            self.data.xfrc_applied[self._push_body_id, :3] = push
        for _ in range(self.frame_skip):
            mujoco.mj_step(self.model, self.data)
            v = self.data.qvel[self._qvel]
            if abs(v) > self.max_speed:
                self.data.qvel[self._qvel] = np.sign(v) * self.max_speed
        self.data.xfrc_applied[:] = 0.0
        self._check_engine_reset()

    def _observe(self, obs: np.ndarray) -> np.ndarray:
        noisy = super()._observe(obs)
        if self.observation_mode == "gym":
            return gym_observation(noisy).astype(self.observation_space.dtype)
        return noisy
