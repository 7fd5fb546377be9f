"""The YANN-RL demo part (robocritic.jobs.yann_demo): a tiny trained policy beside the N=2 MPC and
the swing-up on one easy and one MPC-losing start; record, plot, printed table, argument checks."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from robocritic.yann.config import PAPER_PENDULUM, default_config


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, tiny_pendulum_config):
    from robocritic.yann.runner import train

    folder = tmp_path_factory.mktemp("yann_demo")
    base = default_config(PAPER_PENDULUM)
    cfg = tiny_pendulum_config(folder, episodes=1, max_episode_steps=200, n_test=1,
                               yann_ddpg={"actor_hidden": (4,), "critic_hidden": (8,)})
    # one easy (v0 box) and one start the saturated-LQR law of the fixture loses
    cfg = dataclasses.replace(cfg, env_id=PAPER_PENDULUM, test_states=(base.test_states[0], (1.1, 2.9)),
                              validation_states=())
    train(cfg, "yann_ddpg", 0, folder / "run", progress=False, tensorboard=False)
    return folder / "run"


def test_demo_part_runs_three_controllers_on_easy_and_hard_starts(tmp_path, tiny_run):
    from robocritic.jobs.yann_demo import format_yann_summary, run_yann_demo

    record = run_yann_demo(tmp_path / "yann", n_easy=1, n_hard=1, policy_dir=tiny_run)
    assert set(record["controllers"]) == {"mpc2", "swingup", "yann_ddpg"}
    mpc, swing = record["controllers"]["mpc2"], record["controllers"]["swingup"]
    assert mpc["mpc_losing"]["lost"] == 1 and mpc["easy"]["lost"] == 0
    assert swing["mpc_losing"]["lost"] == 0  # the swing-up recovers what the MPC loses
    assert swing["mpc_losing"]["mean_cost"] < mpc["mpc_losing"]["mean_cost"]
    assert (tmp_path / "yann" / "hard_starts.png").stat().st_size > 1000
    assert json.loads((tmp_path / "yann" / "summary.json").read_text())["controllers"]["mpc2"] == mpc
    table = format_yann_summary(record)
    assert "MPC-losing" in table and "yann_ddpg" in table
    with pytest.raises(ValueError, match="n_hard"):
        run_yann_demo(tmp_path / "x", n_easy=1, n_hard=-1, policy_dir=tiny_run)
    with pytest.raises(ValueError, match="MPC-losing"):
        run_yann_demo(tmp_path / "x", n_easy=1, n_hard=2, policy_dir=tiny_run)
    assert np.isfinite(record["controllers"]["yann_ddpg"]["easy"]["mean_cost"])


def test_shipped_policy_loads_env_free_as_a_gated_yann_ddpg():
    from robocritic.jobs.yann_demo import SHIPPED_POLICY
    from robocritic.yann.policy_io import load_policy

    assert (SHIPPED_POLICY / "actor.json").is_file(), "the shipped policy is missing (scripts/train_yann_v1.sh)"
    loaded = load_policy(SHIPPED_POLICY)
    assert loaded.algorithm == "yann_ddpg" and loaded.config.env_id == PAPER_PENDULUM
    assert loaded.config.yann_ddpg.gate == (1.0, 2.0) and loaded.config.yann_ddpg.anchored
    # inside the gate the actor is the explicit MPC: zero torque at upright, the law's torque nearby
    np.testing.assert_array_equal(loaded.policy.act(np.zeros(2)), [0.0])
    assert float(loaded.policy.actor.gate_P.abs().sum()) > 0
