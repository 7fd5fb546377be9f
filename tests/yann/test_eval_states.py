"""``robocritic yann eval`` on a set of starts: a trained run or a reference on ``--states FILE``,
on a seeded ``--box`` draw or a ``--grid``, with per-episode and summary JSON (easy and MPC-losing
starts apart), and its option checks."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from robocritic.cli import main
from robocritic.yann.runner import evaluate_policy, load_policy, train
from robocritic.yann.starts import grid_starts, save_states, uniform_starts

#: Starts the tiny run's explicit law (a saturated LQR) brings up (first two) and loses (last).
STARTS = np.array([[0.1, 0.0], [0.2, -0.5], [0.3, 1.0]])


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, tiny_pendulum_config):
    """A finished two-episode YANN-DDPG run on the pendulum (hand-built law, 30-step episodes)."""
    folder = tmp_path_factory.mktemp("yann_eval")
    config = tiny_pendulum_config(folder, episodes=2, max_episode_steps=30, n_test=2, validation_states=(),
                                  yann_ddpg={"actor_hidden": (8, 8), "critic_hidden": (16,)})  # fmt: skip
    train(config, "yann_ddpg", 0, folder / "run", progress=False, tensorboard=False)
    return folder / "run"


@pytest.fixture(scope="module")
def states_file(tmp_path_factory):
    return save_states(tmp_path_factory.mktemp("states") / "starts.npy", STARTS)


def eval_json(capsys, *argv: str) -> dict:
    assert main(["yann", "eval", *argv, "--no-progress"]) == 0
    return json.loads(capsys.readouterr().out)


def test_run_on_a_states_file(run_dir, states_file, capsys):
    report = eval_json(capsys, str(run_dir), "--states", str(states_file))
    assert report["policy"] == "run (yann_ddpg)" and report["starts"] == {"file": str(states_file), "n": 3}
    episodes = report["episodes"]
    assert [e["start"] for e in episodes] == STARTS.tolist()
    assert [e["mpc_losing"] for e in episodes] == [False, False, True]
    summary = report["summary"]
    assert summary["all"]["starts"] == 3 and summary["easy"]["starts"] == 2 and summary["mpc_losing"]["starts"] == 1
    # The same costs as the runner's own evaluation (lockstep) on these starts.
    policy, config, _ = load_policy(run_dir)
    ref = evaluate_policy(policy, dataclasses.replace(config, test_states=tuple(map(tuple, STARTS))))
    np.testing.assert_allclose([e["cost"] for e in episodes], ref.costs, rtol=1e-12)


def test_box_draw_grid_and_references(run_dir, tmp_path, capsys):
    report = eval_json(capsys, str(run_dir), "--box", "0.5", "0.5", "--n", "4", "--seed", "3")
    assert [e["start"] for e in report["episodes"]] == uniform_starts([0.5, 0.5], 4, 3).tolist()
    assert report["starts"]["uniform"] == {"half_width": [0.5, 0.5], "n": 4, "seed": 3}
    grid = eval_json(capsys, str(run_dir), "--policy", "mpc2", "--box", "0.2", "0.4", "--grid", "0.2", "0.4",
                     "--save-starts", str(tmp_path / "g.npy"), "--save-labels", str(tmp_path / "g_lost.npy"))  # fmt: skip
    assert [e["start"] for e in grid["episodes"]] == grid_starts([0.2, 0.4], [0.2, 0.4]).tolist()
    # mpc2 is the classifier itself: its lost starts are the MPC-losing ones.
    assert all(e["lost"] == e["mpc_losing"] for e in grid["episodes"])
    np.testing.assert_array_equal(np.load(tmp_path / "g.npy"), grid_starts([0.2, 0.4], [0.2, 0.4]))
    out = tmp_path / "swing.json"
    short = eval_json(capsys, str(run_dir), "--policy", "swingup", "--states", str(tmp_path / "g.npy"),
                      "--labels", str(tmp_path / "g_lost.npy"), "--out", str(out))  # fmt: skip
    full = json.loads(out.read_text())
    assert "episodes" not in short and len(full["episodes"]) == 9 and short["summary"] == full["summary"]
    assert [e["mpc_losing"] for e in full["episodes"]] == [e["mpc_losing"] for e in grid["episodes"]]


def test_without_starts_the_run_is_scored_on_its_test_states(run_dir, capsys):
    report = eval_json(capsys, str(run_dir))
    assert set(report) == {"run_dir", "mean_cost", "costs", "violating_episodes"} and len(report["costs"]) == 2


@pytest.mark.parametrize("argv, mentions", [
    (["--n", "3"], "--n"),
    (["--grid", "0.1", "0.1"], "--grid"),
    (["--box", "0.5"], "--box"),
    (["--box", "0.5", "0.5", "--grid", "0.1", "0.1", "--seed", "2"], "--seed"),
    (["--states", "STATES", "--box", "0.5", "0.5"], "--box"),
    (["--states", "STATES", "--labels", "STATES"], "--labels"),
    (["--env", "robocritic/ClippedPendulum-v0"], "--env"),
    (["--box", "0.5", "nan"], "--box"),
])  # fmt: skip
def test_bad_combinations_exit_2_naming_the_option(run_dir, states_file, capsys, argv, mentions):
    argv = [str(states_file) if a == "STATES" else a for a in argv]
    assert main(["yann", "eval", str(run_dir), *argv, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert mentions in err.strip().splitlines()[-1]


def test_a_run_policy_needs_a_run_dir(capsys):
    assert main(["yann", "eval", "--box", "0.1", "0.1", "--n", "1"]) == 2
    assert "run_dir" in capsys.readouterr().err
