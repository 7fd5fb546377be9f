"""Online critic refresh: config, the filter's model swap, determinism, resume across a refresh, seeds."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from robocritic.bresa.collect import collect, save_dataset
from robocritic.bresa.critic import NumpyCritic, load_critic, save_critic
from robocritic.bresa.hierarchy import HierarchyConfig
from robocritic.bresa.policies import ScriptedPressWipe
from robocritic.bresa.refresh import REFRESH_SEED_FLOOR, CriticRefresher, refresh_seeds
from robocritic.bresa.task_env import TaskEnvConfig
from robocritic.bresa.task_rl import REFRESHED_CRITIC, TaskRLConfig, make_filter, train_task_policy
from robocritic.bresa.train import train_critic
from robocritic.learning.rollout import episode_seed

KW = {"max_episode_steps": 250, "contact_stiffness_range": (0.5, 2.0)}
HCFG = HierarchyConfig(decision_ticks=25)
EVAL_BLOCKS = [(200_000, 300_000), (300_000, 400_000)]  # held-out seeds: the study's, bresa_task_rl's


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("refresh")
    ds = collect(4, seed=0, env_kwargs=KW, progress=False)
    critic, _ = train_critic(ds, epochs=1, hidden=(16, 16), seed=0)
    save_critic(critic, d / "critic.pt")
    save_dataset(ds, d / "data.npz")
    return d


def _config(files, **kw) -> TaskRLConfig:
    env = TaskEnvConfig(hierarchy=HCFG, env_kwargs=KW, reward_scale=1e-3, violation_penalty=10.0)
    base = dict(env=env, episodes=6, checkpoint_every=2, learning_starts=20, batch_size=32, net_arch=(16, 16),
                buffer_size=2000, filter="reflex_1khz", critic_path=str(files / "critic.pt"),
                critic_refresh_every=2, critic_refresh_episodes=3, critic_refresh_epochs=1,
                critic_data_path=str(files / "data.npz"))
    return TaskRLConfig(**{**base, **kw})


def _refresher(files, **kw) -> CriticRefresher:
    from robocritic.bresa.collect import load_dataset

    args = dict(method="reflex_1khz", hierarchy=HCFG, env_kwargs=KW, seed=0, episodes=3, epochs=1,
                old_data=load_dataset(files / "data.npz"))
    return CriticRefresher(load_critic(files / "critic.pt"), **{**args, **kw})


def _policy() -> ScriptedPressWipe:
    return ScriptedPressWipe(decision_period=HCFG.decision_ticks * 0.001)


def _strip_times(records):
    return [{k: v for k, v in r.items() if not k.endswith("_s")} for r in records]


def test_config_validation_names_the_field(files):
    with pytest.raises(ValueError, match="critic_refresh_every"):
        TaskRLConfig(filter="force_clamp", critic_refresh_every=5)
    with pytest.raises(ValueError, match="critic_refresh_every"):
        TaskRLConfig(critic_refresh_every=5)  # no filter at all
    with pytest.raises(ValueError, match="critic_refresh_every"):
        _config(files, critic_refresh_every=-1)
    with pytest.raises(ValueError, match="critic_refresh_episodes"):
        _config(files, critic_refresh_episodes=1)  # one is held out: two at least
    with pytest.raises(ValueError, match="critic_refresh_epochs"):
        _config(files, critic_refresh_epochs=0)
    with pytest.raises(ValueError, match="critic_replay_ratio"):
        _config(files, critic_replay_ratio=-0.5)
    with pytest.raises(ValueError, match="critic_refresh_lr"):
        _config(files, critic_refresh_lr=0.0)
    with pytest.raises(ValueError, match="critic_data_path"):
        _config(files, critic_refresh_every=0)  # data for a refresh that never runs
    assert _config(files, critic_refresh_every=0, critic_data_path=None).critic_refresh_every == 0


def test_a_refresh_swaps_the_filters_model_and_leaves_the_critic_file(files):
    before = (files / "critic.pt").read_bytes()
    for method in ("reflex_1khz", "reflex_20hz"):  # the 20 Hz check holds its reflex in .inner
        safety = make_filter(method, files / "critic.pt", HCFG)
        holder = getattr(safety, "inner", safety)
        old = holder.model
        rec = _refresher(files, method=method).refresh(1, 2, _policy(), safety)
        assert isinstance(holder.model, NumpyCritic) and holder.model is not old
        assert any(not np.array_equal(a, b) for a, b in zip(old.W, holder.model.W, strict=True))
        np.testing.assert_array_equal(old.in_mean, holder.model.in_mean)  # normalisation kept
        assert rec.ticks_new > 0 and rec.ticks_old == rec.ticks_new  # mixed 1:1 with the original data
        assert np.isfinite(rec.before["bce"]) and np.isfinite(rec.after["bce"]) and rec.wall_s > 0
    assert (files / "critic.pt").read_bytes() == before


def test_a_refresh_is_deterministic(files):
    a, b = _refresher(files), _refresher(files)
    ra, rb = a.refresh(1, 2, _policy()), b.refresh(1, 2, _policy())
    assert _strip_times([ra.to_json()]) == _strip_times([rb.to_json()])
    sa, sb = a.state_dict(), b.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    # another refresh index: other seeds, other data
    assert a.refresh(2, 4, _policy()).seeds != ra.seeds


def test_refresh_seeds_avoid_training_and_held_out_seeds(files):
    training = {episode_seed(0, k) for k in range(1, 7)}
    seeds = refresh_seeds(0, 1, 50, avoid=training)
    assert len(set(seeds)) == 50 and min(seeds) >= REFRESH_SEED_FLOOR
    assert not training & set(seeds)
    assert not any(lo <= s < hi for s in seeds for lo, hi in EVAL_BLOCKS)
    assert refresh_seeds(0, 1, 50, avoid=training) == seeds  # deterministic
    # a seed in `avoid` is skipped, the next candidate takes its place
    assert refresh_seeds(0, 1, 3, avoid={seeds[0]}) == seeds[1:4]
    assert not set(refresh_seeds(0, 2, 50)) & set(seeds)


def test_resume_across_a_refresh_is_bit_for_bit(files, tmp_path):
    cfg = _config(files)  # refreshes after episodes 2 and 4 (none after the last)
    full = train_task_policy(cfg, 0, tmp_path / "a", progress=False, tensorboard=False)
    assert [r["episode"] for r in full.critic_refreshes] == [2, 4]
    part = train_task_policy(cfg, 0, tmp_path / "b", stop_after=3, progress=False, tensorboard=False)
    assert not part.finished and len(part.critic_refreshes) == 1
    rest = train_task_policy(cfg, 0, tmp_path / "b", progress=False, tensorboard=False)
    assert rest.finished and rest.metrics.curve.train_cost == full.metrics.curve.train_cost
    a = torch.load(tmp_path / "a" / "actor.pt", weights_only=True)["policy"]
    b = torch.load(tmp_path / "b" / "actor.pt", weights_only=True)["policy"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    ca, cb = load_critic(tmp_path / "a" / REFRESHED_CRITIC), load_critic(tmp_path / "b" / REFRESHED_CRITIC)
    sa, sb = ca.state_dict(), cb.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    orig = load_critic(files / "critic.pt").state_dict()
    assert not torch.equal(sa["q1.0.weight"], orig["q1.0.weight"])  # it was fine-tuned
    recs = json.loads((tmp_path / "b" / "task_rl.json").read_text())["critic_refreshes"]
    assert _strip_times(recs) == _strip_times(full.critic_refreshes)
    # the refresh data used the promised seeds: fresh, none of training's nor the held-out blocks'
    training = {episode_seed(0, k) for k in range(1, cfg.episodes + 1)}
    for r in recs:
        assert r["seeds"] == refresh_seeds(0, r["index"], cfg.critic_refresh_episodes, avoid=training)
        assert set(r["val_seeds"]) <= set(r["seeds"])
        assert not training & set(r["seeds"]) and min(r["seeds"]) >= REFRESH_SEED_FLOOR
