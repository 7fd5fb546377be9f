"""Critic training: held-out episodes, and a critic that beats the base-rate predictor there."""

from __future__ import annotations

import numpy as np
import pytest

from robocritic.bresa.collect import collect
from robocritic.bresa.train import split_episodes, train_critic

ENV = {"max_episode_steps": 500, "contact_stiffness_range": (0.5, 2.0),
       "randomization": {"push_probability": 0.001, "push_force": (20.0, 50.0)}}


@pytest.fixture(scope="module")
def ds():
    d = collect(10, seed=0, env_kwargs=ENV, progress=False)
    assert 0.02 < d.cost.mean() < 0.5  # violations and safe contact both present
    return d


def test_split_is_by_episode_and_seeded():
    tr, va = split_episodes(10, 0.2, seed=3)
    assert len(va) == 2 and len(tr) == 8 and not set(tr) & set(va)
    np.testing.assert_array_equal(split_episodes(10, 0.2, seed=3)[1], va)
    with pytest.raises(ValueError, match="val_fraction"):
        split_episodes(10, 1.5, seed=0)


def test_training_beats_the_base_rate_on_held_out_episodes(ds):
    critic, hist = train_critic(ds, horizon_ms=30, hidden=(16, 16), epochs=12, seed=0)
    assert len(hist.train_loss) == len(hist.val_loss) == 12 and hist.horizon_steps == 30
    assert hist.val_loss[-1] < 0.7 * hist.base_rate_val, (hist.val_loss, hist.base_rate_val)
    assert hist.train_loss[-1] < hist.train_loss[0]
    # the normalisation is the training ticks'
    labels, mask = ds.labels(30)
    keep = np.isin(ds.episode, hist.train_episodes) & mask
    np.testing.assert_allclose(critic.in_mean.numpy(), ds.features[keep].mean(axis=0))


def test_training_is_deterministic(ds):
    _, a = train_critic(ds, hidden=(8,), epochs=2, seed=1)
    _, b = train_critic(ds, hidden=(8,), epochs=2, seed=1)
    assert a.val_loss == b.val_loss


def test_an_interrupted_training_resumes_to_the_same_critic(ds, tmp_path):
    import torch

    straight, h_straight = train_critic(ds, hidden=(8,), epochs=3, seed=2)
    train_critic(ds, hidden=(8,), epochs=2, seed=2, checkpoint_dir=tmp_path / "ckpt")  # "killed" after 2
    resumed, h_resumed = train_critic(ds, hidden=(8,), epochs=3, seed=2, checkpoint_dir=tmp_path / "ckpt")
    assert h_resumed.val_loss == h_straight.val_loss
    for (k, a), b in zip(straight.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b), k
    with pytest.raises(ValueError, match="other data or settings"):
        train_critic(ds, hidden=(16,), epochs=3, seed=2, checkpoint_dir=tmp_path / "ckpt")
