"""Bresa safety filters: reflex with hysteresis, minimal modification, decision-rate check, force clamp."""

from __future__ import annotations

import math

import numpy as np
import pytest

from robocritic.bresa.critic import NumpyCritic, SafetyCritic
from robocritic.bresa.features import FeatureLayout, command
from robocritic.bresa.filters import (
    DecisionRateCheck,
    ForceClampFilter,
    MinimalModificationFilter,
    RecoveryPolicy,
    ReflexBackstop,
    ReflexFilter,
    RiskModel,
)
from robocritic.interfaces import SafetyFilter

LAY = FeatureLayout(2)
N_S = LAY.n_state
DISP_Z = N_S + 1  # critic-input column of the command's normal displacement (setpoint z - TCP z)
LOG_KZ = N_S + 3  # ... and of its normal log stiffness


def _state(x: float = 0.45, z: float = -0.25, force: float = 10.0, log_k: tuple[float, float] = (7.0, 7.5)):
    s = np.zeros(N_S)
    s[LAY.position] = (x, z)
    s[LAY.force] = force
    s[LAY.log_stiffness] = log_k
    return s


class SpringForceRisk:
    """risk = 1 iff the commanded spring force pressing down, ``K_z (z - z_sp)``, exceeds ``limit``."""

    def __init__(self, limit: float = 25.0) -> None:
        self.limit = limit
        self.calls: list[np.ndarray] = []

    def risk(self, x: np.ndarray) -> np.ndarray:
        self.calls.append(x.copy())
        force = np.exp(x[:, LOG_KZ]) * -x[:, DISP_Z]
        return (force > self.limit + 1e-9).astype(np.float64)


class ScriptedRisk:
    """Returns the next value of a script for every row, whatever the input."""

    def __init__(self, script) -> None:
        self.script = list(script)
        self.calls = 0

    def risk(self, x: np.ndarray) -> np.ndarray:
        value = self.script[self.calls]
        self.calls += 1
        return np.full(x.shape[0], value)


def test_filters_satisfy_the_protocols():
    model = SpringForceRisk()
    assert isinstance(model, RiskModel)
    for f in (ReflexFilter(model, LAY), MinimalModificationFilter(model, LAY), ForceClampFilter(LAY),
              DecisionRateCheck(ReflexFilter(model, LAY))):
        assert isinstance(f, SafetyFilter)
        f.reset()
        assert f.interventions == 0


def test_recovery_retreats_from_the_tcp_and_softens_the_normal_axis():
    s = _state(0.45, -0.25, log_k=(7.0, 7.5))
    cmd = RecoveryPolicy(retreat=0.01, stiffness_min=150.0).command(LAY, s)
    np.testing.assert_allclose(cmd, [0.45, -0.24, 7.0, math.log(150.0)])
    soft = RecoveryPolicy(soften_tangential=True).command(LAY, s)
    np.testing.assert_allclose(soft[2:], [math.log(150.0)] * 2)
    with pytest.raises(ValueError, match="retreat"):
        RecoveryPolicy(retreat=-0.01)
    with pytest.raises(ValueError, match="stiffness_min"):
        RecoveryPolicy(stiffness_min=0.0)


def test_reflex_triggers_holds_min_ticks_and_releases():
    # tick: 0 pass, 1 trigger, 2-5 held by min_hold_ticks (low risk), 6 released
    model = ScriptedRisk([0.2, 0.8, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1])
    f = ReflexFilter(model, LAY, threshold=0.5, min_hold_ticks=5)
    nominal = command([0.45, -0.27], [7.0, 7.5])
    out = []
    for t in range(8):
        # the TCP moves: the latched recovery command must not follow it
        cmd, info = f.certify(_state(z=-0.25 + 0.001 * t), nominal)
        out.append((cmd, info))
        assert info["risk"] == model.script[t]
    assert [i["intervened"] for _, i in out] == [False, True, True, True, True, True, False, False]
    assert [i["triggered"] for _, i in out] == [False, True, False, False, False, False, False, False]
    assert [i["hold_ticks"] for _, i in out] == [0, 1, 2, 3, 4, 5, 0, 0]
    assert out[0][0] is nominal and out[6][0] is nominal
    recovery = np.array([0.45, -0.25 + 0.001 + 0.01, 7.0, math.log(150.0)])
    for cmd, _ in out[1:6]:
        np.testing.assert_allclose(cmd, recovery)
    assert recovery[1] > nominal[1] and recovery[3] < nominal[3]  # raised and softened
    assert f.triggers == 1 and f.interventions == 5 and model.calls == 8


