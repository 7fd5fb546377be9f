"""The Bresa task registry: every Bresa env id has one task spec, and the methods use it."""

from __future__ import annotations

import pytest

import robocritic.envs  # noqa: F401 - registers the env ids
from robocritic.bresa.features import FeatureLayout
from robocritic.bresa.filters import ForceClampFilter, ReflexFilter
from robocritic.bresa.groove_policies import ScriptedGrooveFollow
from robocritic.bresa.hierarchy import HierarchyConfig
from robocritic.bresa.methods import build_method
from robocritic.bresa.peg_policies import ScriptedPegInHole
from robocritic.bresa.policies import ScriptedPressWipe
from robocritic.bresa.tasks import LOW_STIFFNESS, TASKS, task_spec
from robocritic.cli.bresa import ENVS


class _NoRisk:
    n_in = 0

    def risk(self, x):
        return x[:, 0] * 0.0


def test_every_env_the_cli_accepts_has_a_task_and_nothing_else_does():
    assert set(TASKS) == set(ENVS)
    with pytest.raises(ValueError, match=r"env_id: no Bresa task for 'robocritic/ClippedPendulum-v0'; known"):
        task_spec("robocritic/ClippedPendulum-v0")


@pytest.mark.parametrize(("env_id", "family", "policy_type", "m"), [
    ("robocritic/ArmPressWipe-v1", "press-and-wipe", ScriptedPressWipe, 2),
    ("robocritic/Arm7PressWipe-v1", "press-and-wipe", ScriptedPressWipe, 3),
    ("robocritic/ArmPegInHole-v0", "peg-in-hole", ScriptedPegInHole, 2),
    ("robocritic/ArmGroove-v0", "groove", ScriptedGrooveFollow, 2),
])
def test_the_methods_take_policy_filters_and_baseline_from_the_task(env_id, family, policy_type, m):
    task = task_spec(env_id)
    assert task.family == family and task.n_task == m
    layout, config = FeatureLayout(m, ("x", "z") if m == 2 else ("x", "y", "z")), HierarchyConfig()
    policy, _ = build_method("none", None, layout, config, env_id=env_id)
    assert isinstance(policy, policy_type)
    soft, _ = build_method("low_stiffness", None, layout, config, env_id=env_id)
    assert all(k == LOW_STIFFNESS for k in soft.stiffness)
    _, clamp = build_method("force_clamp", None, layout, config, env_id=env_id)
    _, reflex = build_method("reflex_1khz", _NoRisk(), layout, config, env_id=env_id)
    assert isinstance(clamp, ForceClampFilter) and isinstance(reflex, ReflexFilter)
    lateral = family != "press-and-wipe"  # peg and groove limit the lateral (x) force
    assert clamp.two_sided == lateral and reflex.recovery.soften_axes == ((0,) if lateral else (-1,))
    assert (clamp.force_limit == task.force_limit) if lateral else task.force_limit == 30.0
    assert (task.force_band is None) == lateral
