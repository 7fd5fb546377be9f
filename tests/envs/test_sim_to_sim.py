"""Sim-to-sim check: MuJoCo and PyBullet ClippedPendulum against the analytic ODE, and each other.

One seeded open-loop torque sequence (100 control steps, 5 s) from a fixed start near upright;
the pendulum tips over and swings through the top several times (theta reaches ~21 rad,
|theta_dot| ~9.4 rad/s), so integrator error is exercised away from the linear regime. The
reference is ``PendulumModel().step`` (scipy RK45, rtol 1e-9) with the torque held per step.

Tolerances are per state entry [theta (rad), theta_dot (rad/s)], about 5-10x the error measured
on the development machine (numbers in the comments).
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import robocritic.envs  # noqa: F401 -- registers the env ids
from robocritic.dynamics import PendulumModel

MUJOCO_ID = "robocritic/ClippedPendulum-v0"
BULLET_ID = "robocritic/ClippedPendulumBullet-v0"

START_STATE = [0.1, 0.0]  # rad, rad/s
TORQUES = np.random.default_rng(0).uniform(-2.0, 2.0, 100)  # N m, one per 50 ms control step

TOLERANCE = {
    # RK4 at 5 ms. Measured max error 2.0e-7 rad, 3.7e-7 rad/s; most of it is the scipy
    # reference's own error (against a solve_ivp at rtol 1e-10 MuJoCo is within ~2e-8).
    MUJOCO_ID: np.array([2e-6, 3e-6]),
    # Semi-implicit Euler at 1 ms. Measured max error 4.8e-3 rad, 1.5e-4 rad/s. The angle error
    # is Bullet's staggering: its theta leads the ODE by h * theta_dot / 2 (fitted slope 0.501),
    # first order in the physics step; the velocity error is second order.
    BULLET_ID: np.array([3e-2, 1e-3]),
}


def _needs(env_id: str) -> None:
    if env_id == BULLET_ID:
        pytest.importorskip("pybullet")


def rollout(env_id: str) -> np.ndarray:
    """True states after each control step, shape (100, 2) (cached: each engine runs once)."""
    _needs(env_id)
    if env_id not in _ROLLOUTS:
        _ROLLOUTS[env_id] = _run(env_id)
    return _ROLLOUTS[env_id]


_ROLLOUTS: dict[str, np.ndarray] = {}


def _run(env_id: str) -> np.ndarray:
    env = gym.make(env_id)
    try:
        _, info = env.reset(seed=0, options={"state": START_STATE})
        np.testing.assert_array_equal(info["state"], START_STATE)
        states = []
        for u in TORQUES:
            _, _, terminated, truncated, info = env.step(np.array([u], dtype=np.float32))
            assert not (terminated or truncated)
            np.testing.assert_allclose(info["applied_action"], [u], rtol=1e-6)
            states.append(info["state"])
        return np.array(states)
    finally:
        env.close()


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    """ODE states after each control step, shape (100, 2), the torque held over each step."""
    model = PendulumModel()
    # The env receives float32 actions; feed the reference the same rounded torques.
    x = np.array(START_STATE, dtype=np.float64)
    states = []
    for u in TORQUES.astype(np.float32).astype(np.float64):
        x = model.step(x, [u])
        states.append(x)
    return np.array(states)


def test_reference_leaves_the_linear_regime(reference: np.ndarray) -> None:
    # Guards the scenario itself: a trajectory hugging upright would not test much.
    assert np.ptp(reference[:, 0]) > 2 * np.pi
    assert np.max(np.abs(reference[:, 1])) > 5.0


@pytest.mark.parametrize("env_id", [MUJOCO_ID, BULLET_ID])
def test_engine_matches_ode_reference(env_id: str, reference: np.ndarray) -> None:
    states = rollout(env_id)
    error = np.max(np.abs(states - reference), axis=0)
    assert np.all(error <= TOLERANCE[env_id]), (
        f"{env_id}: max |state - ODE| = {error} (theta rad, theta_dot rad/s) "
        f"exceeds tolerance {TOLERANCE[env_id]}"
    )


def test_engines_agree_with_each_other() -> None:
    mujoco_states = rollout(MUJOCO_ID)
    bullet_states = rollout(BULLET_ID)
    gap = np.max(np.abs(mujoco_states - bullet_states), axis=0)
    tolerance = TOLERANCE[MUJOCO_ID] + TOLERANCE[BULLET_ID]
    assert np.all(gap <= tolerance), f"MuJoCo vs PyBullet max gap {gap} exceeds {tolerance}"
