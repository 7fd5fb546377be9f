"""The paper protocol (docs/yann.md, "The paper protocol"): the ClippedPendulum-v1 config with
easy and hard test starts, OU exploration, the trainable quadratic critic, the paper's zero output
outside the feasible set, Gym features for the MLP baseline, the easy / MPC-losing split of the
study, and a tiny training run with every option on."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from robocritic.dynamics import PendulumModel
from robocritic.yann.actor import MLPActor, YANNActor, state_features
from robocritic.yann.comparison import split_costs
from robocritic.yann.config import (
    HARD_START_HALF_WIDTH,
    HARD_TEST_STATES,
    PAPER_PENDULUM,
    TEST_STATE_SEED,
    VALIDATION_STATE_SEED,
    YANNDDPGConfig,
    config_from_dict,
    config_to_dict,
    default_config,
    draw_start_states,
)
from robocritic.yann.critic import YANNCritic
from robocritic.yann.ddpg import DDPG
from robocritic.yann.trainer import ou_step

Q, R, GAMMA = np.eye(2), np.array([[1e-3]]), 0.99


def test_paper_config_holds_easy_and_hard_starts_and_round_trips():
    cfg = default_config(PAPER_PENDULUM)
    v0 = default_config("robocritic/ClippedPendulum-v0")
    assert cfg.env_id == PAPER_PENDULUM and cfg.start_half_width == HARD_START_HALF_WIDTH
    hard = draw_start_states(np.zeros(2), np.array(HARD_START_HALF_WIDTH), HARD_TEST_STATES, TEST_STATE_SEED)
    np.testing.assert_array_equal(cfg.test_state_array(), np.vstack([v0.test_state_array(), hard]))
    val_hard = draw_start_states(np.zeros(2), np.array(HARD_START_HALF_WIDTH), HARD_TEST_STATES,
                                 VALIDATION_STATE_SEED)
    np.testing.assert_array_equal(cfg.validation_state_array(), np.vstack([v0.validation_state_array(), val_hard]))
    assert not ({tuple(s) for s in cfg.test_states} & {tuple(s) for s in cfg.validation_states})
    assert config_from_dict(json.loads(json.dumps(config_to_dict(cfg)))) == cfg
    # v0's config is untouched by the new protocol.
    assert v0.yann_ddpg == YANNDDPGConfig() and v0.env_id == "robocritic/ClippedPendulum-v0"


@pytest.mark.parametrize(("field", "value"), [
    ("noise_type", "pink"), ("ou_theta", 0.0), ("features", "pixels"), ("outside", "clip"),
    ("quadratic_lr", -1.0), ("train_quadratic", 1), ("clip_gradient", "straight"),
])  # fmt: skip
def test_new_options_reject_bad_values_by_name(field: str, value: object):
    with pytest.raises(ValueError, match=field):
        YANNDDPGConfig(**{field: value})


def test_ou_noise_has_the_requested_std_and_correlation():
    rng = np.random.default_rng(0)
    std, theta = np.array([0.4]), 0.15
    n, xs = np.zeros(1), []
    for _ in range(40_000):
        n = ou_step(n, std, theta, rng)
        xs.append(n[0])
    x = np.array(xs[1000:])
    assert abs(x.std() / 0.4 - 1.0) < 0.05
    lag1 = np.corrcoef(x[:-1], x[1:])[0, 1]
    assert abs(lag1 - (1.0 - theta)) < 0.02  # white noise would give ~0


def test_outside_zero_outputs_u_eq_off_the_feasible_set(pendulum_lqr_law):
    torch.manual_seed(0)
    near = YANNActor(pendulum_lqr_law, (8,), outside="nearest")
    torch.manual_seed(0)
    zero = YANNActor(pendulum_lqr_law, (8,), outside="zero")
    box_hi = pendulum_lqr_law.domain_high
    x = torch.tensor([[0.1, -0.2], [box_hi[0] + 0.5, 0.0], [0.0, box_hi[1] + 3.0]], dtype=torch.float64)
    pn, pz = near.parts(x), zero.parts(x)
    assert pz["feasible"].tolist() == [True, False, False]
    torch.testing.assert_close(pz["u"][0], pn["u"][0], rtol=0, atol=0)
    torch.testing.assert_close(pz["u"][1:], torch.zeros(2, 1, dtype=torch.float64), rtol=0, atol=0)
    assert torch.all(pn["u"][1:].abs() > 0)  # the nearest region's law is not zero there
    with pytest.raises(ValueError, match="outside"):
        YANNActor(pendulum_lqr_law, (8,), outside="clip")


@pytest.mark.parametrize("train_quadratic", [False, True])
def test_quadratic_part_trains_only_when_asked(pendulum_lqr_law, pendulum_batch, train_quadratic: bool):
    lin = PendulumModel().linearize()
    torch.manual_seed(0)
    actor = YANNActor(pendulum_lqr_law, (8,))
    critic = YANNCritic(lin, Q, R, GAMMA, (16,), train_quadratic=train_quadratic)
    assert isinstance(critic.M, torch.nn.Parameter) == train_quadratic
    assert "M" in critic.state_dict()
    M0 = critic.M.detach().clone()
    cfg = YANNDDPGConfig(actor_lr=1e-3, critic_lr=1e-3, quadratic_lr=1e-2, train_quadratic=train_quadratic)
    learner = DDPG(actor, critic, cfg, gamma=GAMMA)
    lrs = sorted(g["lr"] for g in learner.critic_opt.param_groups)
    assert lrs == ([1e-3, 1e-2] if train_quadratic else [1e-3])
    for i in range(3):
        learner.update(pendulum_batch(i))
    changed = not torch.equal(critic.M.detach(), M0)
    assert changed == train_quadratic


def test_gym_features_make_the_mlp_periodic_in_theta():
    x_eq, scale = np.zeros(2), np.array([2.0, 8.0])
    x = torch.tensor([[0.3, 1.0]], dtype=torch.float32)
    x_turn = x + torch.tensor([[2 * np.pi, 0.0]], dtype=torch.float32)
    torch.manual_seed(0)
    gym_actor = MLPActor(x_eq, scale, np.array([-2.0]), np.array([2.0]), (16,), features="gym")
    torch.manual_seed(0)
    state_actor = MLPActor(x_eq, scale, np.array([-2.0]), np.array([2.0]), (16,))
    assert gym_actor.net[0].in_features == 3 and state_actor.net[0].in_features == 2
    torch.testing.assert_close(gym_actor(x), gym_actor(x_turn), rtol=0, atol=1e-5)
    assert not torch.allclose(state_actor(x), state_actor(x_turn))
    f = state_features(x.double(), torch.zeros(2, dtype=torch.float64), torch.tensor([2.0, 8.0]).double(), "gym")
    torch.testing.assert_close(f, torch.tensor([[np.cos(0.3), np.sin(0.3), 1.0 / 8.0]], dtype=torch.float64))
    with pytest.raises(ValueError, match="2 states"):
        MLPActor(np.zeros(3), np.ones(3), np.array([-1.0]), np.array([1.0]), (4,), features="gym")


def _env_result(mpc_costs, runs, labels):
    return {"explicit_mpc": {"costs": mpc_costs}, "mpc_losing": labels,
            "algorithms": {"yann_ddpg": {"runs": runs}}}


def test_split_costs_reports_groups_against_the_mpc_and_the_targets():
    labels = [False, False, True, True]
    mpc = [1.0, 3.0, 2000.0, 2400.0]
    good = {"seed": 0, "test_after": {"costs": [1.0, 3.02, 900.0, 1100.0]}}
    bad = {"seed": 1, "test_after": {"costs": [1.0, 3.2, 900.0, 1100.0]},
           "test_after_last": {"costs": [5.0, 5.0, 2000.0, 2000.0]}}
    s = split_costs(_env_result(mpc, [good], labels))
    r = s["algorithms"]["yann_ddpg"]["seeds"][0]
    assert (s["n_easy"], s["n_hard"]) == (2, 2) and s["explicit_mpc"] == {"easy": 2.0, "hard": 2200.0}
    assert r["final_easy_ratio"] == pytest.approx(1.005) and r["final_hard_ratio"] == pytest.approx(1000 / 2200)
    assert s["algorithms"]["yann_ddpg"]["hard_target_met"] and s["algorithms"]["yann_ddpg"]["easy_target_met"]
    s2 = split_costs(_env_result(mpc, [good, bad], labels))["algorithms"]["yann_ddpg"]
    assert s2["hard_target_met"] and not s2["easy_target_met"]  # seed 1: easy 2.1 / 2.0 > 1.01
    assert s2["seeds"][1]["last_hard"] == 2000.0
    with pytest.raises(ValueError, match="mpc_losing"):
        split_costs({"explicit_mpc": {"costs": mpc}, "algorithms": {}})


def test_tiny_paper_protocol_run_with_every_option(tmp_path, tiny_pendulum_config):
    from robocritic.yann.runner import evaluate_run, train

    base = default_config(PAPER_PENDULUM)
    cfg = tiny_pendulum_config(
        tmp_path, episodes=2, max_episode_steps=25, n_test=2,
        yann_ddpg={"actor_hidden": (8,), "critic_hidden": (16,), "exploration_noise": 0.3, "noise_type": "ou",
                   "train_quadratic": True, "outside": "zero", "actor_lr": 1e-3, "critic_lr": 1e-3},
        ddpg={"actor_hidden": (16,), "critic_hidden": (16,), "features": "gym"},
    )  # fmt: skip
    cfg = dataclasses.replace(cfg, env_id=PAPER_PENDULUM, start_half_width=base.start_half_width,
                              test_states=(base.test_states[0], base.test_states[-1]))
    for algorithm in ("yann_ddpg", "ddpg"):
        result = train(cfg, algorithm, 0, tmp_path / algorithm, progress=False, tensorboard=False)
        m = result.metrics.to_json()
        assert result.finished and np.all(np.isfinite(m["test_after"]["costs"]))
        np.testing.assert_allclose(evaluate_run(tmp_path / algorithm).costs, m["test_after"]["costs"], rtol=1e-9)
    assert len(m["curve"]["train_cost"]) == 2


def test_selection_guard_penalises_snapshots_worse_on_easy_validation_starts(tmp_path, tiny_pendulum_config):
    from robocritic.controllers.explicit_mpc import ExplicitLaw, ExplicitMPC

    from robocritic.yann.config import SELECTION_PENALTY
    from robocritic.yann.starts import classify_starts
    from robocritic.yann.trainer import DDPGTrainer

    cfg = tiny_pendulum_config(tmp_path, episodes=1, max_episode_steps=200, n_test=1,
                               yann_ddpg={"actor_hidden": (4,), "critic_hidden": (8,)})
    validation = ((0.1, -0.2), (-0.2, 0.1), (1.1, 2.9))  # two easy, one the saturated LQR loses
    cfg = dataclasses.replace(cfg, env_id=PAPER_PENDULUM, validation_states=validation,
                              selection_easy_tolerance=0.01)
    labels = classify_starts(cfg, np.array(validation)).lost
    assert labels.tolist() == [False, False, True]
    trainer = DDPGTrainer.from_config(cfg, "yann_ddpg", 0, tmp_path / "run", progress=False, tensorboard=False)
    try:
        easy, _bound = trainer._easy_guard
        assert easy.tolist() == [True, True, False]
        mpc = ExplicitMPC(ExplicitLaw.load(cfg.law_path))
        plain = trainer.validation.evaluate(mpc).mean_cost
        assert trainer._validation_cost(mpc) == plain  # the MPC itself is eligible
        weak = lambda x: 0.5 * mpc.act(x)  # half the MPC's torque: worse on the easy starts
        weak_cost = trainer.validation.evaluate(weak).mean_cost
        assert trainer._validation_cost(weak) == weak_cost + SELECTION_PENALTY
    finally:
        trainer.close()
    no_guard = dataclasses.replace(cfg, selection_easy_tolerance=None)
    t2 = DDPGTrainer.from_config(no_guard, "yann_ddpg", 0, tmp_path / "run2", progress=False, tensorboard=False)
    try:
        assert t2._easy_guard is None
    finally:
        t2.close()


@pytest.mark.parametrize(("changes", "field"), [
    ({"guide_fraction": 0.5}, "guide_fraction"),  # no guide_policy
    ({"guide_policy": "swingup", "guide_fraction": 1.5}, "guide_fraction"),
    ({"guide_policy": ""}, "guide_policy"),
    ({"selection_easy_tolerance": -0.1}, "selection_easy_tolerance"),
])  # fmt: skip
def test_protocol_fields_of_rlconfig_reject_bad_values_by_name(changes: dict, field: str):
    with pytest.raises(ValueError, match=field):
        dataclasses.replace(default_config(PAPER_PENDULUM), **changes)


def test_guide_runs_its_share_of_training_episodes(tmp_path, tiny_pendulum_config):
    from robocritic.yann.trainer import DDPGTrainer

    cfg = tiny_pendulum_config(tmp_path, episodes=6, max_episode_steps=15, n_test=1,
                               yann_ddpg={"actor_hidden": (4,), "critic_hidden": (8,)})
    cfg = dataclasses.replace(cfg, env_id=PAPER_PENDULUM, guide_policy="swingup", guide_fraction=1.0,
                              validation_states=())
    trainer = DDPGTrainer.from_config(cfg, "yann_ddpg", 0, tmp_path / "run", progress=False, tensorboard=False)
    calls = []
    original = trainer._guide.act
    trainer._guide.act = lambda x: calls.append(1) or original(x)
    try:
        trainer.train()
    finally:
        trainer.close()
    assert len(calls) == 6 * 15  # every step of every episode came from the guide
    with pytest.raises(ValueError, match="policy"):
        bad = dataclasses.replace(cfg, guide_policy="nonesuch")
        DDPGTrainer.from_config(bad, "yann_ddpg", 0, tmp_path / "run3", progress=False, tensorboard=False)


def test_inward_clip_gradient_lets_an_overshooting_correction_return(pendulum_lqr_law):
    from robocritic.yann.actor import inward_clamp

    v = torch.tensor([3.0, 3.0, -3.0, -3.0, 1.0], requires_grad=True)
    u = inward_clamp(v, torch.tensor(-2.0), torch.tensor(2.0))
    (u * torch.tensor([1.0, -1.0, 1.0, -1.0, 1.0])).sum().backward()
    torch.testing.assert_close(u.detach(), torch.tensor([2.0, 2.0, -2.0, -2.0, 1.0]))
    # descent on v: kept where it moves v back into the box (v=3, dL/dv>0; v=-3, dL/dv<0) and inside
    torch.testing.assert_close(v.grad, torch.tensor([1.0, 0.0, 0.0, -1.0, 1.0]))
    # In a saturated region the last layer's bias pushed u past the bound: "zero" gives no
    # gradient back, "inward" does when the loss wants the input lower.
    x = torch.tensor([[pendulum_lqr_law.domain_high[0] * 0.9, 0.0]], dtype=torch.float64)
    grads = {}
    for mode in ("zero", "inward"):
        torch.manual_seed(0)
        actor = YANNActor(pendulum_lqr_law, (4,), clip_gradient=mode)
        region = int(actor.parts(x)["region"][0])
        u_law = float(actor.parts(x)["u_law"][0, 0])
        with torch.no_grad():
            actor.correction.biases[-1][region] += 1.0 if u_law >= 0 else -1.0  # push past the bound
        loss = actor(x).sum() if u_law >= 0 else -actor(x).sum()  # wants the input back inside
        loss.backward()
        grads[mode] = float(actor.correction.biases[-1].grad[region].abs().sum())
    assert grads["zero"] == 0.0 and grads["inward"] > 0.0
    with pytest.raises(ValueError, match="clip_gradient"):
        YANNActor(pendulum_lqr_law, (4,), clip_gradient="straight")


def test_anchored_corrections_keep_the_equilibrium(pendulum_lqr_law):
    x = torch.tensor([[0.0, 0.0], [0.05, -0.1]], dtype=torch.float64)
    out = {}
    for anchored in (False, True):
        torch.manual_seed(0)
        actor = YANNActor(pendulum_lqr_law, (8,), anchored=anchored)
        with torch.no_grad():  # a "trained" correction: every weight moved
            for p in actor.correction.parameters():
                p.add_(0.2)
        out[anchored] = actor(x).detach()
    assert float(out[True][0, 0]) == 0.0  # u(x_eq) = u_eq exactly
    assert abs(float(out[False][0, 0])) > 1e-3  # unanchored: the equilibrium moved
    assert abs(float(out[True][1, 0] - out[False][1, 0])) > 1e-6  # it is a correction, not a no-op
    with pytest.raises(ValueError, match="anchored"):
        YANNDDPGConfig(anchored=1)


def test_gate_keeps_the_explicit_law_inside_the_inner_level(pendulum_lqr_law):
    lin = PendulumModel().linearize()
    from robocritic.controllers.lqr import dlqr

    _, P = dlqr(lin.A, lin.B, Q, R)
    torch.manual_seed(0)
    actor = YANNActor(pendulum_lqr_law, (8,), gate=(1.0, 2.0), gate_P=P)
    with torch.no_grad():
        for p in actor.correction.parameters():
            p.add_(0.3)
    x = torch.tensor([[0.05, 0.05], [0.1, -0.1], [0.4, 0.4], [1.0, 1.0]], dtype=torch.float64)
    level = ((x.numpy() @ P) * x.numpy()).sum(axis=1)
    parts = actor.parts(x)
    inside = level <= 1.0
    assert inside[:2].all() and (level[2:] >= 2.0).all()
    assert torch.all(parts["g"][:2] == 0.0)  # inside: exactly the law
    assert torch.all(parts["g"][2:].abs() > 1e-3)  # outside: the full correction
    assert "gate_P" in actor.state_dict() and "gate_P" not in YANNActor(pendulum_lqr_law, (8,)).state_dict()
    with pytest.raises(ValueError, match="gate"):
        YANNActor(pendulum_lqr_law, (8,), gate=(2.0, 1.0))
    with pytest.raises(ValueError, match="gate"):
        YANNDDPGConfig(gate=(1.0,))


def test_gated_run_reloads_its_gate_from_the_weights(tmp_path, tiny_pendulum_config):
    from robocritic.yann.policy_io import load_policy
    from robocritic.yann.runner import train

    cfg = tiny_pendulum_config(tmp_path, episodes=1, max_episode_steps=20, n_test=2,
                               yann_ddpg={"actor_hidden": (4,), "critic_hidden": (8,), "gate": (1.0, 2.0),
                                          "anchored": True, "clip_gradient": "inward"})
    result = train(cfg, "yann_ddpg", 0, tmp_path / "run", progress=False, tensorboard=False)
    loaded = load_policy(tmp_path / "run")
    P = loaded.policy.actor.gate_P
    assert float(P.abs().sum()) > 0  # the zeros placeholder was overwritten by the trained weights
    torch.testing.assert_close(P, result.policy.actor.gate_P)


def test_checkpoint_config_without_a_newer_field_still_matches(tmp_path):
    from pathlib import Path

    from robocritic.learning.checkpoint import CheckpointError
    from robocritic.yann.trainer import _check_same_config

    current = config_to_dict(default_config(PAPER_PENDULUM))
    old = json.loads(json.dumps(current))
    del old["yann_ddpg"]["gate"]  # written before the field existed; the run used no gate
    _check_same_config(old, current, Path("ckpt"))
    old["yann_ddpg"]["actor_lr"] = 1.0  # a real difference is still refused
    with pytest.raises(CheckpointError, match="yann_ddpg"):
        _check_same_config(old, current, Path("ckpt"))
