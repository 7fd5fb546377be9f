"""stable-baselines3 TD3 / SAC in the YANN-RL harness (robocritic.yann.baselines), and the
comparison study writer (robocritic.yann.comparison) on a tiny grid."""

from __future__ import annotations

import functools
import json
import subprocess
import sys

import numpy as np
import pytest

from robocritic.learning.checkpoint import load_weights
from robocritic.yann import policy_io
from robocritic.yann.runner import evaluate_run, load_policy, train

PENDULUM = "robocritic/ClippedPendulum-v0"


@pytest.fixture
def tiny_config(tiny_pendulum_config):
    """``(folder, episodes=2) -> RLConfig``: pendulum, 30-step episodes, small nets for all four."""
    return functools.partial(
        tiny_pendulum_config, episodes=2, max_episode_steps=30, n_test=3,
        yann_ddpg={"actor_hidden": (8,), "critic_hidden": (8,)},
        ddpg={"actor_hidden": (16,), "critic_hidden": (16,)},
        sb3={"net_arch": (16, 16)},
    )  # fmt: skip


@pytest.mark.parametrize("algorithm", ["td3", "sac"])
def test_sb3_baseline_runs_in_the_harness(tmp_path, algorithm: str, tiny_config):
    pytest.importorskip("stable_baselines3")
    pytest.importorskip("tensorboard")
    cfg = tiny_config(tmp_path)
    run_dir = tmp_path / algorithm
    result = train(cfg, algorithm, 0, run_dir, progress=False)
    m = result.metrics.to_json()
    assert result.finished and m["episodes_done"] == 2
    assert m["curve"]["train_steps"] == [30, 30]
    assert m["eval_curve"]["episode"] == [0, 1, 2]
    assert list((run_dir / "tb").glob("events.out.tfevents.*"))
    assert "policy" in load_weights(run_dir / "actor.pt")  # weights only, no SB3 pickle
    _, _, alg = load_policy(run_dir)
    assert alg == algorithm
    np.testing.assert_allclose(evaluate_run(run_dir).mean_cost, m["test_after"]["mean_cost"], rtol=1e-6)
    # The policy loads from the sidecar alone (observation normalisation, action box): a fresh
    # interpreter needs no simulator, env or trainer, and acts the same.
    states = [[0.2, -0.1], [-0.3, 0.25]]
    code = (
        "import sys, json, numpy as np; from robocritic.yann.policy_io import load_policy; "
        f"print(json.dumps(load_policy(sys.argv[1]).policy.act_batch(np.array({states})).tolist())); "
        "bad = [m for m in sys.modules if m.startswith(('mujoco', 'robocritic.envs', 'robocritic.yann.trainer', "
        "'robocritic.yann.baselines', 'robocritic.yann.factory'))]; assert not bad, bad"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(run_dir)], check=False, capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    here = policy_io.load_policy(run_dir)
    np.testing.assert_array_equal(json.loads(proc.stdout), here.policy.act_batch(np.array(states)))
    # A run folder from before the sidecar recorded them (format 1) still loads, through its env.
    side = json.loads((run_dir / "actor.json").read_text())
    (run_dir / "actor.json").write_text(json.dumps({k: v for k, v in side.items()
                                                    if k not in ("format", "plant", "observation")}))  # fmt: skip
    old = policy_io.load_policy(run_dir)
    assert old.sidecar.format == 1
    np.testing.assert_array_equal(old.policy.act_batch(np.array(states)), here.policy.act_batch(np.array(states)))


def test_comparison_writes_results_and_curves(tmp_path, tiny_config):
    pytest.importorskip("tensorboard")
    from robocritic.yann.comparison import format_table, run_comparison

    cfg = tiny_config(tmp_path, episodes=2)
    results = run_comparison(
        tmp_path / "study",
        env_ids=[PENDULUM],
        algorithms=["yann_ddpg", "ddpg"],
        seeds=[0, 1],
        configs={PENDULUM: cfg},
        progress=False,
    )
    saved = json.loads((tmp_path / "study" / "results.json").read_text())
    assert saved["seeds"] == [0, 1]
    env = saved["envs"][PENDULUM]
    agg = env["algorithms"]["yann_ddpg"]["aggregate"]
    assert agg["test_cost_before"]["n"] == 2
    # YANN-DDPG starts at the explicit MPC's cost for every seed.
    np.testing.assert_allclose(agg["test_cost_before"]["values"], env["explicit_mpc"]["mean_cost"], rtol=1e-9)
    png = tmp_path / "study" / "curves_ClippedPendulum-v0.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = format_table(results)
    assert "explicit MPC" in table and "yann_ddpg" in table and "ddpg" in table


def test_every_algorithm_trains_from_the_same_start_states(tmp_path):
    """The SB3 wrapper draws the DDPG trainer's start-state stream (same seed -> same x0 sequence)."""
    import gymnasium as gym
    import robocritic.envs  # noqa: F401

    from robocritic.learning.rollout import start_state_rng
    from robocritic.yann.baselines import StartStates

    half = np.array([0.3, 0.3])
    env = StartStates(gym.make(PENDULUM), np.zeros(2), half, seed=3)
    got = [env.reset()[1]["state"] for _ in range(3)]
    rng = start_state_rng(3)
    np.testing.assert_array_equal(got, [rng.uniform(-half, half) for _ in range(3)])
    env.close()
