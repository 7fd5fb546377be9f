"""Baseline local planners: the depth costmap (back-projection, memory, distances), straight-to-goal
with its emergency stop, DWA, the privileged expert as a planner, the coordinate contract (a goal
on the left turns the robot left), and closed-loop quality on small seeded and hand-built worlds."""

from __future__ import annotations

import math

import numpy as np
import pytest
from robocritic.controllers.pure_pursuit import PurePursuit
from robocritic.envs.nav.world import PRESETS, Obstacle, World, generate_world

from robocritic.navdp.local_planners import (
    DepthProjector,
    DWAPlanner,
    ExpertPlanner,
    LocalCostmap,
    PointMemory,
    StraightToGoal,
    stop_plan,
)
from robocritic.navdp.evaluate import EpisodeSpec, LoopConfig, make_env, make_loop_planner, run_episode

EMPTY = PRESETS["empty"]
WALLS = generate_world(0, EMPTY).obstacles


def world_with(*obstacles: Obstacle) -> World:
    return World(EMPTY, WALLS + obstacles)


def box(x: float, y: float, hx: float, hy: float, height: float = 0.8) -> Obstacle:
    return Obstacle("box", (x, y), (hx, hy), 0.0, height, "box")


@pytest.fixture(scope="module")
def empty_env():
    env = make_env("empty")
    yield env
    env.close()


def depth_at(env, start, goal=(0.0, 0.0)) -> dict:
    obs, _ = env.reset(seed=0, options={"start": start, "goal": goal})
    return obs


# ---- costmap -------------------------------------------------------------------------------------
def test_depth_projector_puts_a_wall_at_its_distance_and_drops_the_floor(empty_env):
    obs = depth_at(empty_env, (3.9, 0.0, 0.0), (0.0, 0.0))  # the +x wall's face is 1.0 m ahead
    pts = DepthProjector().points(obs["depth"])
    assert len(pts) > 20
    np.testing.assert_allclose(pts[:, 0], 1.0, atol=0.02)  # no floor points (they would be nearer)
    assert pts[:, 1].min() < -0.8 and pts[:, 1].max() > 0.8  # spans the 90 deg view
    with pytest.raises(ValueError, match="depth"):
        DepthProjector().points(np.zeros((4, 4)))


def test_point_memory_keeps_points_fixed_in_the_odometry_frame():
    memory = PointMemory(frames=3, resolution=0.0)
    memory.update(np.array([[1.0, 0.0]]), np.array([0.0, 0.0, 0.0]))
    # The robot moved 0.5 m forward and turned left 90 deg: the old point is now 0.5 m to its right.
    pts = memory.update(np.zeros((0, 2)), np.array([0.5, 0.0, math.pi / 2]))
    np.testing.assert_allclose(pts, [[0.0, -0.5]], atol=1e-12)
    assert len(memory.update(np.zeros((0, 2)), None)) == 0  # no pose: no memory


def test_local_costmap_distances():
    cm = LocalCostmap(np.array([[1.0, 0.0], [0.0, -2.0]]), max_distance=1.5)
    queries = np.array([[0.0, 0.0], [1.0, 0.5], [-3.0, 3.0]])
    np.testing.assert_allclose(cm.clearance(queries), [1.0, 0.5, np.inf])
    assert np.isinf(LocalCostmap(np.zeros((0, 2))).clearance(np.zeros((2, 3, 2)))).all()


# ---- planners --------------------------------------------------------------------------------------
def test_straight_goes_for_the_goal_and_stops_in_front_of_a_wall(empty_env):
    planner = StraightToGoal()
    far = depth_at(empty_env, (0.0, 0.0, 0.0))
    plan = planner.plan(far["depth"], (2.0, 0.0))
    assert not plan.stop and plan.candidates.shape == (1, 20, 3)
    np.testing.assert_allclose(plan.path[-1, :2], [2.0, 0.0], atol=1e-6)
    near = depth_at(empty_env, (4.3, 0.0, 0.0))  # wall 0.6 m ahead: 0.4 m in front of the base
    assert not planner.plan(near["depth"], (2.0, 0.0)).stop  # beyond stop_distance (0.3 m)
    nearer = depth_at(empty_env, (4.45, 0.0, 0.0))  # 0.25 m in front of the base
    plan = planner.plan(nearer["depth"], (2.0, 0.0))
    assert plan.stop and plan.rotate == 0
    assert not planner.plan(nearer["depth"], (0.0, 2.0)).stop  # goal to the side: turning is safe


def test_dwa_heads_for_the_goal_in_free_space_and_avoids_a_wall(empty_env):
    planner = DWAPlanner()
    free = depth_at(empty_env, (0.0, 0.0, 0.0))
    plan = planner.plan(free["depth"], (3.0, 0.0))
    v, w = planner.window()
    assert not plan.stop and v[plan.best] == pytest.approx(0.5) and w[plan.best] == pytest.approx(0.0)
    assert plan.candidates.shape == (len(v), planner.config.steps, 3)
    # A wall 0.8 m ahead and the goal beyond it: no chosen arc comes within the rejection clearance.
    planner.reset()
    wall = depth_at(empty_env, (4.1, 0.0, 0.0))
    plan = planner.plan(wall["depth"], (5.0, 0.5))
    limit = planner.config.robot_radius + planner.config.safety_margin
    if not plan.stop:
        assert planner.last_costmap.clearance(plan.path[:, :2].astype(float)).min() >= limit
    assert np.isneginf(plan.scores).any()  # the arcs into the wall are rejected


