"""TaskLevelEnv: the press-and-wipe task at the decision rate over the 1 kHz loop."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from robocritic.bresa.collect import ENV_ID
from robocritic.bresa.features import FeatureLayout
from robocritic.bresa.filters import ForceClampFilter
from robocritic.bresa.hierarchy import HierarchyConfig, run_episode
from robocritic.bresa.policies import ScriptedPressWipe
from robocritic.bresa.task_env import (
    TaskEnvConfig,
    TaskLevelEnv,
    normalised_action,
    residual_action,
    task_action,
)

KW = {"max_episode_steps": 300}
CFG = TaskEnvConfig(hierarchy=HierarchyConfig(decision_ticks=25), env_kwargs=KW)


def test_passes_the_gymnasium_env_checker():
    env = TaskLevelEnv(CFG)
    check_env(env, skip_render_check=True)
    assert env.observation_space.shape == (17,) and env.action_space.shape == (4,)
    env.close()


def test_action_mapping_and_inverse():
    h = HierarchyConfig()
    lo, hi = h.log_stiffness_range
    np.testing.assert_allclose(task_action(np.array([1, -1, -1, 1]), h), [h.max_increment, -h.max_increment, lo, hi])
    np.testing.assert_allclose(task_action(np.array([5, 0, 0, 0]), h)[0], h.max_increment)  # clipped
    a = np.array([0.3, -0.2, 0.1, -0.7])
    np.testing.assert_allclose(normalised_action(task_action(a, h), h), a)


class _Tap(gym.Wrapper):
    def __init__(self, env):
        super().__init__(env)
        self.steps, self.costs = 0, []

    def step(self, action):
        out = self.env.step(action)
        self.steps += 1
        self.costs.append(float(out[4]["cost"]))
        return out


def test_one_step_runs_decision_ticks_and_reward_is_minus_the_summed_cost():
    inner = _Tap(gym.make(ENV_ID, **KW))
    env = TaskLevelEnv(TaskEnvConfig(hierarchy=HierarchyConfig(decision_ticks=25), violation_penalty=2.0,
                                     reward_scale=0.5), env=inner)
    env.reset(seed=1)
    _, r, _, _, info = env.step(np.array([0.0, -1.0, 0.5, 0.5], dtype=np.float32))
    assert inner.steps == 25 and info["ticks"] == 25
    assert info["cost"] == pytest.approx(sum(inner.costs))
    assert r == pytest.approx(-0.5 * (sum(inner.costs) + 2.0 * info["unsafe_ticks"]))
    n, done = 1, False
    while not done:
        _, _, term, trunc, info = env.step(env.action_space.sample())
        n, done = n + 1, term or trunc
    assert trunc and not term and n == 12 and info["episode_ticks"] == 300 == inner.steps
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros(4))
    env.close()


def test_max_ticks_truncates():
    env = TaskLevelEnv(TaskEnvConfig(hierarchy=HierarchyConfig(decision_ticks=25, max_ticks=60), env_kwargs=KW))
    env.reset(seed=0)
    ticks = []
    done = False
    while not done:
        _, _, term, trunc, info = env.step(np.zeros(4, dtype=np.float32))
        ticks.append(info["ticks"])
        done = term or trunc
    assert ticks == [25, 25, 10] and trunc
    env.close()


def _rollout(env, seed, actions):
    obs, _ = env.reset(seed=seed)
    out = [obs]
    for a in actions:
        o, r, term, trunc, _ = env.step(a)
        out.append(np.append(o, r))
        if term or trunc:
            break
    return np.concatenate(out)


def test_seeded_determinism():
    env = TaskLevelEnv(CFG)
    acts = np.random.default_rng(0).uniform(-1, 1, (6, 4)).astype(np.float32)
    a, b, c = _rollout(env, 7, acts), _rollout(env, 7, acts), _rollout(env, 8, acts)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)  # another seed: other perturbations
    env.close()


def test_same_as_run_episode_with_the_same_policy():
    """The env at the decision rate reproduces run_episode's two-rate loop tick for tick."""
    h = HierarchyConfig(decision_ticks=25)
    pol = ScriptedPressWipe(decision_period=0.025)
    trace = run_episode(gym.make(ENV_ID, **KW), pol, config=h, seed=3)
    env = TaskLevelEnv(TaskEnvConfig(hierarchy=h, env_kwargs=KW))
    obs, info = env.reset(seed=3)
    pol.reset(np.random.default_rng(0))  # forget run_episode's contact
    unsafe, done = 0, False
    while not done:
        inner_obs, applied = obs[:13].astype(np.float64), env.loop.applied.copy()
        # the policy's force feedback reads the filtered force; the task-level obs carries it (index 10)
        a = normalised_action(pol.decide(inner_obs, {"force_filtered": inner_obs[10]}, applied), h)
        # the scripted policy's stiffness lies inside the range: the mapping round-trips exactly enough
        obs, _, term, trunc, info = env.step(a)
        unsafe += info["unsafe_ticks"]
        done = term or trunc
    assert info["episode_ticks"] == trace.n_ticks
    assert unsafe == int(trace.cost.sum())
    assert info["mean_path_error"] == pytest.approx(trace.mean_path_error, rel=1e-3, abs=1e-5)
    env.close()


