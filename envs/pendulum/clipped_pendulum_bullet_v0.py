"""ClippedPendulumBullet-v0 (PyBullet): the PyBullet twin of ClippedPendulum-v0.

## Description
The same task as ``robocritic/ClippedPendulum-v0`` (see ``clipped_pendulum_v0.py``): Gym's
pendulum dynamics (g = 10 m/s^2, l = m = 1, control period 0.05 s) started near upright, to be
regulated at the unstable upright equilibrium within state and input limits. The dynamics are
those of :class:`robocritic.dynamics.PendulumModel`, encoded in ``clipped_pendulum.urdf``.
PyBullet (Featherstone, semi-implicit Euler) integrates them at 1 ms, 50 physics steps per
control step, with Bullet's default link damping and joint velocity motor removed. A policy
trained on one engine is evaluated on the other: the cheapest proxy of the sim-to-real gap.
Needs the extra: ``pip install robocritic[pybullet]``.

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
``|theta| <= 2 rad`` and ``|theta_dot| <= 8 rad/s`` (reported, not clipped).
``info["constraint_violation"]`` is the summed excess, ``info["violated"]`` whether any limit is
exceeded (also ``info["unsafe"]``), ``info["cost"]`` the stage cost and ``info["state"]`` the true (noise-free, unwrapped)
state.

## Start state
``theta ~ U(-0.3, 0.3)`` rad, ``theta_dot ~ U(-0.3, 0.3)`` rad/s, or exactly
``reset(options={"state": [theta, theta_dot]})`` within the physical range of ClippedPendulum-v0
(``|theta| <= 2 pi`` rad, ``|theta_dot| <= 100`` rad/s).

## Episode end
Terminated on a constraint violation only if ``terminate_on_violation=True`` (then with
``violation_penalty`` added to the cost). Truncated after 200 steps (10 s) by the registered
``TimeLimit``. A step whose observation is not finite (Bullet's NaN) raises
:class:`~robocritic.envs.SimulationDiverged` instead.

## Arguments
``gym.make("robocritic/ClippedPendulumBullet-v0", randomization=None,
terminate_on_violation=False, violation_penalty=0.0, model=PendulumModel(), render_mode=None)``.
Randomisation: see :class:`robocritic.envs.DomainRandomization` (pushes act on the pole's centre
of mass; friction scaling has no effect, the pole has no contacts).

## Version history
v0: first release.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from robocritic.envs.base.pybullet_env import PyBulletEnv
from robocritic.envs.base.randomization import DomainRandomization
from robocritic.envs.base.robocritic_env import names_env_errors
from robocritic.envs.pendulum.constants import PENDULUM_BODY, PENDULUM_JOINT, PENDULUM_URDF
from robocritic.envs.pendulum.task import PendulumTask, check_pendulum_model

from robocritic.dynamics import PendulumModel

#: Physics step, s. Semi-implicit Euler is first order; 1 ms keeps the 100-step open-loop state
#: error versus the ODE reference near 1e-3 (tests/envs/test_sim_to_sim.py).
PHYSICS_TIMESTEP = 0.001
FRAME_SKIP = 50


class ClippedPendulumBulletEnv(PendulumTask, PyBulletEnv):
    """PyBullet implementation of ClippedPendulum-v0 (see module docstring)."""

    env_name = "ClippedPendulumBullet-v0"

    push_body = PENDULUM_BODY
    joint_names = (PENDULUM_JOINT,)
    gravity = (0.0, 0.0, -10.0)

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
        PyBulletEnv.__init__(
            self, PENDULUM_URDF, FRAME_SKIP, PHYSICS_TIMESTEP, dynamics, randomization, render_mode
        )
        self._check_model_matches_asset("PyBullet")
        PendulumTask.__init__(self, terminate_on_violation, violation_penalty)

    def _true_state(self) -> np.ndarray:
        return self.state_vector()

    def _set_true_state(self, x: np.ndarray) -> None:
        self.set_state(x[:1], x[1:])

    def _simulate(self, u: np.ndarray) -> None:
        self.do_simulation(u)
