"""Critic labels: the NavDP formula on hand-computed cases, the expert path scoring above a path
rotated into a wall, seeded rotated negatives, and the robot/world frame changes (including
the mirror contract)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from robocritic.envs.nav.world import PRESETS, Obstacle, World, generate_world

from robocritic.navdp.expert import plan
from robocritic.navdp.labels import (
    MAX_ROTATION,
    critic_label,
    robot_to_world,
    rotate_about_start,
    rotated_negatives,
    world_to_robot,
)

EMPTY = PRESETS["empty"]


class Ramp:
    """Clearance = y (m): a wall along the x axis."""

    def clearance(self, points: np.ndarray) -> np.ndarray:
        return np.asarray(points)[..., 1]


def test_label_formula_by_hand():
    # Five waypoints at y = 0.0, 0.05, 0.2, 0.5, 1.0: two below 0.1 m; clearance gained 1.0 m.
    path = np.array([[0.0, 0.0], [0.1, 0.05], [0.2, 0.2], [0.3, 0.5], [0.4, 1.0]])
    assert critic_label(path, Ramp()) == pytest.approx(-5 * 2 / 5 + 0.5 * 1.0)
    # Moving towards the wall loses clearance; robot_radius shifts the clearance.
    assert critic_label(path[::-1], Ramp()) == pytest.approx(-5 * 2 / 5 - 0.5)
    assert critic_label(path + [0.0, 0.3], Ramp(), robot_radius=0.3) == pytest.approx(-2.0 + 0.5)
    batch = critic_label(np.stack([path, path[::-1]]), Ramp())
    np.testing.assert_allclose(batch, [-1.5, -2.5])
    with pytest.raises(ValueError, match="points must have shape"):
        critic_label(np.zeros((3, 3)), Ramp())


def test_expert_path_scores_above_a_path_rotated_into_a_wall():
    # A corridor along x, 1.4 m wide, cut through solid blocks: the expert runs down its middle;
    # rotating it by 40 deg drives it into the block on its left.
    walls = (Obstacle("box", (0.0, 2.8), (3.5, 2.1), 0.0, 1.0, "wall"),
             Obstacle("box", (0.0, -2.8), (3.5, 2.1), 0.0, 1.0, "wall"))
    world = World(EMPTY, generate_world(0, EMPTY).obstacles + walls)
    expert = plan(world, np.array([-3.0, 0.0]), np.array([2.0, 0.0])).points
    into_wall = rotate_about_start(expert, math.radians(40))
    assert critic_label(expert, world) == pytest.approx(0.0, abs=0.05)
    assert critic_label(into_wall, world) < critic_label(expert, world) - 2.0
    negatives = rotated_negatives(expert, world, np.random.default_rng(0), n=32)
    big = np.abs(negatives.angles) > math.radians(20)
    assert (negatives.labels[big] < critic_label(expert, world) - 1.0).all()


def test_rotated_negatives_are_seeded_rigid_rotations_within_60_degrees():
    world = generate_world(2)
    path = np.stack([np.linspace(-1.0, 1.0, 12), np.linspace(0.5, 1.5, 12)], axis=-1)
    a = rotated_negatives(path, world, np.random.default_rng(5), n=50)
    b = rotated_negatives(path, world, np.random.default_rng(5), n=50)
    np.testing.assert_array_equal(a.points, b.points)
    assert a.points.shape == (50, 12, 2) and a.labels.shape == (50,)
    assert np.abs(a.angles).max() <= MAX_ROTATION and np.abs(a.angles).max() > 0.8 * MAX_ROTATION
    np.testing.assert_array_equal(a.points[:, 0], np.broadcast_to(path[0], (50, 2)))
    seg = np.linalg.norm(np.diff(a.points, axis=1), axis=-1)
    lengths = np.linalg.norm(np.diff(path, axis=0), axis=-1)
    np.testing.assert_allclose(seg, np.broadcast_to(lengths, seg.shape))
    np.testing.assert_allclose(a.labels, [critic_label(p, world) for p in a.points])
    with pytest.raises(ValueError, match="n must be"):
        rotated_negatives(path, world, np.random.default_rng(0), n=0)


def test_rotation_is_counter_clockwise_about_the_start():
    path = np.array([[1.0, 1.0], [2.0, 1.0]])
    np.testing.assert_allclose(rotate_about_start(path, math.pi / 2), [[1.0, 1.0], [1.0, 2.0]], atol=1e-12)


def test_robot_frame_is_x_forward_y_left_and_round_trips():
    pose = np.array([1.0, 1.0, math.pi / 2])  # at (1, 1) facing +y
    np.testing.assert_allclose(world_to_robot(np.array([1.0, 3.0]), pose), [2.0, 0.0], atol=1e-12)  # ahead
    np.testing.assert_allclose(world_to_robot(np.array([0.0, 1.0]), pose), [0.0, 1.0], atol=1e-12)  # left
    np.testing.assert_allclose(world_to_robot(np.array([1.0, 1.0, math.pi]), pose), [0.0, 0.0, math.pi / 2])
    rng = np.random.default_rng(0)
    pts = rng.normal(size=(4, 7, 3))
    pose = np.array([0.3, -2.0, 2.5])
    back = robot_to_world(world_to_robot(pts, pose), pose)
    np.testing.assert_allclose(back[..., :2], pts[..., :2], atol=1e-12)
    np.testing.assert_allclose(np.cos(back[..., 2] - pts[..., 2]), 1.0, atol=1e-12)
    with pytest.raises(ValueError, match="pose must be finite"):
        world_to_robot(pts, np.array([0.0, np.nan, 0.0]))


def test_mirroring_the_world_mirrors_the_robot_frame_path():
    # Mirror y in the world (and the pose's yaw): the robot-frame path has y and heading flipped.
    world = generate_world(3)
    cells = np.argwhere(world.esdf > 0.6)
    start, goal = world.grid.centre_of(cells[[0, -1]]) + 0.011
    pose = np.array([*start, 0.4])
    path = plan(world, start, goal)
    flip = np.array([1.0, -1.0])
    mirrored = plan(world.mirrored_y(), start * flip, goal * flip)
    local = world_to_robot(path.points, pose)
    local_m = world_to_robot(mirrored.points, np.array([*(start * flip), -0.4]))
    np.testing.assert_allclose(local_m, local * flip, atol=1e-6)
    label = critic_label(path.points, world)
    assert critic_label(mirrored.points, world.mirrored_y()) == pytest.approx(label)
