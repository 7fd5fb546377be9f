"""The Recovery-RL style safety critic: discounted risk learned by bootstrapping, with a target net.

Where :mod:`robocritic.bresa.train` fits "violation within H" labels by supervised BCE, this
trains the same :class:`~robocritic.bresa.critic.SafetyCritic` (twin sigmoid heads) on the
temporal-difference target of Recovery RL (Thananjeyan et al. 2021),
:func:`robocritic.bresa.labels.recovery_target`::

    y_t = c_t + (1 - c_t) * (1 - done_t) * gamma * max(Q1', Q2')(s_{t+1}, a_{t+1})

``Q'`` is a TARGET network that follows the trained one by Polyak averaging
(``theta' <- (1 - tau) theta' + tau theta`` after every gradient step), and ``gamma`` comes from a
physical horizon: :func:`~robocritic.bresa.labels.gamma_for_horizon` (30 ms at 1 kHz ->
``1 - 1/30``). A violation ``k`` ticks ahead then scores ``gamma^k``: the discounted probability
of a future violation under the data's (behaviour) policy.

Transitions come from consecutive ticks of a :class:`~robocritic.bresa.collect.CriticDataset`
(:func:`successor_index`): the successor of tick ``t`` is tick ``t + 1`` of the same episode (its
state features and APPLIED command). At an episode's last tick:

* terminated (a true end): ``done = 1``, the target is the cost alone;
* truncated (a time limit: the future exists but was not recorded): ``done = 0`` and the
  successor is the last tick itself -- the unrecorded state 1 ms later is taken to be the last
  recorded one (neighbouring ticks are nearly identical), so the tail still bootstraps.

Evaluation is the one of :mod:`robocritic.bresa.train`, so both critics compare directly: the
same episode split for the same ``seed`` and ``val_fraction``, held-out BCE and AUROC of
``risk = max(Q1, Q2)`` against "violation within ``horizon_ms``" labels (censored ticks dropped).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from robocritic.bresa.collect import CriticDataset
from robocritic.bresa.critic import SafetyCritic
from robocritic.bresa.evaluate import auroc
from robocritic.bresa.labels import gamma_for_horizon, recovery_target
from robocritic.bresa.train import base_rate_bce, mean_bce, split_episodes

__all__ = [
    "DiscountedHistory",
    "discounted_targets",
    "polyak_update",
    "successor_index",
    "train_discounted",
]


@dataclass
class DiscountedHistory:
    """Per-epoch record of :func:`train_discounted`.

    Attributes:
        td_loss: mean BCE (one head's scale) of the twins against the bootstrapped targets over
            the epoch's minibatches. val_bce / val_auroc: held-out BCE and AUROC of the risk
            against "violation within H" labels (the :mod:`~robocritic.bresa.train` metrics).
        target_gap: mean ``|theta - theta'|`` over the parameters after the epoch (how far the
            target network lags; 0 with ``tau = 1``).
        train_episodes, val_episodes: the split. horizon_steps: H of the labels [ticks].
        gamma: the discount. label_rate_val: share of positive held-out labels.
        base_rate_val: held-out BCE of the constant predictor at the training label rate.
        val_bce_init / val_auroc_init: the same metrics before training (e.g. of ``init_from``).
    """

    td_loss: list[float] = field(default_factory=list)
    val_bce: list[float] = field(default_factory=list)
    val_auroc: list[float] = field(default_factory=list)
    target_gap: list[float] = field(default_factory=list)
    train_episodes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    val_episodes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    horizon_steps: int = 0
    gamma: float = float("nan")
    label_rate_val: float = float("nan")
    base_rate_val: float = float("nan")
    val_bce_init: float = float("nan")
    val_auroc_init: float = float("nan")


def successor_index(dataset: CriticDataset) -> tuple[np.ndarray, np.ndarray]:
    """Successor row and terminal flag of every tick (module docstring).

    Returns:
        ``next (N,)`` int64 row of ``s_{t+1}, a_{t+1}`` (the tick itself at an episode's last
        tick) and ``done (N,)`` float64: 1 only at the last tick of a terminated episode.
    """
    n = dataset.cost.shape[0]
    nxt = np.arange(1, n + 1, dtype=np.int64)
    done = np.zeros(n)
    for e, sl in enumerate(dataset.episode_slices()):
        if sl.stop > sl.start:
            last = sl.stop - 1
            nxt[last] = last
            done[last] = 0.0 if bool(dataset.truncated[e]) else 1.0
    return nxt, done


def discounted_targets(
    cost: np.ndarray, q_next: np.ndarray, done: np.ndarray, gamma: float
) -> np.ndarray:
    """``(B,)`` targets ``c + (1 - c)(1 - done) gamma max(q_next)`` for ``cost (B,)``,
    ``q_next (B, 2)`` (the target net's twins at the successors) and ``done (B,)``."""
    return recovery_target(cost, q_next, gamma, done)


@torch.no_grad()
def polyak_update(target: nn.Module, online: nn.Module, tau: float) -> None:
    """``theta' <- (1 - tau) theta' + tau theta`` for every parameter; buffers are copied."""
    if not 0.0 < tau <= 1.0:
        raise ValueError(f"tau must lie in (0, 1]; got {tau!r}")
    for p_t, p in zip(target.parameters(), online.parameters(), strict=True):
        p_t.mul_(1.0 - tau).add_(p, alpha=tau)
    for b_t, b in zip(target.buffers(), online.buffers(), strict=True):
        b_t.copy_(b)


def _target_gap(target: nn.Module, online: nn.Module) -> float:
    with torch.no_grad():
        diffs = [(p_t - p).abs().flatten() for p_t, p in zip(target.parameters(), online.parameters(), strict=True)]
        return float(torch.cat(diffs).mean())


def _risk(critic: SafetyCritic, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return critic.risk(torch.from_numpy(x).to(critic.in_mean.dtype)).double().numpy()


def train_discounted(
    dataset: CriticDataset,
    *,
    horizon_ms: float = 30.0,
    epochs: int = 10,
    seed: int = 0,
    tau: float = 0.005,
    init_from: SafetyCritic | None = None,
    hidden: Sequence[int] = (64, 64),
    val_fraction: float = 0.2,
    batch_size: int = 256,
    lr: float = 1e-3,
    dt: float = 0.001,
) -> tuple[SafetyCritic, DiscountedHistory]:
    """Fit a :class:`SafetyCritic` to the discounted risk (module docstring).

    Args:
        dataset: collected ticks (consecutive ticks of an episode are transitions).
        horizon_ms: physical horizon [ms]: ``gamma = gamma_for_horizon(horizon_ms / 1e3, dt)``;
            also the H of the evaluation labels (``round(horizon_ms / 1e3 / dt)`` ticks).
        epochs: passes over the training ticks. seed: split, weights, minibatch order.
        tau: Polyak rate of the target network, in (0, 1] (1: the target is the online net).
        init_from: start from a copy of this critic (weights AND its input normalisation, e.g.
            the BCE critic of :func:`~robocritic.bresa.train.train_critic`); its input size must
            match. ``None``: fresh weights, normalisation from the training ticks.
        hidden: widths of each head when not ``init_from``. val_fraction: held-out share of
            episodes. batch_size, lr: Adam minibatches. dt: control period [s].

    Returns:
        The online critic (eval mode) and a :class:`DiscountedHistory`.
    """
    torch.set_num_threads(1)
    if isinstance(epochs, bool) or int(epochs) != epochs or epochs < 1:
        raise ValueError(f"epochs must be an integer >= 1; got {epochs!r}")
    if not (isinstance(tau, (int, float)) and 0.0 < tau <= 1.0):
        raise ValueError(f"tau must lie in (0, 1]; got {tau!r}")
    if not (isinstance(batch_size, int) and batch_size >= 1):
        raise ValueError(f"batch_size must be an integer >= 1; got {batch_size!r}")
    if not lr > 0:
        raise ValueError(f"lr must be > 0; got {lr!r}")
    gamma = gamma_for_horizon(horizon_ms * 1e-3, dt)  # raises naming horizon_s / dt
    horizon = int(round(horizon_ms * 1e-3 / dt))
    labels, mask = dataset.labels(horizon)
    train_ep, val_ep = split_episodes(dataset.n_episodes, val_fraction, seed)
    in_train = np.isin(dataset.episode, train_ep)  # every training tick is a transition (no censoring)
    in_val = np.isin(dataset.episode, val_ep) & mask
    if not in_train.any() or not in_val.any():
        raise ValueError("dataset: no ticks in the training or no unmasked ticks in the validation episodes")
    x = dataset.features
    nxt, done = successor_index(dataset)
    rows = np.flatnonzero(in_train)

    if init_from is not None:
        if init_from.n_in != x.shape[1]:
            raise ValueError(f"init_from: critic input size {init_from.n_in} != dataset features {x.shape[1]}")
        spec = init_from.spec
        critic = SafetyCritic(spec.n_in, spec.hidden, spec.activation, dtype=spec.dtype)
        critic.load_state_dict(init_from.state_dict())
    else:
        critic = SafetyCritic(x.shape[1], hidden, seed=seed)
        critic.set_normalisation(x[rows])
    target = copy.deepcopy(critic)
    for p in target.parameters():
        p.requires_grad_(False)

    dtype = critic.in_mean.dtype
    xt = torch.from_numpy(np.ascontiguousarray(x)).to(dtype)
    x_va, y_va = x[in_val], labels[in_val]
    rate = float(labels[in_train & mask].mean()) if (in_train & mask).any() else float(labels[in_train].mean())
    history = DiscountedHistory(
        train_episodes=train_ep, val_episodes=val_ep, horizon_steps=horizon, gamma=gamma,
        label_rate_val=float(y_va.mean()), base_rate_val=base_rate_bce(rate, y_va),
        val_bce_init=mean_bce(critic, x_va, y_va), val_auroc_init=auroc(_risk(critic, x_va), y_va))

    gen = torch.Generator().manual_seed(int(seed))
    opt = torch.optim.Adam(critic.parameters(), lr=lr)
    bce = nn.BCEWithLogitsLoss(reduction="mean")
    cost_all = dataset.cost.astype(np.float64)
    for _ in range(int(epochs)):
        critic.train()
        perm = rows[torch.randperm(rows.size, generator=gen).numpy()]
        total = 0.0
        for start in range(0, perm.size, batch_size):
            idx = perm[start: start + batch_size]
            with torch.no_grad():
                q_next = target(xt[nxt[idx]]).double().numpy()
            y = discounted_targets(cost_all[idx], q_next, done[idx], gamma)
            yt = torch.from_numpy(y).to(dtype).unsqueeze(-1).expand(-1, 2)
            loss = bce(critic.logits(xt[idx]), yt)  # mean over rows and both heads
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            polyak_update(target, critic, tau)
            total += float(loss.detach()) * idx.size
        critic.eval()
        history.td_loss.append(total / perm.size)
        history.val_bce.append(mean_bce(critic, x_va, y_va))
        history.val_auroc.append(auroc(_risk(critic, x_va), y_va))
        history.target_gap.append(_target_gap(target, critic))
    return critic.eval(), history
