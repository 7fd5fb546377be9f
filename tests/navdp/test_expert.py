"""The privileged expert: collision-free paths from the start to the goal with falling
cost-to-go, one solve for many starts, the coordinate contract (a straight corridor, a mirrored
world), recovery starts, errors naming the argument, and the solve time."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from robocritic.envs.nav.world import PRESETS, Obstacle, World, WorldSpec, generate_world

from robocritic.navdp.expert import (
    ExpertConfig,
    clearance_weights,
    extract_path,
    plan,
    recovery_starts,
    resample_path,
    solve_cost_to_go,
)
from robocritic.navdp.labels import world_to_robot

EMPTY = PRESETS["empty"]
CONFIG = ExpertConfig()


def walled(*obstacles: Obstacle) -> World:
    return World(EMPTY, generate_world(0, EMPTY).obstacles + obstacles)


def free_pair(world: World, seed: int, min_distance: float = 5.0) -> tuple[np.ndarray, np.ndarray]:
    """A start and goal in open space (ESDF >= 0.5 m), at least ``min_distance`` m apart."""
    rng = np.random.default_rng(seed)
    cells = np.argwhere(world.esdf >= 0.5)
    while True:
        a, b = world.grid.centre_of(cells[rng.choice(len(cells), size=2)]) + 0.013
        if np.linalg.norm(a - b) >= min_distance:
            return a, b


def assert_collision_free(world: World, points: np.ndarray, radius: float) -> None:
    """The robot's disc at every waypoint and densely along every segment clears every obstacle."""
    dense = resample_path(points, 0.01)
    assert float(world.signed_distance(dense).min()) >= radius


@pytest.mark.parametrize("preset, seed", [("default", 0), ("default", 1), ("dense", 2)])
def test_expert_path_is_collision_free_from_start_to_goal_with_falling_cost(preset, seed):
    world = generate_world(seed, preset)
    start, goal = free_pair(world, seed)
    ctg = solve_cost_to_go(world, goal)
    path = extract_path(ctg, world, start)
    np.testing.assert_array_equal(path.points[0], start)
    np.testing.assert_array_equal(path.points[-1], goal)
    assert_collision_free(world, path.points, CONFIG.robot_radius)
    assert (path.clearance >= CONFIG.robot_radius).all()
    assert np.all(np.diff(path.cell_cost) < 0) and path.cell_cost[-1] == 0.0  # strict descent
    # Smoothing and resampling keep the cost-to-go falling (to within one cell's worth).
    assert np.all(np.diff(path.cost_to_go) <= 2 * world.grid.resolution)
    assert path.cost_to_go[-1] <= path.cost_to_go[0] - 0.5 * np.linalg.norm(goal - start)
    steps = np.linalg.norm(np.diff(path.points, axis=0), axis=1)
    # Spacing is arc length along the smoothed curve: chords are at most that, and close to it.
    assert (steps <= CONFIG.spacing + 1e-9).all() and steps[-1] > 0
    assert np.median(steps[:-1]) == pytest.approx(CONFIG.spacing, rel=1e-3)
    assert path.length >= np.linalg.norm(goal - start) - 1e-9
    np.testing.assert_allclose(path.yaw[:-1], np.arctan2(*np.diff(path.points, axis=0)[:, ::-1].T))


def test_one_solve_serves_every_start():
    world = generate_world(4)
    _, goal = free_pair(world, 4)
    ctg = solve_cost_to_go(world, goal)
    cells = np.argwhere(np.isfinite(ctg.cost))
    rng = np.random.default_rng(0)
    for cell in cells[rng.choice(len(cells), size=10)]:
        p = extract_path(ctg, world, world.grid.centre_of(cell))
        np.testing.assert_array_equal(p.points[-1], goal)
        assert p.cell_cost[0] == ctg.cost[cell[0], cell[1]]
    assert ctg.value(goal) == 0.0


def test_a_straight_corridor_gives_a_straight_path_ahead():
    # Two long walls 1.2 m apart along x: the path from (-3, 0) to (3, 0) runs down the middle.
    world = walled(Obstacle("box", (0.0, 0.65), (3.5, 0.05), 0.0, 1.0, "wall"),
                   Obstacle("box", (0.0, -0.65), (3.5, 0.05), 0.0, 1.0, "wall"))
    path = plan(world, np.array([-3.0, 0.0]), np.array([3.0, 0.0]))
    local = world_to_robot(path.points, np.array([-3.0, 0.0, 0.0]))
    assert (np.diff(local[:, 0]) > 0).all()  # always forward: x > 0 in the robot frame
    assert np.abs(local[:, 1]).max() < 0.03  # y ~ 0
    # Cell centres lie 2.5 cm off the corridor's axis: the path leaves and rejoins the axis gently.
    np.testing.assert_allclose(path.yaw, 0.0, atol=0.2)
    assert np.abs(path.yaw[10:-10]).max() < 1e-3


@pytest.mark.parametrize("seed", [3, 5, 8])
def test_mirroring_the_world_mirrors_the_path(seed):
    world = generate_world(seed, "default")
    mirror = world.mirrored_y()
    start, goal = free_pair(world, seed)
    flip = np.array([1.0, -1.0])
    path = plan(world, start, goal)
    mirrored = plan(mirror, start * flip, goal * flip)
    assert mirrored.points.shape == path.points.shape
    np.testing.assert_allclose(mirrored.points, path.points * flip, atol=1e-6)
    np.testing.assert_allclose(mirrored.yaw[:-1], -path.yaw[:-1], atol=1e-6)


