"""Parallel, resumable generation of NavDP shards: one shard per world seed.

``generate(worlds, out, config)`` writes ``out/world_<seed>.npz`` for every seed whose shard is
not there yet (:mod:`robocritic.navdp.shards`), so a run killed at any point (even ``kill -9``)
is finished by running the same command again, and the final folder equals an uninterrupted
run's byte for byte (every shard is a pure function of its seed and the settings, written
deterministically and atomically). ``out/generator.json`` records the settings; a second run
with other settings into the same folder is refused.

Backends (the same per-world function :func:`world_shard` everywhere; results come back to this
process, which writes the files, so only the driver needs the output folder):

* ``"local"``: ``workers`` processes of a ``spawn`` pool (MuJoCo must not be forked), or this
  process for ``workers=1``;
* ``"ray"``: one Ray task per world on ``ray.init(address=os.environ.get("RAY_ADDRESS"))``: a
  local Ray instance, or the cluster ``RAY_ADDRESS`` names (``pip install 'robocritic[dist]'``
  on every node).

One generator per folder at a time.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from robocritic.navdp.dataset import SampleConfig, make_env, world_samples
from robocritic.navdp.shards import ShardError, prepare_run_folder, read_metadata, shard_bytes, shard_name
from robocritic.utils.atomic import atomic_write
from robocritic.utils.optional import require

__all__ = ["BACKENDS", "GENERATOR_FILE", "GenerateReport", "generate", "parse_worlds", "world_shard"]

BACKENDS = ("local", "ray")
GENERATOR_FILE = "generator.json"
_TMP = re.compile(r"^\.world_\d+\.npz\..*\.tmp$")  # left by a writer killed mid-write


def parse_worlds(text: str) -> list[int]:
    """World seeds from ``"0-199"``, ``"7"`` or ``"0-9,20,30-39"`` (inclusive ranges), sorted, unique."""
    seeds: set[int] = set()
    for part in str(text).split(","):
        m = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if m is None:
            raise ValueError(f"worlds: expected seeds like '0-199' or '0-9,20'; got {text!r}")
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if hi < lo:
            raise ValueError(f"worlds: range {part.strip()!r} runs backwards")
        seeds.update(range(lo, hi + 1))
    return sorted(seeds)


@dataclass
class GenerateReport:
    """What :func:`generate` did.

    Attributes:
        written: seeds whose shards this run wrote. skipped: seeds already done.
        samples, paths: samples and expert paths (trajectories) in the written shards.
        wall_s: this run's wall time. task_s: summed time of the per-world tasks (CPU-bound:
            core seconds).
    """

    written: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    samples: int = 0
    paths: int = 0
    wall_s: float = 0.0
    task_s: float = 0.0

    def summary(self) -> dict[str, Any]:
        """Counts and rates, JSON-safe."""
        hours = self.task_s / 3600.0
        return {"written": len(self.written), "skipped": len(self.skipped), "samples": self.samples,
                "paths": self.paths, "wall_s": round(self.wall_s, 3), "task_s": round(self.task_s, 3),
                "samples_per_s_wall": round(self.samples / self.wall_s, 1) if self.wall_s > 0 else None,
                "paths_per_core_hour": round(self.paths / hours) if hours > 0 else None}


_ENVS: dict[str, Any] = {}  # one env per worker process and settings


def world_shard(world_seed: int, config_json: str) -> tuple[int, bytes, int, int, float]:
    """The shard of one world: ``(seed, shard bytes, samples, paths, seconds)``. The unit of work
    of every backend (it takes the settings as JSON so that any process can run it)."""
    t0 = time.perf_counter()
    config = SampleConfig.from_dict(json.loads(config_json))
    env = _ENVS.get(config_json)
    if env is None:
        env = _ENVS[config_json] = make_env(config)
    samples = world_samples(int(world_seed), config, env)
    data = shard_bytes(samples, config, [int(world_seed)])
    return int(world_seed), data, len(samples), samples.n_paths, time.perf_counter() - t0


def _world_shard_args(args: tuple[int, str]) -> tuple[int, bytes, int, int, float]:
    return world_shard(*args)


def _check_folder(out: Path, config: SampleConfig) -> None:
    """:func:`~robocritic.navdp.shards.prepare_run_folder` for the generator's settings."""
    prepare_run_folder(out, GENERATOR_FILE, {"format": "robocritic.navdp.generator", "generator": config.to_dict()},
                       _TMP, "shards made with other settings", "use another --out or the same settings",
                       section="generator")


