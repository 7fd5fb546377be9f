"""Unit tests for robocritic.controllers.lqr: Riccati gain, discounting, saturated controller."""

from __future__ import annotations

import numpy as np
import pytest
from robocritic.controllers import LQRController, dlqr
from robocritic.controllers.lqr import check_weight

from robocritic.dynamics import Box, LinearModel, PendulumModel
from robocritic.interfaces import Controller


@pytest.fixture(scope="module")
def pendulum() -> LinearModel:
    return PendulumModel().linearize()


def test_scalar_case_matches_hand_derivation() -> None:
    # a=2, b=q=r=1: p = q + a^2 p - a^2 b^2 p^2 / (r + b^2 p)  <=>  p^2 - 4p - 1 = 0.
    K, P = dlqr(2.0, 1.0, 1.0, 1.0)
    p = 2.0 + np.sqrt(5.0)
    assert P.shape == (1, 1) and K.shape == (1, 1)
    assert P[0, 0] == pytest.approx(p, abs=1e-12)
    assert K[0, 0] == pytest.approx(2.0 * p / (1.0 + p), abs=1e-12)
    assert abs(2.0 - K[0, 0]) == pytest.approx(2.0 / (3.0 + np.sqrt(5.0)), abs=1e-12)


def test_scalar_discounted_case() -> None:
    # With discount g the scalar equation is b^2 g p^2 + (r - g a^2 r - q g b^2) p - q r = 0.
    a, b, q, r, g = 1.5, 0.5, 2.0, 0.3, 0.9
    c2, c1, c0 = b**2 * g, r - g * a**2 * r - q * g * b**2, -q * r
    p = (-c1 + np.sqrt(c1**2 - 4 * c2 * c0)) / (2 * c2)
    K, P = dlqr(a, b, q, r, discount=g)
    assert P[0, 0] == pytest.approx(p, rel=1e-12)
    assert K[0, 0] == pytest.approx(g * a * b * p / (r + g * b**2 * p), rel=1e-12)


def test_pendulum_closed_loop_is_stable(pendulum: LinearModel) -> None:
    A, B = pendulum.A, pendulum.B
    np.testing.assert_allclose(A, [[1.0188, 0.0503], [0.7547, 1.0188]], atol=5e-5)
    np.testing.assert_allclose(B.ravel(), [0.0038, 0.1509], atol=5e-5)
    K, P = dlqr(A, B, np.eye(2), 0.001)
    assert K.shape == (1, 2) and P.shape == (2, 2)
    assert np.max(np.abs(np.linalg.eigvals(A - B @ K))) < 1.0
    assert np.all(np.linalg.eigvalsh(P) > 0)
    x0 = np.array([0.3, -1.0])
    x = x0
    for _ in range(200):  # 10 s at dt = 0.05; the slowest closed-loop mode is ~0.95 per step
        x = (A - B @ K) @ x
    assert np.linalg.norm(x) < 1e-3 * np.linalg.norm(x0)


def test_discounted_riccati_fixed_point(pendulum: LinearModel) -> None:
    A, B, Q, R, g = pendulum.A, pendulum.B, np.eye(2), np.array([[0.001]]), 0.99
    K, P = dlqr(A, B, Q, R, discount=g)
    S = R + g * B.T @ P @ B
    rhs = Q + g * A.T @ P @ A - g**2 * A.T @ P @ B @ np.linalg.solve(S, B.T @ P @ A)
    assert np.max(np.abs(P - rhs)) <= 1e-10
    np.testing.assert_allclose(K, g * np.linalg.solve(S, B.T @ P @ A), atol=1e-12)
    # The undiscounted P is not a fixed point of the discounted equation: the discount is applied.
    _, P1 = dlqr(A, B, Q, R)
    rhs1 = Q + g * A.T @ P1 @ A - g**2 * A.T @ P1 @ B @ np.linalg.solve(R + g * B.T @ P1 @ B, B.T @ P1 @ A)
    assert np.max(np.abs(P1 - rhs1)) > 1e-3


