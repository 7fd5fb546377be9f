"""NavDP critic data from the sampler's own candidates: the stored labels are the world's critic
labels of the stored plans; generation is deterministic in its seed and resumes after an
interruption to the same bytes; the file round trip and its refusals (truncated, corrupt, pickled,
another version), each naming the file; fine-tuning from a model file on candidates resumes bit
for bit; the offline check and the CLI."""

from __future__ import annotations

import json
import math
import zipfile

import numpy as np
import pytest
import torch
from robocritic.envs.nav.sensors import DepthConfig
from robocritic.envs.nav.world import generate_world

from robocritic.cli import main
from robocritic.navdp.candidates import (
    CANDIDATE_VERSION,
    CandidateConfig,
    CandidateError,
    candidate_check,
    candidate_name,
    first_metre_mask,
    generate_candidates,
    load_candidates,
    save_candidates,
)
from robocritic.navdp.checkpoint import load_model, save_model
from robocritic.navdp.dataset import SampleConfig
from robocritic.navdp.generate import generate
from robocritic.navdp.labels import critic_label, robot_to_world
from robocritic.navdp.model import NavDPNet
from robocritic.navdp.shards import load_shard, shard_name
from robocritic.navdp.train import TrainConfig, model_config_for, train

TINY = SampleConfig(pairs_per_world=1, recovery_per_path=1, n_waypoints=8, n_critic=2,
                    depth=DepthConfig(height=8, width=16))
MODEL = {"d_model": 16, "n_layers": 1, "n_heads": 2, "ff_mult": 2, "patch_size": 8, "n_candidates": 4}
FAST = {"batch_size": 4, "checkpoint_every": 2, "log_every": 2, "val_every": 2, "val_samples": 8,
        "val_fraction": 0.25, "progress": False, "tensorboard": False, "lr": 1e-3}
CAND = CandidateConfig(n_candidates=3, stride=2, seed=5)


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    out = tmp_path_factory.mktemp("shards")
    generate(range(4), out, TINY, progress=False)
    return out


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    model = NavDPNet(model_config_for({"T": 1, "H": 8, "W": 16, "N": 8}, MODEL), seed=3)
    return save_model(model, tmp_path_factory.mktemp("model") / "tiny.pt")


@pytest.fixture(scope="module")
def cands(tmp_path_factory, data, model_file):
    out = tmp_path_factory.mktemp("cands")
    report = generate_candidates(data, model_file, out, CAND, progress=False)
    assert len(report.written) == 4 and not report.skipped
    return out


def files(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.glob("candidates_*.npz"))}


def test_stored_labels_are_the_worlds_critic_labels(data, cands):
    for seed in range(4):
        samples, _ = load_shard(data / shard_name(seed))
        got = load_candidates(cands / candidate_name(seed))
        np.testing.assert_array_equal(got.sample_index, np.arange(0, len(samples), 2))
        assert got.actions.shape == (len(got), 3, 8, 3) and got.labels.shape == (len(got), 3)
        assert got.metadata["world_seed"] == seed and got.metadata["label_radius"] == TINY.label_radius
        world = generate_world(seed, TINY.world_spec)
        for row, i in enumerate(got.sample_index):
            pose = samples.pose[i].astype(np.float64)
            for k in range(3):
                way = robot_to_world(np.cumsum(got.actions[row, k, :, :2].astype(np.float64), axis=0), pose)
                track = np.concatenate([pose[None, :2], way])
                assert got.labels[row, k] == np.float32(critic_label(track, world, TINY.label_radius))
        assert np.abs(got.actions).max() <= 0.25 + 1e-6  # within the sampler's per-step bound


def test_generation_is_deterministic_in_its_seed(tmp_path, data, model_file, cands):
    again = generate_candidates(data, model_file, tmp_path / "again", CAND, progress=False)
    assert again.samples > 0 and files(tmp_path / "again") == files(cands)
    other = CandidateConfig(n_candidates=3, stride=2, seed=6)
    generate_candidates(data, model_file, tmp_path / "other", other, worlds=[0], progress=False)
    a = load_candidates(cands / candidate_name(0)).actions
    b = load_candidates(tmp_path / "other" / candidate_name(0)).actions
    assert a.shape == b.shape and not np.array_equal(a, b)
    with pytest.raises(ValueError, match=r"candidates\.json: .*other settings or another model"):
        generate_candidates(data, model_file, tmp_path / "other", CAND, progress=False)


def test_an_interrupted_run_resumes_to_the_same_bytes(tmp_path, data, model_file, cands):
    out = tmp_path / "resumed"
    first = generate_candidates(data, model_file, out, CAND, worlds=[0, 2], progress=False)
    assert first.written == [0, 2]
    (out / f".{candidate_name(1)}.abc.tmp").write_bytes(b"torn")  # a writer killed mid-write
    (out / candidate_name(3)).write_bytes(b"not a zip")  # cannot happen with atomic writes; rewritten
    second = generate_candidates(data, model_file, out, CAND, progress=False)
    assert second.skipped == [0, 2] and second.written == [1, 3]
    assert files(out) == files(cands) and not list(out.glob(".*.tmp"))


