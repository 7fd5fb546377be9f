"""PyBulletEnv through ClippedPendulumBullet-v0: determinism, randomisation, rendering, checks."""

from __future__ import annotations

import importlib.util
import sys

import pytest

pytest.importorskip("pybullet")

import gymnasium as gym
import numpy as np
import robocritic.envs  # noqa: F401 -- registers the env ids
from gymnasium.utils.env_checker import check_env
from robocritic.envs.base import pybullet_env
from robocritic.envs.pendulum.clipped_pendulum_bullet_v0 import ClippedPendulumBulletEnv
from scipy.integrate import solve_ivp

from robocritic.dynamics import PendulumModel

ENV_ID = "robocritic/ClippedPendulumBullet-v0"
TORQUES = np.random.default_rng(1).uniform(-2.0, 2.0, 40).astype(np.float32)  # N m
START = [0.1, 0.0]
# Bullet (semi-implicit Euler, 1 ms) vs an ODE over these 40 steps from START, per entry
# [theta rad, theta_dot rad/s], ~5-8x the measured error. Measured: nominal 3.7e-3, 1.6e-5;
# mass_scale 2 vs PendulumModel(mass=2) 3.7e-3, 1.2e-5; joint damping 0.3 N m s/rad vs the damped
# ODE 4.3e-3, 5.4e-3 (Bullet applies joint damping explicitly, once per physics step).
MASS_TOLERANCE = np.array([2e-2, 1e-4])
DAMPING_TOLERANCE = np.array([2e-2, 3e-2])


def rollout(randomization=None, seed: int = 0, start=START, torques=TORQUES) -> np.ndarray:
    """True states after each step, shape (len(torques), 2)."""
    env = gym.make(ENV_ID, randomization=randomization)
    try:
        env.reset(seed=seed, options={"state": list(start)})
        return np.array([env.step(np.array([u]))[4]["state"] for u in torques])
    finally:
        env.close()


def ode_rollout(model: PendulumModel, damping: float = 0.0, start=START) -> np.ndarray:
    """Reference with an extra viscous joint damping (N m s/rad), torque held per step."""
    x = np.array(start, dtype=np.float64)
    states = []
    for u in TORQUES.astype(np.float64):

        def f(_t, s, u=u):
            torque = u - damping * s[1]
            return [s[1], model.gravity_gain * np.sin(s[0]) + model.input_gain * torque]

        x = solve_ivp(f, (0.0, model.dt), x, rtol=1e-10, atol=1e-12).y[:, -1]
        states.append(x)
    return np.array(states)


@pytest.fixture(scope="module")
def nominal() -> np.ndarray:
    return rollout()


def test_reset_and_rollout_are_deterministic_with_a_seed() -> None:
    noisy = {
        "obs_noise_std": 0.05, "push_probability": 0.5, "push_force": (0.5, 2.0), "mass_scale": (0.8, 1.2),
    }
    runs = []
    for _ in range(2):
        env = gym.make(ENV_ID, randomization=noisy)
        obs, info = env.reset(seed=7)
        trace = [obs, info["state"]]
        for u in TORQUES[:20]:
            obs, reward, _, _, info = env.step(np.array([u]))
            trace += [obs, info["state"], [reward]]
        env.close()
        runs.append(np.concatenate([np.ravel(t) for t in trace]))
    np.testing.assert_array_equal(runs[0], runs[1])

    env = gym.make(ENV_ID)
    starts = [env.reset(seed=s)[1]["state"] for s in (1, 2)]
    env.close()
    assert not np.allclose(starts[0], starts[1])


def test_mass_scale_changes_dynamics_like_a_heavier_rod(nominal: np.ndarray) -> None:
    # Mass and inertia scale together, so gravity's pull is unchanged and the torque's effect halves.
    heavy = rollout({"mass_scale": (2.0, 2.0)})
    assert np.max(np.abs(heavy - nominal)) > 0.1
    error = np.max(np.abs(heavy - ode_rollout(PendulumModel(mass=2.0))), axis=0)
    np.testing.assert_array_less(error, MASS_TOLERANCE)