def _done(path: Path, config: SampleConfig, seed: int) -> bool:
    """Whether the shard of ``seed`` is there and complete; a shard of other settings is an error."""
    if not path.is_file():
        return False
    try:
        meta = read_metadata(path)
    except ShardError as exc:  # not written by us (writes are atomic): write it again
        print(f"navdp generate: rewriting {path} ({exc})", file=sys.stderr)
        return False
    if meta["generator"] != config.to_dict() or meta["world_seeds"] != [seed]:
        raise ValueError(f"{path}: made with other settings or another world; use another --out")
    return True


def _local(jobs: list[tuple[int, str]], workers: int, stack: contextlib.ExitStack) -> Iterator[Any]:
    if workers == 1 or len(jobs) <= 1:
        return map(_world_shard_args, jobs)
    import multiprocessing as mp

    # spawn: MuJoCo state must not be forked
    pool = stack.enter_context(mp.get_context("spawn").Pool(min(workers, len(jobs))))
    return pool.imap_unordered(_world_shard_args, jobs)


def _ray(jobs: list[tuple[int, str]], workers: int) -> Iterator[Any]:
    ray = require("ray", "dist", "navdp generate --backend ray")
    address = os.environ.get("RAY_ADDRESS")
    started = not ray.is_initialized()
    if started:  # a cluster if RAY_ADDRESS names one, else a local instance of `workers` CPUs
        ray.init(address=address, include_dashboard=False, log_to_driver=False,
                 **({} if address else {"num_cpus": workers}))
    try:
        task = ray.remote(num_cpus=1)(world_shard)
        pending = [task.remote(seed, cfg) for seed, cfg in jobs]
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            yield ray.get(ready[0])
    finally:
        if started:
            ray.shutdown()


def generate(worlds: Sequence[int], out: str | os.PathLike[str], config: SampleConfig | None = None, *,
             workers: int = 1, backend: str = "local", progress: bool = True) -> GenerateReport:
    """Write the missing shards of ``worlds`` into ``out`` (module docstring).

    Args:
        worlds: world seeds (integers >= 0). config: the sample settings (default
            :class:`SampleConfig()`). workers: processes (local) or CPUs of a local Ray instance;
            the shards do not depend on it. backend: ``"local"`` or ``"ray"``.
        progress: a tqdm bar (worlds) on stderr.

    Raises:
        ValueError: bad arguments, or ``out`` holds shards of other settings.
        ImportError: ``backend="ray"`` without Ray (``pip install 'robocritic[dist]'``).
    """
    config = config or SampleConfig()
    seeds = sorted({int(s) for s in worlds})
    if not seeds or any(s < 0 for s in seeds):
        raise ValueError(f"worlds: need at least one seed, all >= 0; got {list(worlds)[:5]}...")
    if isinstance(workers, bool) or int(workers) != workers or workers < 1:
        raise ValueError(f"workers must be an integer >= 1; got {workers!r}")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {list(BACKENDS)}; got {backend!r}")
    out = Path(out)
    t0 = time.perf_counter()
    _check_folder(out, config)
    report = GenerateReport()
    todo = []
    for s in seeds:
        (report.skipped if _done(out / shard_name(s), config, s) else todo).append(s)
    config_json = json.dumps(config.to_dict(), sort_keys=True)
    jobs = [(s, config_json) for s in todo]
    from tqdm import tqdm

    bar = tqdm(total=len(seeds), initial=len(report.skipped), desc="navdp generate", unit="world",
               file=sys.stderr, disable=not progress, dynamic_ncols=True)
    with bar, contextlib.ExitStack() as stack:
        results = _local(jobs, int(workers), stack) if backend == "local" else _ray(jobs, int(workers))
        for seed, data, n_samples, n_paths, seconds in results:
            atomic_write(out / shard_name(seed), lambda fh, data=data: fh.write(data))
            report.written.append(seed)
            report.samples += n_samples
            report.paths += n_paths
            report.task_s += seconds
            bar.update(1)
            bar.set_postfix(samples=report.samples)
    report.written.sort()
    report.wall_s = time.perf_counter() - t0
    return report
