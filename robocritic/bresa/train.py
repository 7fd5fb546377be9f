"""Supervised training of the Bresa safety critic on a collected dataset, with held-out episodes.

Labels are "violation within ``horizon_ms``" (:meth:`CriticDataset.labels`); censored ticks are
dropped. Episodes (not ticks: neighbouring ticks are nearly identical) are split into training
and validation sets; the input normalisation comes from the training ticks only.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from robocritic.bresa.collect import CriticDataset
from robocritic.bresa.critic import SafetyCritic
from robocritic.bresa.pretrain import pretrain_bce
from robocritic.learning.checkpoint import Checkpoint, CheckpointError, CheckpointStore, load_module_state

__all__ = ["TrainHistory", "base_rate_bce", "mean_bce", "split_episodes", "train_critic"]


@dataclass
class TrainHistory:
    """Per-epoch losses (mean BCE of ONE head's worth: the twins' sum halved) and the split.

    ``base_rate_val`` is the held-out BCE of the constant predictor at the training label rate.
    """

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    train_episodes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    val_episodes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    horizon_steps: int = 0
    label_rate_train: float = 0.0
    label_rate_val: float = 0.0
    base_rate_val: float = float("nan")


def split_episodes(n_episodes: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random ``(train, val)`` episode indices; at least one of each when ``n_episodes >= 2``."""
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must lie in (0, 1); got {val_fraction!r}")
    if n_episodes < 2:
        raise ValueError(f"need at least 2 episodes for a held-out split; got {n_episodes}")
    perm = np.random.default_rng(seed).permutation(n_episodes)
    n_val = min(max(1, round(val_fraction * n_episodes)), n_episodes - 1)
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def mean_bce(critic: SafetyCritic, features: np.ndarray, labels: np.ndarray) -> float:
    """Mean BCE over rows and both heads (one head's scale) of ``critic`` on ``(features, labels)``."""
    dtype = critic.in_mean.dtype
    with torch.no_grad():
        logits = critic.logits(torch.from_numpy(np.asarray(features, dtype=np.float64)).to(dtype))
        y = torch.from_numpy(np.asarray(labels, dtype=np.float64)).to(dtype).unsqueeze(-1).expand_as(logits)
        return float(nn.functional.binary_cross_entropy_with_logits(logits, y))


def base_rate_bce(rate: float, labels: np.ndarray) -> float:
    """BCE of the constant prediction ``rate`` (clipped to [1e-7, 1 - 1e-7]) on ``labels``."""
    p = float(np.clip(rate, 1e-7, 1 - 1e-7))
    y = np.asarray(labels, dtype=np.float64)
    return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())


def _restore(ckpt: Checkpoint, critic: SafetyCritic, history: TrainHistory) -> int:
    """Resume from ``ckpt``: the critic's weights and the losses so far; returns the epochs done.

    Raises:
        CheckpointError: naming the file and the key, for a missing key, weights that do not fit
            the critic, or losses that are not one number per epoch done.
    """
    load_module_state(critic, ckpt.entry("critic"), ckpt.path / "state.pt", "critic")
    losses = {}
    for key in ("train_loss", "val_loss"):
        values = ckpt.meta_entry(key, list)
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        if len(values) != ckpt.step or not numbers:
            raise CheckpointError(f"{ckpt.path / 'meta.json'}: '{key}' must hold {ckpt.step} losses "
                                  f"(one number per epoch done)")
        losses[key] = [float(v) for v in values]
    history.train_loss, history.val_loss = losses["train_loss"], losses["val_loss"]
    return ckpt.step


