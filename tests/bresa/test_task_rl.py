"""SAC task policy on TaskLevelEnv: training-violation counters, resume, evaluation via run_episode."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from robocritic.bresa.hierarchy import HierarchyConfig
from robocritic.bresa.task_env import TaskEnvConfig
from robocritic.bresa.task_rl import (
    TaskRLConfig,
    evaluate_task_policy,
    load_task_policy,
    make_filter,
    train_task_policy,
)
from robocritic.learning.checkpoint import CheckpointError, CheckpointStore

KW = {"max_episode_steps": 250, "contact_stiffness_range": (0.5, 2.0)}


def _config(**kw) -> TaskRLConfig:
    env = TaskEnvConfig(hierarchy=HierarchyConfig(decision_ticks=25), env_kwargs=KW, reward_scale=1e-3,
                        violation_penalty=10.0)
    base = dict(env=env, episodes=6, checkpoint_every=2, learning_starts=20, batch_size=32,
                net_arch=(16, 16), buffer_size=2000)
    return TaskRLConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    d = tmp_path_factory.mktemp("rl")
    return d, train_task_policy(_config(filter="force_clamp"), 0, d / "a", progress=False, tensorboard=False)


def test_training_violation_counters_match_the_episodes(finished):
    _, res = finished
    m = res.metrics
    assert res.finished and m.episodes_done == 6 and len(res.interventions) == 6 == len(res.successes)
    assert m.curve.train_steps == [10] * 6  # 250 ticks / 25 per decision
    assert m.training_violation_steps == sum(m.curve.train_violation_steps)
    assert m.training_violations == sum(v > 0 for v in m.curve.train_violation_steps)
    assert sum(res.interventions) > 0  # the filter was in the training loop


def test_resumed_run_continues_from_its_checkpoint(finished, tmp_path):
    d, full = finished
    cfg = _config(filter="force_clamp")
    part = train_task_policy(cfg, 0, tmp_path / "b", stop_after=3, progress=False, tensorboard=False)
    assert not part.finished and part.metrics.episodes_done == 3 and part.policy is None
    assert CheckpointStore(tmp_path / "b" / "checkpoints").load().step == 3
    rest = train_task_policy(cfg, 0, tmp_path / "b", progress=False, tensorboard=False)
    assert rest.finished and rest.metrics.episodes_done == 6
    # the same episodes, the same updates: bit for bit the uninterrupted run
    assert rest.metrics.curve.train_cost == full.metrics.curve.train_cost
    assert rest.interventions == full.interventions
    a = torch.load(d / "a" / "actor.pt", weights_only=True)["policy"]
    b = torch.load(tmp_path / "b" / "actor.pt", weights_only=True)["policy"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    # another seed may not resume this run's checkpoint
    train_task_policy(cfg, 0, tmp_path / "c", stop_after=2, progress=False, tensorboard=False)
    with pytest.raises(CheckpointError, match="seed"):
        train_task_policy(cfg, 1, tmp_path / "c", progress=False, tensorboard=False)


def test_trained_policy_evaluates_through_run_episode(finished):
    d, res = finished
    pol = load_task_policy(d / "a")
    rows = evaluate_task_policy(pol, [11, 12], method="force_clamp", env_kwargs=KW)
    assert len(rows) == 2 and all(r["method"] == "force_clamp" for r in rows)
    assert all(np.isfinite(r["cost"]) and r["cost"] > 0 for r in rows)
    # the loaded weights act like the trained ones
    obs = np.zeros(13)
    np.testing.assert_allclose(pol.decide(obs, {}, np.array([0.4, -0.2, 7.0, 7.0])),
                               res.policy.decide(obs, {}, np.array([0.4, -0.2, 7.0, 7.0])))


def test_a_residual_policy_is_saved_loaded_and_evaluated_on_its_base(tmp_path):
    from dataclasses import replace

    from robocritic.bresa.policies import ScriptedPressWipe

    cfg = _config()
    cfg = replace(cfg, env=replace(cfg.env, base_policy="scripted", residual_scale=0.1))
    res = train_task_policy(cfg, 0, tmp_path / "r", progress=False, tensorboard=False)
    assert res.metrics.algorithm == "sac-residual"
    pol = load_task_policy(tmp_path / "r")
    assert isinstance(pol.base, ScriptedPressWipe) and pol.residual_scale == 0.1
    assert pol.base.decision_period == pytest.approx(0.025)  # the run's decision rate
    rows = evaluate_task_policy(pol, [11], env_kwargs=KW)
    assert rows[0]["cost"] > 0 and np.isfinite(rows[0]["cost"])
    # the loaded policy is the base's action plus the actor's residual, within its 10 % share
    obs, applied = np.zeros(13), np.array([0.4, -0.2, 7.0, 7.0])
    pol.reset(np.random.default_rng(0))
    base = ScriptedPressWipe(decision_period=0.025)
    base.reset(np.random.default_rng(0))
    delta = pol.decide(obs, {"force_filtered": 0.0}, applied) - base.decide(obs, {"force_filtered": 0.0}, applied)
    h = cfg.env.hierarchy
    assert np.all(np.abs(delta[:2]) <= 0.1 * h.max_increment + 1e-12)
    assert np.all(np.abs(delta[2:]) <= 0.1 * 0.5 * np.ptp(h.log_stiffness_range) + 1e-12)


def test_config_validation_names_the_field():
    with pytest.raises(ValueError, match="critic_path"):
        TaskRLConfig(filter="reflex_1khz")
    with pytest.raises(ValueError, match="filter"):
        TaskRLConfig(filter="nope")
    with pytest.raises(ValueError, match="episodes"):
        TaskRLConfig(episodes=0)
    assert make_filter("none", None, HierarchyConfig()) is None


def test_lagrangian_penalty_follows_the_unsafe_ticks_and_resumes(tmp_path):
    import json

    # no filter: the exploring policy has unsafe ticks for the dual ascent to see
    cfg = _config(episodes=4, lagrangian_lr=0.5, cost_budget=2.0)
    full = train_task_policy(cfg, 0, tmp_path / "a", progress=False, tensorboard=False)
    penalties = json.loads((tmp_path / "a" / "task_rl.json").read_text())["penalties"]
    unsafe = full.metrics.curve.train_violation_steps
    expected, lam = [], 10.0
    for u in unsafe:
        lam = max(0.0, lam + 0.5 * (u - 2.0))
        expected.append(lam)
    assert penalties == pytest.approx(expected) and len(penalties) == 4
    assert len(set(penalties)) > 1  # lambda moved
    assert full.metrics.algorithm == "sac-lagrangian"
    part = train_task_policy(cfg, 0, tmp_path / "b", stop_after=2, progress=False, tensorboard=False)
    assert not part.finished
    rest = train_task_policy(cfg, 0, tmp_path / "b", progress=False, tensorboard=False)
    assert json.loads((tmp_path / "b" / "task_rl.json").read_text())["penalties"] == penalties
    assert rest.metrics.curve.train_cost == full.metrics.curve.train_cost
    with pytest.raises(ValueError, match="lagrangian_lr"):
        TaskRLConfig(lagrangian_lr=-1.0)
