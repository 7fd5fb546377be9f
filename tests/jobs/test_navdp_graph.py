"""The NavDP node graph (nav_sim_bridge + navdp_planner, in process, recorded to MCAP) drives the
benchmark's paired episode as run_episode does: same outcome, same steps, same plans, positions
equal to the in-process trace's 0.1 mm."""

from __future__ import annotations

import pytest
import torch

from robocritic.jobs.navdp_graph import NavGraphConfig, run_navdp_graph

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def test_navdp_graph_matches_the_in_process_episode_and_records_a_bag(tmp_path):
    bag = tmp_path / "bag"
    record = run_navdp_graph(NavGraphConfig(method="navdp", world_seed=5000, bag=str(bag)))
    summary = record["summary"]
    assert summary["match"], summary
    assert summary["steps"] == summary["reference_steps"] and summary["plans"] == summary["reference_plans"]
    topics = record["bag"]["topics"]
    ticks = summary["steps"] + 1  # tick 0 .. steps are published
    assert topics["/odom"] == ["nav_msgs/msg/Odometry", ticks]
    assert topics["/camera/depth/image_raw"] == ["sensor_msgs/msg/Image", ticks]
    assert topics["/cmd_vel"][1] == ticks  # the planner answered every tick, the last one too
    assert topics["/local_plan"] == ["nav_msgs/msg/Path", summary["plans"]]
    assert topics["/goal_pose"][1] >= 1
    assert (bag / "metadata.yaml").is_file() and list(bag.glob("*.mcap"))
    planner = record["planner"]
    assert planner["rejected"] == {} and planner["goals"]["accepted"] == 1
    assert record["bridge"]["counters"]["rejected"] == {}


def test_dwa_graph_matches_too():
    summary = run_navdp_graph(NavGraphConfig(method="dwa", world_seed=5001))["summary"]
    assert summary["match"], summary
