"""Refreshing the Bresa safety critic online while a task policy trains.

A critic trained on scripted and exploration data sees a learning policy drive the arm into
states it has not seen. A REFRESH (:meth:`CriticRefresher.refresh`), run between training
episodes by :func:`~robocritic.bresa.task_rl.train_task_policy`:

1. ROLLS OUT the current task policy (deterministic actions) for ``episodes`` episodes through
   :func:`~robocritic.bresa.hierarchy.run_episode`, on the training env's perturbations, with
   :class:`~robocritic.bresa.collect.CommandJitter` perturbing each command (so the data shows
   what OTHER commands do, docs/bresa.md) and then the training filter's method, scoring with the
   current critic, certifying the jittered command (the data is what the filtered system does).
   Env seeds: :func:`refresh_seeds` ``(run seed, refresh index)``: all ``>= 10^6`` (above every
   fixed seed block: collection 0.., held-out 100000.., 200000.., 300000.., 400000..) and none equal
   to a training episode's seed.
2. LABELS the ticks "violation within ``horizon_ms``" (:meth:`CriticDataset.labels`, censored ticks
   dropped) and holds out a share of the new EPISODES (:func:`~robocritic.bresa.train.split_episodes`)
   to measure the critic before and after the fine-tune (BCE of one head, AUROC of the max twin).
3. MIXES the new training ticks with ``replay_ratio`` times as many ticks of the critic's
   ORIGINAL data (drawn without replacement per refresh), so the fine-tune does not forget what
   the original data taught (without them the critic is fitted to the current policy's states
   only). The BCE on a fixed sample of the original ticks is recorded before and after
   (``old_bce_*``: forgetting).
4. FINE-TUNES the critic in place (:func:`~robocritic.bresa.pretrain.pretrain_bce`): from its
   current weights, its input normalisation KEPT (the filter's thresholds were chosen on it),
   ``epochs`` passes at ``lr`` (a fresh Adam per refresh).
5. SWAPS the training filter's risk model for a :class:`NumpyCritic` of the new weights
   (:func:`set_filter_model`, through :class:`~robocritic.bresa.filters.DecisionRateCheck`).

Everything is a function of (run seed, refresh index, current weights): no global RNG is read, so
a run resumed from a checkpoint that holds the critic's weights repeats the uninterrupted run.
"""

from __future__ import annotations

import math
import time
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from robocritic.bresa.collect import ENV_ID, CommandJitter, CriticDataset, dataset_from_traces
from robocritic.bresa.critic import NumpyCritic, SafetyCritic
from robocritic.bresa.evaluate import auroc
from robocritic.bresa.features import FeatureLayout
from robocritic.bresa.hierarchy import HierarchyConfig, TaskPolicy, run_episode
from robocritic.bresa.methods import CONTROL_DT, build_method, needs_critic
from robocritic.bresa.pretrain import pretrain_bce
from robocritic.bresa.train import base_rate_bce, mean_bce, split_episodes
from robocritic.interfaces import SafetyFilter

__all__ = ["REFRESH_SEED_FLOOR", "CriticRefresher", "RefreshRecord", "refresh_seeds", "set_filter_model"]

REFRESH_SEED_FLOOR = 1_000_000
"""Every refresh seed is at least this (above the fixed seed blocks of data and evaluation)."""
_SEED_STREAM = 0x5EF8  # separates refresh seeds from every other SeedSequence of a run
_MIX_STREAM = 0x5EF9  # the draw of original ticks per refresh
_JITTER_STREAM = 0x1177  # the jitter stream of collect(): seeded [env seed, stream]
_OLD_PROBE_TICKS = 20_000  # original ticks whose BCE tracks forgetting
_VAL_FRACTION = 0.2


