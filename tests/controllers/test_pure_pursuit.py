"""Pure pursuit: analytic commands on straight and circular paths, closed-loop tracking with the
unicycle model, the speed and turn-rate limits, stopping at the path's end, turning in place
toward a target behind, and input validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from robocritic.controllers.pure_pursuit import PurePursuit, PurePursuitConfig

from robocritic.dynamics.unicycle import integrate_unicycle, to_robot_frame


def circle(radius: float, side: float = 1.0, n: int = 400, turns: float = 0.9) -> np.ndarray:
    """Points of a circle through the origin, tangent to +x, centre (0, side * radius)."""
    a = np.linspace(0.0, turns * 2 * math.pi, n)
    return np.stack([radius * np.sin(a), side * radius * (1 - np.cos(a))], axis=-1)


def line(y: float = 0.0, length: float = 5.0) -> np.ndarray:
    return np.stack([np.linspace(0.0, length, 51), np.full(51, y)], axis=-1)


def test_a_straight_path_ahead_goes_straight_at_full_speed():
    cmd = PurePursuit().command(line())
    assert cmd.v == pytest.approx(0.5) and cmd.omega == pytest.approx(0.0)
    assert cmd.curvature == pytest.approx(0.0) and not cmd.done
    np.testing.assert_allclose(cmd.target, [0.4, 0.0])  # the default lookahead


@pytest.mark.parametrize("side", [1.0, -1.0])
def test_on_a_circle_the_command_has_the_circle_s_curvature(side):
    """A circle through the robot, tangent to its heading, is the pure-pursuit arc itself:
    omega / v = 1 / R exactly (positive = left)."""
    cmd = PurePursuit(PurePursuitConfig(lookahead=0.5)).command(circle(1.0, side))
    assert cmd.curvature == pytest.approx(side * 1.0, rel=1e-3)
    assert cmd.v == pytest.approx(0.5) and cmd.omega == pytest.approx(side * 0.5, rel=1e-3)


def test_a_tight_turn_keeps_the_arc_and_slows_down_to_the_turn_rate_limit():
    cmd = PurePursuit(PurePursuitConfig(lookahead=0.3, omega_max=1.0)).command(circle(0.4))
    assert cmd.curvature == pytest.approx(2.5, rel=1e-3)
    assert cmd.omega == pytest.approx(1.0) and cmd.v == pytest.approx(0.4, rel=1e-3)


def test_commands_respect_the_limits_on_random_paths():
    rng = np.random.default_rng(0)
    pp = PurePursuit(PurePursuitConfig(v_max=0.3, omega_max=0.5))
    for _ in range(200):
        path = np.cumsum(rng.normal(0.0, 0.3, size=(rng.integers(1, 12), 2)), axis=0)
        v, omega = pp.act(path)
        assert 0.0 <= v <= 0.3 + 1e-12 and abs(omega) <= 0.5 + 1e-12


def track(path_world: np.ndarray, pose: np.ndarray, steps: int, pp: PurePursuit, dt: float = 0.1,
          ) -> tuple[np.ndarray, list]:
    poses, cmds = [pose.copy()], []
    for _ in range(steps):
        cmd = pp.command(to_robot_frame(pose, path_world))
        cmds.append(cmd)
        pose = np.array(integrate_unicycle(*pose, cmd.v, cmd.omega, dt))
        poses.append(pose)
    return np.array(poses), cmds


def test_closed_loop_follows_a_circle_and_converges_onto_a_line():
    poses, _ = track(circle(1.0, turns=1.2, n=600), np.zeros(3), 100, PurePursuit())
    radial = np.hypot(poses[:, 0], poses[:, 1] - 1.0)
    assert np.abs(radial - 1.0).max() < 0.01
    # Start 0.5 m to the right of a line along +x: converge onto it without overshooting far.
    poses, _ = track(line(0.0, 8.0), np.array([0.0, -0.5, 0.0]), 120, PurePursuit())
    assert abs(poses[-1, 1]) < 0.01 and poses[:, 1].max() < 0.1


def test_stops_at_the_end_of_the_path():
    pp = PurePursuit()
    poses, cmds = track(line(0.0, 1.5), np.zeros(3), 80, pp)
    assert cmds[-1].done and cmds[-1].v == 0.0 and cmds[-1].omega == 0.0
    assert abs(poses[-1, 0] - 1.5) <= pp.config.goal_tolerance + 1e-9
    assert poses[:, 0].max() <= 1.5 + 1e-9  # never beyond the end
    cmd = pp.command(np.array([[0.05, 0.0]]))
    assert cmd.done and cmd.action.tolist() == [0.0, 0.0]


def test_a_target_behind_is_turned_to_in_place():
    pp = PurePursuit()
    cmd = pp.command(np.array([[-1.0, -0.1], [-2.0, -0.2]]))
    assert cmd.v == 0.0 and cmd.omega == pytest.approx(-1.0)  # behind, slightly right: turn right
    cmd = pp.command(np.array([[0.0, 1.0]]))  # straight left: turn left (+omega)
    assert cmd.v == 0.0 and cmd.omega > 0


def test_input_and_config_validation():
    pp = PurePursuit()
    for bad in (np.zeros((0, 2)), np.zeros((3, 4)), np.zeros(3), np.array([[np.nan, 0.0]])):
        with pytest.raises(ValueError, match="path"):
            pp.act(bad)
    assert pp.act(np.zeros((4, 3)) + [1.0, 0.0, 0.3]).shape == (2,)  # (N, 3): heading ignored
    for bad in ({"lookahead": 0.0}, {"v_max": -1.0}, {"min_speed": 0.9}, {"rotate_angle": 4.0}):
        with pytest.raises(ValueError, match="PurePursuitConfig"):
            PurePursuitConfig(**bad)
