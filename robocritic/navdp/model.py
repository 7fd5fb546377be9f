"""The NavDP network: one shared transformer decoder that denoises action sequences and scores them.

Tokens (width ``d = config.d_model``):

* observation: each depth frame ``(H, W)`` [m] is normalised to ``clip(depth, 0, depth_max) /
  depth_max`` (non-finite values become 0, "no return"), cut into ``p x p`` patches, each patch
  linearly embedded, plus a learned positional embedding per (frame, patch): ``L = T * P`` tokens
  with ``P = (H / p) * (W / p)``; frames of the history are extra tokens;
* goal: ``(x, y, flag)`` in the robot frame [m] -> a linear token, multiplied by the flag, so the
  no-goal case (flag 0) is the zero token;
* timestep: a learned embedding of the diffusion step ``t``;
* actions: ``N`` per-step increments ``(dx, dy, dtheta)`` in model space (the scaling of
  :class:`~robocritic.navdp.config.NavDPConfig`), a linear embedding plus a learned positional
  embedding per step.

The decoder (pre-norm, GELU) is used twice with the same weights:

* denoiser: the action tokens, under a causal mask, attend to ``[timestep, goal, observation]``
  and a linear head predicts the noise ``eps`` of each step;
* critic: the action tokens (clean; plus an embedding of the cumulative waypoints, so the critic
  sees where the path goes), without a causal mask, attend to the observation tokens only -- the
  timestep and goal slots are masked out (left out of the memory), so the critic judges safety
  from geometry alone and is blind to the goal; mean-pool -> linear -> a scalar in label units.

Normalisation is held in buffers (saved with the weights): ``depth_scale`` (``depth_max``) and
``label_mean`` / ``label_std`` of the critic labels (the critic is trained on standardised labels
and :meth:`NavDPNet.score` returns label units).

Timeline: one observation (the current depth frame, after ``history - 1`` older ones) -> one
plan of ``N`` increments starting at the robot's pose when the frame was taken; the trajectory is
their cumulative sum in that (fixed) robot frame.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

import torch
from torch import Tensor, nn

from robocritic.navdp.config import NavDPConfig
from robocritic.navdp.scheduler import DDPMScheduler

__all__ = ["NavDPBatch", "NavDPNet", "train_step"]


@dataclass(frozen=True)
class NavDPBatch:
    """One training batch (float32 tensors).

    Attributes:
        depth: ``(B, T, H, W)`` depth [m], 0 = no return.
        goal: ``(B, 3)`` ``(x, y, flag)`` in the robot frame [m]; flag 1 = point goal, all zero =
            no goal.
        actions: ``(B, N, 3)`` expert increments ``(dx, dy, dtheta)`` [m, m, rad], robot frame.
        critic_actions: ``(B, M, N, 3)`` (or ``(B, N, 3)`` for ``M = 1``) increments the critic is
            trained on (the expert path, rotated negatives, ...), for the same depth.
        critic_labels: ``(B, M)`` (or ``(B,)``) critic targets of ``critic_actions``.
    """

    depth: Tensor
    goal: Tensor
    actions: Tensor
    critic_actions: Tensor
    critic_labels: Tensor

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> NavDPBatch:
        """From a mapping with the attribute names as keys (arrays or tensors, cast to float32)."""
        names = [f.name for f in fields(cls)]
        missing = [k for k in names if k not in data]
        if missing:
            raise KeyError(f"NavDPBatch: missing keys {missing}")
        return cls(**{k: torch.as_tensor(data[k], dtype=torch.float32) for k in names})


class _Attention(nn.Module):
    """Multi-head attention of queries ``x (B, N, d)`` on keys/values ``kv (Bk, M, d)``; ``Bk`` is
    ``B`` or 1 (one memory shared by the whole batch: it is projected once and broadcast)."""

    def __init__(self, d: int, n_heads: int, *, self_attention: bool) -> None:
        super().__init__()
        self.n_heads, self.self_attention = n_heads, self_attention
        if self_attention:
            self.qkv = nn.Linear(d, 3 * d)
        else:
            self.q, self.kv = nn.Linear(d, d), nn.Linear(d, 2 * d)
        self.out = nn.Linear(d, d)

    def forward(self, x: Tensor, memory: Tensor | None = None, *, causal: bool = False) -> Tensor:
        b, n, d = x.shape
        h = self.n_heads
        if self.self_attention:
            q, k, v = self.qkv(x).view(b, n, 3, h, d // h).permute(2, 0, 3, 1, 4)
            y = nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
            return self.out(y.transpose(1, 2).reshape(b, n, d))
        assert memory is not None
        bk, m, _ = memory.shape
        k, v = self.kv(memory).view(bk, m, 2, h, d // h).permute(2, 0, 3, 1, 4)
        # A shared memory (bk = 1) takes all B * N queries in one attention call.
        q = self.q(x).view(bk, b * n // bk, h, d // h).transpose(1, 2)
        y = nn.functional.scaled_dot_product_attention(q, k, v).transpose(1, 2)
        return self.out(y.reshape(b, n, d))


class _DecoderLayer(nn.Module):
    """Pre-norm decoder layer: self-attention, cross-attention on the (un-normalised) memory, GELU MLP."""

    def __init__(self, d: int, n_heads: int, ff_mult: int, dropout: float) -> None:
        super().__init__()
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
        self.self_attn = _Attention(d, n_heads, self_attention=True)
        self.cross_attn = _Attention(d, n_heads, self_attention=False)
        self.ff = nn.Sequential(nn.Linear(d, ff_mult * d), nn.GELU(), nn.Dropout(dropout),
                                nn.Linear(ff_mult * d, d))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, memory: Tensor, causal: bool) -> Tensor:
        x = x + self.drop(self.self_attn(self.norm1(x), causal=causal))
        x = x + self.drop(self.cross_attn(self.norm2(x), memory))
        return x + self.drop(self.ff(self.norm3(x)))


class _Decoder(nn.Module):
    """``n_layers`` pre-norm decoder layers and a final LayerNorm: ``x (B, N, d)``, ``memory
    (B or 1, M, d)`` -> ``(B, N, d)``; ``causal`` masks attention to later tokens of ``x``."""

    def __init__(self, d: int, n_heads: int, n_layers: int, ff_mult: int, dropout: float) -> None:
        super().__init__()
        self.layers = nn.ModuleList(_DecoderLayer(d, n_heads, ff_mult, dropout) for _ in range(n_layers))
        self.norm = nn.LayerNorm(d)

    def forward(self, x: Tensor, memory: Tensor, *, causal: bool) -> Tensor:
        for layer in self.layers:
            x = layer(x, memory, causal)
        return self.norm(x)


def _trunc_normal(*shape: int) -> nn.Parameter:
    return nn.Parameter(nn.init.trunc_normal_(torch.empty(*shape), std=0.02))


class NavDPNet(nn.Module):
    """Shared-decoder diffusion policy and critic (module docstring).

    Args:
        config: sizes and loss weights (default: :class:`NavDPConfig()`).
        seed: if given, the initial weights come from ``torch.manual_seed(seed)`` in a forked RNG
            (the global torch RNG is left as it was).

    Attributes:
        config: the configuration. scheduler: the :class:`DDPMScheduler` of ``config``.
    """

    def __init__(self, config: NavDPConfig | None = None, *, seed: int | None = None) -> None:
        super().__init__()
        self.config = cfg = config if config is not None else NavDPConfig()
        self.scheduler = DDPMScheduler(cfg.diffusion_steps, cfg.clip_sample)
        if seed is None:
            self._build(cfg)
        else:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(seed))
                self._build(cfg)
        self.register_buffer("depth_scale", torch.tensor(float(cfg.depth_max)))
        self.register_buffer("label_mean", torch.tensor(0.0))
        self.register_buffer("label_std", torch.tensor(1.0))

    def _build(self, cfg: NavDPConfig) -> None:
        d = cfg.d_model
        self.patch_embed = nn.Linear(cfg.patch_size**2, d)
        self.obs_pos = _trunc_normal(cfg.history * cfg.n_patches, d)
        self.goal_embed = nn.Linear(3, d)
        self.time_embed = nn.Embedding(cfg.diffusion_steps, d)
        self.action_embed = nn.Linear(3, d)
        self.action_pos = _trunc_normal(cfg.n_waypoints, d)
        self.waypoint_embed = nn.Linear(3, d)
        self.decoder = _Decoder(d, cfg.n_heads, cfg.n_layers, cfg.ff_mult, cfg.dropout)
        self.eps_head = nn.Linear(d, 3)
        self.critic_head = nn.Linear(d, 1)

    # -- tokens -------------------------------------------------------------------------------

    def encode(self, depth: Tensor) -> Tensor:
        """Observation tokens of ``depth (B, T, H, W)`` [m] -> ``(B, T * P, d_model)``."""
        cfg = self.config
        shape = (cfg.history, cfg.depth_height, cfg.depth_width)
        if depth.ndim != 4 or tuple(depth.shape[1:]) != shape:
            raise ValueError(f"depth: expected shape (B, {', '.join(map(str, shape))}) [m]; "
                             f"got {tuple(depth.shape)}")
        p = cfg.patch_size
        x = torch.nan_to_num(depth, nan=0.0, posinf=0.0, neginf=0.0)
        x = x.clamp(0.0, self.depth_scale) / self.depth_scale
        b, t, h, w = x.shape
        x = x.reshape(b, t, h // p, p, w // p, p).permute(0, 1, 2, 4, 3, 5)  # (B, T, H/p, W/p, p, p)
        x = x.reshape(b, t * (h // p) * (w // p), p * p)
        return self.patch_embed(x) + self.obs_pos

    def _goal_token(self, goal: Tensor) -> Tensor:
        if goal.ndim != 2 or goal.shape[1] != 3:
            raise ValueError(f"goal: expected shape (B, 3) = (x, y, flag); got {tuple(goal.shape)}")
        return self.goal_embed(goal) * (goal[:, 2:3] != 0).to(goal.dtype)

    def _check_actions(self, name: str, actions: Tensor, obs_tokens: Tensor) -> None:
        n = self.config.n_waypoints
        if actions.ndim != 3 or actions.shape[1:] != (n, 3):
            raise ValueError(f"{name}: expected shape (B, {n}, 3); got {tuple(actions.shape)}")
        if obs_tokens.shape[0] not in (1, actions.shape[0]):
            raise ValueError(f"obs_tokens: batch {obs_tokens.shape[0]} for {actions.shape[0]} action "
                             "sequences (must be equal, or 1 for one observation shared by all)")

    # -- the two roles of the decoder -----------------------------------------------------------

    def predict_noise(self, noisy_actions: Tensor, t: Tensor | int, goal: Tensor,
                      obs_tokens: Tensor) -> Tensor:
        """Denoiser: predicted noise of ``noisy_actions``.

        Args:
            noisy_actions: ``(B, N, 3)`` noisy increments in model space.
            t: diffusion step, an int or ``(Bo,)`` integers in ``[0, diffusion_steps)``.
            goal: ``(Bo, 3)`` ``(x, y, flag)`` [m], robot frame; all zero = no goal.
            obs_tokens: ``(Bo, L, d_model)`` from :meth:`encode`; ``Bo`` is ``B``, or 1 for one
                observation, goal and step shared by all ``B`` sequences (cheaper: the memory is
                projected once).

        Returns:
            ``(B, N, 3)`` predicted ``eps``; output ``i`` depends on action tokens ``<= i`` only.
        """
        self._check_actions("noisy_actions", noisy_actions, obs_tokens)
        bo = obs_tokens.shape[0]
        if goal.shape[0] != bo:
            raise ValueError(f"goal: batch {goal.shape[0]}, obs_tokens: batch {bo}; they must match")
        t = torch.as_tensor(t, dtype=torch.long, device=obs_tokens.device).expand(bo)
        memory = torch.cat([self.time_embed(t)[:, None], self._goal_token(goal)[:, None], obs_tokens], dim=1)
        tgt = self.action_embed(noisy_actions) + self.action_pos
        return self.eps_head(self.decoder(tgt, memory, causal=True))

    def critic_value(self, actions: Tensor, obs_tokens: Tensor) -> Tensor:
        """Critic in standardised label units: ``actions (B, N, 3)`` [m, m, rad] increments (clipped
        to the sampler's bound) and ``obs_tokens (B or 1, L, d_model)`` -> ``(B,)``."""
        self._check_actions("actions", actions, obs_tokens)
        x = self.config.to_model(actions)
        waypoints = torch.cumsum(self.config.from_model(x), dim=1)
        tgt = self.action_embed(x) + self.waypoint_embed(waypoints) + self.action_pos
        # The memory is the observation only: the timestep and goal slots are masked out.
        h = self.decoder(tgt, obs_tokens, causal=False)
        return self.critic_head(h.mean(dim=1)).squeeze(-1)

    def score(self, actions: Tensor, obs_tokens: Tensor) -> Tensor:
        """Critic score in label units (higher = safer): ``actions (B, N, 3)`` [m, m, rad],
        ``obs_tokens (B or 1, L, d_model)`` -> ``(B,)``."""
        return self.critic_value(actions, obs_tokens) * self.label_std + self.label_mean

    # -- sampling and training ------------------------------------------------------------------

    def sample_actions(self, obs_tokens: Tensor, goal: Tensor, generator: torch.Generator | None = None,
                       n_samples: int | None = None) -> Tensor:
        """Run all diffusion steps from Gaussian noise.

        Args:
            obs_tokens: ``(B, L, d_model)``. goal: ``(B, 3)``. generator: source of all noise.
            n_samples: with ``B = 1``, the number of sequences to sample for that one observation
                (default ``B``).

        Returns:
            ``(B, N, 3)`` increments ``(dx, dy, dtheta)`` [m, m, rad], robot frame, each within
            ``config.max_step`` per axis.
        """
        b, n = n_samples if n_samples is not None else obs_tokens.shape[0], self.config.n_waypoints
        x = torch.randn((b, n, 3), generator=generator, device=obs_tokens.device, dtype=obs_tokens.dtype)
        for t in self.scheduler.timesteps.tolist():
            eps = self.predict_noise(x, t, goal, obs_tokens)
            x = self.scheduler.step(eps, t, x, generator)
        return self.config.from_model(x)

    def set_label_normalisation(self, labels: Tensor, *, min_std: float = 1e-6) -> None:
        """Set ``label_mean``, ``label_std`` to the mean and std (floored at ``min_std``) of critic labels."""
        labels = torch.as_tensor(labels, dtype=self.label_mean.dtype).flatten()
        if labels.numel() < 1 or not torch.isfinite(labels).all():
            raise ValueError("labels: need at least one label, all finite")
        with torch.no_grad():
            self.label_mean.copy_(labels.mean())
            self.label_std.copy_(labels.std(unbiased=False).clamp_min(min_std))

    def loss(self, batch: NavDPBatch | Mapping[str, object],
             generator: torch.Generator | None = None) -> tuple[Tensor, dict[str, float]]:
        """``diffusion_weight * ((1 - goal_share) * eps-MSE(no goal) + goal_share * eps-MSE(goal))
        + critic_weight * critic-MSE``.

        Each sample gets one step ``t ~ U{0..T-1}`` and noise ``eps``; the denoiser predicts it
        twice, with the batch's goal token and with the zero (no-goal) token. The critic MSE is on
        standardised labels ``(label - label_mean) / label_std``. Expert increments beyond the
        sampler's bound are clipped to it.

        Returns:
            ``(total, parts)``: the scalar loss (with gradient) and the floats ``total``,
            ``eps_no_goal``, ``eps_goal``, ``critic``.
        """
        if not isinstance(batch, NavDPBatch):
            batch = NavDPBatch.from_mapping(batch)
        cfg = self.config
        obs = self.encode(batch.depth)
        b = obs.shape[0]
        if batch.actions.shape[0] != b:
            raise ValueError(f"actions: batch {batch.actions.shape[0]}, depth: batch {b}; they must match")
        x0 = cfg.to_model(batch.actions)
        t = torch.randint(0, cfg.diffusion_steps, (b,), generator=generator, device=x0.device)
        eps = torch.randn(x0.shape, generator=generator, device=x0.device, dtype=x0.dtype)
        x_t = self.scheduler.add_noise(x0, eps, t)
        no_goal = torch.zeros_like(batch.goal)
        pred = self.predict_noise(torch.cat([x_t, x_t]), torch.cat([t, t]), torch.cat([no_goal, batch.goal]),
                                  torch.cat([obs, obs]))
        eps_no_goal = nn.functional.mse_loss(pred[:b], eps)
        eps_goal = nn.functional.mse_loss(pred[b:], eps)

        actions, labels = batch.critic_actions, batch.critic_labels
        if actions.ndim == 3:
            actions, labels = actions[:, None], labels.reshape(-1, 1)
        if actions.ndim != 4 or actions.shape[0] != b or labels.shape != actions.shape[:2]:
            raise ValueError(f"critic_actions (B, M, N, 3) and critic_labels (B, M) with B = {b}; "
                             f"got {tuple(batch.critic_actions.shape)} and "
                             f"{tuple(batch.critic_labels.shape)}")
        m = actions.shape[1]
        value = self.critic_value(actions.flatten(0, 1), obs.repeat_interleave(m, dim=0))
        target = (labels.flatten() - self.label_mean) / self.label_std
        critic = nn.functional.mse_loss(value, target)

        total = (cfg.diffusion_weight * ((1 - cfg.goal_share) * eps_no_goal + cfg.goal_share * eps_goal)
                 + cfg.critic_weight * critic)
        parts = {"total": float(total.detach()), "eps_no_goal": float(eps_no_goal.detach()),
                 "eps_goal": float(eps_goal.detach()), "critic": float(critic.detach())}
        return total, parts


def train_step(model: NavDPNet, optimizer: torch.optim.Optimizer, batch: NavDPBatch | Mapping[str, object],
               generator: torch.Generator | None = None) -> dict[str, float]:
    """One gradient step of :meth:`NavDPNet.loss` on ``batch`` (model put in train mode); returns
    the loss parts (before the step)."""
    model.train()
    optimizer.zero_grad(set_to_none=True)
    total, parts = model.loss(batch, generator)
    total.backward()
    optimizer.step()
    return parts
