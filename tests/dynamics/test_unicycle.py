"""The unicycle model shared by the nav envs, trackers and planners: exact arcs against closed
forms, the batched rollouts against the scalar integrator, the frame transforms, and that the
env's model is this one."""

from __future__ import annotations

import math

import numpy as np
import pytest

from robocritic.dynamics.unicycle import (
    UnicycleModel,
    integrate_unicycle,
    to_robot_frame,
    to_world_frame,
    unicycle_arcs,
    wrap_angle,
)


def test_straight_and_arc_closed_forms():
    assert integrate_unicycle(1.0, 2.0, math.pi / 2, 0.5, 0.0, 2.0) == pytest.approx((1.0, 3.0, math.pi / 2))
    # +omega turns left: a quarter circle of radius 1 m from the origin heading +x ends at (1, 1).
    x, y, yaw = integrate_unicycle(0.0, 0.0, 0.0, 1.0, 1.0, math.pi / 2)
    assert (x, y, yaw) == pytest.approx((1.0, 1.0, math.pi / 2))
    x, y, _ = integrate_unicycle(0.0, 0.0, 0.0, 1.0, -1.0, math.pi / 2)
    assert (x, y) == pytest.approx((1.0, -1.0))
    assert integrate_unicycle(0.0, 0.0, 0.3, 0.0, 2.0, 0.5) == pytest.approx((0.0, 0.0, 1.3))


def test_batched_arcs_match_the_scalar_integrator():
    rng = np.random.default_rng(0)
    v, w = rng.uniform(0, 0.5, 7), np.append(rng.uniform(-1, 1, 6), 0.0)
    times = np.linspace(0.1, 2.0, 20)
    arcs = unicycle_arcs(v, w, times)
    assert arcs.shape == (7, 20, 3)
    for k in range(7):
        for j, t in enumerate(times):
            expected = integrate_unicycle(0.0, 0.0, 0.0, v[k], w[k], t)
            np.testing.assert_allclose(arcs[k, j], expected, atol=1e-12)
    with pytest.raises(ValueError, match="same length"):
        unicycle_arcs(np.ones(2), np.ones(3), times)


def test_frame_transforms_are_inverse_and_follow_the_contract():
    pose = np.array([1.0, 2.0, math.pi / 2])  # facing world +y
    # A point 1 m further along world +y is straight ahead; one at world -x is to the left.
    np.testing.assert_allclose(to_robot_frame(pose, np.array([1.0, 3.0])), [1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(to_robot_frame(pose, np.array([0.0, 2.0])), [0.0, 1.0], atol=1e-12)
    pts = np.random.default_rng(1).normal(size=(5, 4, 2))
    np.testing.assert_allclose(to_world_frame(pose, to_robot_frame(pose, pts)), pts, atol=1e-12)


def test_wrap_angle():
    assert wrap_angle(math.pi) == pytest.approx(-math.pi)
    assert wrap_angle(3 * math.pi / 2) == pytest.approx(-math.pi / 2)
    np.testing.assert_allclose(wrap_angle(np.array([0.1, -7.0])), [0.1, -7.0 + 2 * math.pi])


def test_model_step_jacobians_and_limits():
    model = UnicycleModel(dt=0.1, v_max=0.5, omega_max=1.0, x_limit=4.7, y_limit=4.7)
    x, u = np.array([0.2, -0.1, 0.7]), np.array([0.4, -0.6])
    np.testing.assert_allclose(model.step(x, u), integrate_unicycle(*x, *u, 0.1))
    A, B = model.jacobians(x, u)
    eps = 1e-6
    A_fd = np.stack([(model.f(x + eps * e, u) - model.f(x - eps * e, u)) / (2 * eps) for e in np.eye(3)], 1)
    B_fd = np.stack([(model.f(x, u + eps * e) - model.f(x, u - eps * e)) / (2 * eps) for e in np.eye(2)], 1)
    np.testing.assert_allclose(A, A_fd, atol=1e-8)
    np.testing.assert_allclose(B, B_fd, atol=1e-8)
    np.testing.assert_allclose(model.input_box.high, [0.5, 1.0])
    np.testing.assert_allclose(model.state_box.high[:2], [4.7, 4.7])
    for bad in ({"dt": 0.0}, {"v_max": -1.0}, {"v_min": 0.1}, {"omega_max": float("nan")}):
        with pytest.raises(ValueError, match="UnicycleModel"):
            UnicycleModel(**bad)


def test_the_env_uses_this_model():
    from robocritic.envs.nav import robot

    assert robot.UnicycleModel is UnicycleModel
    assert robot.integrate_unicycle is integrate_unicycle and robot.wrap_angle is wrap_angle