def test_reflex_hysteresis_keeps_recovering_between_release_and_threshold():
    # threshold 0.5, release 0.25 (default threshold / 2): 0.3 keeps the recovery after the hold
    model = ScriptedRisk([0.9, 0.9, 0.3, 0.3, 0.3, 0.2, 0.6])
    f = ReflexFilter(model, LAY, threshold=0.5, min_hold_ticks=2)
    assert f.release == 0.25
    flags = [f.certify(_state(), command([0.45, -0.27], [7.0, 7.5]))[1] for _ in range(7)]
    assert [i["intervened"] for i in flags] == [True, True, True, True, True, False, True]
    assert [i["triggered"] for i in flags] == [True, False, False, False, False, False, True]
    assert f.triggers == 2
    f.reset()
    assert not f.recovering


def test_reflex_validates_arguments():
    m = SpringForceRisk()
    with pytest.raises(ValueError, match="threshold"):
        ReflexFilter(m, LAY, threshold=1.5)
    with pytest.raises(ValueError, match="release"):
        ReflexFilter(m, LAY, threshold=0.5, release=0.6)
    with pytest.raises(ValueError, match="min_hold_ticks"):
        ReflexFilter(m, LAY, min_hold_ticks=0)
    with pytest.raises(ValueError, match="action"):
        ReflexFilter(m, LAY).certify(_state(), np.zeros(3))
    with pytest.raises(ValueError, match="obs"):
        ReflexFilter(m, LAY).certify(np.zeros(5), np.zeros(4))


def test_min_mod_passes_a_safe_nominal_with_one_call():
    model = SpringForceRisk(limit=25.0)
    f = MinimalModificationFilter(model, LAY)
    nominal = command([0.45, -0.27], [7.0, math.log(1000.0)])  # 1000 N/m x 2 cm = 20 N
    cmd, info = f.certify(_state(z=-0.25), nominal)
    assert cmd is nominal and not info["intervened"] and info["risk"] == 0.0 and f.interventions == 0
    assert len(model.calls) == 1 and model.calls[0].shape == (1, LAY.n_in)  # the nominal alone


def test_min_mod_candidate_batch_matches_the_feature_layout():
    model = SpringForceRisk(limit=1.0)  # both nominals below press > 1 N: unsafe, so the batch is scored
    f = MinimalModificationFilter(model, LAY, retreats=(0.0, 0.01), stiffness_scales=(1.0, 0.5, 0.3))
    s = _state(z=-0.25)
    nominal = command([0.45, -0.27], [7.0, math.log(400.0)])
    f.certify(s, nominal)
    # 400 * 0.3 = 120 < 150 N/m: clipped at the minimum
    expected = [command([0.45, -0.27 + r], [7.0, math.log(max(400.0 * k, 150.0))])
                for r in (0.0, 0.01) for k in (1.0, 0.5, 0.3)]
    np.testing.assert_allclose(model.calls[-1], LAY.critic_input(s, np.array(expected)), atol=1e-12)
    # a nominal already softer than the minimum is never stiffened
    f.certify(s, command([0.45, -0.27], [7.0, math.log(100.0)]))
    np.testing.assert_allclose(model.calls[-1][:, LOG_KZ], math.log(100.0))


