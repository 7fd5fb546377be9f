"""The NavDP closed loop and its eval job: paired episodes, determinism, the stop-and-rotate and
held-command handling, the coordinate contract in the loop, the NavDP plumbing with a tiny
untrained model, the job's files and fields, and its input errors."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from robocritic.jobs.navdp_eval import evaluate, summarise, wilson_interval
from robocritic.learning.checkpoint import CheckpointError
from robocritic.navdp.checkpoint import save_model
from robocritic.navdp.config import NavDPConfig
from robocritic.navdp.evaluate import (
    EpisodeSpec,
    LoopConfig,
    episode_seed,
    make_env,
    make_loop_planner,
    reset_paired,
    run_episode,
)
from robocritic.navdp.local_planners import CommandPlan, stop_plan
from robocritic.navdp.model import NavDPNet

TINY = NavDPConfig(patch_size=16, d_model=16, n_layers=1, n_heads=2, n_waypoints=8, n_candidates=4)
TIMING = ("wall_s", "plan_ms", "plan_ms_mean", "plan_ms_p50", "plan_ms_p99")
EPISODE_FIELDS = {
    "method", "preset", "world_seed", "episode", "seed", "start", "goal", "euclidean_distance",
    "geodesic_distance", "expert_length", "success", "collision", "stuck", "timeout", "outcome", "steps",
    "time_s", "path_length", "spl_euclidean", "spl_geodesic", "final_distance", "min_clearance", "plans",
    "stop_plans", "plan_ms_mean", "plan_ms_p50", "plan_ms_p99", "wall_s",
}
METHOD_FIELDS = {
    "episodes", "spl_euclidean", "spl_geodesic", "path_length_success_mean", "time_s_success_mean",
    "stop_plan_rate", "plan_ms_p50", "plan_ms_p99", "plan_ms_mean",
    *(f"{k}{s}" for k in ("success", "collision", "stuck", "timeout") for s in ("", "_rate", "_ci95")),
}


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return save_model(NavDPNet(TINY, seed=0), tmp_path_factory.mktemp("ckpt") / "tiny.pt")


@pytest.fixture(scope="module")
def empty_env():
    env = make_env("empty")
    yield env
    env.close()


def without_timing(record: dict) -> dict:
    return {k: v for k, v in record.items() if k not in TIMING}


class Scripted:
    """A loop planner that returns the same plan every time."""

    def __init__(self, plan):
        self._plan, self.calls = plan, 0

    def begin(self, context):
        pass

    def plan(self, obs, info):
        self.calls += 1
        return self._plan


# ---- episodes ---------------------------------------------------------------------------------------
def test_episode_seeds_are_a_pure_function_of_world_episode_and_attempt():
    assert episode_seed(5, 0) == episode_seed(5, 0) == EpisodeSpec(5, 0).seed
    assert len({episode_seed(5, 0), episode_seed(5, 1), episode_seed(6, 0), episode_seed(5, 0, 1)}) == 4
    with pytest.raises(ValueError, match="EpisodeSpec.world_seed"):
        EpisodeSpec(-1)


def test_reset_paired_gives_the_same_episode_in_fresh_envs_and_redraws_unreachable_goals():
    starts = []
    for _ in range(2):
        env = make_env("default")
        obs, info, seed = reset_paired(env, EpisodeSpec(5001, 2))
        starts.append((seed, info["pose"].tolist(), env.unwrapped.goal.tolist()))
        env.close()
    assert starts[0] == starts[1]

    class Unreachable:  # the first draw has no path to the goal
        def __init__(self):
            self.seeds = []

        def reset(self, seed, options):
            self.seeds.append(seed)
            return {}, {"geodesic_distance": math.inf if len(self.seeds) == 1 else 4.0}

    fake = Unreachable()
    assert reset_paired(fake, EpisodeSpec(3, 1))[2] == episode_seed(3, 1, 1)
    assert fake.seeds == [episode_seed(3, 1, 0), episode_seed(3, 1, 1)]


def test_run_episode_is_deterministic():
    env = make_env("default")
    try:
        config = LoopConfig(max_time=6.0)
        a = run_episode(env, make_loop_planner("dwa"), EpisodeSpec(5002), config, method="dwa")
        b = run_episode(env, make_loop_planner("dwa"), EpisodeSpec(5002), config, method="dwa")
    finally:
        env.close()
    assert without_timing(a) == without_timing(b)
    assert a["plans"] == math.ceil(6.0 / 0.25) and a["steps"] == 60  # 4 Hz planning, 10 Hz control


# ---- loop semantics ------------------------------------------------------------------------------------
def test_a_stop_plan_turns_in_place_toward_its_side_and_ends_stuck(empty_env):
    config = LoopConfig(stuck_time=2.0, rotate_omega=0.5)
    options = {"start": (0.0, 0.0, 0.0), "goal": (3.0, 0.0)}
    r = run_episode(empty_env, Scripted(stop_plan(1)), EpisodeSpec(0), config, options=options)
    assert r["outcome"] == "stuck" and r["stop_plans"] == r["plans"] == 8 and r["path_length"] == 0.0
    assert empty_env.unwrapped.pose[2] == pytest.approx(0.5 * 2.0)  # +rotate = counter-clockwise
    r = run_episode(empty_env, Scripted(stop_plan(0)), EpisodeSpec(0), config, options=options)
    assert r["outcome"] == "stuck" and empty_env.unwrapped.pose[2] == pytest.approx(0.0)


def test_a_command_plan_is_held_until_the_next_plan(empty_env):
    plan = CommandPlan(candidates=np.zeros((1, 1, 3), np.float32), scores=np.zeros(1, np.float32), best=0,
                       stop=False, rotate=0, command=np.array([0.3, 0.0]))
    r = run_episode(empty_env, Scripted(plan), EpisodeSpec(0), LoopConfig(max_time=2.0),
                    options={"start": (0.0, 0.0, 0.0), "goal": (3.0, 0.0)})
    assert r["outcome"] == "timeout" and r["path_length"] == pytest.approx(0.6)


@pytest.mark.parametrize("method", ["straight", "dwa", "expert"])
def test_coordinate_contract_in_the_loop_a_goal_on_the_left_turns_the_robot_left(empty_env, method):
    r = run_episode(empty_env, make_loop_planner(method), EpisodeSpec(0), LoopConfig(max_time=1.5),
                    options={"start": (0.0, 0.0, 0.0), "goal": (0.0, 3.0)})
    assert empty_env.unwrapped.pose[2] > 0.5 and not r["collision"]


# ---- NavDP plumbing ---------------------------------------------------------------------------------------
def test_navdp_methods_run_in_the_loop_and_replay_with_the_episode_seed(empty_env, checkpoint):
    from robocritic.navdp.checkpoint import load_model

    model = load_model(checkpoint)
    config = LoopConfig(max_time=3.0)
    for method in ("navdp", "navdp_critic_only", "navdp_first", "navdp_random"):
        a, b = (run_episode(empty_env, make_loop_planner(method, model=model), EpisodeSpec(1), config,
                            method=method, keep_trace=True) for _ in range(2))
        assert without_timing(a) == without_timing(b)
        assert a["plans"] == 12 and a["plan_ms_p50"] > 0
        first = a["trace"]["first_plan"]
        assert np.asarray(first["candidates"]).shape == (TINY.n_candidates, TINY.n_waypoints, 2)
        assert all(s is not None for s in first["scores"]) == (method in ("navdp", "navdp_critic_only"))
    with pytest.raises(ValueError, match="needs a NavDP model"):
        make_loop_planner("navdp")
    with pytest.raises(ValueError, match="unknown"):
        make_loop_planner("teleport")


# ---- the job ------------------------------------------------------------------------------------------
def test_evaluate_writes_paired_episodes_with_the_documented_fields(tmp_path, checkpoint):
    methods = ["straight", "navdp", "navdp_random", "expert"]
    summary = evaluate(methods, [1], tmp_path, checkpoint=checkpoint, episodes_per_world=2, preset="empty",
                       progress=False)
    rows = json.loads((tmp_path / "episodes.json").read_text())
    assert len(rows) == len(methods) * 2
    assert all(set(r) == EPISODE_FIELDS for r in rows)
    assert [r["method"] for r in rows] == [m for m in methods for _ in range(2)]
    for episode in (0, 1):
        same = {(r["seed"], tuple(r["start"]), tuple(r["goal"])) for r in rows if r["episode"] == episode}
        assert len(same) == 1  # every method saw the same start and goal
    assert rows[0]["start"] != rows[1]["start"]
    assert all(r["success"] for r in rows if r["method"] in ("straight", "expert"))
    on_disk = json.loads((tmp_path / "summary.json").read_text())
    assert on_disk == summary
    assert set(summary) == {"env", "preset", "worlds", "episodes_per_world", "checkpoint", "loop", "methods",
                            "wall_s"}
    assert list(summary["methods"]) == methods
    assert all(set(s) == METHOD_FIELDS for s in summary["methods"].values())
    assert summary["methods"]["expert"]["success_rate"] == 1.0
    assert summary["methods"]["expert"]["success_ci95"] == pytest.approx(list(wilson_interval(2, 2)))
    for name in ("rates.png", "plots/world_1_ep0.png", "plots/world_1_ep1.png"):
        assert (tmp_path / name).stat().st_size > 1000


def test_evaluate_refuses_bad_inputs(tmp_path, checkpoint):
    with pytest.raises(ValueError, match="checkpoint"):
        evaluate(["dwa", "navdp"], [1], tmp_path, progress=False)
    with pytest.raises(ValueError, match="unknown"):
        evaluate(["warp"], [1], tmp_path, progress=False)
    with pytest.raises(ValueError, match="worlds"):
        evaluate(["dwa"], [1, 1], tmp_path, progress=False)
    with pytest.raises(ValueError, match="preset"):
        evaluate(["dwa"], [1], tmp_path, preset="maze", progress=False)
    with pytest.raises(ValueError, match="episodes_per_world"):
        evaluate(["dwa"], [1], tmp_path, episodes_per_world=0, progress=False)
    with pytest.raises(CheckpointError):
        evaluate(["navdp"], [1], tmp_path, checkpoint=tmp_path / "missing.pt", progress=False)
    small_config = NavDPConfig(depth_height=16, depth_width=16, patch_size=8, d_model=16, n_layers=1,
                               n_heads=2, n_waypoints=8, n_candidates=4)
    small = save_model(NavDPNet(small_config), tmp_path / "small.pt")
    with pytest.raises(ValueError, match="checkpoint.*16 x 16"):
        evaluate(["navdp"], [1], tmp_path, checkpoint=small, progress=False)
    assert not (tmp_path / "episodes.json").exists()


def test_summarise_counts_rates_and_latency():
    rows = [{"success": s, "collision": c, "stuck": False, "timeout": not (s or c), "spl_euclidean": spl,
             "spl_geodesic": None, "path_length": 4.0, "time_s": 10.0, "plans": 4, "stop_plans": 1}
            for s, c, spl in ((True, False, 0.8), (False, True, 0.0), (False, False, 0.0))]
    out = summarise(rows, [1.0, 2.0, 3.0, 4.0])
    assert out["success"] == 1 and out["success_rate"] == pytest.approx(1 / 3)
    assert out["collision_ci95"] == pytest.approx(list(wilson_interval(1, 3)))
    assert out["spl_euclidean"] == pytest.approx(0.8 / 3) and out["spl_geodesic"] is None
    assert out["stop_plan_rate"] == 0.25 and out["plan_ms_p50"] == 2.5


@pytest.mark.slow
def test_evaluate_with_two_workers_matches_one(tmp_path):
    one = evaluate(["straight", "dwa"], [5000, 5001], tmp_path / "one", progress=False)
    two = evaluate(["straight", "dwa"], [5000, 5001], tmp_path / "two", workers=2, progress=False)
    rows = [json.loads((tmp_path / d / "episodes.json").read_text()) for d in ("one", "two")]
    assert [without_timing(r) for r in rows[0]] == [without_timing(r) for r in rows[1]]
    assert one["methods"]["dwa"]["success"] == two["methods"]["dwa"]["success"]
