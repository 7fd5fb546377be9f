"""Bresa BCE pretraining on synthetic data whose risk is a known function of two features."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from robocritic.bresa.critic import SafetyCritic
from robocritic.bresa.pretrain import pretrain_bce

N_IN = 12


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


def _data(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, N_IN))


def test_learns_a_threshold_to_95_percent_held_out():
    x = _data(6000, 0)
    y = (x[:, 0] + 0.5 * x[:, 1] > 1).astype(float)
    c = SafetyCritic(N_IN, seed=0)
    losses = pretrain_bce(c, x[:4000], y[:4000], epochs=15, batch_size=128, lr=3e-3, seed=0)
    assert len(losses) == 15 and losses[-1] < 0.25 * losses[0]
    with torch.no_grad():
        q = c(torch.from_numpy(x[4000:])).numpy()
    y_test = y[4000:]
    for k in range(2):
        assert ((q[:, k] > 0.5) == y_test).mean() > 0.95
    assert ((q.max(axis=1) > 0.5) == y_test).mean() > 0.95
    # calibration on the same set: 0.1-wide bins holding >= 100 samples
    p = q[:, 0]
    bins = np.clip((p * 10).astype(int), 0, 9)
    checked = 0
    for b in range(10):
        s = bins == b
        if s.sum() >= 100:
            assert abs(p[s].mean() - y_test[s].mean()) < 0.1, b
            checked += 1
    assert checked >= 2


def test_calibrated_on_noisy_labels():
    """Labels ~ Bernoulli(sigmoid(3 (f0 + 0.5 f1 - 1))): predicted risk tracks label frequency."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(8000, N_IN))
    y = (rng.random(8000) < 1 / (1 + np.exp(-3 * (x[:, 0] + 0.5 * x[:, 1] - 1)))).astype(float)
    c = SafetyCritic(N_IN, seed=0)
    pretrain_bce(c, x[:6000], y[:6000], epochs=10, batch_size=128, lr=2e-3, weight_decay=1e-4, seed=0)
    with torch.no_grad():
        q = c(torch.from_numpy(x[6000:])).numpy()
    y_test = y[6000:]
    for k in range(2):
        bins = np.clip((q[:, k] * 5).astype(int), 0, 4)  # 0.2-wide bins
        checked = 0
        for b in range(5):
            s = bins == b
            if s.sum() >= 100:
                assert abs(q[s, k].mean() - y_test[s].mean()) < 0.1, (k, b)
                checked += 1
        assert checked >= 4


def test_seeded_and_mask_drops_rows():
    x = _data(600, 2)
    y = (x[:, 0] > 0).astype(float)
    runs = []
    for _ in range(2):
        c = SafetyCritic(N_IN, (16,), seed=3)
        runs.append((pretrain_bce(c, x, y, epochs=3, batch_size=64, seed=4), c.state_dict()))
    assert runs[0][0] == runs[1][0]
    for k, v in runs[0][1].items():
        assert torch.equal(v, runs[1][1][k])
    # masked rows with garbage labels change nothing: same as training on the kept rows only
    mask = np.arange(600) % 3 != 0
    y_bad = y.copy()
    y_bad[~mask] = 1 - y_bad[~mask]
    a, b = SafetyCritic(N_IN, (16,), seed=3), SafetyCritic(N_IN, (16,), seed=3)
    la = pretrain_bce(a, x, y_bad, mask, epochs=2, batch_size=64, seed=4)
    lb = pretrain_bce(b, x[mask], y[mask], epochs=2, batch_size=64, seed=4)
    assert la == lb
    assert torch.equal(a.in_mean, b.in_mean)


def test_rejects_bad_inputs():
    c = SafetyCritic(N_IN, (8,), seed=0)
    x = _data(10, 0)
    with pytest.raises(ValueError, match="labels"):
        pretrain_bce(c, x, np.zeros(9))
    with pytest.raises(ValueError, match="labels in"):
        pretrain_bce(c, x, np.full(10, 2.0))
    with pytest.raises(ValueError, match="no unmasked"):
        pretrain_bce(c, x, np.zeros(10), np.zeros(10, dtype=bool))
