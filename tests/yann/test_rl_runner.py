"""YANN-RL runner (robocritic.yann.runner, .trainer): a tiny training run end to end (checkpoint,
TensorBoard events, metrics JSON, reloadable policy), YANN-DDPG starting exactly at the explicit
MPC's test cost, and a resumed run equal to an uninterrupted one bit for bit."""

from __future__ import annotations

import dataclasses
import functools
import json

import numpy as np
import pytest
import torch
from robocritic.controllers.explicit_mpc import ExplicitMPC

from robocritic.learning.checkpoint import CheckpointError, load_weights
from robocritic.yann.runner import (
    evaluate_explicit_mpc,
    evaluate_policy,
    evaluate_run,
    load_policy,
    train,
)
from robocritic.yann.trainer import DDPGTrainer

PENDULUM = "robocritic/ClippedPendulum-v0"


@pytest.fixture
def tiny_config(tiny_pendulum_config):
    """``(folder, episodes=3) -> RLConfig``: pendulum, 30-step episodes, small nets, a hand-built law."""
    return functools.partial(
        tiny_pendulum_config, episodes=3, max_episode_steps=30, n_test=3,
        yann_ddpg={"actor_hidden": (8, 8), "critic_hidden": (16,), "actor_lr": 1e-3, "critic_lr": 1e-3},
        ddpg={"actor_hidden": (16, 16), "critic_hidden": (16, 16)},
    )  # fmt: skip


def comparable(metrics: dict) -> dict:
    """Metrics without wall-clock times and versions."""
    m = json.loads(json.dumps(metrics))
    m["curve"].pop("wall_s")
    m.pop("versions", None)
    return m


@pytest.mark.parametrize("algorithm", ["yann_ddpg", "ddpg"])
def test_tiny_run_end_to_end(tmp_path, algorithm: str, tiny_config):
    pytest.importorskip("tensorboard")
    cfg = tiny_config(tmp_path, episodes=2)
    run_dir = tmp_path / "run"
    result = train(cfg, algorithm, 0, run_dir, progress=False)
    assert result.finished
    m = result.metrics.to_json()
    assert m["episodes_done"] == 2 and m["curve"]["episode"] == [1, 2]
    assert m["eval_curve"]["episode"] == [0, 1, 2]
    assert len(m["test_before"]["costs"]) == 3 and np.isfinite(m["test_after"]["mean_cost"])
    # Files: resumable checkpoint, TensorBoard events, final weights + sidecar, metrics JSON.
    assert (run_dir / "checkpoints" / "latest.json").is_file()
    assert list((run_dir / "tb").glob("events.out.tfevents.*"))
    assert json.loads((run_dir / "metrics.json").read_text())["episodes_done"] == 2
    assert "actor" in load_weights(run_dir / "actor.pt")
    # The reloaded policy reproduces the final test cost.
    _, cfg2, alg = load_policy(run_dir)
    assert alg == algorithm and cfg2 == cfg
    np.testing.assert_allclose(evaluate_run(run_dir).mean_cost, m["test_after"]["mean_cost"], rtol=1e-12)
    # A finished run is not retrained: train() on it resumes to "done" at once.
    again = train(cfg, algorithm, 0, run_dir, progress=False)
    assert comparable(again.metrics.to_json()) == comparable(m)


def test_yann_ddpg_starts_at_the_explicit_mpc_cost(tmp_path, tiny_config):
    cfg = tiny_config(tmp_path, episodes=1)
    result = train(cfg, "yann_ddpg", 0, tmp_path / "run", progress=False, tensorboard=False)
    mpc = evaluate_explicit_mpc(cfg)
    np.testing.assert_allclose(result.metrics.to_json()["test_before"]["costs"], mpc.costs, rtol=1e-9)


def test_resume_equals_uninterrupted(tmp_path, tiny_config):
    cfg = tiny_config(tmp_path, episodes=3)
    full = train(cfg, "yann_ddpg", 7, tmp_path / "full", progress=False, tensorboard=False)

    part = train(cfg, "yann_ddpg", 7, tmp_path / "part", progress=False, tensorboard=False, stop_after=1)
    assert not part.finished and part.metrics.to_json()["episodes_done"] == 1
    # A new process would build a fresh DDPGTrainer: so does this.
    resumed = train(cfg, "yann_ddpg", 7, tmp_path / "part", progress=False, tensorboard=False)
    assert resumed.finished
    assert comparable(resumed.metrics.to_json()) == comparable(full.metrics.to_json())
    a = load_weights(tmp_path / "full" / "actor.pt")["actor"]
    b = load_weights(tmp_path / "part" / "actor.pt")["actor"]
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_resume_refuses_another_config_or_seed(tmp_path, tiny_config):
    cfg = tiny_config(tmp_path, episodes=2)
    train(cfg, "ddpg", 0, tmp_path / "run", progress=False, tensorboard=False, stop_after=1)
    with pytest.raises(CheckpointError, match="gamma"):
        train(
            dataclasses.replace(cfg, gamma=0.9),
            "ddpg",
            0,
            tmp_path / "run",
            progress=False,
            tensorboard=False,
        )
    with pytest.raises(CheckpointError, match="seed"):
        train(cfg, "ddpg", 1, tmp_path / "run", progress=False, tensorboard=False)
    with pytest.raises(CheckpointError, match="resume"):
        DDPGTrainer.from_config(cfg, "ddpg", 0, tmp_path / "run", progress=False, tensorboard=False).train(
            resume=False
        )


