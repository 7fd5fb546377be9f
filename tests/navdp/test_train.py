"""NavDP training: a run resumed from its checkpoint (or extended with more steps) ends with the
same weights and optimiser state as an uninterrupted one, bit for bit; the learning-rate
schedule; label normalisation from the training shards; held-out shards; settings errors that
name the field; refusal to resume another run; export and the offline sanity numbers."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from robocritic.envs.nav.sensors import DepthConfig

from robocritic.navdp.checkpoint import load_model
from robocritic.navdp.dataset import SampleConfig
from robocritic.navdp.generate import generate
from robocritic.navdp.shards import ShardDataset
from robocritic.navdp.train import TrainConfig, check_model, export_run, model_config_for, split_shards, train

TINY = SampleConfig(pairs_per_world=1, recovery_per_path=1, n_waypoints=8, n_critic=2,
                    depth=DepthConfig(height=8, width=16))
MODEL = {"d_model": 16, "n_layers": 1, "n_heads": 2, "ff_mult": 2, "patch_size": 8, "n_candidates": 4}
FAST = {"batch_size": 4, "checkpoint_every": 3, "log_every": 2, "val_every": 3, "val_samples": 8,
        "val_fraction": 0.25, "progress": False, "tensorboard": False, "lr": 1e-3}


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    out = tmp_path_factory.mktemp("shards")
    generate(range(4), out, TINY, progress=False)
    return out


def assert_same_run(a, b) -> None:
    sa, sb = a.model.state_dict(), b.model.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


def optimizer_state(run_dir) -> dict:
    ckpt = sorted((run_dir / "checkpoints").glob("step_*"))[-1]
    return torch.load(ckpt / "state.pt", weights_only=True)["optimizer"]


def test_resumed_and_extended_runs_equal_an_uninterrupted_one_bit_for_bit(tmp_path, data):
    full = train(data, tmp_path / "full", TrainConfig(steps=6, **FAST), MODEL)
    assert full.step == 6 and (tmp_path / "full" / "model.pt").is_file()
    first = train(data, tmp_path / "resumed", TrainConfig(steps=6, **FAST), MODEL, until=4)
    assert first.step == 4 and not (tmp_path / "resumed" / "model.pt").exists()
    resumed = train(data, tmp_path / "resumed", TrainConfig(steps=6, **FAST), MODEL)
    assert resumed.step == 6
    assert_same_run(full, resumed)
    short = train(data, tmp_path / "extended", TrainConfig(steps=3, **FAST), MODEL)  # a finished run ...
    extended = train(data, tmp_path / "extended", TrainConfig(steps=6, **FAST), MODEL)  # ... made longer
    assert short.step == 3 and extended.step == 6
    assert_same_run(full, extended)
    for run in ("resumed", "extended"):
        a, b = optimizer_state(tmp_path / "full"), optimizer_state(tmp_path / run)
        for key, st in a["state"].items():
            for name, value in st.items():
                other = b["state"][key][name]
                assert torch.equal(torch.as_tensor(value), torch.as_tensor(other)), (run, key, name)
    assert full.history["step"] == [2.0, 4.0, 6.0] and full.history["val_step"] == [3.0, 6.0]
    assert json.loads((tmp_path / "full" / "history.json").read_text())["step"] == [2.0, 4.0, 6.0]


def test_label_normalisation_and_held_out_shards(tmp_path, data):
    result = train(data, tmp_path / "run", TrainConfig(steps=1, **FAST), MODEL)
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    assert len(record["val_shards"]) == 1 and len(record["train_shards"]) == 3
    assert not set(record["val_shards"]) & set(record["train_shards"])
    labels = ShardDataset([data / n for n in record["train_shards"]]).samples.critic_labels
    assert float(result.model.label_mean) == pytest.approx(float(labels.mean()), abs=1e-5)
    assert float(result.model.label_std) == pytest.approx(float(labels.std()), rel=1e-4)
    assert all(math.isfinite(v) for v in result.history["val/total"])
    assert record["model"]["n_waypoints"] == 8 and record["model"]["depth_height"] == 8


def test_tensorboard_scalars(tmp_path, data):
    pytest.importorskip("tensorboard", reason="TensorBoard is an optional extra (rl)")
    train(data, tmp_path / "run", TrainConfig(steps=2, **{**FAST, "tensorboard": True}), MODEL)
    assert list((tmp_path / "run" / "tb").glob("events.out.tfevents.*"))


def test_resuming_with_other_settings_is_refused(tmp_path, data):
    train(data, tmp_path / "run", TrainConfig(steps=2, **FAST), MODEL)
    with pytest.raises(ValueError, match=r"run\.json: TrainConfig fields \['lr'\]"):
        train(data, tmp_path / "run", TrainConfig(steps=4, **{**FAST, "lr": 5e-4}), MODEL)
    with pytest.raises(ValueError, match=r"run\.json: the run was made with other 'model'"):
        train(data, tmp_path / "run", TrainConfig(steps=4, **FAST), {**MODEL, "d_model": 32})


def test_a_run_from_before_a_planning_field_existed_still_resumes(tmp_path, data):
    """Planning-only model fields (stop threshold, progress weight, ...) do not change training."""
    import json

    train(data, tmp_path / "run", TrainConfig(steps=2, **FAST), MODEL)
    run_json = tmp_path / "run" / "run.json"
    record = json.loads(run_json.read_text())
    del record["model"]["progress_weight"]  # as written before the field existed
    record["model"]["stop_threshold"] = -2.0
    run_json.write_text(json.dumps(record))
    assert train(data, tmp_path / "run", TrainConfig(steps=4, **FAST), MODEL).step == 4


def test_settings_and_schedule():
    cfg = TrainConfig(lr=1e-3, lr_final=0.5, decay_steps=100)
    assert cfg.learning_rate(0) == 1e-3
    assert cfg.learning_rate(50) == pytest.approx(7.5e-4)
    assert cfg.learning_rate(100) == cfg.learning_rate(1000) == pytest.approx(5e-4)
    for kwargs, field in (({"steps": 0}, "steps"), ({"lr": 0.0}, "lr"), ({"lr_final": 2.0}, "lr_final"),
                          ({"progress": 1}, "progress"), ({"val_fraction": 0.95}, "val_fraction")):
        with pytest.raises(ValueError, match=f"TrainConfig.{field}"):
            TrainConfig(**kwargs)
    with pytest.raises(ValueError, match="unknown fields"):
        TrainConfig.from_dict({"step": 3})
    with pytest.raises(ValueError, match="n_waypoints=12 disagrees with the data"):
        model_config_for({"T": 1, "H": 8, "W": 16, "N": 8}, {"n_waypoints": 12})
    train_p, val_p = split_shards([f"world_{i:06d}.npz" for i in range(10)], 0.2, seed=0)
    assert len(val_p) == 2 and len(train_p) == 8 and split_shards(train_p + val_p, 0.2, 0) == (train_p, val_p)
    assert split_shards(["a.npz"], 0.2, 0) == ([train_p[0].with_name("a.npz")], [])


def test_export_and_offline_checks(tmp_path, data):
    result = train(data, tmp_path / "run", TrainConfig(steps=2, **FAST), MODEL)
    path = export_run(tmp_path / "run", tmp_path / "navdp.pt")
    model = load_model(path)
    for k, v in result.model.state_dict().items():
        assert torch.equal(model.state_dict()[k], v), k
    numbers = check_model(model, ShardDataset(data), samples=6)
    assert numbers["samples"] == 6 and numbers["plans"] >= 1
    for key in ("critic_pair_accuracy", "toward_goal", "unsafe_picked", "expert_toward_goal"):
        assert 0.0 <= numbers[key] <= 1.0 or math.isnan(numbers[key]), key
    assert numbers["expert_toward_goal"] == 1.0
    assert numbers["unsafe_expert"] == numbers["collision_expert"] == 0.0
    assert numbers["collision_picked"] <= numbers["unsafe_picked"]
    assert np.isfinite(numbers["end_cosine"])


def test_the_shipped_model_loads_and_plans():
    from robocritic.navdp.assets import small_model_path
    from robocritic.navdp.planner import NavDPPlanner

    path = small_model_path()
    assert path.is_file() and path.stat().st_size < 5_000_000
    model = load_model(path)
    cfg = model.config
    assert (cfg.depth_height, cfg.depth_width, cfg.n_waypoints) == (48, 64, 24)
    plan = NavDPPlanner(model).plan(np.zeros((48, 64), dtype=np.float32), (3.0, 0.0), seed=0)
    assert plan.candidates.shape == (16, 24, 3) and np.isfinite(plan.scores).all()
