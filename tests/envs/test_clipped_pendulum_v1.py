"""ClippedPendulum-v1: theta_dot clipped at 8 rad/s (Gymnasium's Pendulum-v1), otherwise v0; the
optional Gym observation [cos, sin, theta_dot]."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import robocritic.envs  # noqa: F401 -- registers the ids
from robocritic.envs.pendulum.clipped_pendulum_v1 import gym_observation

V0, V1 = "robocritic/ClippedPendulum-v0", "robocritic/ClippedPendulum-v1"


def _run(env_id: str, x0, actions, **kwargs) -> tuple[np.ndarray, np.ndarray]:
    env = gym.make(env_id, **kwargs)
    try:
        obs0, info = env.reset(seed=0, options={"state": list(x0)})
        obs, states = [obs0], [info["state"]]
        for u in actions:
            o, _, _, _, info = env.step([u])
            obs.append(o)
            states.append(info["state"])
        return np.array(obs), np.array(states)
    finally:
        env.close()


def test_speed_is_clipped_at_8_where_v0_exceeds_it():
    # Full torque along the motion from a fast start pumps energy: v0 passes 8 rad/s, v1 never does.
    actions = np.full(60, 2.0)
    _, s0 = _run(V0, (0.0, 7.5), actions)
    _, s1 = _run(V1, (0.0, 7.5), actions)
    assert np.max(np.abs(s0[:, 1])) > 8.5
    assert np.max(np.abs(s1[:, 1])) <= 8.0 + 1e-12
    assert np.isclose(np.max(np.abs(s1[:, 1])), 8.0)


def test_equals_v0_while_the_speed_stays_below_the_clip():
    rng = np.random.default_rng(3)
    actions = rng.uniform(-2, 2, 40)
    o0, s0 = _run(V0, (0.2, -0.3), actions)
    o1, s1 = _run(V1, (0.2, -0.3), actions)
    assert np.max(np.abs(s0[:, 1])) < 8.0
    np.testing.assert_array_equal(s1, s0)
    np.testing.assert_array_equal(o1, o0)


def test_gym_observation_is_cos_sin_speed_of_the_state():
    actions = np.linspace(-2, 2, 15)
    obs, states = _run(V1, (2.5, 1.0), actions, observation="gym")
    assert obs.shape == (16, 3) and obs.dtype == np.float32
    np.testing.assert_allclose(obs, gym_observation(states), atol=1e-6)
    env = gym.make(V1, observation="gym")
    try:
        assert env.observation_space.shape == (3,)
        assert all(env.observation_space.contains(o) for o in obs)
    finally:
        env.close()
    # theta from upright: cos = 1 at the top.
    np.testing.assert_allclose(gym_observation(np.array([0.0, 0.5])), [1.0, 0.0, 0.5])


def test_bad_observation_mode_names_the_field():
    with pytest.raises(ValueError, match="observation"):
        gym.make(V1, observation="pixels")
