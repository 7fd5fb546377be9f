"""Bresa on ArmPegInHole-v0: filters with a lateral axis, the per-env method table, and
collect / train / eval end to end on the peg env (tiny)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from robocritic.bresa.collect import collect
from robocritic.bresa.critic import NumpyCritic, save_critic
from robocritic.bresa.features import FeatureLayout, command
from robocritic.bresa.filters import ForceClampFilter, MinimalModificationFilter, RecoveryPolicy, ReflexFilter
from robocritic.bresa.hierarchy import HierarchyConfig
from robocritic.bresa.methods import METHODS, build_method
from robocritic.bresa.peg_policies import PegExplorationPolicy, ScriptedPegInHole, peg_policy_for_env
from robocritic.bresa.policies import ScriptedPressWipe
from robocritic.bresa.train import train_critic
from robocritic.jobs.bresa_eval import evaluate, layout_for_env

ENV_ID = "robocritic/ArmPegInHole-v0"
LAY = FeatureLayout(2)
N_S = LAY.n_state
DISP_X, LOG_KX = N_S, N_S + 2  # critic-input columns of the command's x displacement and x log stiffness


def _state(x=0.452, z=-0.27, force=8.0, log_k=(8.0, 6.9)):
    s = np.zeros(N_S)
    s[LAY.position] = (x, z)
    s[LAY.force] = force
    s[LAY.log_stiffness] = log_k
    return s


class LateralSpringRisk:
    """risk = 1 iff the commanded lateral spring force ``|K_x (x_sp - x)|`` exceeds ``limit``."""

    def __init__(self, limit: float = 5.0) -> None:
        self.limit = limit

    def risk(self, x: np.ndarray) -> np.ndarray:
        return (np.abs(np.exp(x[:, LOG_KX]) * x[:, DISP_X]) > self.limit + 1e-9).astype(np.float64)


def test_lateral_recovery_complies_in_x_and_backs_off_up():
    s = _state(0.452, -0.27, log_k=(8.0, 6.9))
    cmd = RecoveryPolicy(retreat=0.003, soften_axes=(0,)).command(LAY, s)
    np.testing.assert_allclose(cmd, [0.452, -0.267, math.log(150.0), 6.9])  # x at the TCP, soft; z kept
    with pytest.raises(ValueError, match="retreat_axis"):
        RecoveryPolicy(retreat_axis=2).command(LAY, s)


def test_reflex_with_the_lateral_recovery_latches_it():
    f = ReflexFilter(LateralSpringRisk(), LAY, recovery=RecoveryPolicy(retreat=0.003, soften_axes=(0,)))
    nominal = command([0.449, -0.29], [8.0, 6.9])  # 3 mm sideways at K_x = 2981 N/m: ~9 N
    out, info = f.certify(_state(), nominal)
    assert info["triggered"] and out[0] == 0.452 and out[2] == pytest.approx(math.log(150.0))


def test_minmod_with_lateral_softening_picks_the_least_softening_that_is_safe():
    f = MinimalModificationFilter(LateralSpringRisk(limit=5.0), LAY, shift_axis=-1, soften_axis=0)
    nominal = command([0.449, -0.29], [8.0, 6.9])  # |K_x dx| = e^8 * 0.003 = 8.9 N
    out, info = f.certify(_state(), nominal)
    assert info["intervened"] and info["safe"] and info["retreat"] == 0.0
    assert info["stiffness_scale"] == pytest.approx(0.5)  # 0.7 -> 6.3 N unsafe, 0.5 -> 4.5 N safe
    assert out[2] == pytest.approx(8.0 + math.log(0.5)) and out[3] == 6.9 and out[0] == 0.449
    # a retreat moves z (up), never x
    f2 = MinimalModificationFilter(LateralSpringRisk(limit=100.0), LAY, shift_axis=-1, soften_axis=0)
    assert f2.certify(_state(), nominal)[0] is nominal
    with pytest.raises(ValueError, match="soften_axis"):
        MinimalModificationFilter(LateralSpringRisk(), LAY, soften_axis=5)


def test_two_sided_lateral_clamp_caps_the_spring_both_ways():
    f = ForceClampFilter(LAY, force_limit=10.0, margin=3.0, axis=0, two_sided=True)
    k = math.exp(8.0)
    for dx in (-0.003, 0.003):
        out, info = f.certify(_state(force=0.0), command([0.452 + dx, -0.29], [8.0, 6.9]))
        assert info["intervened"] and abs(k * (out[0] - 0.452)) == pytest.approx(7.0)
        assert np.sign(out[0] - 0.452) == np.sign(dx) and out[1] == -0.29
    small = command([0.4521, -0.29], [8.0, 6.9])
    assert f.certify(_state(force=0.0), small)[0] is small


def test_methods_pick_the_peg_policy_and_lateral_filters_by_env_id():
    lay = layout_for_env(ENV_ID)
    assert lay.m == 2
    config = HierarchyConfig()
    policy, filt = build_method("force_clamp", None, lay, config, env_id=ENV_ID)
    assert isinstance(policy, ScriptedPegInHole) and filt.axis == 0 and filt.two_sided
    _, reflex = build_method("reflex_1khz", LateralSpringRisk(), lay, config, env_id=ENV_ID)
    assert reflex.recovery.soften_axes == (0,)
    _, minmod = build_method("minmod_1khz", LateralSpringRisk(), lay, config, env_id=ENV_ID)
    assert (minmod.shift_axis, minmod.soften_axis) == (1, 0)
    low, _ = build_method("low_stiffness", None, lay, config, env_id=ENV_ID)
    assert low.insert_stiffness_x == 150.0 and tuple(low.stiffness) == (150.0, 150.0)
    # press-and-wipe is untouched
    pw, pw_filter = build_method("force_clamp", None, lay, config)
    assert isinstance(pw, ScriptedPressWipe) and pw_filter.axis == 1 and not pw_filter.two_sided
    assert set(METHODS) >= {"none", "reflex_20hz", "reflex_1khz", "minmod_1khz"}
    assert isinstance(peg_policy_for_env("exploration"), PegExplorationPolicy)


def test_collect_train_eval_on_the_peg_env(tmp_path):
    env_kwargs = {"max_episode_steps": 600}
    ds = collect(3, seed=0, env_id=ENV_ID, env_kwargs=env_kwargs, progress=False)
    assert ds.state.shape == (1800, N_S) and ds.feature_names[:2] == ("pos_x", "pos_z")
    again = collect(3, seed=0, env_id=ENV_ID, env_kwargs=env_kwargs, progress=False)
    np.testing.assert_array_equal(ds.state, again.state)
    ds.cost[100:110] = 1.0  # make sure both label classes exist in a tiny run
    ds.cost[700:710] = 1.0
    ds.cost[1300:1310] = 1.0
    critic, _ = train_critic(ds, epochs=1, hidden=(8,), val_fraction=0.34)
    path = save_critic(critic, tmp_path / "critic.pt")
    assert NumpyCritic.from_module(critic).n_in == LAY.n_in
    summary = evaluate(["none", "force_clamp", "reflex_1khz", "minmod_1khz"], [11, 12], tmp_path / "eval",
                       critic_path=path, env_id=ENV_ID, env_kwargs=env_kwargs, progress=False)
    assert summary["env"] == ENV_ID
    rows = json.loads((tmp_path / "eval" / "episodes.json").read_text())
    assert len(rows) == 8 and (tmp_path / "eval" / "force.png").exists()
