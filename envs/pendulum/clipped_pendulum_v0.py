"""ClippedPendulum-v0 (MuJoCo): balance a rod pendulum upright with a saturated torque.

## Description
Gym's pendulum dynamics (g = 10 m/s^2, l = m = 1, control period 0.05 s) started near upright,
as used by the YANN / YANN-RL papers: no swing-up, the task is to regulate the unstable upright
equilibrium while respecting state and input limits. The dynamics are those of
:class:`robocritic.dynamics.PendulumModel`, the same object the MPC plans with; MuJoCo
integrates them with RK4 at 5 ms (10 physics steps per control step).

## Action space
| idx | action | min | max | unit |
|---|---|---|---|---|
| 0 | torque at the hinge | -2 | 2 | N m |
Commands outside the range are saturated (counted in ``info["action_saturations"]``);
NaN, inf, a wrong shape or a value that is no real number (a string, bool, complex number) raise
``ValueError`` naming the env and ``action``.

## Observation space
| idx | observation | min | max | unit |
|---|---|---|---|---|
| 0 | theta, angle from upright, wrapped to [-pi, pi) | -pi | pi | rad |
| 1 | theta_dot | -inf | inf | rad/s |

## Cost (reward = -cost)
``c = x' Q x + u' R u`` with ``Q = I``, ``R = 0.001`` (the MPC benchmark's weights), using the
applied (delayed, saturated) torque.

## Safety constraints (``info``)
``|theta| <= 2 rad`` and ``|theta_dot| <= 8 rad/s`` (Gym clips the speed at 8; here it is a
constraint that is reported, not clipped). ``info["constraint_violation"]`` is the summed excess,
``info["violated"]`` whether any limit is exceeded (this is also ``info["unsafe"]``, the
safety flag learning counts), ``info["cost"]`` the stage cost and
``info["state"]`` the true (noise-free, unwrapped) state.

## Start state
``theta ~ U(-0.3, 0.3)`` rad, ``theta_dot ~ U(-0.3, 0.3)`` rad/s, or exactly
``reset(options={"state": [theta, theta_dot]})`` within the physical range ``|theta| <= 2 pi`` rad,
``|theta_dot| <= 100`` rad/s (widened to the model's constraints where those are wider); outside
it, or not finite, ``ValueError`` naming the env and the entry.

## Episode end
Terminated on a constraint violation only if ``terminate_on_violation=True`` (then with
``violation_penalty`` added to the cost). Truncated after 200 steps (10 s) by the registered
``TimeLimit``. A step after which MuJoCo reset itself (a NaN or huge state) or the observation is
not finite raises :class:`~robocritic.envs.SimulationDiverged` instead.

## Arguments
``gym.make("robocritic/ClippedPendulum-v0", randomization=None, terminate_on_violation=False,
violation_penalty=0.0, model=PendulumModel(), render_mode=None)``. Randomisation: see
:class:`robocritic.envs.DomainRandomization` (pushes act on the pole's centre of mass).

## Version history
v0: first release.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from robocritic.envs.base.mujoco_env import MujocoEnv
from robocritic.envs.base.randomization import DomainRandomization
from robocritic.envs.base.robocritic_env import names_env_errors
from robocritic.envs.pendulum.constants import PENDULUM_ACTUATOR, PENDULUM_BODY, PENDULUM_JOINT, PENDULUM_MJCF
from robocritic.envs.pendulum.task import PendulumTask, check_pendulum_model

from robocritic.dynamics import PendulumModel


class ClippedPendulumEnv(PendulumTask, MujocoEnv):
    """MuJoCo implementation of ClippedPendulum-v0 (see module docstring)."""

    env_name = "ClippedPendulum-v0"

    push_body = PENDULUM_BODY
    render_camera = "side"

    @names_env_errors
    def __init__(
        self,
        model: PendulumModel | None = None,
        randomization: DomainRandomization | dict[str, Any] | None = None,
        terminate_on_violation: bool = False,
        violation_penalty: float = 0.0,
        render_mode: str | None = None,
    ) -> None:
        dynamics = check_pendulum_model(model)
        MujocoEnv.__init__(self, PENDULUM_MJCF, 10, dynamics, randomization, render_mode)
        self._check_model_matches_asset("MuJoCo")
        self._actuator = self.model.actuator(PENDULUM_ACTUATOR).id
        joint = self.model.joint(PENDULUM_JOINT)
        self._qpos, self._qvel = int(joint.qposadr[0]), int(joint.dofadr[0])
        self._apply_torque_limit()
        PendulumTask.__init__(self, terminate_on_violation, violation_penalty)

    def _apply_torque_limit(self) -> None:
        """The MJCF's ctrlrange follows the shared model's torque limit."""
        self.model.actuator_ctrlrange[self._actuator] = [-self.dynamics.max_torque, self.dynamics.max_torque]

    def _true_state(self) -> np.ndarray:
        return np.array([self.data.qpos[self._qpos], self.data.qvel[self._qvel]])

    def _set_true_state(self, x: np.ndarray) -> None:
        self.set_state(x[:1], x[1:])

    def _simulate(self, u: np.ndarray) -> None:
        self.do_simulation(u)