def test_joint_damping_is_applied(nominal: np.ndarray) -> None:
    damped = rollout({"joint_damping": (0.3, 0.3)})
    assert np.max(np.abs(damped - nominal)) > 0.5
    error = np.max(np.abs(damped - ode_rollout(PendulumModel(), damping=0.3)), axis=0)
    np.testing.assert_array_less(error, DAMPING_TOLERANCE)


def test_actuator_delay_shifts_the_response_by_exactly_two_steps() -> None:
    # Upright at rest stays exactly at rest under zero torque, so a 2-step delay (neutral input
    # first) yields the undelayed trajectory two steps later.
    upright = [0.0, 0.0]
    undelayed = rollout(start=upright)
    env = gym.make(ENV_ID, randomization={"actuator_delay": (2, 2)})
    _, info = env.reset(seed=0, options={"state": upright})
    assert info["episode_physics"].actuator_delay == 2
    applied, states = [], []
    for u in TORQUES:
        info = env.step(np.array([u]))[4]
        applied.append(info["applied_action"][0])
        states.append(info["state"])
    env.close()
    np.testing.assert_array_equal(applied, np.concatenate([[0.0, 0.0], TORQUES[:-2]]))
    np.testing.assert_array_equal(states[:2], np.zeros((2, 2)))
    np.testing.assert_allclose(np.array(states[2:]), undelayed[:-2], rtol=0, atol=1e-12)


def test_pushes_change_the_trajectory(nominal: np.ndarray) -> None:
    pushed = rollout({"push_probability": 1.0, "push_force": (1.0, 1.0)})
    assert np.max(np.abs(pushed - nominal)) > 0.1
    never = rollout({"push_probability": 0.0, "push_force": (5.0, 5.0)})
    np.testing.assert_array_equal(never, nominal)


def test_render_returns_an_rgb_image() -> None:
    env = gym.make(ENV_ID, render_mode="rgb_array")
    env.reset(seed=0, options={"state": [0.5, 0.0]})
    image = env.render()
    env.close()
    assert image.shape == (480, 480, 3) and image.dtype == np.uint8
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 1  # the pole is in view

    headless = gym.make(ENV_ID)
    headless.reset(seed=0)
    assert headless.render() is None
    headless.close()


@pytest.mark.parametrize("bad", [[np.nan], [np.inf], [0.0, 0.0]])
def test_invalid_action_raises_naming_action(bad) -> None:
    env = gym.make(ENV_ID)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.step(np.array(bad))
    env.close()


@pytest.mark.parametrize("render_mode", [None, "rgb_array"])
def test_passes_gymnasium_env_checker(render_mode: str | None) -> None:
    env = gym.make(ENV_ID, render_mode=render_mode)
    check_env(env.unwrapped)
    env.close()


def test_envs_in_one_process_do_not_share_a_physics_server(nominal: np.ndarray) -> None:
    a, b = ClippedPendulumBulletEnv(), ClippedPendulumBulletEnv()
    a.reset(seed=0, options={"state": START})
    b.reset(seed=0, options={"state": [2.0, 1.0]})
    states = []
    for u in TORQUES:
        states.append(a.step(np.array([u]))[4]["state"])
        b.step(np.array([-u]))
    a.close()
    b.close()
    b.close()  # idempotent
    np.testing.assert_array_equal(np.array(states), nominal)


def test_model_other_than_the_asset_is_rejected() -> None:
    with pytest.raises(ValueError, match="model"):
        ClippedPendulumBulletEnv(model=PendulumModel(length=2.0))


def test_missing_pybullet_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pybullet", None)  # makes `import pybullet` fail
    spec = importlib.util.spec_from_file_location("_pybullet_env_without_pybullet", pybullet_env.__file__)
    module = importlib.util.module_from_spec(spec)
    with pytest.raises(ImportError, match=r"pip install 'robocritic\[pybullet\]'"):
        spec.loader.exec_module(module)
