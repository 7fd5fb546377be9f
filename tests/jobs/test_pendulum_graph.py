"""The node graph over DDS in separate processes (sim_bridge + mpc_controller, lockstep over /clock)
with an MCAP bag, against the in-process run_closed_loop: the tiny-budget run of the demo."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from robocritic.jobs.pendulum_graph import (
    STATE_TOLERANCE,
    GraphDemoConfig,
    GraphDemoError,
    format_graph_summary,
    run_graph_demo,
)
from robocritic.ros.bag import read_bag_summary

# A hung process or discovery must fail the test, not the whole run.
pytestmark = pytest.mark.timeout(90)
STEPS = 40


def _our_processes(marker: str) -> list[str]:
    """Command lines of live processes that mention ``marker`` (Linux /proc)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in text:
            found.append(text)
    return found


def test_two_process_lockstep_graph_matches_in_process_and_records_a_bag(tmp_path):
    config = GraphDemoConfig(episodes=1, steps=STEPS, real_time_factor=0.0, out_dir=str(tmp_path))
    record = run_graph_demo(config)
    summary = record["summary"]
    episode = record["episodes"][0]
    # lockstep: bit-identical to the in-process loop (the stated tolerance is 1e-9)
    assert summary["within_tolerance"] and summary["max_state_diff"] <= STATE_TOLERANCE
    assert summary["max_state_diff"] == 0.0 and summary["max_action_diff"] == 0.0
    assert episode["steps"] == STEPS and len(episode["graph"]["states"]) == STEPS + 1
    assert summary["safe_steps"] == {} and summary["rejected"] == {}
    assert episode["exit_codes"] == {"sim_bridge": 0, "mpc_controller": 0}
    # the launcher's supervisor ran the nodes: its messages, and one log per node
    launch_log = Path(episode["launch_log"]).read_text()
    assert "[launch] started sim_bridge" in launch_log and "[launch] started mpc_controller" in launch_log
    assert all(Path(path).is_file() for path in episode["logs"].values())
    assert episode["controller"]["safe_commands"] == {"shutdown": 1}  # the safe stop on SIGINT
    # timing comes from the bridge process
    assert summary["ticks"] == STEPS and summary["commands_timed"] == STEPS + 1
    assert summary["achieved_rate_hz"] > 20.0  # unpaced lockstep closes faster than real time
    assert 0 < summary["latency_p50_ms"] <= summary["latency_p99_ms"] <= summary["latency_max_ms"]
    # the bag, written by this process over DDS
    bag = read_bag_summary(episode["bag"]["path"])
    assert bag["/sim_bridge/ground_truth"] == ("std_msgs/msg/Float64MultiArray", STEPS + 1)
    assert bag["/clock"][0] == "rosgraph_msgs/msg/Clock" and bag["/clock"][1] >= STEPS + 1
    assert bag["/pendulum/joint_states"][1] >= STEPS + 1
    # every command: one per published state, plus the safe stop at shutdown
    assert bag["/pendulum/effort_command"] == ("std_msgs/msg/Float64MultiArray", STEPS + 2)
    on_disk = json.loads((tmp_path / "graph_demo.json").read_text())
    assert on_disk["summary"] == json.loads(json.dumps(summary))
    assert "MATCH" in format_graph_summary(record)
    assert _our_processes(str(tmp_path)) == []


def test_a_node_that_fails_to_start_is_reported_and_the_graph_cleaned_up(tmp_path):
    config = GraphDemoConfig(
        steps=5, controller="explicit", law=str(tmp_path / "missing_law.npz"), out_dir=str(tmp_path / "run"),
        startup_timeout_s=30.0,
    )  # fmt: skip
    with pytest.raises(
        GraphDemoError, match=r"explicit_controller \[pid \d+\] exited with code 2(.|\n)*parameter 'law'"
    ):
        run_graph_demo(config)
    assert _our_processes(str(tmp_path)) == []


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("steps", 0, "steps must be a positive integer"),
        ("controller", "pid", "controller must be one of"),
        ("controller", "explicit", "law is required"),
        ("real_time_factor", -1.0, "real_time_factor"),
        ("domain_id", 999, "domain id"),
    ],
)
def test_config_is_validated(field, value, match):
    with pytest.raises(ValueError, match=match):
        GraphDemoConfig(**{field: value})
