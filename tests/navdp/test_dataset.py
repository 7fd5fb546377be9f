"""NavDP samples: determinism, shapes and dtypes, the coordinate contract (a straight corridor
goes straight ahead; a mirrored world mirrors y, headings and the depth image), expert
increments that end at the goal, critic labels that match the trajectories, and settings
errors that name the field."""

from __future__ import annotations

import math

import numpy as np
import pytest
from robocritic.envs.nav.sensors import DepthConfig
from robocritic.envs.nav.world import PRESETS, Obstacle, World, generate_world

from robocritic.navdp.dataset import (
    SAMPLE_FIELDS,
    SampleConfig,
    SampleSet,
    expert_increments,
    pair_samples,
    world_samples,
    world_scene,
)
from robocritic.navdp.labels import critic_label, robot_to_world

TINY = SampleConfig(pairs_per_world=2, recovery_per_path=1, n_waypoints=12, n_critic=3, history=2,
                    depth=DepthConfig(height=16, width=24))
EMPTY = PRESETS["empty"]


def corridor() -> World:
    """Two long walls 1.2 m apart along x inside the empty arena."""
    walls = (Obstacle("box", (0.0, 0.65), (3.5, 0.05), 0.0, 1.0, "wall"),
             Obstacle("box", (0.0, -0.65), (3.5, 0.05), 0.0, 1.0, "wall"))
    return World(EMPTY, generate_world(0, EMPTY).obstacles + walls)


@pytest.fixture(scope="module")
def world3() -> SampleSet:
    return world_samples(3, TINY)


def test_samples_are_a_pure_function_of_the_world_seed(world3):
    again = world_samples(3, TINY)
    assert len(world3) > 10 and again.n_paths == world3.n_paths
    for name, arr in world3.arrays().items():
        np.testing.assert_array_equal(getattr(again, name), arr, err_msg=name)
    other = world_samples(4, TINY)
    assert len(other) != len(world3) or not np.array_equal(other.actions, world3.actions)


def test_shapes_dtypes_and_ranges(world3):
    s = len(world3)
    dims = {"T": 2, "H": 16, "W": 24, "N": 12, "M": 3, "3": 3}
    for name, (dtype, shape) in SAMPLE_FIELDS.items():
        arr = getattr(world3, name)
        assert arr.dtype == dtype, name
        assert arr.shape == (s, *(dims[d] for d in shape)), name
    assert (world3.world_seed == 3).all()
    assert (world3.goal[:, 2] == 1.0).all()  # every sample has a goal; the loss makes the no-goal copy
    assert ((world3.depth == 0) | ((world3.depth >= 0.1) & (world3.depth <= 5.0))).all()
    steps = np.linalg.norm(world3.actions[..., :2], axis=-1)
    assert steps.max() <= TINY.step_length + 1e-6
    np.testing.assert_array_equal(world3.critic_actions[:, 0], world3.actions)  # the expert comes first
    assert world3.recovery.any() and (~world3.recovery).any()
    assert world3.hindsight.any() and (~world3.hindsight).any()
    assert world3.n_paths == world3.path_index.max() + 1


def test_expert_increments_end_at_the_goal_and_critic_labels_match_the_trajectories(world3):
    ends = np.cumsum(world3.actions, axis=1)[:, -1, :2]
    padded = (world3.actions[:, -1] == 0).all(axis=-1)
    assert padded.any()
    np.testing.assert_allclose(ends[padded], world3.goal[padded, :2], atol=1e-4)
    world = generate_world(3, TINY.world_spec)
    pose = world3.pose.astype(np.float64)
    tracks = np.cumsum(world3.critic_actions.astype(np.float64), axis=2)[..., :2]  # (S, M, N, 2), robot frame
    labels = np.empty(world3.critic_labels.shape)
    for i in range(len(world3)):
        pts = np.concatenate([np.zeros((TINY.n_critic, 1, 2)), tracks[i]], axis=1)
        labels[i] = critic_label(robot_to_world(pts, pose[i]), world, TINY.label_radius)
    close = np.isclose(labels, world3.critic_labels, atol=1e-3)
    assert close.mean() > 0.98  # float32 poses may move a waypoint across the 0.1 m line
    assert (world3.critic_labels[:, 1:] < world3.critic_labels[:, :1] - 1).any()  # some rotations hit walls


