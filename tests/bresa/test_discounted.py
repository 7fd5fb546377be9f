"""The Recovery-RL style discounted critic: successors, targets, Polyak lag, ranking on real data."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from robocritic.bresa.collect import CriticDataset, collect
from robocritic.bresa.critic import SafetyCritic
from robocritic.bresa.discounted import discounted_targets, polyak_update, successor_index, train_discounted
from robocritic.bresa.evaluate import auroc

ENV = {"max_episode_steps": 400, "contact_stiffness_range": (0.5, 2.0),
       "randomization": {"push_probability": 0.001, "push_force": (20.0, 50.0)}}


def _toy(costs: list[list[float]], truncated: list[bool]) -> CriticDataset:
    n = sum(len(c) for c in costs)
    return CriticDataset(
        state=np.zeros((n, 1)), action=np.zeros((n, 1)), cost=np.concatenate([np.array(c, float) for c in costs]),
        episode=np.concatenate([np.full(len(c), i) for i, c in enumerate(costs)]).astype(np.int64),
        truncated=np.array(truncated), seeds=np.arange(len(costs)), force_filtered=np.zeros(n),
        feature_names=("s", "a"))


def _fixed_point(ds: CriticDataset, gamma: float, iters: int = 200) -> np.ndarray:
    """Exact table iteration of the bootstrapped target over the dataset's transitions."""
    nxt, done = successor_index(ds)
    q = np.zeros(ds.cost.shape[0])
    for _ in range(iters):
        q = discounted_targets(ds.cost, np.stack([q[nxt], q[nxt]], axis=1), done, gamma)
    return q


def test_successors_terminal_and_truncated_ends():
    ds = _toy([[0, 0, 1], [0, 0, 0]], truncated=[False, True])
    nxt, done = successor_index(ds)
    np.testing.assert_array_equal(nxt, [1, 2, 2, 4, 5, 5])
    np.testing.assert_array_equal(done, [0, 0, 1, 0, 0, 0])


def test_violation_at_k_gives_gamma_powers_before_it():
    gamma, k = 0.9, 5
    cost = [0.0] * 8
    cost[k] = 1.0
    q = _fixed_point(_toy([cost], truncated=[False]), gamma)
    np.testing.assert_allclose(q[: k + 1], gamma ** (k - np.arange(k + 1)))
    np.testing.assert_allclose(q[k + 1:], 0.0)  # safe ticks after it up to a terminal end


def test_terminal_end_stops_but_truncated_end_bootstraps():
    gamma = 0.9
    # terminal end on a violation: the target is the cost alone (1), nothing after it
    term = _fixed_point(_toy([[0, 0, 1]], truncated=[False]), gamma)
    np.testing.assert_allclose(term, [gamma ** 2, gamma, 1.0])
    # a truncated end with a constant risk estimate 0.5 at the last tick bootstraps from it
    ds = _toy([[0, 0, 0]], truncated=[True])
    nxt, done = successor_index(ds)
    y = discounted_targets(ds.cost, np.full((3, 2), 0.5), done, gamma)
    np.testing.assert_allclose(y, 0.45)
    ds_t = _toy([[0, 0, 0]], truncated=[False])
    _, done_t = successor_index(ds_t)
    np.testing.assert_allclose(discounted_targets(ds_t.cost, np.full((3, 2), 0.5), done_t, gamma), [0.45, 0.45, 0.0])


def test_polyak_target_lags_the_online_net():
    online, target = SafetyCritic(3, (4,), seed=0), SafetyCritic(3, (4,), seed=1)
    before = [p.detach().clone() for p in target.parameters()]
    polyak_update(target, online, 0.1)
    for p_t, p0, p in zip(target.parameters(), before, online.parameters(), strict=True):
        torch.testing.assert_close(p_t, 0.9 * p0 + 0.1 * p)
    with pytest.raises(ValueError, match="tau"):
        polyak_update(target, online, 0.0)


@pytest.fixture(scope="module")
def ds():
    return collect(12, seed=0, env_kwargs=ENV, progress=False)


def test_discounted_critic_ranks_violating_ticks_above_safe_ones(ds):
    assert 0 < ds.cost.mean() < 0.5
    from robocritic.bresa.train import split_episodes

    # a split whose held-out episodes hold violations (AUROC needs both classes)
    seed = next(s for s in range(50)
                if ds.cost[np.isin(ds.episode, split_episodes(ds.n_episodes, 0.2, s)[1])].any())
    critic, hist = train_discounted(ds, horizon_ms=30, epochs=4, seed=seed, tau=0.05, hidden=(16, 16))
    assert abs(hist.gamma - (1 - 1 / 30)) < 1e-12 and hist.horizon_steps == 30
    assert len(hist.td_loss) == len(hist.val_auroc) == 4
    assert all(g > 0 for g in hist.target_gap)  # the target net lags
    with torch.no_grad():
        risk = critic.risk(torch.from_numpy(ds.features)).numpy()
    assert auroc(risk, ds.cost) > 0.8
    assert hist.val_auroc[-1] > 0.7, hist.val_auroc


def test_init_from_starts_at_the_given_critic(ds):
    base = SafetyCritic(ds.features.shape[1], (8,), seed=2)
    base.set_normalisation(ds.features)
    _, hist = train_discounted(ds, epochs=1, seed=0, init_from=base)
    from robocritic.bresa.train import mean_bce

    labels, mask = ds.labels(30)
    keep = np.isin(ds.episode, hist.val_episodes) & mask
    assert hist.val_bce_init == pytest.approx(mean_bce(base, ds.features[keep], labels[keep]))
    with pytest.raises(ValueError, match="init_from"):
        train_discounted(ds, epochs=1, init_from=SafetyCritic(3, (4,)))
    with pytest.raises(ValueError, match="tau"):
        train_discounted(ds, epochs=1, tau=1.5)