def refresh_seeds(seed: int, index: int, n: int, *, avoid: Collection[int] = ()) -> list[int]:
    """The ``n`` env seeds of refresh ``index`` (from 1) of run ``seed``.

    Candidate ``j`` is ``SeedSequence([seed, stream, index, j])``'s first 32-bit word; candidates
    below :data:`REFRESH_SEED_FLOOR`, in ``avoid`` (the run's training episode seeds) or already
    taken are skipped. Deterministic; distinct within a refresh.
    """
    if isinstance(n, bool) or int(n) != n or n < 1:
        raise ValueError(f"n must be an integer >= 1; got {n!r}")
    avoid = set(int(a) for a in avoid)
    out: list[int] = []
    j = 0
    while len(out) < n:
        s = int(np.random.SeedSequence([int(seed), _SEED_STREAM, int(index), j]).generate_state(1)[0])
        j += 1
        if s >= REFRESH_SEED_FLOOR and s not in avoid and s not in out:
            out.append(s)
    return out


def set_filter_model(safety_filter: SafetyFilter, model: Any) -> None:
    """Replace the risk model of a critic filter (``.model``), reaching through a
    :class:`~robocritic.bresa.filters.DecisionRateCheck` (``.inner``)."""
    target = getattr(safety_filter, "inner", safety_filter)
    if not hasattr(target, "model"):
        raise ValueError(f"{type(target).__name__} holds no risk model (.model) to replace")
    target.model = model