def test_clearance_weighting_keeps_paths_away_from_obstacles():
    # A cylinder between start and goal: weighted paths give it more room than plain shortest paths.
    world = walled(Obstacle("cylinder", (0.0, 0.05), (0.6, 0.6), 0.0, 1.0, "cylinder"))
    start, goal = np.array([-3.0, 0.0]), np.array([3.0, 0.0])
    plain = plan(world, start, goal, ExpertConfig(clearance_gain=0.0, smoothing=0.0))
    weighted = plan(world, start, goal)
    assert weighted.clearance.min() > plain.clearance.min() + 0.1
    assert plain.clearance.min() >= CONFIG.blocking_clearance - 0.5 * world.grid.resolution
    w = clearance_weights(world.esdf, CONFIG)
    assert np.isinf(w[world.esdf < CONFIG.blocking_clearance]).all()
    assert (w[world.esdf >= CONFIG.blocking_clearance + CONFIG.clearance_range] == 1.0).all()


def test_recovery_starts_are_off_path_collision_free_and_relabelled():
    world = generate_world(6)
    start, goal = free_pair(world, 6)
    ctg = solve_cost_to_go(world, goal)
    path = extract_path(ctg, world, start)
    a = recovery_starts(world, ctg, path, 8, np.random.default_rng(1))
    b = recovery_starts(world, ctg, path, 8, np.random.default_rng(1))
    assert 4 <= len(a) <= 8
    assert [r.pose.tolist() for r in a] == [r.pose.tolist() for r in b]
    for r in a:
        assert 0.2 <= abs(r.offset) <= 0.6 and abs(r.yaw_error) <= 0.6
        ref = path.points[r.index]
        assert np.linalg.norm(r.pose[:2] - ref) == pytest.approx(abs(r.offset))
        # Left of the path for a positive offset.
        side = world_to_robot(r.pose[None, :2], np.array([*ref, path.yaw[r.index]]))[0, 1]
        assert np.sign(side) == np.sign(r.offset)
        assert float(world.signed_distance(r.pose[:2])) >= CONFIG.robot_radius
        np.testing.assert_array_equal(r.path.points[0], r.pose[:2])
        np.testing.assert_array_equal(r.path.points[-1], goal)
        assert np.all(np.diff(r.path.cell_cost) < 0)
        assert np.linalg.norm(goal - ref) > 0.0
    assert recovery_starts(world, ctg, path, 0, np.random.default_rng(0)) == ()


def test_errors_name_the_argument():
    # A closed box room: its inside cannot reach the outside.
    room = tuple(Obstacle("box", c, h, 0.0, 1.0, "wall") for c, h in (
        ((3.0, 2.0), (1.05, 0.05)), ((3.0, 4.0), (1.05, 0.05)),
        ((2.0, 3.0), (0.05, 1.05)), ((4.0, 3.0), (0.05, 1.05))))
    world = walled(*room)
    ctg = solve_cost_to_go(world, np.array([-3.0, -3.0]))
    with pytest.raises(ValueError, match="start cannot reach the goal"):
        extract_path(ctg, world, np.array([3.0, 3.0]))
    with pytest.raises(ValueError, match="start must be finite"):
        extract_path(ctg, world, np.array([np.nan, 0.0]))
    with pytest.raises(ValueError, match="goal has no free cell"):
        solve_cost_to_go(world, np.array([4.0, 3.0]))
    with pytest.raises(ValueError, match="goal must lie on the world's grid"):
        solve_cost_to_go(world, np.array([8.0, 0.0]))
    with pytest.raises(ValueError, match=r"ExpertConfig\.spacing"):
        ExpertConfig(spacing=0.0)
    with pytest.raises(ValueError, match=r"ExpertConfig\.robot_radius"):
        ExpertConfig(robot_radius=-0.2)


def test_a_start_within_the_safety_margin_snaps_onto_the_graph():
    world = walled()
    ctg = solve_cost_to_go(world, np.array([0.0, 0.0]))
    start = np.array([4.68, 0.0])  # 0.22 m from the wall: inside the 0.25 m blocking clearance
    path = extract_path(ctg, world, start)
    np.testing.assert_array_equal(path.points[0], start)
    assert np.isfinite(ctg.value(start)) and np.isfinite(path.cost_to_go).all()


def test_a_240_by_240_solve_takes_well_under_a_second():
    world = generate_world(1, WorldSpec(arena_size=(12.0, 12.0)))
    assert world.grid.shape == (240, 240)
    world.esdf  # noqa: B018 - the grid is built once per world, outside the solve
    _, goal = free_pair(world, 1)
    t0 = time.perf_counter()
    solve_cost_to_go(world, goal)
    assert time.perf_counter() - t0 < 0.5
    assert math.isfinite(world.grid.resolution)


def test_the_expert_reaches_every_goal_the_env_draws():
    """The env checks reachability on the expert's graph: every drawn start/goal pair plans."""
    import gymnasium as gym

    env = gym.make("robocritic/NavPointGoal-v0", world_spec="dense")
    try:
        for seed in range(5):
            _, info = env.reset(seed=seed)
            world = env.unwrapped.world
            path = plan(world, info["pose"][:2], info["goal"])
            assert path.length >= info["distance_to_goal"] - 1e-9
            assert path.length == pytest.approx(info["geodesic_distance"], rel=0.25)
            assert_collision_free(world, path.points, CONFIG.robot_radius)
    finally:
        env.close()