def test_min_mod_applies_the_closest_safe_candidate():
    # 2000 N/m x 2 cm = 40 N > 25 N. Safe (r, s): force 2000 s (0.02 - r) <= 25. Closest in
    # d^2 = (100 r)^2 + (ln s)^2: (0.005, 0.7) d = 0.614 beats (0, 0.5) 0.693, (0.002, 0.5) 0.72,
    # (0.01, 1) 1.0.
    model = SpringForceRisk(limit=25.0)
    f = MinimalModificationFilter(model, LAY)
    nominal = command([0.45, -0.27], [7.0, math.log(2000.0)])
    cmd, info = f.certify(_state(z=-0.25), nominal)
    np.testing.assert_allclose(cmd, [0.45, -0.265, 7.0, math.log(1400.0)])
    assert info["intervened"] and info["safe"] and info["risk"] == 1.0 and info["risk_applied"] == 0.0
    assert info["retreat"] == pytest.approx(0.005) and info["stiffness_scale"] == pytest.approx(0.7)
    # the nominal alone, then every candidate in one batch
    assert [c.shape[0] for c in model.calls] == [1, 25] and f.interventions == 1
    # only retreat costs: the least retreat, ties to the first (largest) safe scale -> (0, 0.5)
    cmd, _ = MinimalModificationFilter(model, LAY, stiffness_weight=0.0).certify(_state(z=-0.25), nominal)
    np.testing.assert_allclose(cmd, [0.45, -0.27, 7.0, math.log(1000.0)])
    # only softening costs: full stiffness with the least safe retreat -> (0.01, 1)
    cmd, _ = MinimalModificationFilter(model, LAY, retreat_weight=0.0).certify(_state(z=-0.25), nominal)
    np.testing.assert_allclose(cmd, [0.45, -0.26, 7.0, math.log(2000.0)])


class AlwaysRisky:
    """risk in (0.6, 0.9), rising with the commanded spring force: nothing is ever safe."""

    def risk(self, x: np.ndarray) -> np.ndarray:
        force = np.exp(x[:, LOG_KZ]) * -x[:, DISP_Z]
        return 0.75 + 0.15 * np.tanh(force / 50.0)


def test_min_mod_takes_the_least_risky_when_none_is_safe():
    f = MinimalModificationFilter(AlwaysRisky(), LAY)
    nominal = command([0.45, -0.265], [7.0, math.log(2000.0)])
    cmd, info = f.certify(_state(z=-0.25), nominal)
    # least risky = most negative spring force: the 2 cm retreat (setpoint 5 mm above the TCP)
    # at full stiffness, -10 N
    np.testing.assert_allclose(cmd, [0.45, -0.245, 7.0, math.log(2000.0)])
    assert info["intervened"] and not info["safe"]
    assert info["risk_applied"] == pytest.approx(0.75 + 0.15 * math.tanh(-10.0 / 50.0))


class ForceRisk:
    """risk = commanded spring force pressing down / 50 N, clipped to [0, 1]."""

    def risk(self, x: np.ndarray) -> np.ndarray:
        return np.clip(np.exp(x[:, LOG_KZ]) * -x[:, DISP_Z] / 50.0, 0.0, 1.0)


