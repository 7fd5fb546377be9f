"""Ray-cast depth and scan against analytic cases: a wall at a known distance, the floor, a low
obstacle under the scan plane, the valid range, seeded noise and dropout, config validation."""

from __future__ import annotations

import math

import mujoco
import numpy as np
import pytest
from robocritic.envs.nav.robot import RobotSpec
from robocritic.envs.nav.sensors import DepthConfig, RayCaster, ScanConfig
from robocritic.envs.nav.world import PRESETS, Obstacle, World, generate_world

EMPTY = PRESETS["empty"]
WALL = 4.9  # inner face of the perimeter walls of the 10 m arena, |x| or |y|, m


def caster(*obstacles: Obstacle, depth: DepthConfig | None = None, scan: ScanConfig | None = None,
           pose: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> RayCaster:
    world = World(EMPTY, generate_world(0, EMPTY).obstacles + obstacles)
    model = mujoco.MjModel.from_xml_string(world.mjcf(bodies=RobotSpec().mjcf()))
    data = mujoco.MjData(model)
    data.qpos[:3] = pose
    mujoco.mj_kinematics(model, data)
    return RayCaster(model, data, model.body("robot").id, depth or DepthConfig(), scan or ScanConfig())


def test_a_wall_ahead_reads_its_distance_at_every_wall_pixel():
    cfg = DepthConfig()  # 48 x 64, 90 deg, camera 0.15 m ahead of the centre, 0.35 m up
    img = caster().depth(np.zeros(3))
    assert img.shape == (48, 64) and img.dtype == np.float32
    expected = WALL - cfg.position[0]
    np.testing.assert_allclose(img[23:25, 31:33], expected, rtol=1e-6)  # centre pixels
    # Every pixel that sees the wall (between the floor and the 1 m wall top) reads the same z-depth.
    f, cy = cfg.focal, 0.5 * (cfg.height - 1)
    rows = np.arange(cfg.height)
    height_at_wall = cfg.position[1] - (rows - cy) / f * expected
    on_wall = (height_at_wall > 0.01) & (height_at_wall < 0.99)
    np.testing.assert_allclose(img[on_wall][:, 20:44], expected, rtol=1e-6)
    # Below: the floor at z-depth h f / (row - cy); above the wall: nothing (0).
    assert float(img[47, 32]) == pytest.approx(cfg.position[1] * f / (47 - cy), rel=1e-6)
    assert (img[0] == 0).all()


def test_turning_the_robot_turns_the_view():
    left = caster(pose=(0.0, 0.0, math.pi / 2)).depth(np.array([0.0, 0.0, math.pi / 2]))
    np.testing.assert_allclose(left[23:25, 31:33], WALL - 0.15, rtol=1e-6)
    # An obstacle on the robot's left (+y) appears in the left half of the image (column < 32).
    box = Obstacle("box", (2.0, 1.2), (0.2, 0.2), 0.0, 1.0, "box")
    img = caster(box).depth(np.zeros(3))
    near = img[20:28] < 2.5
    cols = np.flatnonzero(near.any(axis=0))
    assert cols.size > 0 and cols.max() < 32


def test_out_of_range_reads_zero():
    img = caster().depth(np.array([-4.0, 0.0, 0.0]))  # wall 8.75 m ahead, beyond 5 m
    assert (img[23:25, 31:33] == 0).all()
    close = caster().depth(np.array([4.6, 0.0, 0.0]))  # camera 0.15 m from the wall
    assert float(close[24, 32]) == pytest.approx(0.15, rel=1e-6)
    closer = caster(depth=DepthConfig(range=(0.2, 5.0))).depth(np.array([4.6, 0.0, 0.0]))
    assert (closer[20:28, 28:36] == 0).all()


def test_scan_beams_read_the_walls_and_pass_over_low_obstacles():
    cfg = ScanConfig()  # 64 beams over 360 deg, beam 32 forward, 0.25 m high
    angles = cfg.angles()
    assert angles[32] == 0.0 and angles[48] == pytest.approx(math.pi / 2) and angles[0] == -math.pi
    low = Obstacle("box", (1.75, 0.0), (0.25, 0.4), 0.0, 0.1, "low")  # face at x = 1.5, 0.1 m high
    rc = caster(low)
    scan = rc.scan(np.array([0.0, 0.0, 0.0]))
    assert scan.shape == (64,) and scan.dtype == np.float32
    assert float(scan[32]) == pytest.approx(WALL, rel=1e-6)  # over the low box
    assert float(scan[48]) == pytest.approx(WALL, rel=1e-6)
    assert float(scan[16]) == pytest.approx(WALL, rel=1e-6)
    diagonal = WALL * math.sqrt(2)  # beyond 5 m: 0
    assert float(scan[40]) == 0.0 and diagonal > 5.0
    # The depth camera sees the low box: rows 30-31 hit its face (z-depth 1.35), not the floor.
    img = rc.depth(np.zeros(3))
    np.testing.assert_allclose(img[30:32, 31:33], 1.5 - 0.15, rtol=1e-6)
    free = caster().depth(np.zeros(3))
    assert float(free[30, 32]) > 1.4
    scan_moved = caster().scan(np.array([1.0, 0.0, 0.0]))
    assert float(scan_moved[32]) == pytest.approx(WALL - 1.0, rel=1e-6)
    assert float(scan_moved[0]) == 0.0  # 5.9 m behind: out of range


def test_the_robot_does_not_see_itself():
    rc = caster(depth=DepthConfig(position=(0.0, 0.2)))  # camera inside the base cylinder
    assert float(rc.depth(np.zeros(3))[24, 32]) == pytest.approx(WALL, rel=1e-6)


def test_noise_and_dropout_are_seeded():
    cfg = DepthConfig(noise_std=0.05, dropout=0.2)
    rc = caster(depth=cfg, scan=ScanConfig(noise_std=0.05, dropout=0.2))
    a = rc.depth(np.zeros(3), np.random.default_rng(3))
    b = rc.depth(np.zeros(3), np.random.default_rng(3))
    c = rc.depth(np.zeros(3), np.random.default_rng(4))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    clean = caster().depth(np.zeros(3))
    valid = (clean > 0) & (a > 0)
    assert 0.1 < np.mean((a == 0) & (clean > 0)) / np.mean(clean > 0) < 0.3
    assert np.std(a[valid] - clean[valid]) == pytest.approx(0.05, rel=0.15)
    assert ((a == 0) | ((a >= 0.1) & (a <= 5.0))).all()
    np.testing.assert_array_equal(rc.scan(np.zeros(3), np.random.default_rng(1)),
                                  rc.scan(np.zeros(3), np.random.default_rng(1)))
    with pytest.raises(ValueError, match="rng"):
        rc.depth(np.zeros(3))


@pytest.mark.parametrize(
    "cls, changes, field",
    [
        (DepthConfig, {"height": 0}, "height"),
        (DepthConfig, {"hfov": math.pi}, "hfov"),
        (DepthConfig, {"range": (0.5, 0.1)}, "range"),
        (DepthConfig, {"noise_std": -0.1}, "noise_std"),
        (DepthConfig, {"dropout": 1.0}, "dropout"),
        (DepthConfig, {"position": (0.0, float("nan"))}, "position"),
        (ScanConfig, {"n_beams": 0}, "n_beams"),
        (ScanConfig, {"fov": 7.0}, "fov"),
    ],
)
def test_bad_sensor_configs_name_the_field(cls, changes, field):
    with pytest.raises(ValueError, match=rf"{cls.__name__}\.{field}"):
        cls(**changes)


def test_a_partial_scan_spans_its_fov():
    angles = ScanConfig(n_beams=5, fov=math.pi).angles()
    np.testing.assert_allclose(angles, np.linspace(-math.pi / 2, math.pi / 2, 5))
