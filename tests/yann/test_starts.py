"""Start sets of YANN-RL (robocritic.yann.starts) and the references on them
(robocritic.yann.references): grids and seeded draws, plain .npy files, the loss criterion, the
easy / MPC-losing split, and the swing-up bringing up what the explicit MPC loses."""

from __future__ import annotations

import numpy as np
import pytest

from robocritic.yann.config import default_config
from robocritic.yann.references import build_reference
from robocritic.yann.starts import (
    LossCriterion,
    classify_starts,
    default_criterion,
    grid_starts,
    load_labels,
    load_states,
    run_starts,
    save_labels,
    save_states,
    summarize,
    uniform_starts,
)

PENDULUM = "robocritic/ClippedPendulum-v0"
#: Full-length pendulum starts for the tiny config's saturated-LQR law: three it brings upright,
#: two it loses (moving away from the top too fast for |u| <= 2 N m under that law).
EASY = [[0.1, 0.0], [0.2, -0.5], [0.6, -2.5]]
LOSING = [[0.3, 1.0], [-0.2, -1.0]]


@pytest.fixture(scope="module")
def config(tmp_path_factory, tiny_pendulum_config):
    """The pendulum with its saturated-LQR law (no PPOPT) and the full 200-step episodes."""
    return tiny_pendulum_config(tmp_path_factory.mktemp("starts"), episodes=1, max_episode_steps=200, n_test=2,
                                yann_ddpg={})  # fmt: skip


def test_grid_covers_the_box_symmetrically_on_exact_points():
    g = grid_starts([1.2, 3.0], [0.1, 0.5])
    assert g.shape == (25 * 13, 2)
    assert [0.0, 0.0] in g.tolist() and [0.3, -1.5] in g.tolist() and [-1.2, 3.0] in g.tolist()
    np.testing.assert_array_equal(g, -g[::-1])  # symmetric about the center
    assert np.all(np.diff(g[:, 0]) >= 0)  # first state slowest
    np.testing.assert_array_equal(grid_starts([0.1, 0.0], [0.1, 1.0], center=[1.0, 2.0]),
                                  [[0.9, 2.0], [1.0, 2.0], [1.1, 2.0]])  # fmt: skip


@pytest.mark.parametrize("args, name", [
    (([1.0, 1.0], [0.0, 0.1]), "resolution"),
    (([1.0, 1.0], [0.1]), "resolution"),
    (([-1.0, 1.0], [0.1, 0.1]), "half_width"),
    (([10.0, 10.0], [1e-4, 1e-4]), "resolution"),
])  # fmt: skip
def test_grid_errors_name_the_field(args, name):
    with pytest.raises(ValueError, match=name):
        grid_starts(*args)


def test_uniform_draw_is_seeded_and_reproduces_the_config_test_states():
    a = uniform_starts([0.5, 0.5], 60, 7)
    np.testing.assert_array_equal(a, uniform_starts([0.5, 0.5], 60, 7))
    assert not np.array_equal(a, uniform_starts([0.5, 0.5], 60, 8))
    assert a.shape == (60, 2) and np.all(np.abs(a) <= 0.5)
    # The stored test states are this draw (TEST_STATE_SEED) of the env's own box.
    np.testing.assert_array_equal(uniform_starts([0.3, 0.3], 10, 16474), default_config(PENDULUM).test_state_array())
    with pytest.raises(ValueError, match="n must"):
        uniform_starts([0.5, 0.5], 0, 1)


def test_states_and_labels_round_trip_as_plain_npy(tmp_path):
    states = grid_starts([0.2, 0.2], [0.1, 0.1])
    path = save_states(tmp_path / "s.npy", states)
    np.testing.assert_array_equal(load_states(path, 2), states)
    np.testing.assert_array_equal(np.load(path, allow_pickle=False), states)
    lost = np.arange(len(states)) % 3 == 0
    np.testing.assert_array_equal(load_labels(save_labels(tmp_path / "l.npy", lost), len(states)), lost)
    with pytest.raises(ValueError, match="--states"):
        load_states(path, 3)


def test_pickled_or_mis_shaped_files_are_refused(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="--states .*refused"):
        load_states(tmp_path / "obj.npy", 2)
    with pytest.raises(ValueError, match="--labels"):
        load_labels(tmp_path / "obj.npy", 1)
    np.save(tmp_path / "ints.npy", np.zeros(4, dtype=np.int64))
    with pytest.raises(ValueError, match="--labels .*bool"):
        load_labels(tmp_path / "ints.npy", 4)
    save_labels(tmp_path / "l.npy", np.ones(3, dtype=bool))
    with pytest.raises(ValueError, match=r"shape \(4,\)"):
        load_labels(tmp_path / "l.npy", 4)
    with pytest.raises(ValueError, match="states"):
        save_states(tmp_path / "bad.npy", np.array([[np.nan, 0.0]]))


def test_loss_criterion():
    c = default_criterion(PENDULUM)
    final = np.array([[0.05, 0.4], [0.2, 0.0], [0.0, -0.6], [0.0, 0.0]])
    np.testing.assert_array_equal(c.lost(final, np.zeros(2), np.array([False, False, False, True])),
                                  [False, True, True, True])  # fmt: skip
    with pytest.raises(ValueError, match="tolerance"):
        LossCriterion((0.1, -1.0))
    with pytest.raises(ValueError, match="env_id"):
        default_criterion("robocritic/SafetyCSTR-v0")


def test_classification_splits_easy_and_losing_starts(config):
    states = np.array(EASY + LOSING)
    outcomes = classify_starts(config, states)
    np.testing.assert_array_equal(outcomes.lost, [False] * 3 + [True] * 2)
    assert np.all(outcomes.steps == 200) and not outcomes.terminated.any()
    # Bimodal: the caught starts settle, the lost ones fall far from upright and cost far more.
    assert np.abs(outcomes.final[:3]).max() < 1e-3 and np.abs(outcomes.final[3:, 0]).min() > 1.0
    assert outcomes.costs[:3].max() < 50 and outcomes.costs[3:].min() > 1000
    summary = summarize(outcomes, outcomes.lost)
    assert summary["easy"]["starts"] == 3 and summary["easy"]["lost"] == 0
    assert summary["mpc_losing"]["starts"] == 2 and summary["mpc_losing"]["lost"] == 2
    assert summary["all"]["cost_p25"] <= summary["all"]["cost_median"] <= summary["all"]["cost_p75"]
    episodes = outcomes.episodes_json(outcomes.lost)
    assert episodes[3]["mpc_losing"] and episodes[3]["lost"] and episodes[0]["start"] == EASY[0]


def test_swing_up_brings_up_the_starts_the_mpc_loses(config):
    states = np.array(EASY + LOSING)
    ref = build_reference("swingup", config)
    out = run_starts(ref.policy, ref.make_env, states, ref.x_eq, default_criterion(PENDULUM))
    assert not out.lost.any()
    mpc = classify_starts(config, states)
    assert np.all(out.costs[3:] < mpc.costs[3:])
    # Where the start is already inside the catch region, the swing-up is the MPC itself.
    assert out.costs[0] == pytest.approx(mpc.costs[0])


def test_long_horizon_reference_and_unknown_names(config):
    ref = build_reference("mpc20", config)
    assert ref.policy.horizon == 20
    out = run_starts(ref.policy, ref.make_env, np.array(EASY[:1]), ref.x_eq, default_criterion(PENDULUM))
    assert not out.lost.any()
    with pytest.raises(ValueError, match="policy"):
        build_reference("lqr", config)