def test_not_stabilisable_raises_with_reason() -> None:
    A = np.diag([1.2, 0.5])
    B = np.array([[0.0], [1.0]])  # the unstable mode 1.2 is not actuated
    with pytest.raises(ValueError, match="stabilisable"):
        dlqr(A, B, np.eye(2), 1.0)
    # A stable uncontrollable mode is fine.
    K, _ = dlqr(np.diag([0.9, 1.5]), B, np.eye(2), 1.0)
    assert np.max(np.abs(np.linalg.eigvals(np.diag([0.9, 1.5]) - B @ K))) < 1.0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"Q": -np.eye(2)}, "Q"),
        ({"Q": np.array([[1.0, 2.0], [0.0, 1.0]])}, "Q"),
        ({"Q": np.eye(3)}, "Q"),
        ({"R": 0.0}, "R"),
        ({"R": -1.0}, "R"),
        ({"R": np.eye(2)}, "R"),
        ({"A": np.ones((2, 3))}, "A"),
        ({"B": np.ones((3, 1))}, "B"),
        ({"discount": 0.0}, "discount"),
        ({"discount": 1.5}, "discount"),
        ({"A": np.array([[np.nan, 0.0], [0.0, 1.0]])}, "A"),
    ],
)
def test_dlqr_input_errors_name_the_argument(kwargs: dict, field: str) -> None:
    args = {"A": np.eye(2), "B": np.array([[0.0], [1.0]]), "Q": np.eye(2), "R": 1.0}
    args.update(kwargs)
    with pytest.raises(ValueError, match=field):
        dlqr(**args)


def test_check_weight_of_any_square_size() -> None:
    np.testing.assert_array_equal(check_weight("W", np.eye(3), None, definite=False), np.eye(3))
    assert check_weight("W", 2.0, None, definite=True).shape == (1, 1)  # a scalar is (1, 1)
    with pytest.raises(ValueError, match=r"W must be a square matrix; got shape \(2, 3\)"):
        check_weight("W", np.ones((2, 3)), None, definite=False)
    with pytest.raises(ValueError, match=r"W must be a numeric square matrix; got 'eye'"):
        check_weight("W", "eye", None, definite=False)
    with pytest.raises(ValueError, match=r"W must be a numeric \(2, 2\) matrix"):
        check_weight("W", "eye", 2, definite=False)
    with pytest.raises(ValueError, match="W must be positive definite"):
        check_weight("W", np.zeros((2, 2)), None, definite=True)


def test_lqr_controller_about_operating_point() -> None:
    model = LinearModel(
        A=[[1.0, 0.1], [0.0, 1.0]], B=[[0.0], [0.1]], dt=0.1, x_eq=[1.0, 0.0], u_eq=[0.5],
        state_box=Box.symmetric([5.0, 5.0]), input_box=Box([-1.5], [0.5]),
    )
    ctrl = LQRController(model, np.eye(2), 0.1)
    assert isinstance(ctrl, Controller)
    np.testing.assert_allclose(ctrl.act([1.0, 0.0]), [0.5])
    x = np.array([1.05, -0.02])
    expected = 0.5 - ctrl.K @ (x - model.x_eq)
    np.testing.assert_allclose(ctrl.act(x), np.clip(expected, -1.0, 1.0), atol=1e-14)
    # Far away the law saturates at the absolute limits u_eq + input_box = [-1, 1].
    assert ctrl.act([-100.0, 0.0])[0] == pytest.approx(1.0)
    assert ctrl.act([100.0, 0.0])[0] == pytest.approx(-1.0)
    ctrl.reset()


def test_lqr_controller_discount_changes_gain(pendulum: LinearModel) -> None:
    K1 = LQRController(pendulum, np.eye(2), 0.001).K
    K9 = LQRController(pendulum, np.eye(2), 0.001, discount=0.9).K
    assert not np.allclose(K1, K9)


@pytest.mark.parametrize("obs", [[np.nan, 0.0], [0.0, np.inf], [0.0, 0.0, 0.0], [[0.0], [0.0]]])
def test_lqr_controller_rejects_bad_obs(pendulum: LinearModel, obs: list) -> None:
    ctrl = LQRController(pendulum, np.eye(2), 0.001)
    with pytest.raises(ValueError, match="obs"):
        ctrl.act(np.array(obs, dtype=float))
