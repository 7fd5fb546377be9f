"""DDPG that minimises a discounted cost: the algorithm of YANN-DDPG and of the plain baseline.

It receives built modules (an actor ``obs -> action`` and a critic ``(obs, action) -> Q``, both on
absolute units) and knows nothing about envs or the training loop, so that it is tested on
hand-made batches and reused by any loop. One update
on a batch of ``B`` transitions, with ``c`` the env cost times ``cost_scale``::

    y      = c + gamma (1 - terminated) Q_targ(s', pi_targ(s'))      (no gradient)
    L_Q    = mean (Q(s, a) - y)^2                                   critic step
    L_pi   = mean Q(s, pi(s))                                       actor step (every policy_delay)
    targ  <- (1 - tau) targ + tau online                            after each actor step

Minimising ``L_pi`` moves the policy towards lower predicted cost. YANN-DDPG differs from the
baseline only in its modules (:class:`~robocritic.yann.actor.YANNActor`,
:class:`~robocritic.yann.critic.YANNCritic`), its small learning rates and Polyak factor, and in
having no exploration noise (the trainer's concern).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from robocritic.learning.buffer import Batch
from robocritic.yann.actor import YANNActor
from robocritic.yann.config import DDPGConfig, YANNDDPGConfig
from robocritic.yann.critic import YANNCritic

__all__ = ["DDPG"]


def _polyak(target: nn.Module, online: nn.Module, tau: float) -> None:
    with torch.no_grad():
        torch._foreach_lerp_(list(target.parameters()), list(online.parameters()), tau)


class DDPG:
    """Deterministic policy gradient on a cost (see the module docstring).

    Args:
        actor: ``(B, n_x) -> (B, n_u)`` absolute; critic: ``((B, n_x), (B, n_u)) -> (B,)``.
        config: learning rates, Polyak factor, policy delay, gradient clipping.
        gamma: discount factor. cost_scale: factor applied to the batch costs.

    Attributes:
        actor, critic, actor_target, critic_target: the four networks (targets are copies).
        actor_opt, critic_opt: Adam optimisers. n_updates: critic updates done so far.
    """

    def __init__(
        self,
        actor: nn.Module,
        critic: nn.Module,
        config: DDPGConfig,
        *,
        gamma: float,
        cost_scale: float = 1.0,
    ) -> None:
        self.actor, self.critic, self.config = actor, critic, config
        self.gamma, self.cost_scale = float(gamma), float(cost_scale)
        self.actor_target = copy.deepcopy(actor).requires_grad_(False)
        self.critic_target = copy.deepcopy(critic).requires_grad_(False)
        self.dtype = next(iter(critic.buffers())).dtype
        if isinstance(actor, YANNActor):
            groups: list[dict[str, Any]] = [{"params": actor.correction_parameters(), "lr": config.actor_lr}]
            law = actor.law_parameters()
            if law:
                law_lr = config.law_lr if isinstance(config, YANNDDPGConfig) else config.actor_lr
                groups.append({"params": law, "lr": law_lr})
        else:
            groups = [{"params": [p for p in actor.parameters() if p.requires_grad], "lr": config.actor_lr}]
        # foreach: one fused call over all the small tensors (fewer kernel launches per update).
        self.actor_opt = torch.optim.Adam(groups, foreach=True)
        quadratic = critic.quadratic_parameters() if isinstance(critic, YANNCritic) else []
        rest = [p for p in critic.parameters() if p.requires_grad and all(p is not q for q in quadratic)]
        critic_groups: list[dict[str, Any]] = [{"params": rest, "lr": config.critic_lr}]
        if quadratic:
            quad_lr = config.quadratic_lr if isinstance(config, YANNDDPGConfig) else config.critic_lr
            critic_groups.append({"params": quadratic, "lr": quad_lr})
        self.critic_opt = torch.optim.Adam(critic_groups, foreach=True)
        self.n_updates = 0

    # -- helpers ---------------------------------------------------------------------------

    def _tensors(self, batch: Batch) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        t = lambda a: torch.from_numpy(np.ascontiguousarray(a)).to(self.dtype)
        return (
            t(batch.obs),
            t(batch.action),
            t(batch.cost) * self.cost_scale,
            t(batch.next_obs),
            t(batch.terminated),
        )

    def td_target(self, batch: Batch) -> Tensor:
        """``y (B,)`` of the module docstring (no gradient)."""
        _, _, cost, next_obs, terminated = self._tensors(batch)
        with torch.no_grad():
            q_next = self.critic_target(next_obs, self.actor_target(next_obs))
            return cost + self.gamma * (1.0 - terminated) * q_next

    def critic_loss(self, batch: Batch) -> Tensor:
        """``L_Q`` on ``batch`` (differentiable in the critic)."""
        obs, action, _, _, _ = self._tensors(batch)
        y = self.td_target(batch)
        return torch.mean((self.critic(obs, action) - y) ** 2)

    def _step(self, opt: torch.optim.Optimizer, loss: Tensor, module: nn.Module) -> None:
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if self.config.grad_clip_norm > 0:
            nn.utils.clip_grad_norm_(
                [p for p in module.parameters() if p.grad is not None], self.config.grad_clip_norm
            )
        opt.step()

    # -- public ----------------------------------------------------------------------------

    def update(self, batch: Batch) -> dict[str, float]:
        """One critic step and, every ``policy_delay`` critic steps, one actor step plus the
        Polyak update of both targets.

        Returns:
            ``{"critic_loss": L_Q before the step, "actor_loss": L_pi (NaN if no actor step)}``.
        """
        critic_loss = self.critic_loss(batch)
        self._step(self.critic_opt, critic_loss, self.critic)
        self.n_updates += 1
        actor_loss = float("nan")
        if self.n_updates % self.config.policy_delay == 0:
            obs = torch.from_numpy(np.ascontiguousarray(batch.obs)).to(self.dtype)
            self.critic.requires_grad_(False)
            try:
                loss = self.critic(obs, self.actor(obs)).mean()
                self._step(self.actor_opt, loss, self.actor)
            finally:
                self.critic.requires_grad_(True)  # every critic parameter is trained
            actor_loss = float(loss.detach())
            _polyak(self.actor_target, self.actor, self.config.tau)
            _polyak(self.critic_target, self.critic, self.config.tau)
        return {"critic_loss": float(critic_loss.detach()), "actor_loss": actor_loss}

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Deterministic action ``(n_u,)`` float64 (absolute) at ``obs (n_x,)``."""
        x = torch.as_tensor(np.asarray(obs, dtype=np.float64), dtype=self.dtype).reshape(1, -1)
        with torch.no_grad():
            return self.actor(x)[0].to(torch.float64).numpy().copy()

    def state_dict(self) -> dict[str, Any]:
        """Networks, targets, optimiser states and the update counter (tensors and plain values
        only: loadable with ``torch.load(weights_only=True)``)."""
        return {
            "actor": self.actor.state_dict(),
            "critic": self.critic.state_dict(),
            "actor_target": self.actor_target.state_dict(),
            "critic_target": self.critic_target.state_dict(),
            "actor_opt": self.actor_opt.state_dict(),
            "critic_opt": self.critic_opt.state_dict(),
            "n_updates": self.n_updates,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (strict: every key must match)."""
        self.actor.load_state_dict(state["actor"])
        self.critic.load_state_dict(state["critic"])
        self.actor_target.load_state_dict(state["actor_target"])
        self.critic_target.load_state_dict(state["critic_target"])
        self.actor_opt.load_state_dict(state["actor_opt"])
        self.critic_opt.load_state_dict(state["critic_opt"])
        self.n_updates = int(state["n_updates"])
