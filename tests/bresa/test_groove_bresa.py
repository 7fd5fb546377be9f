"""Bresa on ArmGroove-v0: the groove policies, the per-env method table, and collect / train / the
1 kHz reflex and minimal-modification filters in the closed loop on the groove env (tiny)."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest

import robocritic.envs  # noqa: F401 - registers the ids
from robocritic.bresa.collect import collect, default_env_kwargs
from robocritic.bresa.critic import NumpyCritic
from robocritic.bresa.features import FeatureLayout
from robocritic.bresa.filters import MinimalModificationFilter, ReflexFilter
from robocritic.bresa.groove_policies import (
    GrooveExplorationPolicy,
    ScriptedGrooveFollow,
    groove_policy_for_env,
)
from robocritic.bresa.hierarchy import HierarchyConfig, run_episode
from robocritic.bresa.methods import build_method, task_axes
from robocritic.bresa.train import train_critic
from robocritic.envs.arm.groove_v0 import FORCE_LIMIT
from robocritic.jobs.bresa_eval import layout_for_env

ENV_ID = "robocritic/ArmGroove-v0"
LAY = FeatureLayout(2)
N_S = LAY.n_state
DISP_X, LOG_KX = N_S, N_S + 2  # critic-input columns of the command's x displacement and x log stiffness


class LateralSpringRisk:
    """risk = 1 iff the commanded lateral spring force ``|K_x (x_sp - x)|`` exceeds ``limit`` N."""

    def __init__(self, limit: float) -> None:
        self.limit = limit

    def risk(self, x: np.ndarray) -> np.ndarray:
        return (np.abs(np.exp(x[:, LOG_KX]) * x[:, DISP_X]) > self.limit).astype(np.float64)


def test_methods_pick_the_groove_policy_and_lateral_filters_by_env_id():
    lay = layout_for_env(ENV_ID)
    assert lay.m == task_axes(ENV_ID) == 2
    config = HierarchyConfig()
    policy, clamp = build_method("force_clamp", None, lay, config, env_id=ENV_ID)
    assert isinstance(policy, ScriptedGrooveFollow)
    assert clamp.axis == 0 and clamp.two_sided and clamp.force_limit == FORCE_LIMIT
    _, reflex = build_method("reflex_1khz", LateralSpringRisk(10.0), lay, config, env_id=ENV_ID)
    assert isinstance(reflex, ReflexFilter) and reflex.recovery.soften_axes == (0,)
    _, minmod = build_method("minmod_1khz", LateralSpringRisk(10.0), lay, config, env_id=ENV_ID)
    assert isinstance(minmod, MinimalModificationFilter) and (minmod.shift_axis, minmod.soften_axis) == (1, 0)
    low, _ = build_method("low_stiffness", None, lay, config, env_id=ENV_ID)
    assert tuple(low.traverse_stiffness) == (150.0, 150.0) and tuple(low.stiffness) == (150.0, 150.0)
    stiff, _ = build_method("none", None, lay, config, {"traverse_stiffness": (3000.0, 500.0)}, env_id=ENV_ID)
    assert tuple(stiff.traverse_stiffness) == (3000.0, 500.0)
    assert default_env_kwargs(ENV_ID)["randomization"]["push_force"] == (20.0, 50.0)


def test_groove_policies_validate_their_fields_and_exploration_is_seeded():
    assert isinstance(groove_policy_for_env("exploration"), GrooveExplorationPolicy)
    assert tuple(groove_policy_for_env("stiff").traverse_stiffness) == (3000.0, 500.0)
    with pytest.raises(ValueError, match="policy"):
        groove_policy_for_env("wander")
    with pytest.raises(ValueError, match="env_id"):
        groove_policy_for_env("scripted", "robocritic/ArmPegInHole-v0")
    with pytest.raises(ValueError, match="traverse_stiffness"):
        ScriptedGrooveFollow(traverse_stiffness=(500.0, -1.0))
    with pytest.raises(ValueError, match="traverse_speed"):
        ScriptedGrooveFollow(traverse_speed=math.nan)
    with pytest.raises(ValueError, match="end_x"):
        ScriptedGrooveFollow(end_x=0.3)
    with pytest.raises(ValueError, match="overshoot_range"):
        GrooveExplorationPolicy(overshoot_range=(0.01, 0.0))
    obs, applied = np.zeros(13), np.array([0.4, -0.2, 7.0, 7.0])
    obs[6:8] = (0.4, -0.2)
    actions = []
    for _ in range(2):
        policy = groove_policy_for_env("exploration")
        policy.reset(np.random.default_rng(5))
        actions.append([policy.decide(obs, {}, applied) for _ in range(3)])
    np.testing.assert_array_equal(actions[0], actions[1])


def test_a_reflex_on_the_lateral_spring_keeps_a_stiff_traverse_under_the_wall_force_limit():
    env = gym.make(ENV_ID)
    try:
        options = {"groove_offset": -0.002, "table_offset": 0.0, "obstacle_height": 0.004,
                   "obstacle_speed": -0.04, "obstacle_position": 0.025}
        bare = run_episode(env, groove_policy_for_env("stiff"), seed=3, options=options)
        _, reflex = build_method("reflex_1khz", LateralSpringRisk(10.0), LAY, HierarchyConfig(),
                                 env_id=ENV_ID)
        guarded = run_episode(env, groove_policy_for_env("stiff"), seed=3, options=options,
                              safety_filter=reflex)
    finally:
        env.close()
    assert bare.violated and not guarded.violated
    assert guarded.intervened.any() and guarded.peak_force_filtered < FORCE_LIMIT


def test_collect_train_and_run_the_1khz_filters_on_the_groove_env():
    env_kwargs = {**default_env_kwargs(ENV_ID), "max_episode_steps": 800}
    ds = collect(3, seed=0, env_id=ENV_ID, env_kwargs=env_kwargs, progress=False)
    assert ds.state.shape == (2400, N_S) and ds.feature_names[:2] == ("pos_x", "pos_z")
    again = collect(3, seed=0, env_id=ENV_ID, env_kwargs=env_kwargs, progress=False)
    np.testing.assert_array_equal(ds.state, again.state)
    ds.cost[300:310] = 1.0  # make sure both label classes exist in a tiny run
    ds.cost[1100:1110] = 1.0
    ds.cost[1900:1910] = 1.0
    critic, _ = train_critic(ds, epochs=1, hidden=(8,), val_fraction=0.34)
    model = NumpyCritic.from_module(critic)
    assert model.n_in == LAY.n_in
    env = gym.make(ENV_ID, **env_kwargs)
    config = HierarchyConfig()
    try:
        for method in ("reflex_1khz", "minmod_1khz"):
            policy, safety = build_method(method, model, LAY, config, env_id=ENV_ID)
            trace = run_episode(env, policy, config=config, safety_filter=safety, seed=11)
            assert trace.n_ticks == 800 and trace.filter_us.min() > 0.0, method
            assert np.isfinite(trace.risk).all() and ((trace.risk >= 0) & (trace.risk <= 1)).all(), method
    finally:
        env.close()
