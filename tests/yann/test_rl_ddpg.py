"""DDPG on a cost (robocritic.yann.ddpg): one update changes the parameters and lowers the TD
loss on a fixed batch; targets follow by Polyak averaging; state round-trips exactly."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from robocritic.controllers.lqr import dlqr

from robocritic.dynamics import PendulumModel
from robocritic.yann.actor import MLPActor, YANNActor
from robocritic.yann.config import DDPGConfig, YANNDDPGConfig
from robocritic.yann.critic import MLPCritic, YANNCritic
from robocritic.yann.ddpg import DDPG
from robocritic.yann.laws import saturated_linear_law

Q, R, GAMMA = np.eye(2), np.array([[1e-3]]), 0.99


def yann_learner(lr: float = 1e-3) -> DDPG:
    lin = PendulumModel().linearize()
    K, _ = dlqr(lin.A, lin.B, Q, R)
    torch.manual_seed(0)
    actor = YANNActor(saturated_linear_law(lin, K), (16, 16))
    critic = YANNCritic(lin, Q, R, GAMMA, (32, 32))
    cfg = YANNDDPGConfig(actor_lr=lr, critic_lr=lr, tau=0.01)
    return DDPG(actor, critic, cfg, gamma=GAMMA)


def mlp_learner() -> DDPG:
    torch.manual_seed(0)
    actor = MLPActor(np.zeros(2), np.array([2.0, 8.0]), np.array([-2.0]), np.array([2.0]), (64, 64))
    critic = MLPCritic(np.zeros(2), np.array([2.0, 8.0]), np.zeros(1), np.array([2.0]), (64, 64))
    return DDPG(actor, critic, DDPGConfig(actor_lr=1e-3, critic_lr=1e-3), gamma=GAMMA)


@pytest.mark.parametrize("make", [yann_learner, mlp_learner], ids=["yann", "mlp"])
def test_one_update_changes_parameters_and_reduces_td_loss(make, pendulum_batch):
    learner = make()
    batch = pendulum_batch(0)
    actor0 = copy.deepcopy(learner.actor.state_dict())
    critic0 = copy.deepcopy(learner.critic.state_dict())
    target0 = copy.deepcopy(learner.critic_target.state_dict())
    with torch.no_grad():
        loss0 = float(learner.critic_loss(batch))
    assert loss0 > 0
    out = learner.update(batch)
    assert out["critic_loss"] == pytest.approx(loss0, rel=1e-6)
    assert np.isfinite(out["actor_loss"])
    with torch.no_grad():
        loss1 = float(learner.critic_loss(batch))
    assert loss1 < loss0

    def changed(before, module):
        return any(not torch.equal(before[k], v) for k, v in module.state_dict().items())

    assert changed(actor0, learner.actor) and changed(critic0, learner.critic)
    assert changed(target0, learner.critic_target)  # Polyak step taken


def test_polyak_moves_targets_by_tau(pendulum_batch):
    learner = yann_learner()
    w_t0 = learner.critic_target.aux[0].weight.detach().clone()
    learner.update(pendulum_batch(1))
    w = learner.critic.aux[0].weight.detach()
    torch.testing.assert_close(learner.critic_target.aux[0].weight, w_t0 + 0.01 * (w - w_t0))


def test_policy_delay_skips_actor_steps(pendulum_batch):
    lin = PendulumModel().linearize()
    K, _ = dlqr(lin.A, lin.B, Q, R)
    torch.manual_seed(0)
    learner = DDPG(
        YANNActor(saturated_linear_law(lin, K), (8,)),
        YANNCritic(lin, Q, R, GAMMA, (8,)),
        YANNDDPGConfig(policy_delay=2),
        gamma=GAMMA,
    )
    assert np.isnan(learner.update(pendulum_batch(2))["actor_loss"])
    assert np.isfinite(learner.update(pendulum_batch(2))["actor_loss"])


def test_state_dict_round_trip_reproduces_updates(pendulum_batch):
    a, b = yann_learner(), yann_learner()
    a.update(pendulum_batch(3))
    b.load_state_dict(copy.deepcopy(a.state_dict()))
    batch = pendulum_batch(4)
    la, lb = a.update(batch), b.update(batch)
    assert la == lb
    for (k, v), w in zip(a.actor.state_dict().items(), b.actor.state_dict().values()):
        assert torch.equal(v, w), k
