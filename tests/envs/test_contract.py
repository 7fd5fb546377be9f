"""Contract every registered env honours: Gymnasium's checker, seeded determinism, clear errors."""

from __future__ import annotations

import importlib.util

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from robocritic.envs import ENV_IDS

NEEDS = {"robocritic/ClippedPendulumBullet-v0": "pybullet", "robocritic/ArmPressWipeBullet-v0": "pybullet"}


def _ids() -> list:
    params = []
    for env_id in ENV_IDS:
        dep = NEEDS.get(env_id)
        missing = dep is not None and importlib.util.find_spec(dep) is None
        marks = [pytest.mark.skip(reason=f"needs the '{dep}' extra")] if missing else []
        params.append(pytest.param(env_id, marks=marks, id=env_id.split("/")[1]))
    return params


def _flat(env: gym.Env, obs) -> np.ndarray:
    """An observation as one array (a Dict observation flattened in its key order)."""
    return gym.spaces.flatten(env.observation_space, obs)


def _rollout(env: gym.Env, seed: int, steps: int = 30) -> list:
    obs, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    out = [_flat(env, obs)]
    for _ in range(steps):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        out += [_flat(env, obs), info["state"], np.array([reward, terminated, truncated, info["cost"]])]
        if terminated or truncated:
            obs, _ = env.reset()
    return out


@pytest.mark.parametrize("env_id", _ids())
def test_passes_gymnasium_env_checker(env_id):
    env = gym.make(env_id)
    try:
        check_env(env.unwrapped, skip_render_check=True)
    finally:
        env.close()


@pytest.mark.parametrize("env_id", _ids())
def test_seeded_rollouts_are_identical_and_seeds_matter(env_id):
    runs = []
    for seed in (7, 7, 8):
        env = gym.make(env_id, randomization={"obs_noise_std": 0.01, "actuator_delay": (0, 2)})
        runs.append(_rollout(env, seed))
        env.close()
    a, b, c = runs
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0]), "different seeds should give different start states"


@pytest.mark.parametrize("env_id", _ids())
def test_info_carries_cost_and_constraint_terms(env_id):
    env = gym.make(env_id)
    try:
        _, info0 = env.reset(seed=0)
        assert "state" in info0
        _, reward, _, _, info = env.step(env.action_space.sample())
        for key in ("state", "cost", "constraint_violation", "violated", "unsafe", "applied_action"):
            assert key in info, key
        assert isinstance(info["unsafe"], bool)
        assert reward == pytest.approx(-info["cost"])
        assert np.isfinite(info["cost"]) and info["constraint_violation"] >= 0
    finally:
        env.close()


@pytest.mark.parametrize("env_id", _ids())
@pytest.mark.parametrize(
    "bad_action, match",
    [
        (np.nan, "action must be finite"),
        (np.inf, "action must be finite"),
        ("left", "action must be numeric"),
    ],
)
def test_bad_actions_raise_naming_the_action(env_id, bad_action, match):
    env = gym.make(env_id)
    try:
        env.reset(seed=0)
        n_u = env.action_space.shape[0]
        action = bad_action if isinstance(bad_action, str) else np.full(n_u, bad_action)
        with pytest.raises(ValueError, match=match):
            env.step(action)
        with pytest.raises(ValueError, match=r"action must have shape"):
            env.step(np.zeros(n_u + 1))
    finally:
        env.close()


@pytest.mark.parametrize("env_id", _ids())
def test_bad_reset_options_and_configs_name_the_field(env_id):
    env = gym.make(env_id)
    try:
        n_x = env.unwrapped.dynamics.n_x  # the state options["state"] sets
        with pytest.raises(ValueError, match=r"options\['state'\] must be finite"):
            env.reset(seed=0, options={"state": np.full(n_x, np.nan)})
        with pytest.raises(ValueError, match=r"options\['state'\] must have shape"):
            env.reset(seed=0, options={"state": np.zeros(n_x + 3)})
        with pytest.raises(ValueError, match="unknown key"):
            env.reset(seed=0, options={"sate": np.zeros(n_x)})
    finally:
        env.close()
    with pytest.raises(ValueError, match="randomization: unknown field"):
        gym.make(env_id, randomization={"mass_scal": (0.9, 1.1)})
    with pytest.raises(ValueError, match="actuator_delay"):
        gym.make(env_id, randomization={"actuator_delay": (3, 1)})
    with pytest.raises(ValueError, match="obs_noise_std"):
        gym.make(env_id, randomization={"obs_noise_std": -1.0})


@pytest.mark.parametrize("env_id", _ids())
def test_concrete_envs_implement_every_engine_hook(env_id):
    """A task mixin's engine hooks are abstract: every registered env class implements them all."""
    env = gym.make(env_id)
    try:
        assert not getattr(type(env.unwrapped), "__abstractmethods__", frozenset())
    finally:
        env.close()


def test_a_task_env_missing_an_engine_hook_cannot_be_built():
    from robocritic.envs.base.mujoco_env import MujocoEnv
    from robocritic.envs.pendulum.task import PendulumTask

    class NoSimulate(PendulumTask, MujocoEnv):
        def _true_state(self):  # pragma: no cover - never called
            return np.zeros(2)

        def _set_true_state(self, x):  # pragma: no cover - never called
            pass

    with pytest.raises(TypeError, match="_simulate"):
        NoSimulate()


def test_any_env_module_imported_first_gets_headless_rendering():
    """MuJoCo reads MUJOCO_GL once when imported: the default must be set before any env module
    (even one that imports mujoco directly) loads, or rendering needs a display."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "MUJOCO_GL"}
    code = "import robocritic.envs.arm.model, os; print(os.environ['MUJOCO_GL'])"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "egl"