def test_reflex_backstop_uses_the_reflex_only_over_its_threshold_or_when_nothing_is_safe():
    # min. mod. safe at <= 0.5 (<= 25 N); the reflex takes over above 0.9 (> 45 N), releases below 0.45
    model = ForceRisk()
    f = ReflexBackstop(MinimalModificationFilter(model, LAY),
                       ReflexFilter(model, LAY, threshold=0.9, min_hold_ticks=3))  # fmt: skip
    assert isinstance(f, SafetyFilter)
    pressing = command([0.45, -0.27], [7.0, math.log(2000.0)])  # 40 N, risk 0.8: min. mod. corrects it
    cmd, info = f.certify(_state(z=-0.25), pressing)
    np.testing.assert_allclose(cmd, [0.45, -0.265, 7.0, math.log(1400.0)])  # as test_min_mod_applies_...
    assert info["safe"] and not info["backstop"] and f.backstop.triggers == 0
    hard = command([0.45, -0.28], [7.0, math.log(2000.0)])  # 60 N: safe candidates exist, yet risk 1 > 0.9
    steps = [f.certify(_state(z=-0.25 + 0.001 * t), hard) for t in range(4)]
    for cmd, info in steps:  # the reflex: latched 1 cm above the trigger tick's TCP, held
        assert info["backstop"] and info["intervened"]
        np.testing.assert_allclose(cmd, [0.45, -0.24, 7.0, math.log(150.0)])
    assert [i["triggered"] for _, i in steps] == [True, False, False, False] and f.backstop.triggers == 1
    light = command([0.45, -0.26], [7.0, math.log(2000.0)])  # 20 N, risk 0.4 < 0.45: released, passes
    cmd, info = f.certify(_state(z=-0.25), light)
    assert cmd is light and not info["intervened"] and not info["backstop"] and not f.backstop.recovering
    assert f.interventions == 1 + 4
    # nothing safe (risk 0.6-0.9 everywhere): the reflex only if the command's risk exceeds its threshold
    nominal = command([0.45, -0.265], [7.0, math.log(2000.0)])  # AlwaysRisky: 0.75 + 0.15 tanh(0.6) = 0.83
    for threshold, backstop in ((0.9, False), (0.8, True)):
        f = ReflexBackstop(MinimalModificationFilter(AlwaysRisky(), LAY),
                           ReflexFilter(AlwaysRisky(), LAY, threshold=threshold))  # fmt: skip
        cmd, info = f.certify(_state(z=-0.25), nominal)
        assert info["backstop"] is backstop and info["intervened"]
        expected = [0.45, -0.24, 7.0, math.log(150.0)] if backstop else [0.45, -0.245, 7.0, math.log(2000.0)]
        np.testing.assert_allclose(cmd, expected)  # the reflex's recovery, or the least risky candidate
    with pytest.raises(ValueError, match="layout"):
        ReflexBackstop(MinimalModificationFilter(model, LAY), ReflexFilter(model, FeatureLayout(3, axes=("x", "y", "z"))))


def test_min_mod_with_a_real_critic_scores_the_candidates_in_one_batched_call():
    critic = NumpyCritic.from_module(SafetyCritic(LAY.n_in, (64, 64), "tanh", seed=3), max_batch=64)

    class Counting:
        max_batch = critic.max_batch

        def __init__(self) -> None:
            self.shapes: list[tuple[int, ...]] = []

        def risk(self, x: np.ndarray) -> np.ndarray:
            self.shapes.append(x.shape)
            return critic.risk(x)

    model = Counting()
    f = MinimalModificationFilter(model, LAY, threshold=0.01)  # below any risk: an intervention is forced
    rng = np.random.default_rng(0)
    for t in range(10):
        s = _state(z=-0.25 + 0.01 * rng.normal())
        cmd, info = f.certify(s, command([0.45, -0.27], [7.0, 7.5]))
        assert cmd.shape == (4,) and 0.0 <= info["risk"] <= 1.0
        assert model.shapes[2 * t:] == [(1, LAY.n_in), (25, LAY.n_in)]  # the nominal, then all candidates
    with pytest.raises(ValueError, match="max_batch"):
        MinimalModificationFilter(model, LAY, retreats=np.linspace(0, 0.02, 9),
                                  stiffness_scales=np.linspace(1, 0.2, 8))
    reflex = ReflexFilter(critic, LAY)
    _, info = reflex.certify(_state(), command([0.45, -0.27], [7.0, 7.5]))
    assert 0.0 <= info["risk"] <= 1.0


def test_min_mod_validates_arguments():
    m = SpringForceRisk()
    for kwargs, name in (
        ({"retreats": (-0.01,)}, "retreats"), ({"stiffness_scales": (1.5,)}, "stiffness_scales"),
        ({"stiffness_min": -1.0}, "stiffness_min"), ({"threshold": 0.0}, "threshold"),
        ({"retreat_weight": -1.0}, "retreat_weight"),
    ):
        with pytest.raises(ValueError, match=name):
            MinimalModificationFilter(m, LAY, **kwargs)


