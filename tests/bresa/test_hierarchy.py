"""The Bresa two-rate loop: ramps, clipping, filter hand-over and episode metrics."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest
import robocritic.envs  # noqa: F401 - registers the ids

from robocritic.bresa.features import FeatureLayout
from robocritic.bresa.hierarchy import EpisodeTrace, HierarchyConfig, run_episode

TICKS = 20  # decision period of these tests (short episodes)


class FixedPolicy:
    """Always the same task action; records what it was shown."""

    def __init__(self, action):
        self.action = np.asarray(action, dtype=np.float64)
        self.seen: list[np.ndarray] = []

    def reset(self, rng):
        self.seen.clear()

    def decide(self, obs, info, applied):
        self.seen.append(applied.copy())
        return self.action


class FixedFilter:
    """Replaces every nominal command by ``command``."""

    def __init__(self, command):
        self.command = np.asarray(command, dtype=np.float64)
        self.resets = 0
        self.seen_states: list[np.ndarray] = []

    def reset(self):
        self.resets += 1

    def certify(self, obs, action):
        self.seen_states.append(obs.copy())
        return self.command.copy(), {"intervened": True, "risk": 0.25}


@pytest.fixture(scope="module")
def env():
    e = gym.make("robocritic/ArmPressWipe-v0", surface_offset_range=(0.0, 0.0), max_episode_steps=3 * TICKS)
    yield e
    e.close()


def test_ramp_reaches_the_target_at_the_decision_boundary(env):
    inc = np.array([0.005, -0.01])
    log_k = np.log([800.0, 1200.0])
    pol = FixedPolicy(np.concatenate([inc, log_k]))
    tr = run_episode(env, pol, config=HierarchyConfig(decision_ticks=TICKS), seed=0)
    assert tr.n_ticks == 3 * TICKS and tr.truncated and not tr.terminated
    start = pol.seen[0]
    target = np.concatenate([start[:2] + inc, log_k])
    np.testing.assert_allclose(tr.nominal[TICKS - 1], target, rtol=0, atol=1e-12)
    np.testing.assert_allclose(tr.nominal[0], start + (target - start) / TICKS, atol=1e-12)  # linear in log k
    # the next decision is shown the applied command and ramps on from there
    np.testing.assert_allclose(pol.seen[1], target, atol=1e-12)
    np.testing.assert_allclose(tr.nominal[2 * TICKS - 1, :2], start[:2] + 2 * inc, atol=1e-12)
    np.testing.assert_array_equal(tr.applied, tr.nominal)  # no filter
    assert not tr.intervened.any() and np.isnan(tr.risk).all() and not tr.filter_us.any()
    # state features are those BEFORE the step: tick 0 sees the reset pose and the initial command
    lay = FeatureLayout(m=2)
    np.testing.assert_allclose(tr.state_features[0, lay.log_stiffness], pol.seen[0][2:], atol=1e-12)
    np.testing.assert_allclose(tr.state_features[0, lay.position], pol.seen[0][:2], atol=1e-12)


@pytest.mark.parametrize(("inc", "log_k", "want_inc", "want_k"), [
    ((0.1, -0.3), (20.0, -5.0), (0.02, -0.02), (3000.0, 150.0)),
    ((-0.015, 0.0), (math.log(500.0), math.log(2999.0)), (-0.015, 0.0), (500.0, 2999.0)),
])
def test_increments_and_stiffness_are_clipped(env, inc, log_k, want_inc, want_k):
    pol = FixedPolicy(np.concatenate([inc, log_k]))
    tr = run_episode(env, pol, config=HierarchyConfig(decision_ticks=TICKS, max_ticks=TICKS), seed=1)
    np.testing.assert_allclose(tr.nominal[-1, :2] - pol.seen[0][:2], want_inc, atol=1e-12)
    np.testing.assert_allclose(np.exp(tr.nominal[-1, 2:]), want_k, rtol=1e-12)


def test_a_filter_command_is_applied_and_the_next_ramp_starts_from_it(env):
    inc = np.array([0.0, -0.01])
    pol = FixedPolicy(np.concatenate([inc, np.log([1000.0, 1000.0])]))
    _, info = env.reset(seed=2)
    fixed = np.array([*info["arm_state"].x, math.log(400.0), math.log(600.0)])
    filt = FixedFilter(fixed)
    tr = run_episode(env, pol, config=HierarchyConfig(decision_ticks=TICKS), safety_filter=filt, seed=2)
    assert filt.resets == 1 and len(filt.seen_states) == tr.n_ticks
    np.testing.assert_array_equal(tr.applied, np.broadcast_to(fixed, tr.applied.shape))
    np.testing.assert_array_equal(np.stack(filt.seen_states), tr.state_features)
    assert tr.intervened.all() and np.all(tr.risk == 0.25) and np.all(tr.filter_us > 0)
    # the second decision ramps from the filter's command, not from the nominal target
    np.testing.assert_allclose(pol.seen[1], fixed)
    target = np.concatenate([fixed[:2] + inc, np.log([1000.0, 1000.0])])
    np.testing.assert_allclose(tr.nominal[TICKS], fixed + (target - fixed) / TICKS, atol=1e-12)
    corr_x, corr_k = tr.mean_correction()
    assert corr_x > 0 and corr_k > 0
    assert tr.intervention_onsets == 1 and tr.interventions_per_second == pytest.approx(1 / tr.duration)


def test_filter_log_stiffness_is_clipped_to_the_range(env):
    pol = FixedPolicy(np.array([0.0, 0.0, 7.0, 7.0]))
    _, info = env.reset(seed=3)
    filt = FixedFilter(np.array([*info["arm_state"].x, 50.0, -50.0]))
    cfg = HierarchyConfig(decision_ticks=TICKS, max_ticks=5)
    tr = run_episode(env, pol, config=cfg, safety_filter=filt, seed=3)
    np.testing.assert_allclose(np.exp(tr.applied[:, 2:]), np.broadcast_to([3000.0, 150.0], (5, 2)))


def test_bad_policy_action_is_refused(env):
    with pytest.raises(ValueError, match="policy action"):
        run_episode(env, FixedPolicy([0.0, np.nan, 7.0, 7.0]), seed=0)


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"decision_ticks": 0}, "decision_ticks"), ({"stiffness_range": (0.0, 10.0)}, "stiffness_range"),
    ({"stiffness_range": (10.0, 5.0)}, "stiffness_range"), ({"max_increment": -1.0}, "max_increment"),
    ({"damping_ratio": float("nan")}, "damping_ratio"), ({"torque_limit": (1.0, -1.0, 2.0)}, "torque_limit"),
    ({"max_ticks": 0}, "max_ticks"), ({"joint_damping": -0.1}, "joint_damping"),
])
def test_config_validation_names_the_field(kwargs, field):
    with pytest.raises(ValueError, match=f"HierarchyConfig.{field}"):
        HierarchyConfig(**kwargs)


def test_episode_metrics():
    T = 10
    f = np.array([0, 10, 31, 35, 20, 0, 0, 40, 0, 0], dtype=float)
    nominal = np.zeros((T, 4))
    applied = nominal.copy()
    applied[2] = [0.003, 0.004, 0.0, 0.0]  # 5 mm setpoint correction on one tick
    iv = np.array([0, 0, 1, 1, 0, 0, 0, 1, 0, 0], dtype=bool)
    tr = EpisodeTrace(
        state_features=np.zeros((T, 12)), nominal=nominal, applied=applied, cost=(f > 30).astype(float),
        force_filtered=f, force_raw=f + 1, contact_force_true=f, intervened=iv, risk=np.full(T, np.nan),
        filter_us=np.zeros(T), success=False, band_fraction=0.0, mean_path_error=0.0, truncated=True,
        terminated=False, seed=0, surface_offset=0.0,
    )
    assert tr.violated and tr.time_over_limit_ms == pytest.approx(3.0) and tr.longest_violation_ms == pytest.approx(2.0)
    assert tr.peak_force_filtered == 40 and tr.peak_force_raw == 41
    assert tr.impulse_over_limit == pytest.approx((1 + 5 + 10) * 1e-3)
    assert tr.intervention_onsets == 2 and tr.interventions_per_second == pytest.approx(2 / 0.01)
    assert tr.mean_correction() == pytest.approx((0.0005, 0.0))
    assert tr.mean_correction(only_intervened=True) == pytest.approx((0.005 / 3, 0.0))
    assert set(tr.summary()) >= {"violated", "impulse_over_limit", "interventions_per_second"}
