"""NavDP DAgger data from the planner's own closed-loop states: the labels of a state are the
expert's from the robot's pose and the world's critic labels of its candidates; the rollout folder
holds shards and candidate files that load, train together with generated shards (two data
folders, two candidate folders), resume by skipping finished worlds and refuse other settings;
the pairwise ranking loss of the critic; the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from robocritic.cli import main
from robocritic.navdp.candidates import candidate_name, file_sha256, load_candidates
from robocritic.navdp.checkpoint import save_model
from robocritic.navdp.dataset import SampleConfig
from robocritic.navdp.expert import extract_path, solve_cost_to_go
from robocritic.navdp.generate import generate
from robocritic.navdp.labels import critic_label, robot_to_world
from robocritic.navdp.model import NavDPNet
from robocritic.navdp.rollouts import (
    ROLLOUT_FILE,
    RolloutConfig,
    candidate_increments,
    generate_rollouts,
    label_states,
)
from robocritic.navdp.shards import ShardDataset, load_shard, shard_name
from robocritic.navdp.train import TrainConfig, candidate_losses, model_config_for, train

# the env's camera (48 x 64) and N = 24: the rollouts run in the benchmark's env
CFG = SampleConfig(pairs_per_world=1, recovery_per_path=0)
MODEL = {"d_model": 16, "n_layers": 1, "n_heads": 2, "ff_mult": 2, "patch_size": 16, "n_candidates": 4}
FAST = {"batch_size": 4, "checkpoint_every": 2, "log_every": 2, "val_every": 2, "val_samples": 8,
        "val_fraction": 0.0, "progress": False, "tensorboard": False, "lr": 1e-3}
ROLL = RolloutConfig(episodes_per_world=1, record_every=4, seed=3)


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    model = NavDPNet(model_config_for({"T": 1, "H": 48, "W": 64, "N": 24}, MODEL), seed=1)
    return save_model(model, tmp_path_factory.mktemp("model") / "tiny.pt")


@pytest.fixture(scope="module")
def rollouts(tmp_path_factory, model_file):
    out = tmp_path_factory.mktemp("rollouts")
    report = generate_rollouts([20000, 20001], model_file, out, ROLL, CFG, progress=False)
    assert report.written == [20000, 20001] and not report.skipped
    assert sum(report.outcomes.values()) == 2
    return out


def test_candidate_increments_invert_the_cumulative_sum():
    inc = np.random.default_rng(0).normal(size=(3, 5, 7, 3)).astype(np.float32)
    np.testing.assert_allclose(candidate_increments(np.cumsum(inc, axis=-2)), inc, atol=1e-5)


def test_a_state_is_labelled_by_the_expert_from_the_robots_pose():
    from robocritic.envs.nav.world import generate_world

    world = generate_world(20003, "default")
    cfg = SampleConfig()
    free = np.argwhere(world.esdf >= 0.5)
    rng = np.random.default_rng(0)
    # two free points far apart: one as the goal, one as the robot
    pts = world.grid.centre_of(free[rng.permutation(len(free))[:200]])
    goal = pts[0]
    start = next(p for p in pts[1:] if np.hypot(*(p - goal)) > 3.0)
    ctg = solve_cost_to_go(world, goal, cfg.expert)
    pose = np.array([start[0], start[1], 0.7])
    cands = np.cumsum(rng.uniform(-0.2, 0.2, size=(1, 5, 24, 3)), axis=-2)
    depth = np.ones((1, 48, 64), np.float32)
    samples, inc, labels = label_states(world, goal, pose[None], depth, cands, cfg, np.random.default_rng(1),
                                        world_seed=20003, path_index=2, cost_to_go=ctg)
    assert len(samples) == 1 and inc.shape == (1, 5, 24, 3) and labels.shape == (1, 5)
    # the expert's plan follows the expert path from the robot's position
    path = extract_path(ctg, world, start)
    track = robot_to_world(np.cumsum(samples.actions[0, :, :2], axis=0), pose)
    assert np.hypot(*(track[-1] - start)) > 0.5  # it goes somewhere
    assert np.min(np.linalg.norm(path.points[None] - track[:8, None], axis=-1), axis=1).max() < 0.1
    # goal in the robot frame of the pose; the expert's label is the formula's; flags
    np.testing.assert_allclose(robot_to_world(samples.goal[:, :2].astype(np.float64), pose)[0], goal, atol=1e-4)
    full = np.concatenate([start[None], track])
    assert samples.critic_labels[0, 0] == pytest.approx(float(critic_label(full, world, cfg.label_radius)), abs=1e-4)
    assert samples.path_index[0] == 2 and not samples.recovery[0] and not samples.hindsight[0]
    # the candidates' labels are the world's labels of those plans from that pose
    want = critic_label(np.concatenate([np.repeat(pose[None, None, :2], 5, 0),
                                        robot_to_world(cands[0, :, :, :2], pose)], axis=1), world, cfg.label_radius)
    np.testing.assert_allclose(labels[0], want, atol=1e-4)
    # a robot within min_remaining of the goal gives no sample
    near = np.array([[goal[0] + 0.1, goal[1], 0.0]])
    none, inc0, lab0 = label_states(world, goal, near, depth, cands, cfg, np.random.default_rng(1), cost_to_go=ctg)
    assert len(none) == 0 and inc0.shape == (0, 5, 24, 3) and lab0.shape == (0, 5)


def test_rollout_folder_files_load_and_match(rollouts):
    record = json.loads((rollouts / ROLLOUT_FILE).read_text())
    assert record["rollout"] == ROLL.to_dict() and record["generator"] == CFG.to_dict()
    for seed in (20000, 20001):
        samples, meta = load_shard(rollouts / shard_name(seed))
        assert meta["generator"] == CFG.to_dict() and meta["rollout"]["config"] == ROLL.to_dict()
        assert len(meta["rollout"]["episodes"]) == 1
        cand = load_candidates(rollouts / candidate_name(seed))
        assert cand.metadata["shard_sha256"] == file_sha256(rollouts / shard_name(seed))
        assert len(cand) == len(samples)
        np.testing.assert_array_equal(cand.sample_index, np.arange(len(samples)))
        assert (samples.world_seed == seed).all()
    assert len(ShardDataset(rollouts)) > 0


def test_rerun_skips_finished_worlds_and_other_settings_are_refused(rollouts, model_file, tmp_path):
    before = {p.name: p.read_bytes() for p in sorted(rollouts.glob("*.npz"))}
    again = generate_rollouts([20000, 20001], model_file, rollouts, ROLL, CFG, progress=False)
    assert again.skipped == [20000, 20001] and not again.written
    assert {p.name: p.read_bytes() for p in sorted(rollouts.glob("*.npz"))} == before
    with pytest.raises(ValueError, match="other settings"):
        generate_rollouts([20000], model_file, rollouts, RolloutConfig(episodes_per_world=2), CFG, progress=False)
    with pytest.raises(ValueError, match="preset"):
        generate_rollouts([1], model_file, tmp_path, RolloutConfig(preset="dense"), CFG, progress=False)
    with pytest.raises(ValueError, match="RolloutConfig.record_every"):
        RolloutConfig(record_every=0)
    # a world whose candidate file is missing (killed between the two writes) is done again, the same
    (rollouts / candidate_name(20001)).unlink()
    redo = generate_rollouts([20000, 20001], model_file, rollouts, ROLL, CFG, progress=False)
    assert redo.written == [20001]
    assert {p.name: p.read_bytes() for p in sorted(rollouts.glob("*.npz"))} == before


def test_fine_tuning_on_generated_and_rollout_shards_with_ranking(tmp_path, rollouts, model_file):
    gen = tmp_path / "gen"
    generate([0], gen, CFG, progress=False)
    cands = tmp_path / "cands"
    main(["navdp", "candidates", str(gen), "--model", str(model_file), "--out", str(cands), "--k", "4",
          "--stride", "3", "--no-progress"])
    cfg = TrainConfig(steps=2, candidate_batch=2, candidate_weight=0.5, candidate_rank_weight=1.0, **FAST)
    result = train([gen, rollouts], tmp_path / "run", cfg, init=model_file, candidates=[cands, rollouts])
    assert result.step == 2 and "loss/candidates_rank" in result.history
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert len(run["data"]) == 2 and len(run["candidates"]["files"]) == 3
    assert "world_020000.npz" in run["train_shards"]
    with pytest.raises(ValueError, match="more than one folder"):
        train([gen, gen], tmp_path / "dup", TrainConfig(steps=1, **FAST), MODEL)
    with pytest.raises(ValueError, match="TrainConfig.candidate_rank_weight"):
        TrainConfig(candidate_rank_weight=-1.0)


def test_ranking_loss_orders_pairs_by_label():
    model = NavDPNet(model_config_for({"T": 1, "H": 48, "W": 64, "N": 24}, MODEL), seed=2)
    depth = torch.rand(2, 1, 48, 64)
    actions = torch.randn(2, 4, 24, 3) * 0.1
    same = torch.zeros(2, 4)
    mse, rank = candidate_losses(model, depth, actions, same)
    assert float(rank.detach()) == 0.0 and float(mse.detach()) > 0
    labels = torch.tensor([[0.0, -1.0, -2.0, -3.0], [0.0, 0.1, -2.0, 0.0]])
    _, rank = candidate_losses(model, depth, actions, labels, rank_margin=0.25)
    assert float(rank.detach()) > 0
    rank.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def test_cli_rollouts(tmp_path, model_file, capsys):
    main(["navdp", "rollouts", "--model", str(model_file), "--worlds", "20002", "--out", str(tmp_path / "r"),
          "--episodes", "1", "--record-every", "4", "--no-progress", "--config", "pairs_per_world=1",
          "recovery_per_path=0"])
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["written"] == 1 and sum(out["outcomes"].values()) == 1
    assert main(["navdp", "rollouts", "--model", str(model_file), "--worlds", "20002", "--out",
                 str(tmp_path / "r"), "--method", "dwa"]) == 2
    assert "invalid choice" in capsys.readouterr().err
