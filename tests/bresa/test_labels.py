"""Bresa labels: cost, violation-within-H labels with censoring, Recovery-RL target, gamma."""

from __future__ import annotations

import numpy as np
import pytest

from robocritic.bresa.labels import gamma_for_horizon, recovery_target, safety_cost, violation_labels


def test_cost_is_strictly_above_the_limit():
    c = safety_cost(np.array([0.0, 29.9, 30.0, 30.0001, 45.0]), limit=30.0)
    np.testing.assert_array_equal(c, [0, 0, 0, 1, 1])
    assert c.dtype == np.float64
    with pytest.raises(ValueError, match="NaN"):
        safety_cost(np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="shape"):
        safety_cost(np.zeros((2, 2)))


def test_labels_window_is_inclusive_at_both_ends():
    c = np.zeros(10)
    c[6] = 1
    y, mask = violation_labels(c, 2, truncated=False)
    # y_t = 1 iff 6 in [t, t + 2]  ->  t in {4, 5, 6}
    np.testing.assert_array_equal(y, [0, 0, 0, 0, 1, 1, 1, 0, 0, 0])
    assert mask.all()
    y0, _ = violation_labels(c, 0, truncated=False)
    np.testing.assert_array_equal(y0, c)


def test_truncated_tail_without_violation_is_censored():
    c = np.zeros(8)
    c[1] = 1
    y, mask = violation_labels(c, 3, truncated=True)
    np.testing.assert_array_equal(y, [1, 1, 0, 0, 0, 0, 0, 0])
    # windows of t = 5, 6, 7 run past the last step (t + 3 > 7) and saw no violation
    np.testing.assert_array_equal(mask, [1, 1, 1, 1, 1, 0, 0, 0])
    # a terminated episode: the same tail is a known 0
    _, mask_t = violation_labels(c, 3, truncated=False)
    assert mask_t.all()


def test_truncated_tail_with_violation_is_kept():
    c = np.array([0, 0, 0, 0, 0, 1, 0], dtype=float)
    y, mask = violation_labels(c, 3, truncated=True)
    np.testing.assert_array_equal(y, [0, 0, 1, 1, 1, 1, 0])
    np.testing.assert_array_equal(mask, [1, 1, 1, 1, 1, 1, 0])


def test_labels_match_a_loop_reference():
    rng = np.random.default_rng(3)
    c = (rng.random(500) < 0.02).astype(float)
    for H in (0, 1, 7, 30, 600):
        y, mask = violation_labels(c, H, truncated=True)
        T = len(c)
        ref = np.array([float(c[t: t + H + 1].any()) for t in range(T)])
        ref_mask = np.array([t + H <= T - 1 or ref[t] == 1 for t in range(T)])
        np.testing.assert_array_equal(y, ref)
        np.testing.assert_array_equal(mask, ref_mask)


def test_labels_reject_bad_horizon():
    with pytest.raises(ValueError, match="horizon_steps"):
        violation_labels(np.zeros(3), -1, truncated=False)
    with pytest.raises(ValueError, match="horizon_steps"):
        violation_labels(np.zeros(3), 1.5, truncated=False)  # type: ignore[arg-type]


def test_recovery_target():
    cost = np.array([1.0, 0.0, 0.0, 0.0])
    q_next = np.array([[0.2, 0.9], [0.3, 0.1], [0.5, 0.5], [0.7, 0.8]])
    done = np.array([0, 0, 0, 1])
    q = recovery_target(cost, q_next, 0.9, done)
    np.testing.assert_allclose(q, [1.0, 0.9 * 0.3, 0.9 * 0.5, 0.0], rtol=0, atol=0)
    np.testing.assert_array_equal(recovery_target(cost, q_next, 0.5)[3], 0.5 * 0.8)
    with pytest.raises(ValueError, match="q_next"):
        recovery_target(cost, q_next[:, :1], 0.9)
    with pytest.raises(ValueError, match="gamma"):
        recovery_target(cost, q_next, 1.1)


def test_gamma_for_horizon():
    g = gamma_for_horizon(0.030, 0.001)
    assert g == 1.0 - 1.0 / 30.0
    assert round(g, 3) == 0.967
    # the discount weights sum to horizon / dt steps
    assert 1.0 / (1.0 - g) == pytest.approx(30.0, rel=1e-12)
    assert gamma_for_horizon(0.1, 0.001) == pytest.approx(0.99, abs=1e-15)
    for bad in ((0.001, 0.001), (0.03, 0.0), (np.inf, 0.001)):
        with pytest.raises(ValueError):
            gamma_for_horizon(*bad)
