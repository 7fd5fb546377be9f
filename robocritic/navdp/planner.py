"""Env-free NavDP planning: sample ``K`` trajectories for one depth observation, score them with the
critic, pick the best, or stop and rotate in place when none is safe.

Coordinates: the robot frame at the time of the depth frame, ``x`` forward, ``y`` left [m],
``theta`` counter-clockwise [rad]. A candidate is the cumulative sum of its ``N`` increments, so
waypoint ``i`` is where the robot should be after ``i + 1`` steps.

Selection modes (:data:`SELECTIONS`):

* ``"critic"`` (NavDP, the default): the critic judges safety, and with a point goal progress
  counts too. Every candidate gets its critic score; in no-goal mode (``goal=None``) a candidate
  whose end point lies closer than ``no_goal_min_length`` to the robot scores
  ``no_goal_short_score``. If the best score is below ``stop_threshold`` there is no path: the
  plan says stop and rotate in place toward ``sign(mean y)`` of all candidates' waypoints (left
  when that mean is exactly 0). Otherwise, without a goal, the candidate with the highest score is
  picked; with a goal, among the candidates scoring at least ``stop_threshold`` the one with the
  highest ``score + progress_weight * progress``, where ``progress = (|goal| - |goal - end|) /
  (N * max_step)`` is how much closer the candidate's end point comes to the goal, in units of
  the longest plan the sampler can draw (``N * max_step``, 6 m by default). The critic is
  goal-blind (its labels reward clearance, not the goal), so without the progress term it prefers
  safe plans that go nowhere; ``progress_weight = 0`` gives ``"critic_only"``.
* ``"critic_only"`` (ablation): the highest critic score, with or without a goal (the no-goal
  rule and the stop rule as above); the rule before the progress term.
* ``"first_sample"`` / ``"random_sample"`` (ablations without the critic): candidate 0, or one
  drawn from the plan's generator; the critic is not run (scores are NaN) and the plan never stops.

Threads are the caller's business (``torch.set_num_threads(1)`` for one control core).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from robocritic.navdp.model import NavDPNet
from robocritic.navdp.plan import Plan

__all__ = ["SELECTIONS", "NavDPPlanner", "Plan"]

SELECTIONS = ("critic", "critic_only", "first_sample", "random_sample")
"""Ways to pick a candidate (module docstring)."""


class NavDPPlanner:
    """Plans with a trained :class:`NavDPNet` (module docstring).

    Args:
        model: the network (used in eval mode, on its own device).
        selection: one of :data:`SELECTIONS`.
        n_candidates: ``K`` (default: ``model.config.n_candidates``).
        stop_threshold: default ``model.config.stop_threshold``.
        progress_weight: weight of the goal progress in ``"critic"`` selection (module docstring);
            default ``model.config.progress_weight``.
        seed: seeds the planner's own generator, used when :meth:`plan` gets neither a seed nor
            a generator (so a fresh planner replays the same plans).
    """

    def __init__(self, model: NavDPNet, *, selection: str = "critic", n_candidates: int | None = None,
                 stop_threshold: float | None = None, progress_weight: float | None = None,
                 seed: int = 0) -> None:
        if selection not in SELECTIONS:
            raise ValueError(f"selection must be one of {list(SELECTIONS)}; got {selection!r}")
        cfg = model.config
        self.model = model.eval()
        self.selection = selection
        self.n_candidates = int(cfg.n_candidates if n_candidates is None else n_candidates)
        if self.n_candidates < 1:
            raise ValueError(f"n_candidates must be >= 1; got {n_candidates!r}")
        self.stop_threshold = float(cfg.stop_threshold if stop_threshold is None else stop_threshold)
        self.progress_weight = float(cfg.progress_weight if progress_weight is None else progress_weight)
        if not self.progress_weight >= 0 or not math.isfinite(self.progress_weight):
            raise ValueError(f"progress_weight must be finite and >= 0; got {progress_weight!r}")
        self._device = model.depth_scale.device
        self._generator = torch.Generator(device=self._device).manual_seed(int(seed))

    def _depth(self, depth: np.ndarray | torch.Tensor) -> torch.Tensor:
        cfg = self.model.config
        d = torch.as_tensor(depth, dtype=torch.float32)
        if d.ndim == 2:
            d = d[None]
        shape = (cfg.history, cfg.depth_height, cfg.depth_width)
        if tuple(d.shape) != shape:
            raise ValueError(f"depth: expected shape {shape} (or {shape[1:]} when history is 1) [m]; "
                             f"got {tuple(np.shape(depth))}")
        return d[None].to(self._device)

    @torch.inference_mode()
    def plan(self, depth: np.ndarray | torch.Tensor, goal: np.ndarray | tuple[float, float] | None = None, *,
             seed: int | None = None, generator: torch.Generator | None = None) -> Plan:
        """Sample, score and pick (module docstring).

        Args:
            depth: ``(T, H, W)`` or ``(H, W)`` depth [m] (0 = no return), older frames first.
            goal: ``(2,)`` point goal ``(x, y)`` [m] in the robot frame, or ``None`` (no goal).
            seed: if given, a fresh generator seeded with it (takes precedence over ``generator``).
            generator: source of the diffusion noise (and of the random pick); default: the
                planner's own.

        Returns:
            A :class:`Plan`. Every candidate step is within ``config.max_step`` per axis.
        """
        cfg = self.model.config
        if seed is not None:
            generator = torch.Generator(device=self._device).manual_seed(int(seed))
        elif generator is None:
            generator = self._generator
        device = self._device
        g = torch.zeros(1, 3, device=device)  # (x, y, flag); all zero = no goal
        if goal is not None:
            xy = torch.as_tensor(np.asarray(goal, dtype=np.float32).reshape(-1))
            if xy.shape != (2,) or not torch.isfinite(xy).all():
                raise ValueError(f"goal: expected finite (x, y) [m] in the robot frame; got {goal!r}")
            g[0, :2], g[0, 2] = xy.to(device), 1.0
        obs = self.model.encode(self._depth(depth))
        k = self.n_candidates
        increments = self.model.sample_actions(obs, g, generator, n_samples=k)  # one memory for all K
        candidates = torch.cumsum(increments, dim=1)
        if self.selection in ("critic", "critic_only"):
            scores = self.model.score(increments, obs)
            if goal is None:
                short = candidates[:, -1, :2].norm(dim=-1) < cfg.no_goal_min_length
                scores = torch.where(short, torch.full_like(scores, cfg.no_goal_short_score), scores)
            best = int(torch.argmax(scores))
            stop = bool(scores[best] < self.stop_threshold)
            if self.selection == "critic" and goal is not None and not stop and self.progress_weight > 0:
                goal_xy = g[0, :2]
                progress = (goal_xy.norm() - (goal_xy - candidates[:, -1, :2]).norm(dim=-1)) / (
                    cfg.n_waypoints * cfg.max_step)
                total = scores + self.progress_weight * progress
                total = torch.where(scores >= self.stop_threshold, total, torch.full_like(total, -math.inf))
                best = int(torch.argmax(total))
        else:
            scores = torch.full((k,), float("nan"), device=device)
            if self.selection == "first_sample":
                best = 0
            else:
                best = int(torch.randint(k, (1,), generator=generator, device=device))
            stop = False
        rotate = (1 if float(candidates[..., 1].mean()) >= 0 else -1) if stop else 0
        return Plan(candidates=candidates.cpu().numpy(), scores=scores.float().cpu().numpy(), best=best,
                    stop=stop, rotate=rotate)