def test_a_straight_corridor_gives_straight_ahead_increments():
    cfg = SampleConfig(heading_noise=0.0, recovery_per_path=0, n_critic=1, hindsight=0.0)
    scene = world_scene(corridor(), cfg.depth)
    s = pair_samples(scene, np.array([-3.0, 0.0]), np.array([3.0, 0.0]), cfg, seed=(0, 0))
    assert 11 <= len(s) <= 12  # every 0.5 m of the ~6 m path, none within 0.5 m of the goal
    moving = np.linalg.norm(s.actions[..., :2], axis=-1) > 0
    assert (s.actions[..., 0][moving] > 0).all()  # forward is +x
    assert np.abs(s.actions[..., 1]).max() < 0.03  # y ~ 0
    assert np.abs(s.actions[..., 2]).max() < 0.2
    assert (s.goal[:, 0] > 0).all()
    # The path leaves the start for the cell centres 2.5 cm off the axis: the first heading is off
    # by a few degrees (expert tests), the later ones are straight.
    assert np.abs(np.arctan2(s.goal[:, 1], s.goal[:, 0])).max() < 0.15
    assert np.abs(s.goal[2:, 1]).max() < 0.03


@pytest.mark.parametrize("seed", [2, 5])
def test_mirroring_the_world_mirrors_y_headings_goal_and_depth(seed):
    cfg = SampleConfig(heading_noise=0.0, recovery_per_path=0, n_critic=2)
    world = generate_world(seed, "default")
    rng = np.random.default_rng(seed)
    cells = np.argwhere(world.esdf >= 0.5)
    while True:
        start, goal = world.grid.centre_of(cells[rng.choice(len(cells), size=2)]) + 0.013
        if np.linalg.norm(start - goal) > 4.0:
            break
    flip = np.array([1.0, -1.0])
    a = pair_samples(world_scene(world), start, goal, cfg, seed=(seed, 0))
    b = pair_samples(world_scene(world.mirrored_y()), start * flip, goal * flip, cfg, seed=(seed, 0))
    assert len(a) == len(b) > 3
    sign = np.array([1.0, -1.0, -1.0])
    np.testing.assert_allclose(b.actions, a.actions * sign, atol=1e-5)
    np.testing.assert_allclose(b.goal, a.goal * [1.0, -1.0, 1.0], atol=1e-5)  # (x, -y, flag)
    np.testing.assert_allclose(b.pose, a.pose * sign, atol=1e-5)
    np.testing.assert_allclose(b.depth, a.depth[..., ::-1], atol=1e-4)  # left and right swap
    np.testing.assert_allclose(b.critic_labels[:, 0], a.critic_labels[:, 0], atol=1e-4)


def test_expert_increments_are_in_the_robot_frame_and_padded_at_the_goal():
    # An L-shaped path: 1 m along +y, then 0.4 m along -x; the robot stands at its start facing +y.
    pts = np.array([[0.0, 0.0], [0.0, 1.0], [-0.4, 1.0]])
    inc, xy = expert_increments(pts, np.array([0.0, 0.0, math.pi / 2]), 0.0, 1.4, 10, 0.2)
    way = np.cumsum(inc, axis=0)
    np.testing.assert_allclose(way[:5, :2], [[0.2 * (k + 1), 0.0] for k in range(5)], atol=1e-9)  # ahead = +x
    np.testing.assert_allclose(way[6:, :2], [[1.0, 0.4]] * 4, atol=1e-9)  # then left (+y), and stay
    np.testing.assert_allclose(inc[7:], 0.0)
    assert way[-1, 2] == pytest.approx(math.pi / 2)  # turned left by 90 deg
    np.testing.assert_allclose(xy[-1], [-0.4, 1.0])


def test_settings_errors_name_the_field_and_round_trip():
    for kwargs, field in (({"n_critic": 0}, "n_critic"), ({"world_spec": "moon"}, "world_spec"),
                          ({"step_length": -0.1}, "step_length"), ({"hindsight": 1.5}, "hindsight")):
        with pytest.raises(ValueError, match=f"SampleConfig.{field}"):
            SampleConfig(**kwargs)
    assert SampleConfig.from_dict(TINY.to_dict()) == TINY
    with pytest.raises(ValueError, match="unknown fields"):
        SampleConfig.from_dict({"n_critics": 3})
    with pytest.raises(ValueError, match="world_seed"):
        world_samples(-1, TINY)
