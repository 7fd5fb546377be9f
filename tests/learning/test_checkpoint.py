"""Checkpoints (robocritic.learning.checkpoint, .buffer): weights-only loading refuses pickled
objects, atomic writes never leave a half-written file, digests catch a replaced file, the
replay buffer round-trips through a plain .npz, checkpoints are indexed by step and old
``ep_`` checkpoints still load."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

from robocritic.learning.buffer import ReplayBuffer
from robocritic.learning.checkpoint import (
    CheckpointError,
    CheckpointStore,
    load_weights,
    save_weights,
)
from robocritic.utils.atomic import atomic_write


class Payload:
    """A class a malicious pickle could instantiate."""

    def __reduce__(self):
        return (os.getcwd, ())


def test_load_refuses_pickled_objects(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"actor": Payload()}, path)  # plain torch.save pickles the object
    with pytest.raises(CheckpointError, match="weights-only"):
        load_weights(path)


def test_weights_round_trip(tmp_path):
    net = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(net.parameters())
    net(torch.ones(1, 3)).sum().backward()
    opt.step()
    save_weights(
        tmp_path / "w.pt",
        {"net": net.state_dict(), "opt": opt.state_dict(), "rng": torch.get_rng_state(), "n": 3},
    )
    state = load_weights(tmp_path / "w.pt")
    assert state["n"] == 3
    torch.testing.assert_close(state["net"]["weight"], net.weight.detach(), rtol=0, atol=0)
    opt2 = torch.optim.Adam(torch.nn.Linear(3, 2).parameters())
    opt2.load_state_dict(state["opt"])


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path):
    path = tmp_path / "f.bin"
    atomic_write(path, lambda fh: fh.write(b"old"))

    def boom(fh):
        fh.write(b"half")
        raise RuntimeError("crash mid-write")

    with pytest.raises(RuntimeError):
        atomic_write(path, boom)
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]  # no temporary left behind


def test_store_keeps_the_newest_and_detects_replaced_files(tmp_path):
    store = CheckpointStore(tmp_path / "ck", keep=2)
    assert store.latest() is None
    buf = ReplayBuffer(10, 2, 1)
    for ep in (1, 2, 3):
        buf.add(np.full(2, ep), np.ones(1), float(ep), np.zeros(2), False)
        store.save(ep, {"w": torch.full((2,), float(ep))}, {"note": "x"}, replay=buf.save)
    assert sorted(p.name for p in (tmp_path / "ck").glob("step_*")) == ["step_000000002", "step_000000003"]
    ckpt = store.load()
    assert ckpt.step == 3 and ckpt.meta["note"] == "x"
    assert torch.equal(ckpt.state["w"], torch.full((2,), 3.0))
    restored = ReplayBuffer.load(ckpt.replay_path)
    assert len(restored) == 3 and restored.cost.tolist()[:3] == [1.0, 2.0, 3.0]
    # A state.pt swapped in from elsewhere no longer matches meta.json's digest.
    save_weights(ckpt.path / "state.pt", {"w": torch.zeros(2)})
    with pytest.raises(CheckpointError, match="SHA-256"):
        store.load()
    # A pointer to a missing folder is reported, not silently ignored.
    (tmp_path / "ck" / "latest.json").write_text(json.dumps({"checkpoint": "step_000000099"}))
    with pytest.raises(CheckpointError, match="does not exist"):
        store.load()


def test_replay_buffer_ring_and_sampling():
    buf = ReplayBuffer(3, 1, 1)
    for k in range(5):
        buf.add(np.array([k]), np.array([0.0]), float(k), np.array([k + 1]), k == 4)
    assert len(buf) == 3 and sorted(buf.cost.tolist()) == [2.0, 3.0, 4.0]
    a = buf.sample(8, np.random.default_rng(0))
    b = buf.sample(8, np.random.default_rng(0))
    np.testing.assert_array_equal(a.obs, b.obs)
    assert a.obs.shape == (8, 1) and set(a.cost.tolist()) <= {2.0, 3.0, 4.0}


def _write_format1(directory, episode: int, state: dict, meta: dict) -> None:
    """A checkpoint as robocritic wrote it before steps: ``ep_%06d``, "episode" in meta and pointer."""
    import hashlib

    folder = directory / f"ep_{episode:06d}"
    folder.mkdir(parents=True)
    torch.save(state, folder / "state.pt")
    digest = hashlib.sha256((folder / "state.pt").read_bytes()).hexdigest()
    meta = {**meta, "format": 1, "episode": episode, "files": {"state.pt": digest}}
    (folder / "meta.json").write_text(json.dumps(meta))
    (directory / "latest.json").write_text(json.dumps({"checkpoint": folder.name, "episode": episode}))


def test_old_episode_checkpoints_load_and_are_superseded(tmp_path):
    directory = tmp_path / "ck"
    _write_format1(directory, 4, {"w": torch.ones(2)}, {"note": "old"})
    store = CheckpointStore(directory, keep=2)
    ckpt = store.load()
    assert ckpt.step == 4 and ckpt.meta["note"] == "old" and ckpt.path.name == "ep_000004"
    assert torch.equal(ckpt.state["w"], torch.ones(2))
    # A resumed run writes the current layout next to it; pruning orders both layouts by step.
    store.save(5, {"w": torch.zeros(2)}, {"note": "new"})
    store.save(6, {"w": torch.zeros(2)}, {"note": "new"})
    assert [p.name for p in store.folders()] == ["step_000000005", "step_000000006"]
    assert store.load().step == 6 and json.loads((directory / "latest.json").read_text())["step"] == 6


def test_rewriting_a_step_replaces_an_old_layout_folder_of_that_step(tmp_path):
    directory = tmp_path / "ck"
    _write_format1(directory, 3, {"w": torch.ones(1)}, {})
    CheckpointStore(directory, keep=5).save(3, {"w": torch.zeros(1)}, {})
    assert [p.name for p in CheckpointStore(directory).folders()] == ["step_000000003"]


def test_unknown_format_is_refused_by_name(tmp_path):
    store = CheckpointStore(tmp_path / "ck")
    folder = store.save(1, {"w": torch.ones(1)}, {})
    meta = json.loads((folder / "meta.json").read_text())
    (folder / "meta.json").write_text(json.dumps({**meta, "format": 99}))
    with pytest.raises(CheckpointError, match="format 99"):
        store.load()