@pytest.mark.parametrize("side", [1.0, -1.0])
def test_coordinate_contract_a_goal_on_the_left_turns_left(empty_env, side):
    """Robot at the origin facing +x, goal 2.5 m to its left (+y; right for side = -1): every
    method's first command turns it that way (+omega = left)."""
    obs = depth_at(empty_env, (0.0, 0.0, 0.0), (0.0, 2.5 * side))
    np.testing.assert_allclose(obs["goal"], [0.0, 2.5 * side], atol=1e-5)
    tracker = PurePursuit()
    world = empty_env.unwrapped.world
    plans = {
        "straight": StraightToGoal().plan(obs["depth"], obs["goal"]),
        "dwa": DWAPlanner().plan(obs["depth"], obs["goal"]),
        "expert": ExpertPlanner(world, np.array([0.0, 2.5 * side])).plan(np.zeros(3)),
    }
    for name, plan in plans.items():
        omega = plan.rotate * 0.5 if plan.stop else tracker.act(plan.path)[1]
        assert np.sign(omega) == side, name


def test_expert_planner_gives_the_path_in_the_robot_frame():
    world = world_with(box(0.0, 0.0, 0.5, 1.5))
    planner = ExpertPlanner(world, np.array([3.0, 0.0]), horizon=2.0)
    plan = planner.plan(np.array([-3.0, 0.0, math.pi]))  # facing away from the goal
    path = plan.path[:, :2].astype(float)
    assert not plan.stop and plan.candidates.shape[0] == 1
    assert np.linalg.norm(np.diff(np.vstack([[0.0, 0.0], path]), axis=0), axis=1).sum() <= 2.0 + 0.11
    assert path[-1, 0] < 0  # the goal is behind the robot: the path starts backwards
    assert planner.plan(np.array([0.0, 0.0, 0.0])).stop  # inside the box: no path, turn in place
    assert stop_plan(-1).rotate == -1 and stop_plan().path.shape == (1, 3)


# ---- closed loop -------------------------------------------------------------------------------------
def test_the_expert_reaches_the_goal_in_seeded_worlds():
    env = make_env("default")
    try:
        planner = make_loop_planner("expert")
        for world_seed in (5000, 5001, 5003):
            r = run_episode(env, planner, EpisodeSpec(world_seed), method="expert")
            assert r["success"] and not r["collision"], (world_seed, r["outcome"])
            assert r["spl_geodesic"] > 0.8
    finally:
        env.close()


def test_straight_succeeds_in_an_empty_world_and_stops_in_front_of_a_wall(empty_env):
    planner = make_loop_planner("straight")
    r = run_episode(empty_env, planner, EpisodeSpec(0), method="straight")
    assert r["success"] and r["spl_euclidean"] > 0.9
    env = make_env("empty", LoopConfig(), world=world_with(box(2.0, 0.0, 0.1, 2.0)))
    try:
        options = {"start": (0.0, 0.0, 0.0), "goal": (4.0, 0.0)}
        r = run_episode(env, planner, EpisodeSpec(0), LoopConfig(stuck_time=3.0), options=options,
                        keep_trace=True)
        assert r["outcome"] == "stuck" and not r["collision"]
        x_end = r["trace"]["xy"][-1][0]
        assert 1.9 - 0.2 - 0.35 < x_end < 1.9 - 0.2  # stopped before the wall's face (x = 1.9)
    finally:
        env.close()


def test_dwa_goes_around_a_box_where_straight_stops_and_crosses_easy_clutter():
    one_box = world_with(box(1.5, 0.0, 0.35, 0.35))
    options = {"start": (0.0, 0.0, 0.0), "goal": (3.5, 0.0)}
    env = make_env("empty", LoopConfig(), world=one_box)
    try:
        straight = run_episode(env, make_loop_planner("straight"), EpisodeSpec(0), LoopConfig(stuck_time=3.0),
                               options=options)
        assert straight["outcome"] == "stuck" and not straight["collision"]
        dwa = run_episode(env, make_loop_planner("dwa"), EpisodeSpec(0), options=options)
        assert dwa["success"] and not dwa["collision"] and dwa["min_clearance"] > 0.2
    finally:
        env.close()
    clutter = world_with(box(-1.5, 0.3, 0.3, 0.3), box(0.0, -0.8, 0.3, 0.3),
                         Obstacle("cylinder", (1.5, 0.6), (0.3, 0.3), 0.0, 1.0, "cylinder"),
                         box(2.6, -0.9, 0.3, 0.3))
    env = make_env("empty", LoopConfig(), world=clutter)
    try:
        r = run_episode(env, make_loop_planner("dwa"), EpisodeSpec(0),
                        options={"start": (-3.5, 0.0, 0.0), "goal": (3.5, 0.0)})
        assert r["success"] and not r["collision"], r["outcome"]
    finally:
        env.close()
    env = make_env("default")
    try:
        r = run_episode(env, make_loop_planner("dwa"), EpisodeSpec(5000))
        assert r["success"] and not r["collision"], r["outcome"]
    finally:
        env.close()
