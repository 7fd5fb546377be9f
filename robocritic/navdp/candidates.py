"""Critic data from the sampler's own candidates: ``K`` plans sampled by a model for observation
samples of the shards, each labelled on its world's ESDF.

Why: the critic sets of the shards are the expert and rigid rotations of it; in closed loop the
critic ranks what the diffusion sampler proposes, which looks different (bends, short plans, near
misses). These files let training see those plans with their true labels.

Per world (:func:`world_candidates`): every ``stride``-th sample of the world's shard; for each,
``K`` increment sequences sampled by the model with the sample's depth and goal (one batch per
world, noise from a generator seeded by ``(seed, world_seed)``); each labelled with
:func:`~robocritic.navdp.labels.critic_label` over the pose and the ``N`` waypoints in the world
frame, with the shard's ``label_radius`` (the rule of :mod:`robocritic.navdp.dataset`).

Storage: a folder of its own beside the shards, one file per world,
``candidates_<seed:06d>.npz``: a zip of ``.npy`` arrays (``numpy.load(allow_pickle=False)``),
version :data:`CANDIDATE_VERSION`; shards are not changed, so old shards and models stay valid:

* ``sample_index`` int32 ``(C,)``: index of the observation sample in the world's shard;
* ``actions`` float32 ``(C, K, N, 3)``: sampled increments ``(dx, dy, dtheta)`` [m, m, rad] in the
  robot frame of that sample's pose;
* ``labels`` float32 ``(C, K)``: their critic labels;
* ``metadata`` uint8: UTF-8 JSON ``{"format", "version", "world_seed", "shard", "shard_sha256",
  "model_sha256", "samples": C, "dims": {"K", "N"}, "config": CandidateConfig.to_dict(),
  "label_radius"}``.

The folder's ``candidates.json`` records the settings and the model's SHA-256; a run with
others into the same folder is refused. Writes are atomic and deterministic, so a killed run is
finished by running it again (done worlds are skipped). :func:`load_candidates` refuses a file
that does not match the format with :class:`CandidateError` naming the file.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from robocritic.navdp.checkpoint import load_model
from robocritic.navdp.dataset import SampleConfig, SampleSet
from robocritic.navdp.labels import ClearanceMap, critic_label, robot_to_world
from robocritic.navdp.model import NavDPNet
from robocritic.navdp.shards import (
    list_shards,
    load_shard,
    open_npz,
    prepare_run_folder,
    read_field,
    write_arrays,
)
from robocritic.utils.atomic import atomic_write
from robocritic.utils.fields import check_int

__all__ = [
    "CANDIDATE_FORMAT",
    "CANDIDATE_VERSION",
    "RUN_FILE",
    "CandidateConfig",
    "CandidateError",
    "CandidateReport",
    "CandidateSet",
    "candidate_check",
    "candidate_name",
    "file_sha256",
    "first_metre_mask",
    "generate_candidates",
    "label_candidates",
    "load_candidates",
    "sample_candidates",
    "save_candidates",
    "waypoint_tracks",
    "world_candidates",
]

CANDIDATE_FORMAT = "robocritic.navdp.candidates"
CANDIDATE_VERSION = 1
"""Version of the candidate file; bump on any change of names, dtypes, shapes or meaning."""
RUN_FILE = "candidates.json"
_ARRAYS = {"sample_index": (np.dtype(np.int32), ()), "actions": (np.dtype(np.float32), ("K", "N", "3")),
           "labels": (np.dtype(np.float32), ("K",))}
_METADATA = "metadata"
_TMP = re.compile(r"^\.candidates_\d+\.npz\..*\.tmp$")  # left by a writer killed mid-write
_OWNER = "CandidateConfig"


class CandidateError(ValueError):
    """A candidate file is unreadable, of another format or version, or an array is wrong."""


@dataclass(frozen=True)
class CandidateConfig:
    """Settings of candidate generation.

    Attributes:
        n_candidates: ``K`` plans per observation sample (the planner's default is 16).
        stride: every ``stride``-th sample of a shard gets candidates (1 = all).
        seed: seeds the diffusion noise, with the world seed.
    """

    n_candidates: int = 16
    stride: int = 4
    seed: int = 0

    def __post_init__(self) -> None:
        check_int(_OWNER, "n_candidates", self.n_candidates, low=1)
        check_int(_OWNER, "stride", self.stride, low=1)
        check_int(_OWNER, "seed", self.seed, low=0)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CandidateConfig:
        """Inverse of :meth:`to_dict`; unknown keys are refused (naming them)."""
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"{_OWNER}: unknown fields {unknown}")
        return cls(**data)


@dataclass(frozen=True, eq=False)
class CandidateSet:
    """The candidates of one world (module docstring for the arrays and ``metadata``)."""

    sample_index: np.ndarray
    actions: np.ndarray
    labels: np.ndarray
    metadata: dict[str, Any]

    def __len__(self) -> int:
        return int(self.sample_index.shape[0])


def candidate_name(world_seed: int) -> str:
    """File name of one world's candidates: ``candidates_000042.npz``."""
    return f"candidates_{int(world_seed):06d}.npz"


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 hex digest of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---- sampling and labels -----------------------------------------------------------------------


@torch.inference_mode()
def sample_candidates(model: NavDPNet, depth: np.ndarray, goal: np.ndarray, k: int,
                      generator: torch.Generator) -> np.ndarray:
    """``k`` plans per observation, all observations in one batch.

    Args:
        depth: ``(C, T, H, W)`` [m]. goal: ``(C, 3)`` ``(x, y, flag)`` [m], robot frame.
        generator: source of all diffusion noise.

    Returns:
        ``(C, k, N, 3)`` float32 increments ``(dx, dy, dtheta)`` [m, m, rad], robot frame.
    """
    model.eval()
    c = depth.shape[0]
    obs = model.encode(torch.as_tensor(depth, dtype=torch.float32)).repeat_interleave(k, dim=0)
    g = torch.as_tensor(goal, dtype=torch.float32).repeat_interleave(k, dim=0)
    increments = model.sample_actions(obs, g, generator)
    return increments.reshape(c, k, *increments.shape[1:]).numpy().astype(np.float32)


def waypoint_tracks(actions: np.ndarray, poses: np.ndarray) -> np.ndarray:
    """World-frame tracks of increments: ``actions (C, K, N, 3)`` in the robot frames of ``poses
    (C, 3)`` (x, y, yaw) -> ``(C, K, N + 1, 2)`` [m]: the pose's position, then the ``N`` waypoints."""
    a = np.asarray(actions, dtype=np.float64)
    out = np.empty((*a.shape[:2], a.shape[2] + 1, 2))
    for i, pose in enumerate(np.asarray(poses, dtype=np.float64)):
        out[i, :, 0] = pose[:2]
        out[i, :, 1:] = robot_to_world(np.cumsum(a[i, ..., :2], axis=-2), pose)
    return out


def label_candidates(actions: np.ndarray, poses: np.ndarray, world: ClearanceMap,
                     robot_radius: float) -> np.ndarray:
    """Critic labels ``(C, K)`` float32 of ``actions (C, K, N, 3)`` taken from ``poses (C, 3)``:
    :func:`critic_label` over the pose and the waypoints, with ``robot_radius`` [m]."""
    return np.asarray(critic_label(waypoint_tracks(actions, poses), world, robot_radius), dtype=np.float32)


def _world_generator(seed: int, world_seed: int) -> torch.Generator:
    entropy = int(np.random.SeedSequence([seed, world_seed]).generate_state(1)[0])
    return torch.Generator().manual_seed(entropy)


def world_candidates(model: NavDPNet, samples: SampleSet, world: ClearanceMap, sample_config: SampleConfig,
                     config: CandidateConfig, world_seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The candidates of one world's samples (module docstring): ``(sample_index (C,), actions
    (C, K, N, 3), labels (C, K))``; a pure function of the model, samples, world and settings."""
    index = np.arange(0, len(samples), config.stride, dtype=np.int32)
    k, n = config.n_candidates, sample_config.n_waypoints
    if len(index) == 0:
        return index, np.zeros((0, k, n, 3), np.float32), np.zeros((0, k), np.float32)
    gen = _world_generator(config.seed, world_seed)
    actions = sample_candidates(model, samples.depth[index], samples.goal[index], k, gen)
    labels = label_candidates(actions, samples.pose[index], world, sample_config.label_radius)
    return index, actions, labels


# ---- file format ---------------------------------------------------------------------------------


def save_candidates(path: str | os.PathLike[str], sample_index: np.ndarray, actions: np.ndarray,
                    labels: np.ndarray, metadata: dict[str, Any]) -> Path:
    """Write one world's candidates atomically (module docstring); ``metadata`` gets ``format``,
    ``version``, ``samples`` and ``dims`` filled in. Returns ``path``."""
    arrays = {"sample_index": np.asarray(sample_index, np.int32), "actions": np.asarray(actions, np.float32),
              "labels": np.asarray(labels, np.float32)}
    c, k, n = arrays["actions"].shape[:3]
    meta = {**metadata, "format": CANDIDATE_FORMAT, "version": CANDIDATE_VERSION, "samples": int(c),
            "dims": {"K": int(k), "N": int(n)}}
    arrays[_METADATA] = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)
    buf = io.BytesIO()
    write_arrays(buf, arrays)
    data = buf.getvalue()
    return atomic_write(path, lambda fh: fh.write(data))


def _metadata(path: Path, raw: np.ndarray) -> dict[str, Any]:
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise CandidateError(f"{path}: field 'metadata': expected 1-D uint8 (UTF-8 JSON)")
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CandidateError(f"{path}: field 'metadata': not UTF-8 JSON ({exc})") from exc
    if not isinstance(meta, dict) or meta.get("format") != CANDIDATE_FORMAT:
        raise CandidateError(f"{path}: field 'metadata': not a {CANDIDATE_FORMAT!r} file")
    if meta.get("version") != CANDIDATE_VERSION:
        raise CandidateError(f"{path}: field 'metadata': version {meta.get('version')!r}; this robocritic "
                             f"reads version {CANDIDATE_VERSION}")
    dims = meta.get("dims")
    if (not isinstance(dims, dict) or any(not isinstance(dims.get(d), int) or dims[d] < 1 for d in ("K", "N"))
            or not isinstance(meta.get("samples"), int) or meta["samples"] < 0):
        raise CandidateError(f"{path}: field 'metadata': needs 'samples' >= 0 and dims K, N >= 1")
    return meta


def load_candidates(path: str | os.PathLike[str]) -> CandidateSet:
    """Read and check one world's candidates.

    Raises:
        CandidateError: naming ``path`` (and the field): missing or unreadable (truncated,
            corrupt) file, pickled or unknown arrays, another format, version, dtype or shape,
            non-finite values, or sample indices out of order.
    """
    path = Path(path)
    z, files = open_npz(path, CandidateError, "candidate file")
    with z:
        expected = [*_ARRAYS, _METADATA]
        if sorted(files) != sorted(expected):
            raise CandidateError(f"{path}: fields {sorted(files)}, expected {sorted(expected)}")
        arrays = {name: read_field(path, z, name, CandidateError) for name in expected}
    meta = _metadata(path, arrays.pop(_METADATA))
    dims = {**meta["dims"], "3": 3}
    for name, (dtype, shape) in _ARRAYS.items():
        arr = arrays[name]
        want = (meta["samples"], *(dims[d] for d in shape))
        if arr.dtype != dtype or arr.shape != want:
            raise CandidateError(f"{path}: field {name!r}: {arr.dtype} {arr.shape}, expected {dtype} {want}")
        if dtype.kind == "f" and not np.isfinite(arr).all():
            raise CandidateError(f"{path}: field {name!r}: holds non-finite values")
    idx = arrays["sample_index"]
    if len(idx) and (idx[0] < 0 or np.any(np.diff(idx) <= 0)):
        raise CandidateError(f"{path}: field 'sample_index': must be increasing and >= 0")
    return CandidateSet(idx, arrays["actions"], arrays["labels"], meta)


# ---- generation over a folder of shards ----------------------------------------------------------


@dataclass
class CandidateReport:
    """What :func:`generate_candidates` did: worlds ``written`` and ``skipped`` (already done),
    ``samples`` (observation samples given candidates by this run) and this run's ``wall_s``."""

    written: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    samples: int = 0
    wall_s: float = 0.0

    def summary(self) -> dict[str, Any]:
        """Counts and rates, JSON-safe."""
        return {"written": len(self.written), "skipped": len(self.skipped), "samples": self.samples,
                "wall_s": round(self.wall_s, 3),
                "s_per_world": round(self.wall_s / len(self.written), 3) if self.written else None}


def _check_folder(out: Path, record: dict[str, Any]) -> None:
    prepare_run_folder(out, RUN_FILE, record, _TMP, "candidates of other settings or another model")


def _done(path: Path, shard_sha: str) -> bool:
    if not path.is_file():
        return False
    try:
        got = load_candidates(path)
    except CandidateError as exc:  # not written by us (writes are atomic): write it again
        print(f"navdp candidates: rewriting {path} ({exc})", file=sys.stderr)
        return False
    return bool(got.metadata.get("shard_sha256") == shard_sha)


def generate_candidates(data_dir: str | os.PathLike[str], model_path: str | os.PathLike[str],
                        out: str | os.PathLike[str], config: CandidateConfig | None = None, *,
                        worlds: Sequence[int] | None = None, threads: int = 1,
                        progress: bool = True) -> CandidateReport:
    """Write the missing candidate files of the shards of ``data_dir`` into ``out`` (module
    docstring), sampling with the model file ``model_path``.

    Args:
        worlds: only these world seeds (default: every shard's). threads: torch threads.

    Raises:
        ValueError: ``out`` holds candidates of other settings or another model, or no shards.
        ShardError, CheckpointError: a bad shard or model file (naming it).
    """
    from tqdm import tqdm

    from robocritic.envs.nav.world import generate_world

    config = config or CandidateConfig()
    t0 = time.perf_counter()
    torch.set_num_threads(int(threads))
    data_dir, out = Path(data_dir), Path(out)
    shards = list_shards(data_dir)
    if not shards:
        raise ValueError(f"{data_dir}: no shards (world_*.npz)")
    model = load_model(model_path)
    model_sha = file_sha256(model_path)
    _check_folder(out, {"format": f"{CANDIDATE_FORMAT}.run", "config": config.to_dict(),
                        "model_sha256": model_sha})
    report = CandidateReport()
    wanted = None if worlds is None else {int(w) for w in worlds}
    bar = tqdm(total=len(shards), desc="navdp candidates", unit="world", file=sys.stderr,
               disable=not progress, dynamic_ncols=True)
    with bar:
        for shard in shards:
            samples, meta = load_shard(shard)
            seed = int(meta["world_seeds"][0])
            if wanted is not None and seed not in wanted:
                bar.update(1)
                continue
            target, shard_sha = out / candidate_name(seed), file_sha256(shard)
            if _done(target, shard_sha):
                report.skipped.append(seed)
                bar.update(1)
                continue
            sample_cfg = SampleConfig.from_dict(meta["generator"])
            world = generate_world(seed, sample_cfg.world_spec)
            index, actions, labels = world_candidates(model, samples, world, sample_cfg, config, seed)
            save_candidates(target, index, actions, labels, {
                "world_seed": seed, "shard": shard.name, "shard_sha256": shard_sha, "model_sha256": model_sha,
                "config": config.to_dict(), "label_radius": sample_cfg.label_radius})
            report.written.append(seed)
            report.samples += len(index)
            bar.update(1)
    report.wall_s = time.perf_counter() - t0
    return report


def first_metre_mask(actions: np.ndarray, metres: float = 1.0) -> np.ndarray:
    """``(..., N + 1)`` bool: which points of the tracks of ``actions (..., N, 3)`` (the start,
    then the waypoints) lie within ``metres`` of arc from the start."""
    step = np.linalg.norm(np.asarray(actions, dtype=np.float64)[..., :2], axis=-1)
    arc = np.concatenate([np.zeros((*step.shape[:-1], 1)), np.cumsum(step, axis=-1)], axis=-1)
    return arc <= metres + 1e-9



# ---- offline check: does the critic's pick among its own candidates collide? ---------------------


def select_candidate(scores: np.ndarray, ends: np.ndarray, goal: np.ndarray, *, stop_threshold: float,
                     progress_weight: float, horizon: float) -> tuple[int, bool]:
    """NavDP point-goal selection (the rule of :class:`~robocritic.navdp.planner.NavDPPlanner`):
    ``scores (K,)``, end points ``ends (K, 2)`` [m] and ``goal (2,)`` [m] in the robot frame,
    ``horizon = N * max_step`` [m] -> ``(index, stop)``."""
    best = int(np.argmax(scores))
    if scores[best] < stop_threshold or progress_weight <= 0:
        return best, bool(scores[best] < stop_threshold)
    dist = float(np.linalg.norm(goal))
    progress = (dist - np.linalg.norm(goal[None] - ends, axis=-1)) / horizon
    total = np.where(scores >= stop_threshold, scores + progress_weight * progress, -np.inf)
    return int(np.argmax(total)), False


@torch.inference_mode()
def candidate_check(model: NavDPNet, data_dir: str | os.PathLike[str], config: CandidateConfig | None = None,
                    *, metres: float = 1.0, min_goal: float = 1.0, progress: bool = False) -> dict[str, Any]:
    """How the critic ranks the model's own candidates on (held-out) shards, against the truth.

    For every ``stride``-th sample of each shard with the goal at least ``min_goal`` m away: ``K``
    candidates (seeded as :func:`generate_candidates`), scored by the critic and checked on the
    world's ESDF. A candidate *collides within the first metre* when a point of its track (the
    pose, then the waypoints) within ``metres`` of arc has ESDF below the robot radius (its disc
    overlaps an obstacle). Rates are shares of plans:

    * ``collide_1m_{first,critic_only,navdp,label_best}``: the first sample, the critic's argmax,
      the NavDP rule (critic + progress), the best-labelled candidate; ``no_clear_1m``: every
      candidate collides (the floor any rule can reach);
    * ``misranked_1m_{critic_only,navdp}``: the pick collides although a candidate clear for that
      metre exists; ``collide_full_*``: the same over the whole track;
    * ``pair_accuracy``: pairs of candidates with labels >= 0.5 apart that the critic orders like
      the labels; ``label_regret_*``: mean best label minus the pick's label;
    * ``score_colliding`` / ``score_clear``: mean critic score of candidates that do / do not
      collide within the first metre; ``stop_rate``: plans whose best score is below the stop
      threshold; ``progress_navdp``: mean metres the NavDP pick's end comes closer to the goal.
    """
    from tqdm import tqdm

    from robocritic.envs.nav.world import generate_world

    config = config or CandidateConfig(stride=1)
    cfg = model.config
    horizon = cfg.n_waypoints * cfg.max_step
    keys = ("first", "critic_only", "navdp", "label_best")
    counts: dict[str, float] = {f"{w}_{k}": 0.0 for w in ("collide_1m", "collide_full") for k in keys}
    for key in ("no_clear_1m", "misranked_1m_critic_only", "misranked_1m_navdp", "stops",
                "label_regret_critic_only", "label_regret_navdp", "progress_navdp"):
        counts[key] = 0.0
    pair_hits = pair_total = plans = 0
    scores_hit: list[np.ndarray] = []
    scores_clear: list[np.ndarray] = []
    shards = list_shards(data_dir)
    for shard in tqdm(shards, desc="navdp candidate check", unit="world", disable=not progress):
        samples, meta = load_shard(shard)
        seed = int(meta["world_seeds"][0])
        sample_cfg = SampleConfig.from_dict(meta["generator"])
        world = generate_world(seed, sample_cfg.world_spec)
        index, actions, labels = world_candidates(model, samples, world, sample_cfg, config, seed)
        if len(index) == 0:
            continue
        obs = model.encode(torch.from_numpy(samples.depth[index]))
        k = actions.shape[1]
        flat = torch.from_numpy(actions).flatten(0, 1)
        scores = model.score(flat, obs.repeat_interleave(k, dim=0)).reshape(len(index), k).numpy()
        tracks = waypoint_tracks(actions, samples.pose[index])
        below = world.clearance(tracks) < sample_cfg.expert.robot_radius  # (C, K, N + 1)
        hit_1m = (below & first_metre_mask(actions, metres)).any(axis=-1)
        hit_full = below.any(axis=-1)
        ends = np.cumsum(actions[..., :2].astype(np.float64), axis=-2)[:, :, -1]
        for j, i in enumerate(index):
            goal = samples.goal[i, :2].astype(np.float64)
            if np.linalg.norm(goal) < min_goal:
                continue
            plans += 1
            s, lab = scores[j], labels[j]
            navdp, stop = select_candidate(s, ends[j], goal, stop_threshold=cfg.stop_threshold,
                                           progress_weight=cfg.progress_weight, horizon=horizon)
            picks = {"first": 0, "critic_only": int(np.argmax(s)), "navdp": navdp,
                     "label_best": int(np.argmax(lab))}
            clear_exists = not hit_1m[j].all()
            counts["no_clear_1m"] += float(not clear_exists)
            counts["stops"] += float(stop)
            for name, p in picks.items():
                counts[f"collide_1m_{name}"] += float(hit_1m[j, p])
                counts[f"collide_full_{name}"] += float(hit_full[j, p])
            for name in ("critic_only", "navdp"):
                counts[f"misranked_1m_{name}"] += float(hit_1m[j, picks[name]] and clear_exists)
                counts[f"label_regret_{name}"] += float(lab.max() - lab[picks[name]])
            counts["progress_navdp"] += float(np.linalg.norm(goal) - np.linalg.norm(goal - ends[j, navdp]))
            mask = (lab[:, None] - lab[None, :]) >= 0.5
            pair_total += int(mask.sum())
            pair_hits += int(((s[:, None] - s[None, :])[mask] > 0).sum())
            scores_hit.append(s[hit_1m[j]])
            scores_clear.append(s[~hit_1m[j]])
    m = max(plans, 1)
    hit_all = np.concatenate(scores_hit or [np.zeros(0)])
    clear_all = np.concatenate(scores_clear or [np.zeros(0)])
    return {
        "plans": plans, "candidates": config.n_candidates, "stride": config.stride, "seed": config.seed,
        **{k: v / m for k, v in counts.items() if k != "stops"}, "stop_rate": counts["stops"] / m,
        "pair_accuracy": pair_hits / pair_total if pair_total else math.nan,
        "score_colliding": float(hit_all.mean()) if hit_all.size else math.nan,
        "score_clear": float(clear_all.mean()) if clear_all.size else math.nan,
        "candidates_colliding_1m": hit_all.size / max(hit_all.size + clear_all.size, 1),
    }