def test_lockstep_evaluation_equals_sequential(tmp_path, tiny_config):
    cfg = tiny_config(tmp_path)
    from robocritic.controllers.explicit_mpc import ExplicitLaw

    from robocritic.yann.actor import TorchPolicy, YANNActor

    law = ExplicitLaw.load(cfg.law_path)
    batched = evaluate_policy(TorchPolicy(YANNActor(law)), cfg)  # has act_batch: lockstep
    sequential = evaluate_policy(ExplicitMPC(law), cfg)  # a Controller: one episode at a time
    np.testing.assert_allclose(batched.costs, sequential.costs, rtol=1e-9)
    np.testing.assert_array_equal(batched.steps, [30, 30, 30])


def test_final_policy_is_the_best_validation_snapshot(tmp_path, tiny_config):
    """A damaging actor LR makes the last iterate worse; the final policy is the best snapshot on
    the validation states (here the untrained actor, i.e. the explicit MPC), and actor.pt holds it."""
    base = tiny_config(tmp_path, episodes=3)
    cfg = dataclasses.replace(base, yann_ddpg=dataclasses.replace(base.yann_ddpg, actor_lr=1.0))
    m = train(cfg, "yann_ddpg", 0, tmp_path / "run", progress=False, tensorboard=False).metrics.to_json()
    curve = m["eval_curve"]
    assert len(curve["validation_cost"]) == len(curve["episode"]) == 4
    best = int(np.argmin(curve["validation_cost"]))  # first minimum: ties keep the earlier snapshot
    assert m["selection"] == {
        "episode": curve["episode"][best],
        "validation_cost": curve["validation_cost"][best],
    }
    assert m["test_after_last"]["mean_cost"] == curve["test_cost"][-1]
    np.testing.assert_allclose(m["test_after"]["mean_cost"], curve["test_cost"][best], rtol=1e-12)
    assert best == 0 and m["test_after"]["costs"] == m["test_before"]["costs"]
    assert m["test_after_last"]["mean_cost"] > m["test_after"]["mean_cost"]
    np.testing.assert_allclose(
        evaluate_run(tmp_path / "run").mean_cost, m["test_after"]["mean_cost"], rtol=1e-12
    )


def test_without_validation_states_the_last_iterate_is_final(tmp_path, tiny_config):
    cfg = dataclasses.replace(tiny_config(tmp_path, episodes=1), validation_states=())
    m = train(cfg, "ddpg", 0, tmp_path / "run", progress=False, tensorboard=False).metrics.to_json()
    assert m["selection"] is None and m["eval_curve"]["validation_cost"] == []
    assert m["test_after"] == m["test_after_last"]


def test_resume_from_an_old_episode_checkpoint_equals_uninterrupted(tmp_path, tiny_config):
    """A run folder checkpointed before checkpoints counted steps (``ep_000001/``, format 1,
    "episode" in meta.json and latest.json) resumes to the same result."""
    import hashlib
    import shutil

    cfg = tiny_config(tmp_path, episodes=3)
    full = train(cfg, "yann_ddpg", 7, tmp_path / "full", progress=False, tensorboard=False)
    part = tmp_path / "part"
    train(cfg, "yann_ddpg", 7, part, progress=False, tensorboard=False, stop_after=1)
    checkpoints = part / "checkpoints"
    shutil.move(checkpoints / "step_000000001", checkpoints / "ep_000001")
    meta = json.loads((checkpoints / "ep_000001" / "meta.json").read_text())
    meta["format"], meta["episode"] = 1, meta.pop("step")
    meta["files"] = {name: hashlib.sha256((checkpoints / "ep_000001" / name).read_bytes()).hexdigest()
                     for name in meta["files"]}  # fmt: skip
    (checkpoints / "ep_000001" / "meta.json").write_text(json.dumps(meta))
    (checkpoints / "latest.json").write_text(json.dumps({"checkpoint": "ep_000001", "episode": 1}))

    resumed = train(cfg, "yann_ddpg", 7, part, progress=False, tensorboard=False)
    assert comparable(resumed.metrics.to_json()) == comparable(full.metrics.to_json())
    a, b = load_weights(tmp_path / "full" / "actor.pt")["actor"], load_weights(part / "actor.pt")["actor"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert sorted(p.name for p in checkpoints.iterdir() if p.is_dir()) == ["step_000000002", "step_000000003"]
