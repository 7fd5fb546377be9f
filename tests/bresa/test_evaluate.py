"""Bresa critic evaluation: classification, AUROC, lead time, false triggers, calibration, plot."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from robocritic.bresa.evaluate import auroc, critic_report, plot_reliability


def _report(risk, labels, *, mask=None, episode=None, cost=None, contact=None, **kwargs):
    n = len(risk)
    return critic_report(
        np.asarray(risk, dtype=float), np.asarray(labels, dtype=float),
        np.ones(n, bool) if mask is None else np.asarray(mask, bool),
        np.zeros(n, int) if episode is None else np.asarray(episode),
        np.zeros(n) if cost is None else np.asarray(cost, dtype=float),
        np.zeros(n, bool) if contact is None else np.asarray(contact, bool), **kwargs)


def test_classification_and_auroc():
    risk = [0.9, 0.8, 0.2, 0.6, 0.1, 0.3]
    labels = [1, 1, 1, 0, 0, 0]
    r = _report(risk, labels)
    assert (r.tp, r.fp, r.fn, r.tn) == (2, 1, 1, 2)
    assert r.precision == pytest.approx(2 / 3) and r.recall == pytest.approx(2 / 3)
    assert r.f1 == pytest.approx(2 / 3) and r.accuracy == pytest.approx(4 / 6)
    # pairs (pos > neg): 0.9 and 0.8 beat all three, 0.2 beats 0.1 -> 7 / 9
    assert r.auroc == pytest.approx(7 / 9)
    # the mask drops the false positive
    m = _report(risk, labels, mask=[1, 1, 1, 0, 1, 1])
    assert (m.fp, m.n_masked) == (0, 5) and m.precision == 1.0
    assert auroc(np.full(4, 0.5), np.array([0, 1, 0, 1])) == 0.5  # ties count 1/2
    assert math.isnan(auroc(np.ones(3), np.ones(3)))
    none = _report([0.1, 0.2], [0, 0])
    assert math.isnan(none.precision) and math.isnan(none.recall) and math.isnan(none.f1)


def test_lead_time_events_and_windows():
    n = 40
    episode = np.r_[np.zeros(30, int), np.ones(10, int)]
    cost = np.zeros(n)
    cost[10:13] = 1  # event 1: onset 10
    cost[25:27] = 1  # event 2: onset 25, window starts after event 1 (tick 13)
    cost[30] = 1  # event 3: onset 30 = its episode's first tick
    risk = np.zeros(n)
    risk[[4, 8, 9, 10, 11, 12]] = 0.9
    risk[24] = 0.9
    risk[29] = 0.9  # in the previous episode: no warning for event 3
    r = _report(risk, np.zeros(n), episode=episode, cost=cost, dt=0.001)
    assert r.n_events == 3
    np.testing.assert_allclose(r.lead_times_s[:2], [0.006, 0.001])
    assert math.isnan(r.lead_times_s[2])
    assert r.warned_fraction == pytest.approx(2 / 3)
    assert r.warned_ahead == pytest.approx({"1ms": 2 / 3, "5ms": 1 / 3, "20ms": 0.0})
    assert r.lead_time_median_s == pytest.approx(0.0035)
    # a 5 ms look-back window [5, 10] misses tick 4: the first warning is tick 8
    short = _report(risk, np.zeros(n), episode=episode, cost=cost, dt=0.001, lookback_s=0.005)
    assert short.lead_times_s[0] == pytest.approx(0.002)
    # events never cross an episode boundary
    split = _report(np.zeros(5), np.zeros(5), episode=[0, 0, 1, 1, 1], cost=[0, 1, 1, 1, 0])
    assert split.n_events == 2 and split.warned_fraction == 0.0


def test_false_triggers_in_nominal_contact():
    dt = 0.01
    #          0  1  2  3  4  5  6  7  8  9 10 11 12 13
    contact = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0]
    labels = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0]
    warned = [0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 1, 1, 1]
    risk = 0.2 + 0.7 * np.asarray(warned, float)
    r = _report(risk, labels, contact=contact, dt=dt)
    # nominal contact: ticks 0-10 and 12 (12 ticks); warned there: 2, 3, 6, 12; triggers there:
    # 2 and 6 (tick 12 continues the warning that started at the positive tick 11)
    assert r.n_nominal_contact == 12
    assert r.nominal_trigger_fraction == pytest.approx(4 / 12)
    assert r.false_triggers == 2
    assert r.false_triggers_per_s == pytest.approx(2 / (12 * dt))
    # a new episode at tick 12 makes it a trigger of its own
    r2 = _report(risk, labels, contact=contact, dt=dt, episode=[0] * 12 + [1] * 2)
    assert r2.false_triggers == 3


def test_calibration_ece_brier_and_json(tmp_path):
    risk = [0.1, 0.1, 0.9, 0.9, 1.0]
    labels = [0, 1, 1, 1, 1]
    r = _report(risk, labels, bins=2)
    assert r.bin_count == (2, 3)
    np.testing.assert_allclose(r.bin_mean_risk, [0.1, 2.8 / 3])
    np.testing.assert_allclose(r.bin_frequency, [0.5, 1.0])
    # ECE = 2/5 |0.1 - 0.5| + 3/5 |0.9333 - 1|
    assert r.ece == pytest.approx(0.4 * 0.4 + 0.6 * (1 - 2.8 / 3))
    assert r.brier == pytest.approx((0.01 + 0.81 + 0.01 + 0.01 + 0.0) / 5)
    empty_bin = _report([0.1, 0.2], [0, 0], bins=4)
    assert empty_bin.bin_count == (2, 0, 0, 0) and math.isnan(empty_bin.bin_frequency[1])
    data = json.loads(json.dumps(empty_bin.to_json(), allow_nan=False))
    assert data["bin_frequency"][1] is None and data["bin_count"] == [2, 0, 0, 0]
    png = plot_reliability(r, tmp_path / "figs" / "reliability.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in png.parent.iterdir() if p.name.endswith(".tmp")]


def test_validation():
    with pytest.raises(ValueError, match="risk"):
        _report([0.1, 1.5], [0, 1])
    with pytest.raises(ValueError, match="labels"):
        critic_report(np.zeros(3), np.zeros(2), np.ones(3, bool), np.zeros(3), np.zeros(3), np.zeros(3, bool))
    with pytest.raises(ValueError, match="dt"):
        _report([0.1], [0], dt=0.0)
    with pytest.raises(ValueError, match="bins"):
        _report([0.1], [0], bins=0)
