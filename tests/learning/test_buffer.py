"""The replay buffer (robocritic.learning.buffer) stores reward AND cost, round-trips both through a
plain .npz, and reads buffers saved before rewards were stored (NaN rewards, loudly unusable)."""

from __future__ import annotations

import numpy as np
import pytest

from robocritic.learning.buffer import Batch, ReplayBuffer


def filled(n: int = 5) -> ReplayBuffer:
    buf = ReplayBuffer(8, 2, 1)
    for k in range(n):
        buf.add(np.full(2, k), np.array([0.1 * k]), float(k), np.full(2, k + 1), k == n - 1, reward=-2.0 * k)
    return buf


def test_reward_and_cost_are_stored_and_sampled_together():
    buf = filled()
    batch = buf.sample(32, np.random.default_rng(0))
    assert isinstance(batch, Batch) and batch.reward is not None
    np.testing.assert_array_equal(batch.reward, -2.0 * batch.cost)  # each row keeps its own pair
    np.testing.assert_array_equal(batch.obs[:, 0], batch.cost)
    np.testing.assert_array_equal(batch.terminated, (batch.cost == 4.0).astype(float))


def test_reward_round_trips_and_a_missing_reward_is_nan(tmp_path):
    buf = filled()
    buf.save(tmp_path / "r.npz")
    back = ReplayBuffer.load(tmp_path / "r.npz")
    np.testing.assert_array_equal(back.reward[:5], buf.reward[:5])
    np.testing.assert_array_equal(back.cost[:5], buf.cost[:5])
    assert (back.ptr, back.size, back.capacity) == (buf.ptr, buf.size, buf.capacity)
    # A transition stored without its reward says so (NaN), it does not pretend to be 0.
    no_reward = ReplayBuffer(2, 1, 1)
    no_reward.add(np.zeros(1), np.zeros(1), 1.0, np.zeros(1), False)
    assert np.isnan(no_reward.reward[0])


def test_a_buffer_saved_before_rewards_loads_with_nan_rewards(tmp_path):
    arrays = filled().arrays()
    arrays.pop("reward")  # the layout of robocritic's earlier replay.npz
    np.savez(tmp_path / "old.npz", **arrays)
    back = ReplayBuffer.load(tmp_path / "old.npz")
    assert len(back) == 5 and np.isnan(back.reward[:5]).all()
    np.testing.assert_array_equal(back.cost[:5], np.arange(5.0))


def test_a_missing_required_field_is_named(tmp_path):
    arrays = filled().arrays()
    arrays.pop("cost")
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match="cost"):
        ReplayBuffer.load(tmp_path / "bad.npz")
