"""Configuration of the NavDP network, its diffusion, candidate selection and loss.

Action scaling lives here and only here: the network works on per-step increments
``(dx, dy, dtheta)`` (metres, metres, radians; robot frame) multiplied by ``action_scale``, and the
sampler clips its ``x0`` estimates to ``[-1, 1]`` in that space, so a sampled step never exceeds
``1 / action_scale`` (0.25 m, 0.25 rad by default) per axis. :meth:`NavDPConfig.to_model` and
:meth:`NavDPConfig.from_model` are the only conversions.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from torch import Tensor

from robocritic.utils.fields import check_int, check_real

__all__ = ["NavDPConfig"]

_OWNER = "NavDPConfig"


@dataclass(frozen=True)
class NavDPConfig:
    """Hyper-parameters of a NavDP planner (defaults: a CPU-sized version of the published model).

    Observation:
        depth_height, depth_width: depth image size [pixels]; both multiples of ``patch_size``.
        history: depth frames per observation ``T`` (1 = the current frame only; older frames
            come first).
        patch_size: side of the square depth patches that become tokens [pixels].
        depth_max: depth range [m]; the network sees ``clip(depth, 0, depth_max) / depth_max``
            (0 stays "no return"). Kept as a buffer in the model, so it travels with the weights.

    Network (one shared transformer decoder, pre-norm, GELU):
        d_model: token width. n_layers: decoder layers. n_heads: attention heads (divides
        ``d_model``). ff_mult: feed-forward width as a multiple of ``d_model``. dropout: in the
        decoder.

    Actions and diffusion:
        n_waypoints: ``N``, steps per trajectory. action_scale: model-space factor of the
        increments (module docstring). diffusion_steps: DDPM steps, training and inference.
        clip_sample: bound of the sampler's ``x0`` estimates in model space.

    Selection:
        n_candidates: ``K`` trajectories sampled per plan. stop_threshold: a best critic score
        below it means no safe path: stop and rotate in place. no_goal_min_length: in no-goal mode
        a candidate whose end point lies closer than this to the robot [m] scores
        ``no_goal_short_score``. progress_weight: with a point goal, NavDP selection picks the
        safe-enough candidate (score >= ``stop_threshold``) with the highest ``score +
        progress_weight * progress``, ``progress`` = how much closer the end point comes to the goal
        over ``n_waypoints * max_step`` (``robocritic.navdp.planner``); 0 = the critic alone. Not
        a trained quantity: changing it needs no retraining, and model files written before it
        existed load with the default.

    Loss (``diffusion_weight * (no_goal_share * eps-MSE(no goal) + goal_share * eps-MSE(goal))
    + critic_weight * critic-MSE``):
        diffusion_weight, critic_weight, goal_share (``no_goal_share = 1 - goal_share``).
    """

    depth_height: int = 48
    depth_width: int = 64
    history: int = 1
    patch_size: int = 8
    depth_max: float = 5.0
    d_model: int = 64
    n_layers: int = 4
    n_heads: int = 4
    ff_mult: int = 4
    dropout: float = 0.0
    n_waypoints: int = 24
    action_scale: float = 4.0
    diffusion_steps: int = 10
    clip_sample: float = 1.0
    n_candidates: int = 16
    stop_threshold: float = -3.0
    no_goal_min_length: float = 1.0
    no_goal_short_score: float = -10.0
    progress_weight: float = 4.0
    diffusion_weight: float = 0.8
    critic_weight: float = 0.2
    goal_share: float = 0.5

    def __post_init__(self) -> None:
        for name in ("depth_height", "depth_width", "history", "patch_size", "d_model", "n_layers", "n_heads",
                     "ff_mult", "n_waypoints", "diffusion_steps", "n_candidates"):
            check_int(_OWNER, name, getattr(self, name), low=1)
        for name in ("depth_height", "depth_width"):
            if getattr(self, name) % self.patch_size:
                raise ValueError(f"{_OWNER}.{name} must be a multiple of patch_size={self.patch_size}; "
                                 f"got {getattr(self, name)!r}")
        if self.d_model % self.n_heads:
            raise ValueError(f"{_OWNER}.d_model must be a multiple of n_heads={self.n_heads}; "
                             f"got {self.d_model!r}")
        check_real(_OWNER, "depth_max", self.depth_max, low=0.0, low_open=True)
        check_real(_OWNER, "dropout", self.dropout, low=0.0, high=0.9)
        check_real(_OWNER, "action_scale", self.action_scale, low=0.0, low_open=True)
        check_real(_OWNER, "clip_sample", self.clip_sample, low=0.0, low_open=True)
        check_real(_OWNER, "stop_threshold", self.stop_threshold, low=-math.inf)
        check_real(_OWNER, "no_goal_min_length", self.no_goal_min_length, low=0.0)
        check_real(_OWNER, "no_goal_short_score", self.no_goal_short_score, low=-math.inf)
        check_real(_OWNER, "progress_weight", self.progress_weight, low=0.0)
        check_real(_OWNER, "diffusion_weight", self.diffusion_weight, low=0.0)
        check_real(_OWNER, "critic_weight", self.critic_weight, low=0.0)
        check_real(_OWNER, "goal_share", self.goal_share, low=0.0, high=1.0)
        if self.diffusion_weight + self.critic_weight <= 0:
            raise ValueError(f"{_OWNER}.diffusion_weight and critic_weight must not both be 0; "
                             f"got {self.diffusion_weight!r}, {self.critic_weight!r}")

    @property
    def n_patches(self) -> int:
        """Depth tokens per frame."""
        return (self.depth_height // self.patch_size) * (self.depth_width // self.patch_size)

    @property
    def max_step(self) -> float:
        """Largest sampled increment per axis: ``clip_sample / action_scale`` [m or rad]."""
        return self.clip_sample / self.action_scale

    def to_model(self, actions: Tensor) -> Tensor:
        """Increments ``(..., N, 3)`` [m, m, rad] -> model space ``actions * action_scale``,
        clipped to ``[-clip_sample, clip_sample]`` (what the sampler can produce)."""
        return (actions * self.action_scale).clamp(-self.clip_sample, self.clip_sample)

    def from_model(self, x: Tensor) -> Tensor:
        """Model space ``(..., N, 3)`` -> increments [m, m, rad]: ``x / action_scale``."""
        return x / self.action_scale

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain JSON-safe numbers."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NavDPConfig:
        """Inverse of :meth:`to_dict`; unknown keys are refused (naming them), missing ones default."""
        if not isinstance(data, dict):
            raise TypeError(f"{_OWNER}: expected a dict of fields; got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{_OWNER}: unknown fields {unknown}")
        return cls(**data)
