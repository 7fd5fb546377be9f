"""Closed loop: linear MPC stabilises the clipped pendulum from a grid of start states, with
zero constraint violations, on the ODE model and in MuJoCo.

The grid lies inside the MPC's feasible set *and* inside the region from which |u| <= 2 N m can
catch the pendulum at all (gravity gives 15 sin(theta) rad/s^2, the motor at most 6 rad/s^2, so
no controller holds |theta| >~ 0.41 rad at rest). A sweep mapped the region of attraction of the
saturated closed loop as roughly |theta + 0.25 theta_dot| <= 0.4; the grid keeps a margin:
theta in [-0.35, 0.35] rad, theta_dot in [-1.2, 1.2] rad/s, |theta + 0.25 theta_dot| <= 0.35.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from robocritic.controllers import LinearMPC, MPCConfig
from robocritic.dynamics import PendulumModel
from robocritic.testing import assert_constraints_satisfied, assert_settles, run_closed_loop

MODEL = PendulumModel()
THETAS = np.linspace(-0.35, 0.35, 9)
SPEEDS = np.linspace(-1.2, 1.2, 9)
GRID = [(th, td) for th, td in itertools.product(THETAS, SPEEDS) if abs(th + 0.25 * td) <= 0.35 + 1e-12]


def _mpc(horizon: int, solver: str = "daqp") -> LinearMPC:
    return LinearMPC(MODEL.linearize(), MPCConfig(horizon=horizon, Q=np.eye(2), R=[[1e-3]], solver=solver))


@pytest.mark.parametrize("horizon", [2, 10])
def test_mpc_stabilises_the_grid_on_the_ode_model(horizon):
    assert len(GRID) >= 40
    mpc = _mpc(horizon)
    for x0 in GRID:
        assert mpc.feasible(np.array(x0)), x0
        traj = run_closed_loop(mpc, MODEL, x0=x0, steps=160)
        assert_constraints_satisfied(traj)
        assert_settles(traj, within=5.0, tolerance=[1e-2, 2e-2])
    assert mpc.n_fallbacks == 0


@pytest.mark.parametrize("solver", ["daqp", "osqp"])
def test_mpc_stabilises_the_grid_in_mujoco(solver, make_env):
    env = make_env("robocritic/ClippedPendulum-v0")
    mpc = _mpc(10, solver)
    for x0 in GRID[::3]:
        traj = run_closed_loop(mpc, env, x0=x0, steps=160)
        assert_constraints_satisfied(traj)
        assert_settles(traj, within=5.0, tolerance=[1e-2, 2e-2])
        assert not traj.terminated
    assert mpc.n_fallbacks == 0


def test_mpc_holds_under_randomised_physics(make_env):
    """+-10 % mass, one step of actuator delay, sensor noise and pushes: still no violation."""
    env = make_env(
        "robocritic/ClippedPendulum-v0",
        randomization={"mass_scale": (0.9, 1.1), "actuator_delay": (0, 1), "obs_noise_std": 0.002,
                       "push_probability": 0.05, "push_force": (0.0, 1.0)},
    )
    mpc = _mpc(10)
    for seed in range(5):
        traj = run_closed_loop(mpc, env, x0=[0.2, 0.0], steps=200, seed=seed)
        assert_constraints_satisfied(traj)
        assert np.all(np.abs(traj.states[-20:, 0]) < 0.05), f"seed {seed}: not kept near upright"
