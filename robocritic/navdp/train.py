"""Training NavDP on generated shards: resumable, bit for bit.

Reads top to bottom in :func:`train`: the settings, the data (held-out shards for validation),
the network (label normalisation from the training labels, kept in its buffers), then the loop.
Each step draws its batch from a generator seeded by ``(seed, step)`` and its diffusion noise
from a torch generator seeded the same way, and the learning rate is a function of the step
(Adam, ``lr`` decaying linearly to ``lr * lr_final`` over ``decay_steps``, then constant; NavDP:
1e-4 to half over 10k steps), so nothing but the weights and the optimiser state carries from
one step to the next: a run resumed from its newest checkpoint continues exactly as if it had
never stopped, and ``--steps`` can be raised to extend a finished run.

Fine-tuning (:func:`train` with ``init``): the network, its weights and its label normalisation
come from a model file instead of a fresh seeded network (the optimiser starts anew). With
``candidates`` (a folder of :mod:`robocritic.navdp.candidates` files for the training shards) and
``candidate_batch > 0``, each step adds ``candidate_batch`` observation samples with all their
``K`` sampled candidates and a critic MSE on their labels (standardised like the shards' labels)
weighted by ``candidate_weight``, drawn from their own stream, so the shard batch of a step is the
one it would be without them.

Run folder::

    RUN_DIR/run.json          settings, data, shard split, versions (checked on resume)
    RUN_DIR/checkpoints/      weights-only training state every checkpoint_every steps
    RUN_DIR/tb/               TensorBoard scalars: loss/* (training), val/* (held-out shards)
    RUN_DIR/history.json      the logged losses, rewritten at each checkpoint
    RUN_DIR/model.pt          the model at the end (save_model; `navdp export` writes it too)

:func:`check_model` gives offline sanity numbers of a model on held-out shards.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from robocritic.learning.checkpoint import CheckpointStore
from robocritic.learning.runs import progress_bar, tensorboard_writer, versions
from robocritic.navdp.checkpoint import load_training_state, save_model, save_training_state
from robocritic.navdp.config import NavDPConfig
from robocritic.navdp.model import NavDPBatch, NavDPNet, train_step
from robocritic.navdp.shards import ShardDataset, list_shards
from robocritic.utils.atomic import atomic_write_json
from robocritic.utils.fields import check_bool, check_int, check_real

__all__ = [
    "TrainConfig",
    "TrainResult",
    "check_model",
    "export_run",
    "candidate_critic_loss",
    "candidate_losses",
    "model_config_for",
    "split_shards",
    "train",
]

_OWNER = "TrainConfig"
RUN_FORMAT = 1
#: TrainConfig fields that may change between a run and its resumption (they do not change the
#: weights of any step).
RESUMABLE_CHANGES = ("steps", "checkpoint_every", "log_every", "threads", "progress", "tensorboard")
#: NavDPConfig fields used only when planning (a run made before one existed still resumes).
PLANNING_FIELDS = ("n_candidates", "stop_threshold", "no_goal_min_length", "no_goal_short_score", "progress_weight")


@dataclass(frozen=True)
class TrainConfig:
    """Settings of a training run.

    Attributes:
        steps: gradient steps in all (raise it to extend a run).
        batch_size: samples per step (drawn without replacement within a step).
        lr: initial Adam learning rate. lr_final: the learning rate after ``decay_steps`` as a
            fraction of ``lr`` (linear in between; constant after).
        decay_steps: length of the decay, steps.
        grad_clip: clip the gradient norm to this (0 = no clipping).
        seed: initial weights, batches and diffusion noise.
        val_fraction: share of the shards held out (at least one when there are two or more).
        val_every: steps between validation losses. val_samples: held-out samples evaluated
            (the same ones each time).
        checkpoint_every: steps between checkpoints (one is also written at the end).
        log_every: steps between TensorBoard points (means of the loss parts since the last).
        threads: ``torch.set_num_threads``.
        progress: tqdm bar. tensorboard: write TensorBoard scalars (needs ``tensorboard``).
        candidate_batch: observation samples per step from the candidate files (each with all
            its ``K`` candidates); 0 = none (needs ``candidates`` in :func:`train` otherwise).
        candidate_weight: weight of the critic MSE on those candidates in the loss.
        candidate_rank_weight: weight of a pairwise ranking loss on those candidates (0 = none):
            for each pair of candidates of one sample whose labels differ by more than
            ``rank_margin``, ``softplus(-(v_better - v_worse))`` on the standardised critic values,
            averaged over such pairs.
        rank_margin: least label difference of a ranked pair (label units).
    """

    steps: int = 2000
    batch_size: int = 32
    lr: float = 1e-4
    lr_final: float = 0.5
    decay_steps: int = 10_000
    grad_clip: float = 0.0
    seed: int = 0
    val_fraction: float = 0.1
    val_every: int = 250
    val_samples: int = 256
    checkpoint_every: int = 250
    log_every: int = 25
    threads: int = 1
    progress: bool = True
    tensorboard: bool = True
    candidate_batch: int = 0
    candidate_weight: float = 0.2
    candidate_rank_weight: float = 0.0
    rank_margin: float = 0.25

    def __post_init__(self) -> None:
        check_int(_OWNER, "candidate_batch", self.candidate_batch, low=0)
        check_real(_OWNER, "candidate_weight", self.candidate_weight, low=0.0)
        check_real(_OWNER, "candidate_rank_weight", self.candidate_rank_weight, low=0.0)
        check_real(_OWNER, "rank_margin", self.rank_margin, low=0.0)
        for name in ("steps", "batch_size", "decay_steps", "val_every", "val_samples", "checkpoint_every",
                     "log_every", "threads"):
            check_int(_OWNER, name, getattr(self, name), low=1)
        check_int(_OWNER, "seed", self.seed, low=0)
        check_real(_OWNER, "lr", self.lr, low=0.0, low_open=True)
        check_real(_OWNER, "lr_final", self.lr_final, low=0.0, high=1.0)
        check_real(_OWNER, "grad_clip", self.grad_clip, low=0.0)
        check_real(_OWNER, "val_fraction", self.val_fraction, low=0.0, high=0.9)
        check_bool(_OWNER, "progress", self.progress)
        check_bool(_OWNER, "tensorboard", self.tensorboard)

    def learning_rate(self, step: int) -> float:
        """The learning rate of step ``step`` (0-based)."""
        frac = min(step, self.decay_steps) / self.decay_steps
        return self.lr * (1.0 - (1.0 - self.lr_final) * frac)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainConfig:
        """Inverse of :meth:`to_dict`; unknown keys are refused (naming them)."""
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"{_OWNER}: unknown fields {unknown}")
        return cls(**data)


@dataclass
class TrainResult:
    """The outcome of :func:`train`.

    Attributes:
        model: the network after the last step (eval mode). step: steps done.
        history: logged losses (``step``, ``loss/*`` lists; ``val_step``, ``val/*`` lists).
        run_dir: the run folder. steps_per_s: this session's speed (0 if it made no step).
    """

    model: NavDPNet
    step: int
    history: dict[str, list[float]]
    run_dir: Path
    steps_per_s: float


def split_shards(paths: Sequence[Path], val_fraction: float, seed: int) -> tuple[list[Path], list[Path]]:
    """``(train, validation)`` shards: ``round(val_fraction * n)`` (at least 1 when ``n >= 2`` and
    ``val_fraction > 0``) drawn by ``seed``; both lists sorted by name."""
    paths = sorted(Path(p) for p in paths)
    n = len(paths)
    n_val = 0 if val_fraction == 0 or n < 2 else min(n - 1, max(1, round(val_fraction * n)))
    val = set(np.random.default_rng([seed, 7]).permutation(n)[:n_val].tolist())
    return [p for i, p in enumerate(paths) if i not in val], [p for i, p in enumerate(paths) if i in val]


def model_config_for(dims: Mapping[str, int], overrides: Mapping[str, Any] | None = None) -> NavDPConfig:
    """The :class:`NavDPConfig` of ``overrides`` whose input and output sizes are the data's
    (``depth_height = H``, ``depth_width = W``, ``history = T``, ``n_waypoints = N``).

    Raises:
        ValueError: naming the field, if an override disagrees with the data.
    """
    overrides = dict(overrides or {})
    sizes = {"depth_height": dims["H"], "depth_width": dims["W"], "history": dims["T"],
             "n_waypoints": dims["N"]}
    for name, value in sizes.items():
        if name in overrides and overrides[name] != value:
            raise ValueError(f"NavDPConfig.{name}={overrides[name]!r} disagrees with the data ({value})")
    return NavDPConfig.from_dict({**overrides, **sizes})


def _step_seed(seed: int, step: int, stream: int) -> int:
    return int(np.random.SeedSequence([seed, step, stream]).generate_state(1)[0])


def _batch(data: ShardDataset, indices: np.ndarray) -> NavDPBatch:
    return NavDPBatch.from_mapping({k: torch.from_numpy(v) for k, v in data.batch(indices).items()})


def _folders(folder: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> list[Path]:
    """One folder or several -> a non-empty list of paths."""
    out = [Path(folder)] if isinstance(folder, (str, os.PathLike)) else [Path(f) for f in folder]
    if not out:
        raise ValueError("expected at least one folder")
    return out


class CandidatePool:
    """The candidate files of a :class:`ShardDataset`'s shards, joined to its samples.

    Args:
        folder: a folder of candidate files (``candidates_<seed>.npz``), or several searched in
            order; one file for every shard of ``data``.

    Raises:
        CandidateError: naming the file, if one is missing or bad, was made from another shard
            (its SHA-256 differs) or has another ``N`` or label radius than the shards.

    Attributes:
        sample: ``(R,)`` int64 index into ``data`` of each row's observation sample.
        actions: ``(R, K, N, 3)`` float32 increments. labels: ``(R, K)`` float32.
        files: ``{name: sha256}`` of the candidate files used.
    """

    def __init__(self, folder: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
                 data: ShardDataset) -> None:
        from robocritic.navdp.candidates import CandidateError, candidate_name, file_sha256, load_candidates

        folders = _folders(folder)
        offsets = np.concatenate([[0], np.cumsum([m["samples"] for m in data.metadata])])
        rows, acts, labs, self.files = [], [], [], {}
        for i, (shard, meta) in enumerate(zip(data.paths, data.metadata)):
            name = candidate_name(meta["world_seeds"][0])
            path = next((f / name for f in folders if (f / name).is_file()), folders[0] / name)
            got = load_candidates(path)
            if got.metadata.get("shard_sha256") != file_sha256(shard):
                raise CandidateError(f"{path}: made from another version of {shard}")
            if (got.metadata["dims"]["N"] != data.dims["N"]
                    or got.metadata.get("label_radius") != data.config.label_radius):
                raise CandidateError(f"{path}: N or label radius differ from the shards'")
            if len(got) and got.sample_index[-1] >= meta["samples"]:
                raise CandidateError(f"{path}: field 'sample_index': beyond the {meta['samples']} samples "
                                     f"of {shard}")
            rows.append(offsets[i] + got.sample_index.astype(np.int64))
            acts.append(got.actions)
            labs.append(got.labels)
            self.files[path.name] = file_sha256(path)
        ks = {a.shape[1] for a in acts}
        if len(ks) != 1:
            raise CandidateError(f"{folder}: candidate files disagree on K ({sorted(ks)})")
        self.sample = np.concatenate(rows)
        self.actions, self.labels = np.concatenate(acts), np.concatenate(labs)
        if len(self.sample) < 1:
            raise CandidateError(f"{folder}: the candidate files hold no candidates")

    def __len__(self) -> int:
        return int(len(self.sample))

    def batch(self, data: ShardDataset, rows: np.ndarray) -> dict[str, torch.Tensor]:
        """``depth (B, T, H, W)``, ``actions (B, K, N, 3)``, ``labels (B, K)`` of ``rows`` ``(B,)``."""
        return {"depth": torch.from_numpy(data.samples.depth[self.sample[rows]]),
                "actions": torch.from_numpy(self.actions[rows]),
                "labels": torch.from_numpy(self.labels[rows])}


def candidate_critic_loss(model: NavDPNet, depth: torch.Tensor, actions: torch.Tensor,
                          labels: torch.Tensor) -> torch.Tensor:
    """Critic MSE on standardised labels for ``actions (B, K, N, 3)`` [m, m, rad] seen from
    ``depth (B, T, H, W)`` [m] with ``labels (B, K)`` (the shards' critic loss, on candidates)."""
    return candidate_losses(model, depth, actions, labels)[0]


def candidate_losses(model: NavDPNet, depth: torch.Tensor, actions: torch.Tensor, labels: torch.Tensor,
                     rank_margin: float = 0.25) -> tuple[torch.Tensor, torch.Tensor]:
    """``(critic MSE, pairwise ranking loss)`` on the candidates ``actions (B, K, N, 3)`` seen from
    ``depth (B, T, H, W)`` with ``labels (B, K)``: the MSE of :func:`candidate_critic_loss`, and the
    mean of ``softplus(-(v_i - v_j))`` over the pairs of one sample with ``label_i - label_j >
    rank_margin`` (0 when there is no such pair), on the standardised values ``v``."""
    obs = model.encode(depth)
    b, k = actions.shape[:2]
    value = model.critic_value(actions.flatten(0, 1), obs.repeat_interleave(k, dim=0))
    target = (labels.flatten() - model.label_mean) / model.label_std
    mse = torch.nn.functional.mse_loss(value, target)
    v = value.reshape(b, k)
    better = (labels[:, :, None] - labels[:, None, :]) > rank_margin  # (B, K, K): i better than j
    if not bool(better.any()):
        return mse, value.sum() * 0.0
    diff = v[:, :, None] - v[:, None, :]
    rank = torch.nn.functional.softplus(-diff[better]).mean()
    return mse, rank


@torch.no_grad()
def _validation_loss(model: NavDPNet, data: ShardDataset, cfg: TrainConfig,
                     pool: CandidatePool | None = None) -> dict[str, float]:
    """Mean loss parts on the same ``val_samples`` held-out samples with the same noise each time
    (and ``candidates``: the critic MSE on up to ``val_samples`` rows of ``pool``)."""
    was_training = model.training
    model.eval()
    n = len(data)
    order = np.random.default_rng([cfg.seed, 11]).permutation(n)[: min(n, cfg.val_samples)]
    gen = torch.Generator().manual_seed(_step_seed(cfg.seed, 0, 12))
    sums: dict[str, float] = {}
    for i in range(0, len(order), cfg.batch_size):
        chunk = order[i:i + cfg.batch_size]
        _, parts = model.loss(_batch(data, chunk), gen)
        for k, v in parts.items():
            sums[k] = sums.get(k, 0.0) + v * len(chunk)
    out = {k: v / len(order) for k, v in sums.items()}
    if pool is not None:
        rows = np.random.default_rng([cfg.seed, 13]).permutation(len(pool))[: min(len(pool), cfg.val_samples)]
        total = 0.0
        for i in range(0, len(rows), cfg.batch_size):
            chunk = rows[i:i + cfg.batch_size]
            total += float(candidate_critic_loss(model, **pool.batch(data, chunk))) * len(chunk)
        out["candidates"] = total / len(rows)
    model.train(was_training)
    return out


def _run_record(data_dir: Path | list[Path], train_paths: list[Path], val_paths: list[Path], cfg: TrainConfig,
                model_cfg: NavDPConfig, generator: dict[str, Any]) -> dict[str, Any]:
    data = [str(d) for d in data_dir] if isinstance(data_dir, list) else str(data_dir)
    return {"format": RUN_FORMAT, "data": data, "train_shards": [p.name for p in train_paths],
            "val_shards": [p.name for p in val_paths], "train": cfg.to_dict(), "model": model_cfg.to_dict(),
            "generator": generator}


_TRAIN_DEFAULTS = TrainConfig().to_dict()


def _check_resume(path: Path, old: dict[str, Any], new: dict[str, Any]) -> None:
    """Refuse to resume a run whose weights would depend on different data or settings."""
    for key in ("format", "train_shards", "val_shards", "model", "generator", "init", "candidates"):
        was, now = old.get(key), new.get(key)
        if key == "model" and isinstance(was, dict) and isinstance(now, dict):  # planning-only fields may
            was, now = ({k: v for k, v in m.items() if k not in PLANNING_FIELDS} for m in (was, now))  # change
        if was != now:
            raise ValueError(f"{path}: the run was made with other {key!r}; use another run folder")
    # A field the run's record lacks (it predates the field) had its default value.
    changed = sorted(k for k in new["train"] if k not in RESUMABLE_CHANGES
                     and old["train"].get(k, _TRAIN_DEFAULTS.get(k)) != new["train"][k])
    if changed:
        was = {k: old["train"].get(k) for k in changed}
        raise ValueError(f"{path}: TrainConfig fields {changed} differ from the run's ({was}); only "
                         f"{list(RESUMABLE_CHANGES)} may change")


def train(data_dir: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
          run_dir: str | os.PathLike[str],
          config: TrainConfig | None = None, model_overrides: Mapping[str, Any] | None = None, *,
          until: int | None = None, init: str | os.PathLike[str] | None = None,
          candidates: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None) -> TrainResult:
    """Train (or resume) a NavDP model on the shards of ``data_dir`` into ``run_dir`` (module docstring).

    Args:
        data_dir: a folder of shards, or several (e.g. generated shards and rollout shards,
            :mod:`robocritic.navdp.rollouts`); shard names must not repeat across them. The validation
            split is drawn over all shards sorted by full path.
        config: training settings. model_overrides: :class:`NavDPConfig` fields (sizes that the
            data fixes may be left out; :func:`model_config_for`); with ``init``, on top of the
            init model's config (the weights must still fit).
        until: stop after this step (a checkpoint is written there), as if interrupted; the
            run stays resumable. Default ``config.steps``.
        init: a model file (``save_model``) to start from: its weights and label normalisation.
        candidates: a folder (or folders, searched in order) of candidate files for the shards
            (``navdp candidates``, ``navdp rollouts``), used when ``config.candidate_batch > 0``.

    Raises:
        ValueError: bad settings (naming the field), no shards, or a run folder of another run.
        robocritic.navdp.checkpoint.CheckpointError: a damaged checkpoint (naming the file).
    """
    cfg = config or TrainConfig()
    torch.set_num_threads(cfg.threads)
    dirs, run_dir = _folders(data_dir), Path(run_dir)
    data_dir = dirs[0] if len(dirs) == 1 else dirs  # type: ignore[assignment]
    stop = cfg.steps if until is None else min(int(until), cfg.steps)

    # -- data
    paths = []
    for d in dirs:
        found = list_shards(d)
        if not found:
            raise ValueError(f"{d}: no shards (world_*.npz); run `robocritic navdp generate` first")
        paths += found
    names = [p.name for p in paths]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"data_dir: shard names {repeated[:3]} appear in more than one folder")
    train_paths, val_paths = split_shards(paths, cfg.val_fraction, cfg.seed)
    data = ShardDataset(train_paths)
    val = ShardDataset(val_paths) if val_paths else None
    if len(data) < 1:
        raise ValueError(f"{data_dir}: the training shards hold no samples")
    generator = data.metadata[0]["generator"]
    if val is not None and (val.dims != data.dims or val.metadata[0]["generator"] != generator):
        raise ValueError(f"{val_paths[0]}: made with other settings than {train_paths[0]}")
    init_model = None
    if init is not None:
        from robocritic.navdp.candidates import file_sha256
        from robocritic.navdp.checkpoint import load_model

        init_model = load_model(init)
        model_overrides = {**init_model.config.to_dict(), **(model_overrides or {})}
    model_cfg = model_config_for(data.dims, model_overrides)
    if cfg.candidate_batch > 0 and candidates is None:
        raise ValueError("TrainConfig.candidate_batch > 0 needs a folder of candidate files (candidates=...)")
    pool = CandidatePool(candidates, data) if candidates is not None and cfg.candidate_batch > 0 else None
    val_pool = None
    if pool is not None and val is not None:
        from robocritic.navdp.candidates import CandidateError

        try:
            val_pool = CandidatePool(candidates, val)  # type: ignore[arg-type]
        except CandidateError:  # no candidates for the held-out shards: no candidate validation loss
            val_pool = None
    record = _run_record(data_dir, train_paths, val_paths, cfg, model_cfg, generator)
    if init is not None:
        record["init"] = {"path": str(init), "sha256": file_sha256(init)}
    if pool is not None:
        folders = _folders(candidates)  # type: ignore[arg-type]
        record["candidates"] = {"folder": str(folders[0]) if len(folders) == 1 else [str(f) for f in folders],
                                "files": pool.files}

    # -- network, optimiser, or the newest checkpoint of this run
    ckpt_dir = run_dir / "checkpoints"
    run_json = run_dir / "run.json"

    def make_optimizer(params: Any) -> torch.optim.Optimizer:
        return torch.optim.Adam(params, lr=cfg.lr)

    if CheckpointStore(ckpt_dir).latest() is not None:
        if run_json.is_file():
            _check_resume(run_json, json.loads(run_json.read_text()), record)
        state = load_training_state(ckpt_dir, make_optimizer)
        model, optimizer, start = state.model, state.optimizer, state.step
        history: dict[str, list[float]] = {k: list(v) for k, v in state.extra.get("history", {}).items()}
    else:
        model = NavDPNet(model_cfg, seed=cfg.seed)
        if init_model is None:
            model.set_label_normalisation(torch.from_numpy(data.samples.critic_labels))
        else:  # weights and normalisation buffers of the init model
            try:
                model.load_state_dict(init_model.state_dict(), strict=True)
            except RuntimeError as exc:
                raise ValueError(f"{init}: its weights do not fit the model config: {exc}") from exc
        optimizer, start, history = make_optimizer(model.parameters()), 0, {}
    atomic_write_json(run_json, {**record, "versions": versions()})

    # -- loop
    writer = tensorboard_writer(run_dir / "tb", purge_step=start) if cfg.tensorboard else None
    bar = progress_bar(cfg.steps, start, "navdp train", cfg.progress)
    sums: dict[str, float] = {}
    n_sum, t0, step = 0, time.perf_counter(), start
    try:
        for step in range(start, stop):
            for group in optimizer.param_groups:
                group["lr"] = cfg.learning_rate(step)
            rng = np.random.default_rng([cfg.seed, step])
            idx = rng.choice(len(data), size=cfg.batch_size, replace=len(data) < cfg.batch_size)
            torch.manual_seed(_step_seed(cfg.seed, step, 1))  # dropout, if any
            gen = torch.Generator().manual_seed(_step_seed(cfg.seed, step, 2))
            extra = None
            if pool is not None:  # its own stream: the shard batch stays the one without candidates
                crng = np.random.default_rng([cfg.seed, step, 3])
                rows = crng.choice(len(pool), size=cfg.candidate_batch,
                                   replace=len(pool) < cfg.candidate_batch)
                extra = pool.batch(data, rows)
            parts = _step(model, optimizer, _batch(data, idx), gen, cfg.grad_clip, extra,
                          cfg.candidate_weight, cfg.candidate_rank_weight, cfg.rank_margin)
            for k, v in parts.items():
                sums[k] = sums.get(k, 0.0) + v
            n_sum += 1
            done = step + 1
            if done % cfg.log_every == 0 or done == cfg.steps:
                history.setdefault("step", []).append(float(done))
                for k, v in sums.items():
                    history.setdefault(f"loss/{k}", []).append(v / n_sum)
                    if writer is not None:
                        writer.add_scalar(f"loss/{k}", v / n_sum, done)
                if writer is not None:
                    writer.add_scalar("lr", cfg.learning_rate(step), done)
                bar.set_postfix(loss=f"{sums['total'] / n_sum:.4f}")
                sums, n_sum = {}, 0
            if val is not None and (done % cfg.val_every == 0 or done == cfg.steps):
                history.setdefault("val_step", []).append(float(done))
                for k, v in _validation_loss(model, val, cfg, val_pool).items():
                    history.setdefault(f"val/{k}", []).append(v)
                    if writer is not None:
                        writer.add_scalar(f"val/{k}", v, done)
            if done % cfg.checkpoint_every == 0 or done == stop:
                save_training_state(ckpt_dir, done, model, optimizer, extra={"history": history},
                                    meta={"run": str(run_dir)})
                atomic_write_json(run_dir / "history.json", history)
            bar.update(1)
        step = stop
    finally:
        bar.close()
        if writer is not None:
            writer.close()
    made = max(0, stop - start)
    speed = made / (time.perf_counter() - t0) if made else 0.0
    model.eval()
    if stop >= cfg.steps:
        save_model(model, run_dir / "model.pt")
    return TrainResult(model=model, step=max(step, start), history=history, run_dir=run_dir,
                       steps_per_s=speed)


def _step(model: NavDPNet, optimizer: torch.optim.Optimizer, batch: NavDPBatch, gen: torch.Generator,
          grad_clip: float, candidates: dict[str, torch.Tensor] | None = None,
          candidate_weight: float = 0.0, rank_weight: float = 0.0,
          rank_margin: float = 0.25) -> dict[str, float]:
    if grad_clip <= 0 and candidates is None:
        return train_step(model, optimizer, batch, gen)
    model.train()
    optimizer.zero_grad(set_to_none=True)
    total, parts = model.loss(batch, gen)
    if candidates is not None:
        cand, rank = candidate_losses(model, **candidates, rank_margin=rank_margin)
        total = total + candidate_weight * cand
        parts = {**parts, "candidates": float(cand.detach())}
        if rank_weight > 0:  # without it the step is the one before the ranking loss existed
            total = total + rank_weight * rank
            parts["candidates_rank"] = float(rank.detach())
        parts["total"] = float(total.detach())
    total.backward()
    if grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    return parts


def export_run(run_dir: str | os.PathLike[str], out: str | os.PathLike[str]) -> Path:
    """Write the newest checkpoint's model of ``run_dir`` as a model-only file (``save_model``)."""
    state = load_training_state(Path(run_dir) / "checkpoints", lambda p: torch.optim.Adam(p))
    return save_model(state.model.eval(), out)


# ---- offline sanity checks -----------------------------------------------------------------------


@torch.no_grad()
def check_model(model: NavDPNet, data: ShardDataset, *, samples: int = 200, seed: int = 0,
                wall_margin: float = 1.0) -> dict[str, Any]:
    """Sanity numbers of ``model`` on (held-out) samples, seeded.

    * ``critic_expert_above_wall``: among samples with a negative labelled at least
      ``wall_margin`` below the expert (a rotation into an obstacle), the share where the critic
      scores the expert above the lowest-labelled one; ``critic_pair_accuracy``: the share of all
      pairs in the critic sets (labels at least 0.5 apart) that the critic orders like the labels.
    * ``toward_goal``: the share of plans (the critic's pick among ``n_candidates`` samples, the
      goal given) whose end lies closer to the goal than the robot does; ``toward_goal_first``:
      the same for the first sample (no critic); ``expert_toward_goal`` for reference;
      ``end_cosine``: mean cosine between the picked plan's end and the goal direction.
    * ``unsafe_picked`` / ``unsafe_first``: the share of picked / first-sample plans with any
      waypoint where the expert's grid is blocked (ESDF below robot radius + margin; the world
      regenerated from the shard's seed); ``unsafe_expert`` for reference. ``collision_*``: the
      same for waypoints where the robot's disc overlaps an obstacle (ESDF below its radius).
    """
    from robocritic.envs.nav.world import generate_world
    from robocritic.navdp.labels import robot_to_world
    from robocritic.navdp.planner import NavDPPlanner

    model.eval()
    n = len(data)
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)[: min(n, samples)]
    s = data.samples
    cfg = data.config
    # critic ranking
    wall_hits = wall_total = pair_hits = pair_total = 0
    for i in order:
        obs = model.encode(torch.from_numpy(s.depth[i:i + 1]))
        acts = torch.from_numpy(s.critic_actions[i])
        scores = model.score(acts, obs).numpy()
        labels = s.critic_labels[i]
        low = int(np.argmin(labels[1:])) + 1 if len(labels) > 1 else 0
        if low and labels[low] <= labels[0] - wall_margin:
            wall_total += 1
            wall_hits += int(scores[0] > scores[low])
        d_lab = labels[:, None] - labels[None, :]
        d_sc = scores[:, None] - scores[None, :]
        mask = d_lab >= 0.5
        pair_total += int(mask.sum())
        pair_hits += int((d_sc[mask] > 0).sum())
    # planning toward the goal, and safety of the picks
    planner = NavDPPlanner(model, seed=seed)
    worlds: dict[int, Any] = {}
    far = [i for i in order if np.hypot(*s.goal[i, :2]) >= 1.0]
    toward = toward_first = toward_expert = 0
    counts = {f"{what}_{who}": 0 for what in ("unsafe", "collision") for who in ("picked", "first", "expert")}
    cosines = []
    limits = {"unsafe": cfg.expert.blocking_clearance, "collision": cfg.expert.robot_radius}
    for i in far:
        g = s.goal[i, :2].astype(np.float64)
        plan = planner.plan(s.depth[i], g, seed=seed * 100_003 + int(i))
        ends = {"picked": plan.path[-1, :2], "first": plan.candidates[0, -1, :2],
                "expert": np.cumsum(s.actions[i], axis=0)[-1, :2]}
        dist0 = np.linalg.norm(g)
        toward += int(np.linalg.norm(g - ends["picked"]) < dist0)
        toward_first += int(np.linalg.norm(g - ends["first"]) < dist0)
        toward_expert += int(np.linalg.norm(g - ends["expert"]) < dist0)
        e = ends["picked"]
        cosines.append(float(e @ g / max(np.linalg.norm(e) * dist0, 1e-9)))
        seed_w = int(s.world_seed[i])
        if seed_w >= 0:
            world = worlds.get(seed_w)
            if world is None:
                world = worlds[seed_w] = generate_world(seed_w, cfg.world_spec)
            pose = s.pose[i].astype(np.float64)
            tracks = {"picked": plan.path[:, :2], "first": plan.candidates[0, :, :2],
                      "expert": np.cumsum(s.actions[i], axis=0)[:, :2]}
            for who, track in tracks.items():
                clearance = world.clearance(robot_to_world(track.astype(np.float64), pose))
                for what, limit in limits.items():
                    counts[f"{what}_{who}"] += int((clearance < limit).any())
    m = max(len(far), 1)
    return {
        "samples": len(order),
        "critic_expert_above_wall": wall_hits / wall_total if wall_total else math.nan,
        "critic_wall_cases": wall_total,
        "critic_pair_accuracy": pair_hits / pair_total if pair_total else math.nan,
        "plans": len(far),
        "toward_goal": toward / m, "toward_goal_first": toward_first / m,
        "expert_toward_goal": toward_expert / m,
        "end_cosine": float(np.mean(cosines)) if cosines else math.nan,
        **{k: v / m for k, v in counts.items()},
    }
