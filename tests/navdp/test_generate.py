"""The NavDP generator: world ranges, resuming after ``kill -9`` (no torn shard, the missing ones
written, the folder byte-identical to an uninterrupted run's), the same shards from any number
of workers, refusal to mix settings, and the Ray backend (when Ray is installed)."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from robocritic.envs.nav.sensors import DepthConfig

from robocritic.navdp.dataset import SampleConfig
from robocritic.navdp.generate import GENERATOR_FILE, generate, parse_worlds
from robocritic.navdp.shards import ShardDataset, list_shards, load_shard

TINY = SampleConfig(pairs_per_world=1, recovery_per_path=1, n_waypoints=8, n_critic=2,
                    depth=DepthConfig(height=8, width=16))
TINY_ARGS = ["--per-world", "1", "--config", "recovery_per_path=1", "n_waypoints=8", "n_critic=2",
             "depth.height=8", "depth.width=16"]
WORLDS = list(range(12))


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """An uninterrupted run in this process."""
    out = tmp_path_factory.mktemp("reference")
    report = generate(WORLDS, out, TINY, progress=False)
    assert report.written == WORLDS and not report.skipped
    assert report.samples == len(ShardDataset(out)) and report.paths > len(WORLDS)
    return out


def test_parse_worlds():
    assert parse_worlds("0-3") == [0, 1, 2, 3]
    assert parse_worlds("5, 0-2,2") == [0, 1, 2, 5]
    for bad in ("3-1", "a", "-1", "1-"):
        with pytest.raises(ValueError, match="worlds"):
            parse_worlds(bad)


def test_a_run_killed_mid_way_resumes_to_the_same_bytes(tmp_path, reference):
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "robocritic.cli", "navdp", "generate", "--worlds", "0-11", "--out", str(out),
           "--no-progress", *TINY_ARGS]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if len(list(out.glob("world_*.npz"))) >= 2:
                break
            time.sleep(0.002)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the generator finished before it could be killed"
    present = list_shards(out)
    assert 2 <= len(present) < len(WORLDS)
    for p in present:  # every shard there is whole
        load_shard(p)
    (out / ".world_000011.npz.x1y2.tmp").write_bytes(b"PK\x03\x04 torn")  # as a kill mid-write leaves
    report = generate(WORLDS, out, TINY, progress=False)
    assert sorted(report.skipped) == sorted(int(p.stem.split("_")[1]) for p in present)
    assert sorted(report.written + report.skipped) == WORLDS
    assert folder_bytes(out) == folder_bytes(reference)  # no temporary file left, every shard identical


def test_workers_do_not_change_the_shards(tmp_path, reference):
    out = tmp_path / "two"
    generate(WORLDS[:4], out, TINY, workers=2, progress=False)
    for p in list_shards(out):
        assert p.read_bytes() == (reference / p.name).read_bytes()


def test_other_settings_are_refused_in_the_same_folder(tmp_path):
    out = tmp_path / "d"
    generate([0], out, TINY, progress=False)
    other = SampleConfig(pairs_per_world=2, recovery_per_path=1, n_waypoints=8, n_critic=2,
                         depth=DepthConfig(height=8, width=16))
    with pytest.raises(ValueError, match=f"{GENERATOR_FILE}.*pairs_per_world"):
        generate([0, 1], out, other, progress=False)
    assert json.loads((out / GENERATOR_FILE).read_text())["generator"] == TINY.to_dict()
    for kwargs, match in (({"workers": 0}, "workers"), ({"backend": "slurm"}, "backend")):
        with pytest.raises(ValueError, match=match):
            generate([0], out, TINY, progress=False, **kwargs)


@pytest.mark.slow  # starting Ray takes ~25 s on 2 cores
@pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                    reason="Ray is not installed (optional extra: pip install 'robocritic[dist]')")
def test_ray_backend_writes_the_same_shards(tmp_path, reference, monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)  # a local Ray instance
    out = tmp_path / "ray"
    report = generate(WORLDS[:3], out, TINY, workers=1, backend="ray", progress=False)
    assert report.written == WORLDS[:3]
    assert folder_bytes(out) == {n: b for n, b in folder_bytes(reference).items()
                                 if n in {p.name for p in out.iterdir()}}
