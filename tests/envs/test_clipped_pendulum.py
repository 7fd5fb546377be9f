"""ClippedPendulum-v0 on MuJoCo: dynamics, randomisation, saturation, termination, rendering."""

from __future__ import annotations

import numpy as np
import pytest
from robocritic.envs import DomainRandomization
from robocritic.envs.pendulum.clipped_pendulum_v0 import ClippedPendulumEnv

from robocritic.dynamics import PendulumModel

ENV_ID = "robocritic/ClippedPendulum-v0"


def _states(env, actions, x0=(0.1, 0.0), seed=0):
    env.reset(seed=seed, options={"state": list(x0)})
    return np.array([env.step([u])[4]["state"] for u in actions])


def test_matches_analytic_model_one_step(make_env):
    env = make_env(ENV_ID)
    env.reset(seed=0, options={"state": [0.1, -0.2]})
    _, _, _, _, info = env.step([1.0])
    expected = PendulumModel().step([0.1, -0.2], [1.0])
    np.testing.assert_allclose(info["state"], expected, atol=1e-8)


def test_actuator_delay_shifts_the_input_by_whole_steps(make_env):
    actions = [1.5, -1.0, 0.5, 0.0, 0.0, 0.0]
    delayed = _states(make_env(ENV_ID, randomization={"actuator_delay": (2, 2)}), actions)
    shifted = _states(make_env(ENV_ID), [0.0, 0.0, *actions[:-2]])
    np.testing.assert_allclose(delayed, shifted, atol=1e-12)


def test_mass_damping_and_pushes_change_the_motion(make_env):
    # A constant torque: scaling mass and inertia together leaves the unforced rod unchanged.
    actions = np.full(20, 1.0)
    nominal = _states(make_env(ENV_ID), actions)
    for cfg in (
        {"mass_scale": (2.0, 2.0)},
        {"joint_damping": (0.5, 0.5)},
        {"push_probability": 1.0, "push_force": (5.0, 5.0)},
    ):
        varied = _states(make_env(ENV_ID, randomization=cfg), actions)
        assert np.max(np.abs(varied - nominal)) > 1e-3, cfg


def test_mass_scale_is_reset_each_episode(make_env):
    env = make_env(ENV_ID, randomization=DomainRandomization(mass_scale=(0.5, 1.5)))
    drawn = set()
    for seed in range(5):
        _, info = env.reset(seed=seed)
        drawn.add(round(info["episode_physics"].mass_scale, 6))
        assert env.unwrapped.model.body_mass[1] == pytest.approx(info["episode_physics"].mass_scale)
    assert len(drawn) == 5


def test_observation_noise_only_touches_the_observation(make_env):
    env = make_env(ENV_ID, randomization={"obs_noise_std": 0.05})
    obs, info = env.reset(seed=3, options={"state": [0.1, 0.0]})
    assert not np.allclose(obs, [0.1, 0.0])
    np.testing.assert_array_equal(info["state"], [0.1, 0.0])


def test_out_of_range_torque_is_saturated_and_counted(make_env):
    env = make_env(ENV_ID)
    env.reset(seed=0, options={"state": [0.0, 0.0]})
    _, _, _, _, info = env.step([50.0])
    np.testing.assert_array_equal(info["applied_action"], [2.0])
    assert info["action_saturations"] == 1
    env.reset(seed=0, options={"state": [0.0, 0.0]})
    _, _, _, _, ref = env.step([2.0])
    np.testing.assert_allclose(info["state"], ref["state"])


def test_violation_terminates_with_penalty_when_asked(make_env):
    env = make_env(ENV_ID, terminate_on_violation=True, violation_penalty=100.0)
    env.reset(seed=0, options={"state": [1.99, 3.0]})
    _, reward, terminated, _, info = env.step([0.0])
    assert info["violated"] and terminated
    assert info["cost"] > 100.0 and reward == -info["cost"]
    free = make_env(ENV_ID)
    free.reset(seed=0, options={"state": [1.99, 3.0]})
    _, _, terminated, _, info = free.step([0.0])
    assert info["violated"] and not terminated


def test_cost_is_the_benchmark_quadratic(make_env):
    env = make_env(ENV_ID)
    env.reset(seed=0, options={"state": [0.2, -0.5]})
    _, reward, _, _, info = env.step([1.0])
    assert info["cost"] == pytest.approx(0.2**2 + 0.5**2 + 1e-3 * 1.0)


def test_truncates_after_200_steps(make_env):
    env = make_env(ENV_ID)
    env.reset(seed=0)
    for k in range(200):
        _, _, terminated, truncated, _ = env.step([0.0])
        assert not terminated
    assert truncated and k == 199


def test_bad_constructor_arguments(make_env):
    with pytest.raises(ValueError, match="violation_penalty"):
        make_env(ENV_ID, violation_penalty=-1.0)
    with pytest.raises(ValueError, match="render_mode"):
        ClippedPendulumEnv(render_mode="human")
    with pytest.raises(ValueError, match="model"):
        make_env(ENV_ID, model=PendulumModel(mass=2.0))
    with pytest.raises(ValueError, match="PendulumModel.dt"):
        PendulumModel(dt=-0.1)


def test_renders_headless_rgb(make_env):
    env = make_env(ENV_ID, render_mode="rgb_array")
    env.reset(seed=0)
    try:
        frame = env.render()
    except Exception as exc:  # pragma: no cover - depends on the machine's GL stack
        pytest.skip(f"no headless OpenGL (EGL) on this machine: {exc}")
    assert frame.shape == (480, 480, 3) and frame.dtype == np.uint8 and frame.max() > 0