class Offsetting:
    """Inner filter: at call ``k`` adds ``deltas[k]`` to the nominal command."""

    def __init__(self, deltas) -> None:
        self.deltas = [np.asarray(d, dtype=float) for d in deltas]
        self.calls = 0
        self.resets = 0

    def reset(self) -> None:
        self.resets += 1

    def certify(self, obs, action):
        d = self.deltas[self.calls]
        self.calls += 1
        return action + d, {"intervened": bool(d.any()), "risk": 0.7}


def test_decision_rate_check_calls_inner_every_period_and_holds_the_correction():
    delta = np.array([0.0, 0.01, 0.0, -0.5])
    inner = Offsetting([delta, np.zeros(4), delta, delta])
    f = DecisionRateCheck(inner, period_ticks=5)
    assert inner.resets == 1
    checked, applied = [], []
    for t in range(12):
        nominal = command([0.4 + 0.001 * t, -0.27], [7.0, 7.5])
        cmd, info = f.certify(_state(), nominal)
        checked.append(info["checked"])
        applied.append(cmd - nominal)
        if not info["checked"]:
            assert math.isnan(info["risk"])
    assert [t for t, c in enumerate(checked) if c] == [0, 5, 10] and inner.calls == 3
    for t in range(12):
        expected = delta if t < 5 or t >= 10 else np.zeros(4)
        np.testing.assert_allclose(applied[t], expected, atol=1e-15)
    assert f.interventions == 7
    f.reset()
    assert inner.resets == 2
    f.certify(_state(), command([0.4, -0.27], [7.0, 7.5]))  # tick 0 again: a check
    assert inner.calls == 4
    with pytest.raises(ValueError, match="period_ticks"):
        DecisionRateCheck(inner, period_ticks=0)


def test_decision_rate_check_reacts_late_to_a_transient():
    model = SpringForceRisk(limit=25.0)
    f = DecisionRateCheck(ReflexFilter(model, LAY, min_hold_ticks=1), period_ticks=50)
    safe = command([0.45, -0.27], [7.0, math.log(1000.0)])
    risky = command([0.45, -0.27], [7.0, math.log(5000.0)])
    results = [f.certify(_state(), safe if t < 10 else risky)[1]["intervened"] for t in range(60)]
    assert not any(results[:50]) and results[50]  # the risky command from tick 10 is caught at 50


def test_force_clamp_caps_the_spring_force():
    f = ForceClampFilter(LAY, force_limit=30.0, margin=5.0)
    k = 2000.0
    nominal = command([0.45, -0.27], [7.0, math.log(k)])  # 40 N commanded
    cmd, info = f.certify(_state(z=-0.25, force=10.0), nominal)
    assert info["intervened"] and math.isnan(info["risk"]) and info["spring_force"] == pytest.approx(40.0)
    assert k * (-0.25 - cmd[1]) == pytest.approx(25.0)
    np.testing.assert_array_equal(cmd[[0, 2, 3]], nominal[[0, 2, 3]])
    # measured 35 N: 10 N over the 25 N cap -> the spring may push only 15 N
    cmd, info = f.certify(_state(z=-0.25, force=35.0), nominal)
    assert info["cap"] == pytest.approx(15.0) and k * (-0.25 - cmd[1]) == pytest.approx(15.0)
    # within the cap, or a setpoint above the TCP: unchanged (never lowered)
    for sp in (-0.26, -0.2):
        ok = command([0.45, sp], [7.0, math.log(k)])
        cmd, info = f.certify(_state(z=-0.25, force=10.0), ok)
        assert cmd is ok and not info["intervened"]
    assert f.interventions == 2
    with pytest.raises(ValueError, match="margin"):
        ForceClampFilter(LAY, margin=30.0)
    with pytest.raises(ValueError, match="force_limit"):
        ForceClampFilter(LAY, force_limit=-1.0)
