"""The pendulum scenario the demo and its node-graph run share, and the graph's node descriptions:
the same start states, strict atomic records, and parameters that reach a node bit for bit."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import yaml
from robocritic.envs.pendulum.task import START_HALF_WIDTH

from robocritic.jobs import pendulum_demo, pendulum_graph
from robocritic.jobs.pendulum_graph import GraphDemoConfig, graph_nodes
from robocritic.jobs.pendulum_scenario import ENV_ID, percentiles_ms, start_states, write_record


def _parameters(argv: list[str]) -> dict:
    """``-p name:=value`` pairs of a command line, read as YAML (as rcl and the nodes read them)."""
    rules = [argv[i + 1] for i, arg in enumerate(argv) if arg == "-p"]
    return {name: yaml.safe_load(text) for name, _, text in (rule.partition(":=") for rule in rules)}


def test_both_runs_use_one_scenario():
    assert pendulum_demo.ENV_ID == pendulum_graph.ENV_ID == ENV_ID
    assert pendulum_graph.start_states is start_states


def test_start_states_are_seeded_and_inside_the_start_box():
    starts = start_states(5, seed=3)
    assert starts.shape == (5, 2) and np.all(np.abs(starts) <= START_HALF_WIDTH)
    np.testing.assert_array_equal(starts, start_states(5, seed=3))
    # more episodes extend the same draw: episode i starts alike whatever the episode count
    np.testing.assert_array_equal(start_states(2, seed=3), starts[:2])


def test_percentiles_in_milliseconds():
    p50, p99, worst = percentiles_ms(np.array([0.001, 0.002, 0.003]))
    assert p50 == pytest.approx(2.0) and p99 == pytest.approx(2.98) and worst == pytest.approx(3.0)
    assert all(math.isnan(v) for v in percentiles_ms([]))


def test_record_is_strict_json_written_atomically(tmp_path):
    path = tmp_path / "run" / "record.json"
    record = {
        "a": float("nan"), "b": [float("inf"), np.float64(1.5), np.int64(2)], "c": np.zeros(2), "d": (1,),
    }  # fmt: skip
    assert write_record(path, record) == path
    assert json.loads(path.read_text()) == {"a": None, "b": [None, 1.5, 2], "c": [0.0, 0.0], "d": [1]}
    assert [p.name for p in path.parent.iterdir()] == ["record.json"]  # no temporary file left
    assert math.isnan(record["a"])  # the caller's record is left as it was


def test_graph_nodes_carry_the_start_state_bit_for_bit(tmp_path):
    x0 = np.array([0.1 + 0.2, -1e-17])  # values whose decimal text must round-trip exactly
    config = GraphDemoConfig(node_parameters=(("realtime_priority", 50), ("lock_memory", True)))
    bridge, controller = graph_nodes(config, x0, 7, tmp_path / "b.json", tmp_path / "c.json")
    assert (bridge.label, controller.label) == ("sim_bridge", "mpc_controller")
    assert bridge.command[-1] == "robocritic.nodes.sim_bridge" and bridge.output == "log"
    argv = bridge.argv()
    transport = argv.index("--transport")
    assert argv[transport + 1] == "dds" and transport < argv.index("--ros-args")
    params = _parameters(argv)
    assert params["initial_state"] == [float(v) for v in x0]
    assert params["seed"] == 7 and params["lock_memory"] is True and params["realtime_priority"] == 50
    assert params["lockstep_timeout_s"] == 10.0 and params["shutdown_when_done"] is False
    ctl = _parameters(controller.argv())
    assert ctl["horizon"] == 10 and ctl["autostart"] is False and ctl["solver"] == "daqp"


def test_node_parameters_must_be_ros_parameter_values():
    with pytest.raises(ValueError, match="node_parameters: 'weights' must be a bool"):
        GraphDemoConfig(node_parameters=(("weights", {"q": 1.0}),))