def test_round_trip_and_refusals_name_the_file(tmp_path):
    rng = np.random.default_rng(0)
    idx, acts, labs = np.array([0, 3, 7]), rng.normal(size=(3, 2, 5, 3)), rng.normal(size=(3, 2))
    path = save_candidates(tmp_path / candidate_name(9), idx, acts, labs, {"world_seed": 9})
    got = load_candidates(path)
    np.testing.assert_array_equal(got.sample_index, idx)
    np.testing.assert_array_equal(got.actions, acts.astype(np.float32))
    np.testing.assert_array_equal(got.labels, labs.astype(np.float32))
    assert got.metadata["version"] == CANDIDATE_VERSION and got.metadata["dims"] == {"K": 2, "N": 5}
    raw = path.read_bytes()
    bad = tmp_path / "bad.npz"
    for damaged in (raw[: len(raw) // 2], raw[:100], raw[:40] + bytes(200) + raw[240:]):
        bad.write_bytes(damaged)
        with pytest.raises(CandidateError, match=str(bad)):
            load_candidates(bad)
    with pytest.raises(CandidateError, match=r"missing\.npz: missing"):
        load_candidates(tmp_path / "missing.npz")
    members = {}
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            members[name] = zf.read(name)

    def rewrite(name, arr, *, allow_pickle=False):
        import io
        buf = io.BytesIO()
        np.lib.format.write_array(buf, arr, allow_pickle=allow_pickle)
        with zipfile.ZipFile(bad, "w") as zf:
            for k, v in members.items():
                zf.writestr(k, buf.getvalue() if k == f"{name}.npy" else v)

    rewrite("labels", np.array([object()] * 6, dtype=object).reshape(3, 2), allow_pickle=True)
    with pytest.raises(CandidateError, match=r"bad\.npz: field 'labels'"):
        load_candidates(bad)
    rewrite("actions", acts.astype(np.float64))
    with pytest.raises(CandidateError, match=r"bad\.npz: field 'actions': float64"):
        load_candidates(bad)
    new_meta = {**got.metadata, "version": CANDIDATE_VERSION + 1}
    rewrite("metadata", np.frombuffer(json.dumps(new_meta).encode(), dtype=np.uint8))
    with pytest.raises(CandidateError, match=r"bad\.npz: field 'metadata': version"):
        load_candidates(bad)
    rewrite("sample_index", np.array([3, 0, 7], dtype=np.int32))
    with pytest.raises(CandidateError, match=r"bad\.npz: field 'sample_index'"):
        load_candidates(bad)


def test_fine_tuning_on_candidates_resumes_bit_for_bit(tmp_path, data, model_file, cands):
    cfg = TrainConfig(steps=4, candidate_batch=2, **FAST)
    full = train(data, tmp_path / "full", cfg, init=model_file, candidates=cands)
    part = train(data, tmp_path / "part", cfg, init=model_file, candidates=cands, until=2)
    assert part.step == 2
    resumed = train(data, tmp_path / "part", cfg, init=model_file, candidates=cands)
    for k, v in full.model.state_dict().items():
        assert torch.equal(resumed.model.state_dict()[k], v), k
    init = load_model(model_file)
    assert torch.equal(full.model.label_std, init.label_std)  # the init model's normalisation
    assert not torch.equal(full.model.critic_head.weight, init.critic_head.weight)
    assert all(math.isfinite(v) for v in full.history["loss/candidates"] + full.history["val/candidates"])
    record = json.loads((tmp_path / "full" / "run.json").read_text())
    assert record["init"]["path"] == str(model_file) and len(record["candidates"]["files"]) == 3
    with pytest.raises(ValueError, match="other 'candidates'"):
        train(data, tmp_path / "full", TrainConfig(steps=6, **FAST), init=model_file)
    with pytest.raises(ValueError, match="candidate_batch > 0 needs"):
        train(data, tmp_path / "none", cfg, init=model_file)
    with pytest.raises(CandidateError, match=r"candidates_000000\.npz: missing"):
        train(data, tmp_path / "empty", cfg, init=model_file, candidates=tmp_path / "nowhere")
    # without candidates the batches and steps are the ones of a plain run
    plain = TrainConfig(steps=2, **FAST)
    a = train(data, tmp_path / "a", plain, MODEL)
    b = train(data, tmp_path / "b", plain, MODEL, candidates=cands)  # candidate_batch 0: unused
    for k, v in a.model.state_dict().items():
        assert torch.equal(b.model.state_dict()[k], v), k


def test_offline_check_and_first_metre(data, model_file):
    acts = np.zeros((1, 6, 3))
    acts[0, :, 0] = 0.25
    np.testing.assert_array_equal(first_metre_mask(acts)[0], [True] * 5 + [False] * 2)
    numbers = candidate_check(load_model(model_file), data, CAND)
    assert numbers["plans"] >= 1 and numbers["candidates"] == 3
    for key in ("collide_1m_first", "collide_1m_critic_only", "collide_1m_navdp", "no_clear_1m",
                "misranked_1m_critic_only", "collide_full_navdp", "stop_rate"):
        assert 0.0 <= numbers[key] <= 1.0, key
    assert numbers["misranked_1m_critic_only"] <= numbers["collide_1m_critic_only"]
    # a colliding pick is misranked unless no candidate was clear
    unexplained = numbers["collide_1m_critic_only"] - numbers["misranked_1m_critic_only"]
    assert unexplained <= numbers["no_clear_1m"] + 1e-12
    assert numbers["label_regret_critic_only"] >= 0.0


def test_cli(tmp_path, data, model_file, capsys):
    out = tmp_path / "c"
    assert main(["navdp", "candidates", str(data), "--model", str(model_file), "--out", str(out), "--k", "2",
                 "--stride", "3", "--worlds", "0-1", "--no-progress"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["written"] == 2 and sorted(p.name for p in out.glob("*.npz")) == [candidate_name(0),
                                                                                    candidate_name(1)]
    assert main(["navdp", "check-candidates", str(model_file), str(data), "--k", "2", "--stride", "3",
                 "--no-progress"]) == 0
    numbers = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert numbers["candidates"] == 2 and numbers["stride"] == 3
