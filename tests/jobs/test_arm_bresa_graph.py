"""Bresa as a node graph (arm_sim_bridge + bresa_controller, lockstep, in-process transport) equals
run_episode bit for bit: torques, forces, the loop's features and commands, with the critic-free
force clamp and with a critic method on a tiny exported critic."""

from __future__ import annotations

import json

import numpy as np
import pytest

from robocritic.bresa.critic import SafetyCritic
from robocritic.bresa.export import export_critic
from robocritic.bresa.features import FeatureLayout
from robocritic.jobs.arm_bresa_graph import TOLERANCE, ArmGraphConfig, run_arm_bresa_graph
from robocritic.nodes.report import json_ready

pytestmark = pytest.mark.timeout(60)
STEPS = 300  # approach and first contact (the clamp intervenes from about tick 200 at offset 2 cm)


@pytest.fixture(scope="module")
def critic_path(tmp_path_factory):
    layout = FeatureLayout(m=2)
    critic = SafetyCritic(layout.n_in, (8, 8), seed=4)
    # Normalise on plausible feature scales so the untrained critic's risk moves with the state.
    critic.set_normalisation(np.random.default_rng(0).normal(0.0, 0.3, size=(64, layout.n_in)))
    names = layout.state_names() + layout.action_names()
    return str(export_critic(critic.eval(), names, tmp_path_factory.mktemp("critic") / "critic.npz"))


def _check_exact(record: dict) -> None:
    summary = record["summary"]
    assert TOLERANCE == 0.0
    assert summary["ticks"] == STEPS
    assert all(d == 0.0 for d in summary["max_diff"].values()), summary["max_diff"]  # bit for bit
    assert summary["match"]
    ctl, bridge = record["controller"], record["bridge"]["counters"]
    assert ctl["rejected"] == {} and ctl["safe_commands"] == {} and ctl["errors"] == {}
    assert bridge["safe_steps"] == {} and bridge["rejected"] == {}
    assert ctl["commands_sent"] == ctl["verdicts_sent"] == STEPS + 1  # plus the answer to the final state
    json.dumps(json_ready(record))  # the record is JSON-ready


def test_force_clamp_graph_equals_run_episode_bit_for_bit():
    # v0 (no guarded approach): the tool reaches the table fast enough for the clamp to act
    config = ArmGraphConfig(method="force_clamp", seed=3, steps=STEPS, surface_offset=0.02,
                            env_id="robocritic/ArmPressWipe-v0")
    record = run_arm_bresa_graph(config)
    _check_exact(record)
    assert record["summary"]["interventions"] > 0  # the filter acted, and identically so


def test_critic_method_graph_equals_run_episode_bit_for_bit(critic_path):
    record = run_arm_bresa_graph(
        ArmGraphConfig(method="reflex_1khz", critic=critic_path, seed=1, steps=STEPS, surface_offset=0.03))
    _check_exact(record)
    assert record["controller"]["info"]["critic"] == critic_path


def test_config_is_validated():
    with pytest.raises(ValueError, match="steps must be an integer"):
        ArmGraphConfig(steps=0)