def test_a_zero_residual_on_the_scripted_policy_is_run_episode_with_it_bit_for_bit():
    h = HierarchyConfig(decision_ticks=25)
    trace = run_episode(gym.make(ENV_ID, **KW), ScriptedPressWipe(decision_period=0.025), config=h, seed=3)
    env = TaskLevelEnv(TaskEnvConfig(hierarchy=h, env_kwargs=KW, base_policy="scripted"))
    env.reset(seed=3)
    applied, done = [], False
    while not done:
        _, _, term, trunc, info = env.step(np.zeros(4, dtype=np.float32))
        applied.append(info["applied"])
        done = term or trunc
    assert info["episode_ticks"] == trace.n_ticks == 25 * len(applied)
    np.testing.assert_array_equal(np.array(applied), trace.applied[24::25])  # exactly, each decision's end
    env.close()


def test_residual_action_scales_the_ranges():
    h = HierarchyConfig()
    lo, hi = h.log_stiffness_range
    r = residual_action(np.array([1.0, -2.0, 0.5, -1.0]), 0.25, h)  # -2 is clipped to -1
    np.testing.assert_allclose(r, [0.25 * h.max_increment, -0.25 * h.max_increment,
                                   0.5 * 0.25 * 0.5 * (hi - lo), -0.25 * 0.5 * (hi - lo)])


def test_the_filter_is_in_the_loop():
    h = HierarchyConfig(decision_ticks=25)
    clamp = ForceClampFilter(FeatureLayout(m=2), force_limit=30.0, margin=5.0)
    env = TaskLevelEnv(TaskEnvConfig(hierarchy=h, env_kwargs=KW), clamp)
    env.reset(seed=0)
    total, done = 0, False
    while not done:  # press hard and stiff: the clamp must act
        _, _, term, trunc, info = env.step(np.array([0.0, -1.0, 1.0, 1.0], dtype=np.float32))
        total += info["interventions"]
        done = term or trunc
    assert total > 0 and info["episode_interventions"] == total
    assert clamp.interventions == total
    env.close()


def test_config_errors_name_the_field():
    with pytest.raises(ValueError, match="reward_scale"):
        TaskEnvConfig(reward_scale=0.0)
    with pytest.raises(ValueError, match="violation_penalty"):
        TaskEnvConfig(violation_penalty=-1.0)
    with pytest.raises(ValueError, match="base_policy"):
        TaskEnvConfig(base_policy="random")
    with pytest.raises(ValueError, match="residual_scale"):
        TaskEnvConfig(base_policy="scripted", residual_scale=0.0)
