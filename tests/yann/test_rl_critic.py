"""YANN critic (robocritic.yann.critic): the discounted-LQR Q-function satisfies the Bellman
equation of the unconstrained LQR policy to <= 1e-10 at initialisation; the paper's undiscounted
Riccati solution does not (~0.9% at gamma = 0.99); the auxiliary network is exactly zero."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from robocritic.controllers.lqr import dlqr

from robocritic.dynamics import CSTRModel, LinearModel, PendulumModel
from robocritic.yann.critic import MLPCritic, YANNCritic, lqr_q_matrix

GAMMA = 0.99

CASES = {
    "pendulum": (lambda: PendulumModel().linearize(), np.eye(2), np.array([[1e-3]])),
    "cstr": (lambda: CSTRModel().linearize(), 0.1 * np.eye(4), np.array([[1e-4]])),
}


def bellman_residual(
    critic: YANNCritic, model: LinearModel, Q: np.ndarray, R: np.ndarray, K: np.ndarray, seed: int
):
    """``|Q(s, -Ks) - c(s, -Ks) - g Q(s', -Ks')| / |Q(s, -Ks)|`` on 1000 random states (B,)."""
    rng = np.random.default_rng(seed)
    half = 0.5 * (model.state_box.high - model.state_box.low)
    dx = rng.uniform(-half, half, size=(1000, model.n_x))
    du = -dx @ K.T
    dx_next = dx @ model.A.T + du @ model.B.T
    du_next = -dx_next @ K.T
    cost = np.einsum("bi,ij,bj->b", dx, Q, dx) + np.einsum("bi,ij,bj->b", du, R, du)
    t = torch.from_numpy
    with torch.no_grad():
        q = critic(t(model.x_eq + dx), t(model.u_eq + du)).numpy()
        q_next = critic(t(model.x_eq + dx_next), t(model.u_eq + du_next)).numpy()
    return np.abs(q - cost - GAMMA * q_next) / np.abs(q)


@pytest.mark.parametrize("case", list(CASES))
def test_bellman_residual_at_init(case: str):
    make, Q, R = CASES[case]
    model = make()
    torch.manual_seed(0)
    critic = YANNCritic(model, Q, R, GAMMA)
    K, _ = dlqr(model.A, model.B, Q, R, discount=GAMMA)
    assert np.max(bellman_residual(critic, model, Q, R, K, seed=0)) <= 1e-10


def test_undiscounted_riccati_leaves_a_bellman_residual():
    """Why the critic uses the discounted P (docs/yann.md#yann-critic): the paper's undiscounted P."""
    make, Q, R = CASES["pendulum"]
    model = make()
    critic = YANNCritic(model, Q, R, GAMMA)
    _, P1 = dlqr(model.A, model.B, Q, R, discount=1.0)
    A, B = model.A, model.B
    M1 = np.block(
        [[Q + GAMMA * A.T @ P1 @ A, GAMMA * A.T @ P1 @ B], [GAMMA * B.T @ P1 @ A, R + GAMMA * B.T @ P1 @ B]]
    )
    critic.M.copy_(torch.from_numpy(M1))
    K1, _ = dlqr(A, B, Q, R, discount=1.0)
    res = bellman_residual(critic, model, Q, R, K1, seed=1)
    assert 1e-3 < np.median(res) < 3e-2


def test_aux_is_exactly_zero_at_init_and_trainable():
    make, Q, R = CASES["cstr"]
    model = make()
    critic = YANNCritic(model, Q, R, GAMMA, cost_scale=0.5)
    x = torch.from_numpy(model.x_eq + np.random.default_rng(2).normal(size=(64, 4)))
    u = torch.from_numpy(model.u_eq + np.random.default_rng(3).normal(size=(64, 1)))
    q = critic(x, u)
    torch.testing.assert_close(q, critic.quadratic(x, u), rtol=0, atol=0)
    q.sum().backward()
    assert critic.aux[-1].weight.grad.abs().sum() > 0
    M, _, _ = lqr_q_matrix(model.A, model.B, Q, R, GAMMA)
    torch.testing.assert_close(critic.M, torch.from_numpy(0.5 * M), rtol=0, atol=0)


def test_mlp_critic_shape():
    critic = MLPCritic(np.zeros(2), np.ones(2), np.zeros(1), np.ones(1), (32, 32))
    assert critic(torch.zeros(5, 2), torch.zeros(5, 1)).shape == (5,)