class _JitterThenFilter:
    """:class:`CommandJitter` perturbs the nominal command, then the filter certifies the result;
    counts the ticks the filter itself changed the command."""

    def __init__(self, jitter: CommandJitter, safety_filter: SafetyFilter) -> None:
        self.jitter, self.filter = jitter, safety_filter
        self.filter_interventions = 0

    def reset(self) -> None:
        self.jitter.reset()
        if hasattr(self.filter, "reset"):
            self.filter.reset()

    def certify(self, obs: np.ndarray, action: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
        jittered, jinfo = self.jitter.certify(obs, action)
        out, info = self.filter.certify(obs, jittered)
        self.filter_interventions += int(bool(info.get("intervened", False)))
        return out, {**info, "intervened": bool(info.get("intervened", False) or jinfo["intervened"])}


@dataclass
class RefreshRecord:
    """One refresh (module docstring). ``before`` / ``after``: the critic's quality on the held-out
    new episodes (``bce``: mean BCE of one head; ``base_bce``: the constant predictor at the label
    rate of the new training episodes; ``auroc``: of the max twin, NaN without both classes; ``label_rate``).
    ``old_bce_*``: BCE on a fixed sample of the original data (NaN without it). Times in s."""

    index: int
    episode: int
    seeds: list[int]
    val_seeds: list[int]
    ticks_new: int
    ticks_old: int
    rollout_unsafe_ticks: int
    rollout_violating_episodes: int
    rollout_filter_interventions: int
    before: dict[str, float] = field(default_factory=dict)
    after: dict[str, float] = field(default_factory=dict)
    old_bce_before: float = math.nan
    old_bce_after: float = math.nan
    rollout_s: float = 0.0
    finetune_s: float = 0.0
    wall_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (NaN -> ``None``)."""
        def clean(v: Any) -> Any:
            if isinstance(v, float) and not math.isfinite(v):
                return None
            if isinstance(v, dict):
                return {k: clean(x) for k, x in v.items()}
            return v

        return {k: clean(v) for k, v in asdict(self).items()}


def _quality(critic: SafetyCritic, x: np.ndarray, y: np.ndarray, train_rate: float) -> dict[str, float]:
    with torch.no_grad():
        risk = critic.risk(torch.from_numpy(x).to(critic.in_mean.dtype)).double().numpy()
    return {"bce": mean_bce(critic, x, y), "base_bce": base_rate_bce(train_rate, y), "auroc": auroc(risk, y),
            "label_rate": float(y.mean()) if y.size else math.nan}


class CriticRefresher:
    """Fine-tunes ``critic`` on rollouts of the current task policy (module docstring).

    Args:
        critic: the critic in the training filter (fine-tuned in place; its normalisation kept).
        method: the training filter's method (a critic method of :mod:`robocritic.bresa.methods`).
        hierarchy: the loop settings. env_kwargs: ``gym.make`` arguments of the training env.
        seed: the run seed. episodes: rollouts per refresh (>= 2: one at least is held out).
        epochs, lr, batch_size: the fine-tune. horizon_ms: label horizon [ms].
        jitter: :class:`CommandJitter`'s start probability per tick.
        old_data: the critic's original data (``None``: fine-tune on the new data only).
        replay_ratio: original ticks per new training tick in the mix.
        avoid_seeds: seeds the rollouts must not use (the run's training episode seeds).
    """

    def __init__(
        self,
        critic: SafetyCritic,
        *,
        method: str,
        hierarchy: HierarchyConfig,
        env_kwargs: Mapping[str, Any],
        seed: int,
        episodes: int,
        epochs: int,
        lr: float = 3e-4,
        batch_size: int = 256,
        horizon_ms: float = 30.0,
        jitter: float = 0.01,
        old_data: CriticDataset | None = None,
        replay_ratio: float = 1.0,
        avoid_seeds: Collection[int] = (),
    ) -> None:
        if not needs_critic(method):
            raise ValueError(f"method: {method!r} has no critic to refresh")
        if isinstance(episodes, bool) or int(episodes) != episodes or episodes < 2:
            raise ValueError(f"episodes must be an integer >= 2 (one is held out); got {episodes!r}")
        self.critic, self.method, self.hierarchy = critic, method, hierarchy
        self.env_kwargs = dict(env_kwargs)
        self.seed, self.episodes, self.epochs = int(seed), int(episodes), int(epochs)
        self.lr, self.batch_size, self.jitter = float(lr), int(batch_size), float(jitter)
        self.horizon = int(round(horizon_ms * 1e-3 / CONTROL_DT))
        self.replay_ratio = float(replay_ratio)
        self.avoid_seeds = frozenset(int(s) for s in avoid_seeds)
        self.layout = FeatureLayout(m=2)
        self.feature_names = self.layout.state_names() + self.layout.action_names()
        if critic.n_in != self.layout.n_in:
            raise ValueError(f"critic: {critic.n_in} inputs; the planar task has {self.layout.n_in} features")
        self.old_x = self.old_y = None
        self.old_probe: tuple[np.ndarray, np.ndarray] | None = None
        if old_data is not None:
            if tuple(old_data.feature_names) != tuple(self.feature_names):
                raise ValueError(f"old_data: feature names {old_data.feature_names} differ from the "
                                 f"critic's {self.feature_names}")
            labels, mask = old_data.labels(self.horizon)
            self.old_x, self.old_y = old_data.features[mask], labels[mask]
            rng = np.random.default_rng([self.seed, _MIX_STREAM])
            idx = np.sort(rng.choice(self.old_y.size, min(_OLD_PROBE_TICKS, self.old_y.size), replace=False))
            self.old_probe = (self.old_x[idx], self.old_y[idx])

    def numpy_critic(self, max_batch: int = 64) -> NumpyCritic:
        """The current weights as the filter's torch-free model."""
        return NumpyCritic.from_module(self.critic, max_batch=max_batch)

    def rollouts(self, policy: TaskPolicy, seeds: list[int]) -> tuple[CriticDataset, int]:
        """``(dataset, filter interventions)`` of ``policy`` on ``seeds`` (jitter, then the filter
        of :attr:`method` with the current critic)."""
        _, safety = build_method(self.method, self.numpy_critic(), self.layout, self.hierarchy)
        env = gym.make(ENV_ID, **self.env_kwargs)
        traces, interventions = [], 0
        try:
            for s in seeds:
                jitter = CommandJitter(np.random.default_rng([s, _JITTER_STREAM]), self.jitter)
                chain = _JitterThenFilter(jitter, safety)
                traces.append(run_episode(env, policy, config=self.hierarchy, safety_filter=chain, seed=s))
                interventions += chain.filter_interventions
        finally:
            env.close()
        return dataset_from_traces(traces, self.layout), interventions

    def refresh(self, index: int, episode: int, policy: TaskPolicy,
                safety_filter: SafetyFilter | None = None) -> RefreshRecord:
        """Refresh ``index`` (from 1) after training episode ``episode``: roll out ``policy``,
        fine-tune, and put the new model into ``safety_filter`` (module docstring)."""
        t0 = time.perf_counter()
        seeds = refresh_seeds(self.seed, index, self.episodes, avoid=self.avoid_seeds)
        ds, interventions = self.rollouts(policy, seeds)
        t1 = time.perf_counter()
        labels, mask = ds.labels(self.horizon)
        train_ep, val_ep = split_episodes(ds.n_episodes, _VAL_FRACTION, self.seed * 1_000_003 + index)
        x = ds.features
        in_tr, in_va = np.isin(ds.episode, train_ep) & mask, np.isin(ds.episode, val_ep) & mask
        x_tr, y_tr, x_va, y_va = x[in_tr], labels[in_tr], x[in_va], labels[in_va]
        n_old = 0
        if self.old_x is not None and self.replay_ratio > 0:
            n_old = min(int(round(self.replay_ratio * y_tr.size)), self.old_y.size)
            rng = np.random.default_rng([self.seed, _MIX_STREAM, index])
            pick = np.sort(rng.choice(self.old_y.size, n_old, replace=False))
            x_fit, y_fit = np.concatenate([x_tr, self.old_x[pick]]), np.concatenate([y_tr, self.old_y[pick]])
        else:
            x_fit, y_fit = x_tr, y_tr
        rate = float(y_tr.mean()) if y_tr.size else 0.0  # the base rate of the new training episodes
        violating = sum(bool(ds.cost[sl].any()) for sl in ds.episode_slices())
        rec = RefreshRecord(index=int(index), episode=int(episode), seeds=seeds,
                            val_seeds=[int(ds.seeds[e]) for e in val_ep], ticks_new=int(y_tr.size),
                            ticks_old=n_old, rollout_unsafe_ticks=int(ds.cost.sum()),
                            rollout_violating_episodes=int(violating),
                            rollout_filter_interventions=int(interventions))
        if y_va.size:
            rec.before = _quality(self.critic, x_va, y_va, rate)
        if self.old_probe is not None:
            rec.old_bce_before = mean_bce(self.critic, *self.old_probe)
        if y_fit.size:  # an episode cut before any labelled tick leaves nothing to fit
            pretrain_bce(self.critic, x_fit, y_fit, epochs=self.epochs, batch_size=self.batch_size,
                         lr=self.lr, seed=self.seed * 1_000_003 + index, fit_normalisation=False)
        if y_va.size:
            rec.after = _quality(self.critic, x_va, y_va, rate)
        if self.old_probe is not None:
            rec.old_bce_after = mean_bce(self.critic, *self.old_probe)
        if safety_filter is not None:
            old = getattr(getattr(safety_filter, "inner", safety_filter), "model", None)
            set_filter_model(safety_filter, self.numpy_critic(getattr(old, "max_batch", 64)))
        t2 = time.perf_counter()
        rec.rollout_s, rec.finetune_s, rec.wall_s = t1 - t0, t2 - t1, t2 - t0
        return rec

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The critic's weights and normalisation (a copy; what a checkpoint stores)."""
        return {k: v.detach().clone() for k, v in self.critic.state_dict().items()}

    def load_state_dict(self, state: Mapping[str, torch.Tensor]) -> None:
        self.critic.load_state_dict(dict(state), strict=True)
        self.critic.eval()
