"""NavDP shards: the round trip, byte-identical writes, and the refusals (a pickled object, a wrong
dtype or shape, a missing or unknown field, a truncated file, another version), each naming the
file and the field; the in-memory dataset over a folder."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
from robocritic.envs.nav.sensors import DepthConfig

from robocritic.navdp.dataset import SAMPLE_FIELDS, SampleConfig, world_samples
from robocritic.navdp.shards import (
    SHARD_VERSION,
    ShardDataset,
    ShardError,
    list_shards,
    load_shard,
    read_metadata,
    save_shard,
    shard_bytes,
    shard_name,
)

TINY = SampleConfig(pairs_per_world=1, recovery_per_path=1, n_waypoints=8, n_critic=2,
                    depth=DepthConfig(height=8, width=16))


@pytest.fixture(scope="module")
def samples():
    return {seed: world_samples(seed, TINY) for seed in (0, 1)}


def npz_members(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def write_npz(path: Path, arrays: dict[str, np.ndarray], *, allow_pickle: bool = False) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, arr in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, arr, allow_pickle=allow_pickle)
            zf.writestr(f"{name}.npy", buf.getvalue())
    return path


def test_round_trip_and_metadata(tmp_path, samples):
    path = save_shard(tmp_path / shard_name(0), samples[0], TINY, [0])
    assert path.name == "world_000000.npz" and [p.name for p in tmp_path.iterdir()] == [path.name]
    loaded, meta = load_shard(path)
    for name, arr in samples[0].arrays().items():
        np.testing.assert_array_equal(getattr(loaded, name), arr, err_msg=name)
        assert getattr(loaded, name).dtype == SAMPLE_FIELDS[name][0]
    assert loaded.n_paths == samples[0].n_paths
    assert meta["version"] == SHARD_VERSION and meta["world_seeds"] == [0]
    assert meta["samples"] == len(samples[0]) and meta["dims"] == {"T": 1, "H": 8, "W": 16, "N": 8, "M": 2}
    assert SampleConfig.from_dict(meta["generator"]) == TINY
    assert read_metadata(path) == meta
    # plain numpy reads it, without pickle
    assert set(npz_members(path)) == {*SAMPLE_FIELDS, "metadata"}


def test_writes_are_byte_identical(samples):
    assert shard_bytes(samples[0], TINY, [0]) == shard_bytes(samples[0], TINY, [0])
    assert shard_bytes(samples[0], TINY, [0]) != shard_bytes(samples[1], TINY, [1])


def metadata_with(raw: np.ndarray, **changes) -> np.ndarray:
    return np.frombuffer(json.dumps({**json.loads(raw.tobytes()), **changes}).encode(), dtype=np.uint8)


def corrupt(tmp_path: Path, samples, change) -> Path:
    good = save_shard(tmp_path / "good.npz", samples[0], TINY, [0])
    arrays = npz_members(good)
    change(arrays)
    return write_npz(tmp_path / "bad.npz", arrays, allow_pickle=True)


@pytest.mark.parametrize("change, field, why", [
    (lambda a: a.update(goal=np.array([object()] * 3, dtype=object)), "goal", "pickled"),
    (lambda a: a.update(actions=a["actions"].astype(np.float64)), "actions", "dtype float64"),
    (lambda a: a.update(depth=a["depth"][:, :, :4]), "depth", "shape"),
    (lambda a: a.pop("critic_labels"), "critic_labels", "missing"),
    (lambda a: a.update(extra=np.zeros(3)), "extra", "unknown"),
    (lambda a: a.update(critic_labels=np.full_like(a["critic_labels"], np.nan)), "critic_labels",
     "non-finite"),
    (lambda a: a.update(metadata=metadata_with(a["metadata"], version=99)), "metadata", "version 99"),
])
def test_bad_shards_are_refused_naming_file_and_field(tmp_path, samples, change, field, why):
    bad = corrupt(tmp_path, samples, change)
    with pytest.raises(ShardError, match=rf"bad\.npz: .*{field}.*{why}|bad\.npz: .*{why}.*{field}") as exc:
        load_shard(bad)
    assert str(bad) in str(exc.value)


def test_truncated_empty_and_non_shard_files_are_refused_naming_the_file(tmp_path, samples):
    good = save_shard(tmp_path / "good.npz", samples[0], TINY, [0])
    data = good.read_bytes()
    for name, content in (("half.npz", data[: len(data) // 2]), ("cut.npz", data[:-30]), ("empty.npz", b""),
                          ("text.npz", b"not a shard")):
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(ShardError, match=re.escape(name)):
            load_shard(path)
    with pytest.raises(ShardError, match="missing"):
        load_shard(tmp_path / "nope.npz")
    np.save(tmp_path / "single.npy", np.zeros(3))
    with pytest.raises(ShardError, match=r"single\.npy"):
        load_shard(tmp_path / "single.npy")


def test_dataset_over_a_folder(tmp_path, samples):
    for seed, s in samples.items():
        save_shard(tmp_path / shard_name(seed), s, TINY, [seed])
    (tmp_path / ".world_000002.npz.abc.tmp").write_bytes(b"half a shard")  # left by a killed writer
    assert [p.name for p in list_shards(tmp_path)] == ["world_000000.npz", "world_000001.npz"]
    ds = ShardDataset(tmp_path)
    n0, n1 = len(samples[0]), len(samples[1])
    assert len(ds) == n0 + n1 and ds.n_paths == samples[0].n_paths + samples[1].n_paths
    assert ds.dims["N"] == 8 and ds.config == TINY
    np.testing.assert_array_equal(ds[n0]["actions"], samples[1].actions[0])
    batch = ds.batch(np.array([0, n0 + 1]))
    assert batch["depth"].shape == (2, 1, 8, 16) and batch["critic_actions"].shape == (2, 2, 8, 3)
    np.testing.assert_array_equal(ds.shard_of, [0] * n0 + [1] * n1)
    # shards of other settings do not mix
    other = SampleConfig(pairs_per_world=1, recovery_per_path=1, n_waypoints=8, n_critic=2, hindsight=0.0,
                         depth=DepthConfig(height=8, width=16))
    save_shard(tmp_path / shard_name(3), world_samples(3, other), other, [3])
    with pytest.raises(ShardError, match=r"world_000003\.npz"):
        ShardDataset(tmp_path)
    with pytest.raises(ShardError, match="no shards"):
        ShardDataset([])