def train_critic(
    dataset: CriticDataset,
    *,
    horizon_ms: float = 30.0,
    hidden: Sequence[int] = (64, 64),
    epochs: int = 20,
    seed: int = 0,
    val_fraction: float = 0.2,
    batch_size: int = 256,
    lr: float = 1e-3,
    dt: float = 0.001,
    checkpoint_dir: str | os.PathLike[str] | None = None,
) -> tuple[SafetyCritic, TrainHistory]:
    """Fit a :class:`SafetyCritic` with BCE on "violation within ``horizon_ms``" labels.

    Args:
        dataset: collected ticks. horizon_ms: label horizon [ms] (``round(horizon_ms / 1e3 / dt)``
            steps). hidden: widths of each head. epochs, batch_size, lr: optimisation.
        seed: seeds the episode split, the weights and the minibatch order.
        val_fraction: share of episodes held out. dt: control period [s].
        checkpoint_dir: if given, the weights and losses after every epoch are saved there
            (weights-only, :class:`~robocritic.learning.checkpoint.CheckpointStore`), and a run
            with the same data and settings resumes from the newest one: the result equals an
            uninterrupted run (each epoch is seeded by its index).

    Returns:
        The critic (eval mode, normalised on the training ticks) and a :class:`TrainHistory`
        whose losses are evaluated after each epoch on all kept training / validation ticks.
    """
    torch.set_num_threads(1)
    if not horizon_ms >= 0:
        raise ValueError(f"horizon_ms must be >= 0; got {horizon_ms!r}")
    if isinstance(epochs, bool) or int(epochs) != epochs or epochs < 1:
        raise ValueError(f"epochs must be an integer >= 1; got {epochs!r}")
    horizon = int(round(horizon_ms * 1e-3 / dt))
    labels, mask = dataset.labels(horizon)
    train_ep, val_ep = split_episodes(dataset.n_episodes, val_fraction, seed)
    in_train = np.isin(dataset.episode, train_ep) & mask
    in_val = np.isin(dataset.episode, val_ep) & mask
    if not in_train.any() or not in_val.any():
        raise ValueError("dataset: no unmasked ticks in the training or validation episodes")
    x = dataset.features
    x_tr, y_tr, x_va, y_va = x[in_train], labels[in_train], x[in_val], labels[in_val]
    critic = SafetyCritic(x.shape[1], hidden, seed=seed)
    critic.set_normalisation(x_tr)
    rate = float(y_tr.mean())
    history = TrainHistory(train_episodes=train_ep, val_episodes=val_ep, horizon_steps=horizon,
                           label_rate_train=rate, label_rate_val=float(y_va.mean()),
                           base_rate_val=base_rate_bce(rate, y_va))
    store = None if checkpoint_dir is None else CheckpointStore(checkpoint_dir)
    run = {"seed": int(seed), "horizon_steps": horizon, "hidden": list(critic.spec.hidden), "lr": lr,
           "batch_size": int(batch_size), "val_fraction": float(val_fraction), "ticks": int(x.shape[0]),
           "episodes": dataset.n_episodes}
    start = 0
    if store is not None and store.latest() is not None:
        ckpt = store.load()
        if ckpt.meta.get("run") != run:
            raise ValueError(f"checkpoint_dir {checkpoint_dir}: holds a run with other data or settings "
                             f"({ckpt.meta.get('run')}); use another folder")
        start = _restore(ckpt, critic, history)
    for epoch in range(start, int(epochs)):
        # One epoch per call keeps the per-epoch validation loss; a fresh seed per epoch keeps
        # the minibatch orders distinct. (Adam's moments restart each epoch; a short warm-up.)
        pretrain_bce(critic, x_tr, y_tr, epochs=1, batch_size=batch_size, lr=lr,
                     seed=seed * 100_003 + epoch, fit_normalisation=False)
        history.train_loss.append(mean_bce(critic, x_tr, y_tr))
        history.val_loss.append(mean_bce(critic, x_va, y_va))
        if store is not None:
            store.save(epoch + 1, {"critic": {k: v.detach().clone() for k, v in critic.state_dict().items()}},
                       {"run": run, "train_loss": history.train_loss, "val_loss": history.val_loss})
    return critic, history
