"""SafetyCSTR-v0: Gymnasium contract, model agreement, cost, safety termination, randomisation."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import robocritic.envs  # noqa: F401 -- registers the ids
import scipy.linalg
from gymnasium.utils.env_checker import check_env
from robocritic.envs.cstr.safety_cstr_v0 import START_HALF_WIDTH, SafetyCSTREnv

from robocritic.dynamics import CSTRModel

ENV_ID = "robocritic/SafetyCSTR-v0"
MODEL = CSTRModel()
X_EQ, U_EQ = MODEL.x_eq, MODEL.u_eq
U_MIN, U_MAX = MODEL.input_box.low, MODEL.input_box.high


def _rollout(env: gym.Env, seed: int, steps: int = 40) -> list[np.ndarray]:
    obs, info = env.reset(seed=seed)
    env.action_space.seed(seed)
    out = [obs, info["state"]]
    for _ in range(steps):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        out += [obs, info["state"], np.array([reward, terminated, truncated])]
        if terminated or truncated:
            break
    return out


def test_passes_gymnasium_env_checker():
    env = gym.make(ENV_ID)
    try:
        check_env(env.unwrapped, skip_render_check=True)
    finally:
        env.close()


def test_spaces_and_episode_length(make_env):
    env = make_env(ENV_ID)
    assert env.spec.max_episode_steps == 120  # 2 h at 60 s per step
    assert env.observation_space.shape == (4,) and env.observation_space.dtype == np.float32
    np.testing.assert_allclose(env.action_space.low, (U_EQ - 55).astype(np.float32))
    np.testing.assert_allclose(env.action_space.high, (U_EQ + 55).astype(np.float32))
    assert env.unwrapped.dt == 60.0


def test_seeded_rollouts_are_identical_and_seeds_matter():
    runs = []
    for seed in (3, 3, 4):
        noise = [0.01, 0.01, 0.05, 0.2]  # mol/L, mol/L, mol/L, K
        env = gym.make(ENV_ID, randomization={"obs_noise_std": noise, "actuator_delay": (0, 2)})
        runs.append(_rollout(env, seed))
        env.close()
    a, b, c = runs
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[1], c[1])


def test_start_states_are_near_the_operating_point(make_env):
    env = make_env(ENV_ID)
    starts = np.array([env.reset(seed=s)[1]["state"] for s in range(50)])
    dev = starts - X_EQ
    assert np.all(np.abs(dev) <= START_HALF_WIDTH)
    assert np.all(starts[:, 3] < 480.0) and np.all(starts[:, :3] > 0)
    assert np.all(dev.std(axis=0) > 0.4 * START_HALF_WIDTH / np.sqrt(3))  # really spread out


def test_step_is_the_shared_model_and_cost_uses_deviations(make_env):
    env = make_env(ENV_ID)
    x0 = X_EQ + np.array([0.1, -0.05, 0.2, 2.0])
    obs, info = env.reset(seed=0, options={"state": x0})
    np.testing.assert_array_equal(info["state"], x0)
    np.testing.assert_allclose(obs, x0.astype(np.float32))
    u = U_EQ + 20.0
    obs, reward, terminated, truncated, info = env.step(u)
    np.testing.assert_allclose(info["state"], MODEL.step(x0, u), rtol=1e-12)
    expected_cost = 0.1 * np.sum((x0 - X_EQ) ** 2) + 1e-4 * 20.0**2
    assert info["cost"] == pytest.approx(expected_cost, rel=1e-12)
    assert reward == pytest.approx(-expected_cost)
    assert not (terminated or truncated or info["unsafe"] or info["violated"])
    env.reset(seed=0, options={"state": X_EQ})
    _, reward, _, _, info = env.step(U_EQ)
    assert reward == pytest.approx(0.0, abs=1e-12)


def test_unsafe_temperature_terminates_with_the_penalty(make_env):
    """Least cooling from 478 K: T crosses 480 K after ~100 steps (1.7 h)."""
    env = make_env(ENV_ID)
    env.reset(seed=0, options={"state": [*X_EQ[:3], 478.0]})
    for k in range(120):
        _, reward, terminated, truncated, info = env.step(U_MIN)
        if terminated or truncated:
            break
    assert terminated and not truncated and k < 119
    assert info["unsafe"] and info["state"][3] >= 480.0 and info["violated"]
    assert info["cost"] > 1e5 and reward == pytest.approx(-info["cost"])
    assert info["cost"] - 1e5 < 10.0  # penalty plus an ordinary stage cost


def test_without_termination_the_episode_runs_on_through_a_runaway(make_env):
    env = make_env(ENV_ID, terminate_on_violation=False)
    env.reset(seed=0, options={"state": [*X_EQ[:3], 479.9]})
    unsafe = []
    for _ in range(120):
        obs, reward, terminated, truncated, info = env.step(U_MIN)
        unsafe.append(info["unsafe"])
        assert not terminated and info["cost"] < 1e5 and np.all(np.isfinite(obs))
    assert any(unsafe)


def test_custom_penalty_is_used(make_env):
    env = make_env(ENV_ID, violation_penalty=123.0)
    env.reset(seed=0, options={"state": [*X_EQ[:3], 485.0]})
    _, reward, terminated, _, info = env.step(U_MAX)
    assert terminated
    stage = 0.1 * 10.0**2 + 1e-4 * 55.0**2
    assert info["cost"] == pytest.approx(stage + 123.0, rel=1e-9)


def test_saturated_lqr_keeps_every_start_safe(make_env):
    """The start distribution is recoverable: an LQR on the model's own linearisation (MPC
    weights, saturated to the actuator box) never reaches 480 K and settles near x_eq."""
    lin = MODEL.linearize()
    Q, R = 0.1 * np.eye(4), np.array([[1e-4]])
    P = scipy.linalg.solve_discrete_are(lin.A, lin.B, Q, R)
    K = np.linalg.solve(R + lin.B.T @ P @ lin.B, lin.B.T @ P @ lin.A)
    env = make_env(ENV_ID)
    for seed in range(10):
        obs, info = env.reset(seed=seed)
        total = 0.0
        for _ in range(120):
            obs, reward, terminated, truncated, info = env.step(U_EQ - K @ (obs - X_EQ))
            total -= reward
            assert not terminated and info["state"][3] < 479.0
        assert total < 100.0
        assert abs(info["state"][3] - X_EQ[3]) < 1.0


def test_actuator_delay_shifts_the_input_by_whole_steps(make_env):
    actions = [U_MAX, U_MIN, U_EQ + 10, U_EQ, U_EQ, U_EQ]

    def states(env, acts):
        env.reset(seed=0, options={"state": X_EQ + np.array([0.05, 0.0, 0.0, 1.0])})
        return np.array([env.step(a)[4]["state"] for a in acts])

    delayed = states(make_env(ENV_ID, randomization={"actuator_delay": (2, 2)}), actions)
    shifted = states(make_env(ENV_ID), [U_EQ, U_EQ, *actions[:-2]])
    np.testing.assert_allclose(delayed, shifted, rtol=0, atol=1e-12)


def test_observation_noise_only_touches_the_observation_and_stays_in_space(make_env):
    env = make_env(ENV_ID, randomization={"obs_noise_std": 0.5})
    x0 = np.array([0.01, 1.4, 13.0, 475.0])
    obs, info = env.reset(seed=1, options={"state": x0})
    np.testing.assert_array_equal(info["state"], x0)
    assert not np.allclose(obs, x0)
    for _ in range(20):
        obs, *_ = env.step(U_EQ)
        assert env.observation_space.contains(obs)


def test_out_of_range_actions_are_saturated_and_counted(make_env):
    env = make_env(ENV_ID)
    env.reset(seed=0, options={"state": X_EQ})
    _, _, _, _, info = env.step([1e4])
    np.testing.assert_array_equal(info["applied_action"], U_MAX)
    assert info["action_saturations"] == 1
    with pytest.raises(ValueError, match="action must be finite"):
        env.step([np.nan])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"randomization": {"mass_scale": (0.9, 1.1)}}, "randomization.mass_scale"),
        ({"randomization": {"friction_scale": (0.5, 1.0)}}, "randomization.friction_scale"),
        ({"randomization": {"joint_damping": (0.0, 0.1)}}, "randomization.joint_damping"),
        ({"randomization": {"push_probability": 0.1}}, "randomization.push_probability"),
        ({"randomization": {"push_force": (1.0, 2.0)}}, "randomization.push_force"),
        ({"randomization": {"obs_noise_std": [0.1, 0.1, 0.1]}}, "randomization.obs_noise_std"),
        ({"violation_penalty": -1.0}, "violation_penalty"),
        ({"terminate_on_violation": 1}, "terminate_on_violation"),
        ({"model": "cstr"}, "model"),
        ({"render_mode": "rgb_array"}, "render_mode"),
    ],
)
def test_bad_config_raises_naming_the_field(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SafetyCSTREnv(**kwargs)


def test_bad_reset_state_raises(make_env):
    env = make_env(ENV_ID)
    with pytest.raises(ValueError, match=r"options\['state'\]\[0\] \(C_A\) = -0.1 is outside the physical range"):
        env.reset(seed=0, options={"state": [-0.1, 1.4, 13.0, 475.0]})
    with pytest.raises(ValueError, match=r"options\['state'\] must have shape"):
        env.reset(seed=0, options={"state": [0.4, 1.4, 13.0]})


def test_step_before_reset_raises():
    with pytest.raises(RuntimeError, match="reset"):
        SafetyCSTREnv().step(U_EQ)
