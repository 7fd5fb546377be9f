"""DAgger-style data: the planner's own closed-loop states, labelled by the privileged expert.

The shards of :mod:`robocritic.navdp.dataset` hold states along expert paths (and recovery starts
beside them). In closed loop the robot visits other states: close to obstacles, turned away from
the path, after its own mistakes. Here the planner itself is rolled out and its states are labelled:

1. World ``w`` (training seeds only) and episode ``e`` give the benchmark's paired episode
   (:class:`~robocritic.navdp.evaluate.EpisodeSpec`); the planner (a model file, the selection of
   ``RolloutConfig.method``) runs it with :func:`~robocritic.navdp.evaluate.run_episode`, the
   benchmark's loop (Navigator: replanning at 4 Hz, pure pursuit at 10 Hz) until success,
   collision, stuck or timeout.
2. Every ``record_every``-th plan is a state: the depth image the planner saw, the robot's true
   pose ``(x, y, yaw)`` when it planned, and the ``K`` candidates it sampled there. States closer
   than ``SampleConfig.min_remaining`` to the goal, or with no reachable cell near them, are skipped.
3. Each state becomes one shard sample with the shard rules: the goal ``(x, y, 1)`` is the true goal
   in the robot frame of the pose (no hindsight goals); the actions are the expert path from the
   robot's position (:func:`~robocritic.navdp.expert.extract_path` on the episode goal's
   cost-to-go, ``SampleConfig.expert``) as ``N`` increments from the pose; the critic set is that
   path and ``M - 1`` rotated negatives with the NavDP label. ``path_index`` is the episode,
   ``recovery`` and ``hindsight`` are false.
4. The ``K`` candidates of the state, as increments, with their labels (the same formula over the
   pose and the ``N`` waypoints, on the world's ESDF) go into a candidate file
   (:mod:`robocritic.navdp.candidates`, ``sample_index`` = the state's sample) beside the shard.

Output folder (``navdp rollouts``): ``world_<seed>.npz`` shards of shard format version 1 with
the ordinary ``generator`` settings (so :class:`~robocritic.navdp.shards.ShardDataset` and training
mix them with generated shards) plus a ``rollout`` entry in their metadata (model SHA-256, rollout
settings, episode outcomes); ``candidates_<seed>.npz`` (candidate format version 1, made from that
shard); ``rollouts.json`` (settings and model; another run into the folder is refused). A world is
done when its candidate file matches its shard; writes are atomic and every world is a pure
function of ``(model, world seed, settings)`` on one torch thread, so a killed run is finished by
running the same command again.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from robocritic.navdp.dataset import SampleConfig, SampleSet, _rotated_increments, expert_increments
from robocritic.navdp.labels import critic_label, rotated_negatives
from robocritic.navdp.shards import prepare_run_folder
from robocritic.utils.fields import check_choice, check_int

__all__ = [
    "ROLLOUT_FILE",
    "RolloutConfig",
    "RolloutReport",
    "candidate_increments",
    "generate_rollouts",
    "label_states",
    "rollout_world",
]

ROLLOUT_FILE = "rollouts.json"
_OWNER = "RolloutConfig"
_TMP = re.compile(r"^\.(world|candidates)_\d+\.npz\..*\.tmp$")
_NAVDP_METHODS = ("navdp", "navdp_critic_only", "navdp_first", "navdp_random")


@dataclass(frozen=True)
class RolloutConfig:
    """Settings of the rollouts (module docstring).

    Attributes:
        episodes_per_world: paired episodes per world (episode indices ``0 .. E - 1``).
        record_every: every ``record_every``-th plan is a state (2 at 4 Hz: one per 0.5 s).
        method: the NavDP selection that drives the robot (``navdp``, ``navdp_first``, ...).
        preset: world preset of the env (the shards' ``world_spec`` must match).
        seed: seeds the rotated negatives (with the world seed and the episode).
    """

    episodes_per_world: int = 2
    record_every: int = 2
    method: str = "navdp"
    preset: str = "default"
    seed: int = 0

    def __post_init__(self) -> None:
        check_int(_OWNER, "episodes_per_world", self.episodes_per_world, low=1)
        check_int(_OWNER, "record_every", self.record_every, low=1)
        check_choice(_OWNER, "method", self.method, _NAVDP_METHODS)
        check_int(_OWNER, "seed", self.seed, low=0)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RolloutConfig:
        """Inverse of :meth:`to_dict`; unknown keys are refused (naming them)."""
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"{_OWNER}: unknown fields {unknown}")
        return cls(**data)


class _Recorder:
    """A loop planner that passes every call through and keeps ``(depth (H, W), true pose (3,),
    candidates (K, N, 3))`` of each plan."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.states: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def begin(self, context: Any) -> None:
        self.inner.begin(context)
        self.states = []

    def plan(self, obs: dict[str, np.ndarray], info: dict[str, Any]) -> Any:
        plan = self.inner.plan(obs, info)
        self.states.append((np.array(obs["depth"], dtype=np.float32),
                            np.array(info["pose"], dtype=np.float64),
                            np.array(plan.candidates, dtype=np.float32)))
        return plan


def candidate_increments(candidates: np.ndarray) -> np.ndarray:
    """Cumulative waypoints ``(..., N, 3)`` -> increments ``(..., N, 3)`` (the first increment is the
    first waypoint)."""
    c = np.asarray(candidates, dtype=np.float64)
    return np.diff(c, axis=-2, prepend=np.zeros_like(c[..., :1, :])).astype(np.float32)


def label_states(world: Any, goal: np.ndarray, poses: np.ndarray, depth: np.ndarray,
                 candidates: np.ndarray, config: SampleConfig, rng: np.random.Generator, *,
                 world_seed: int = -1, path_index: int = 0,
                 cost_to_go: Any = None) -> tuple[SampleSet, np.ndarray, np.ndarray]:
    """Label the robot's own states with the expert (module docstring, steps 3 and 4).

    Args:
        world: the world (ESDF and grid). goal: ``(2,)`` world frame [m].
        poses: ``(S, 3)`` true poses ``(x, y, yaw)`` [m, m, rad]. depth: ``(S, H, W)`` [m] seen there.
        candidates: ``(S, K, N, 3)`` the planner's cumulative waypoints, robot frame of each pose.
        rng: draws the rotations of the negatives.
        cost_to_go: the expert's solve for ``goal`` (default: solved here with ``config.expert``).

    Returns:
        ``(samples, candidate increments (C, K, N, 3), candidate labels (C, K))`` of the kept states
        (skipped: module docstring, step 2), in order.
    """
    from robocritic.navdp.candidates import label_candidates
    from robocritic.navdp.expert import extract_path, solve_cost_to_go

    goal = np.asarray(goal, dtype=np.float64)
    ctg = cost_to_go if cost_to_go is not None else solve_cost_to_go(world, goal, config.expert)
    n, m = config.n_waypoints, config.n_critic
    names = ("depth", "goal", "actions", "critic_actions", "critic_labels", "pose", "cand")
    cols: dict[str, list[Any]] = {k: [] for k in names}
    for i, pose in enumerate(np.asarray(poses, dtype=np.float64)):
        xy = pose[:2]
        if float(np.hypot(*(goal - xy))) < config.min_remaining:
            continue
        try:
            path = extract_path(ctg, world, xy)
        except ValueError:  # no reachable cell near the robot
            continue
        points = np.asarray(path.points, dtype=np.float64)
        total = float(np.sum(np.linalg.norm(np.diff(points, axis=0), axis=1)))
        if total < config.min_remaining:
            continue
        increments, waypoints = expert_increments(points, pose, 0.0, total, n, config.step_length)
        track = np.concatenate([xy[None], waypoints])
        labels = [critic_label(track, world, config.label_radius)]
        critic = [increments[None]]
        if m > 1:
            neg = rotated_negatives(track, world, rng, m - 1, config.max_rotation, config.label_radius)
            labels += list(neg.labels)
            critic.append(_rotated_increments(increments, np.asarray(neg.angles)))
        c, s = math.cos(pose[2]), math.sin(pose[2])
        d = goal - xy
        frame = np.asarray(depth[i], dtype=np.float32)
        cols["depth"].append(frame.reshape(config.history, *frame.shape[-2:]))
        cols["goal"].append([c * d[0] + s * d[1], -s * d[0] + c * d[1], 1.0])
        cols["actions"].append(increments)
        cols["critic_actions"].append(np.concatenate(critic))
        cols["critic_labels"].append(labels)
        cols["pose"].append(pose)
        cols["cand"].append(candidate_increments(candidates[i]))
    s_n = len(cols["pose"])
    if s_n == 0:
        k = np.shape(candidates)[1]
        return SampleSet.empty(config), np.zeros((0, k, n, 3), np.float32), np.zeros((0, k), np.float32)
    samples = SampleSet.from_columns({**cols, "world_seed": np.full(s_n, world_seed),
                                      "path_index": np.full(s_n, path_index),
                                      "recovery": np.zeros(s_n), "hindsight": np.zeros(s_n)}, n_paths=1)
    cand = np.asarray(cols["cand"], dtype=np.float32)
    cand_labels = label_candidates(cand, samples.pose.astype(np.float64), world, config.label_radius)
    return samples, cand, cand_labels


def rollout_world(model: Any, world_seed: int, sample_config: SampleConfig, config: RolloutConfig,
                  env: Any = None) -> tuple[SampleSet, np.ndarray, np.ndarray, list[dict[str, Any]]]:
    """Roll the planner out in world ``world_seed`` and label its states (module docstring).

    Returns:
        ``(samples, candidate increments (C, K, N, 3), candidate labels (C, K), episode summaries)``
        with one candidate row per sample, in order.
    """
    from robocritic.navdp.evaluate import EpisodeSpec, LoopConfig, make_env, make_loop_planner, run_episode
    from robocritic.navdp.expert import solve_cost_to_go

    loop = LoopConfig()
    own_env = env is None
    env = make_env(config.preset, loop) if own_env else env
    recorder = _Recorder(make_loop_planner(config.method, model=model))
    parts, cands, labs, episodes = [], [], [], []
    try:
        for e in range(config.episodes_per_world):
            record = run_episode(env, recorder, EpisodeSpec(int(world_seed), e), loop, method=config.method)
            keys = ("episode", "seed", "outcome", "plans", "stop_plans", "time_s")
            episodes.append({k: record[k] for k in keys})
            states = recorder.states[:: config.record_every]
            if not states:
                continue
            nav = env.unwrapped
            goal = np.asarray(nav.goal, dtype=np.float64)
            rng = np.random.default_rng([config.seed, int(world_seed), e])
            ctg = solve_cost_to_go(nav.world, goal, sample_config.expert)
            samples, increments, labels = label_states(
                nav.world, goal, np.stack([s[1] for s in states]), np.stack([s[0] for s in states]),
                np.stack([s[2] for s in states]), sample_config, rng, world_seed=int(world_seed),
                path_index=e, cost_to_go=ctg)
            if len(samples):
                parts.append(samples)
                cands.append(increments)
                labs.append(labels)
    finally:
        if own_env:
            env.close()
    out = SampleSet.concat(parts, sample_config)
    out = SampleSet(**out.arrays(), n_paths=len(parts))
    k = model.config.n_candidates
    n = sample_config.n_waypoints
    actions = np.concatenate(cands) if cands else np.zeros((0, k, n, 3), np.float32)
    labels = np.concatenate(labs) if labs else np.zeros((0, k), np.float32)
    return out, actions, labels, episodes


# ---- a folder of rollouts ------------------------------------------------------------------------


@dataclass
class RolloutReport:
    """What :func:`generate_rollouts` did: worlds ``written``/``skipped``, ``samples`` (states
    kept), ``outcomes`` (episode outcome counts) and this run's ``wall_s``."""

    written: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    samples: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    wall_s: float = 0.0

    def summary(self) -> dict[str, Any]:
        return {"written": len(self.written), "skipped": len(self.skipped), "samples": self.samples,
                "outcomes": dict(sorted(self.outcomes.items())), "wall_s": round(self.wall_s, 3)}


_MODELS: dict[str, Any] = {}
_ENVS: dict[str, Any] = {}


def _world_job(args: tuple[int, str, str, str]) -> tuple[int, SampleSet, np.ndarray, np.ndarray,
                                                        list[dict[str, Any]]]:
    """Worker: :func:`rollout_world` of one world, ``(seed, samples, candidate increments, labels,
    episodes)``."""
    import torch

    from robocritic.navdp.checkpoint import load_model
    from robocritic.navdp.evaluate import LoopConfig, make_env

    torch.set_num_threads(1)
    seed, model_path, sample_json, rollout_json = args
    sample_config = SampleConfig.from_dict(json.loads(sample_json))
    config = RolloutConfig.from_dict(json.loads(rollout_json))
    model = _MODELS.get(model_path)
    if model is None:
        model = _MODELS[model_path] = load_model(model_path)
    env = _ENVS.get(config.preset)
    if env is None:
        env = _ENVS[config.preset] = make_env(config.preset, LoopConfig())
    samples, actions, labels, episodes = rollout_world(model, seed, sample_config, config, env)
    return seed, samples, actions, labels, episodes


def _check_folder(out: Path, record: dict[str, Any]) -> None:
    prepare_run_folder(out, ROLLOUT_FILE, record, _TMP, "rollouts of other settings or another model")


def _done(out: Path, seed: int) -> bool:
    from robocritic.navdp.candidates import CandidateError, candidate_name, file_sha256, load_candidates
    from robocritic.navdp.shards import shard_name

    shard, cand = out / shard_name(seed), out / candidate_name(seed)
    if not (shard.is_file() and cand.is_file()):
        return False
    try:
        return bool(load_candidates(cand).metadata.get("shard_sha256") == file_sha256(shard))
    except CandidateError:
        return False


def _jobs(jobs: list[tuple[int, str, str, str]], workers: int, stack: contextlib.ExitStack) -> Iterator[Any]:
    if workers == 1 or len(jobs) <= 1:
        return map(_world_job, jobs)
    import multiprocessing as mp

    pool = stack.enter_context(mp.get_context("spawn").Pool(min(workers, len(jobs))))
    return pool.imap_unordered(_world_job, jobs)


def generate_rollouts(worlds: Sequence[int], model_path: str | os.PathLike[str], out: str | os.PathLike[str],
                      config: RolloutConfig | None = None, sample_config: SampleConfig | None = None, *,
                      workers: int = 1, progress: bool = True) -> RolloutReport:
    """Write the missing rollout shards and candidate files of ``worlds`` into ``out`` (module docstring).

    Args:
        worlds: world seeds (training seeds: not the held-out or tuning ones).
        model_path: the model file that drives the robot and samples the candidates.
        sample_config: the shard settings (default :class:`SampleConfig()`, the generated shards');
            its ``world_spec`` must be ``config.preset``.
        workers: processes (spawned); the files do not depend on it.

    Raises:
        ValueError: bad arguments (naming them), or ``out`` holds rollouts of other settings.
    """
    from tqdm import tqdm

    from robocritic.navdp.candidates import CandidateConfig, candidate_name, file_sha256, save_candidates
    from robocritic.navdp.shards import save_shard, shard_name

    config = config or RolloutConfig()
    sample_config = sample_config or SampleConfig()
    if sample_config.world_spec != config.preset:
        raise ValueError(f"sample_config.world_spec={sample_config.world_spec!r} differs from "
                         f"RolloutConfig.preset={config.preset!r}")
    seeds = sorted({int(s) for s in worlds})
    if not seeds or any(s < 0 for s in seeds):
        raise ValueError(f"worlds: need at least one seed, all >= 0; got {list(worlds)[:5]}")
    check_int("generate_rollouts", "workers", workers, low=1)
    out = Path(out)
    t0 = time.perf_counter()
    model_sha = file_sha256(model_path)
    _check_folder(out, {"format": "robocritic.navdp.rollouts", "rollout": config.to_dict(),
                        "generator": sample_config.to_dict(), "model_sha256": model_sha})
    report = RolloutReport()
    todo = []
    for s in seeds:
        (report.skipped if _done(out, s) else todo).append(s)
    jobs = [(s, str(model_path), json.dumps(sample_config.to_dict(), sort_keys=True),
             json.dumps(config.to_dict(), sort_keys=True)) for s in todo]
    bar = tqdm(total=len(seeds), initial=len(report.skipped), desc="navdp rollouts", unit="world",
               file=sys.stderr, disable=not progress, dynamic_ncols=True)
    with bar, contextlib.ExitStack() as stack:
        for seed, samples, actions, labels, episodes in _jobs(jobs, int(workers), stack):
            shard = out / shard_name(seed)
            rollout_meta = {"model_sha256": model_sha, "config": config.to_dict(), "episodes": episodes}
            save_shard(shard, samples, sample_config, [seed], extra={"rollout": rollout_meta})
            k = int(actions.shape[1]) if actions.ndim == 4 else 16
            cand_config = CandidateConfig(n_candidates=k, stride=1, seed=config.seed).to_dict()
            index = np.arange(len(samples), dtype=np.int32)
            save_candidates(out / candidate_name(seed), index, actions, labels, {
                "world_seed": seed, "shard": shard.name, "shard_sha256": file_sha256(shard),
                "model_sha256": model_sha, "config": cand_config,
                "label_radius": sample_config.label_radius, "source": "rollout"})
            report.written.append(seed)
            report.samples += len(samples)
            for ep in episodes:
                report.outcomes[ep["outcome"]] = report.outcomes.get(ep["outcome"], 0) + 1
            bar.update(1)
            bar.set_postfix(samples=report.samples)
    report.written.sort()
    report.wall_s = time.perf_counter() - t0
    return report
