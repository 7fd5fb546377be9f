"""NavDPPlanner: plan shapes and frames, seeded determinism, one batched forward per diffusion step,
the clip bound, the stop-and-rotate and no-goal rules, the goal progress of NavDP selection, and the
ablations (critic only, critic-free)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from robocritic.navdp.config import NavDPConfig
from robocritic.navdp.model import NavDPNet
from robocritic.navdp.planner import SELECTIONS, NavDPPlanner, Plan

SMALL = NavDPConfig(depth_height=16, depth_width=16, patch_size=8, d_model=32, n_layers=2, n_heads=2,
                    n_waypoints=8, n_candidates=6)


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


@pytest.fixture
def model() -> NavDPNet:
    return NavDPNet(SMALL, seed=0)


def depth_image(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.1, 5.0, (16, 16)).astype(np.float32)


def fixed_increments(y_sign: float, lengths: list[float]) -> torch.Tensor:
    """``(K, N, 3)`` straight candidates at 30 degrees left (``y_sign`` +1) or right (-1), candidate
    ``k`` ending ``lengths[k]`` metres from the robot."""
    n = SMALL.n_waypoints
    step = torch.tensor(lengths)[:, None] / n
    direction = torch.tensor([np.cos(np.pi / 6), y_sign * np.sin(np.pi / 6)], dtype=torch.float32)
    xy = step[..., None] * direction
    return torch.cat([xy.expand(len(lengths), n, 2), torch.zeros(len(lengths), n, 1)], dim=-1)


def patch_candidates(monkeypatch, model: NavDPNet, increments: torch.Tensor,
                     scores: list[float] | None) -> None:
    """The sampler returns ``increments``; the critic (if ``scores``) returns ``scores``."""
    monkeypatch.setattr(model, "sample_actions", lambda obs, goal, generator=None, n_samples=None: increments)
    if scores is not None:
        monkeypatch.setattr(model, "score", lambda actions, obs: torch.tensor(scores))


def test_plan_shapes_and_cumulative_waypoints(model):
    goal = np.array([2.0, 0.5])
    plan = NavDPPlanner(model).plan(depth_image(), goal, seed=0)
    k, n = SMALL.n_candidates, SMALL.n_waypoints
    assert isinstance(plan, Plan)
    assert plan.candidates.shape == (k, n, 3) and plan.candidates.dtype == np.float32
    assert plan.scores.shape == (k,) and np.isfinite(plan.scores).all()
    assert np.array_equal(plan.path, plan.candidates[plan.best])
    assert plan.stop == (plan.scores.max() < SMALL.stop_threshold)
    if not plan.stop:  # the documented rule: critic score plus weighted progress toward the goal
        ends = plan.candidates[:, -1, :2].astype(np.float64)
        progress = (np.linalg.norm(goal) - np.linalg.norm(goal - ends, axis=1)) / (n * SMALL.max_step)
        total = np.where(plan.scores >= SMALL.stop_threshold, plan.scores + SMALL.progress_weight * progress,
                         -np.inf)
        assert plan.best == int(np.argmax(total))
    only = NavDPPlanner(model, selection="critic_only").plan(depth_image(), goal, seed=0)
    assert np.array_equal(only.candidates, plan.candidates) and np.array_equal(only.scores, plan.scores)
    assert only.best == int(np.argmax(only.scores))


def test_every_step_is_within_the_clip_bound(model):
    with torch.no_grad():
        model.eps_head.bias.fill_(25.0)  # push the x0 estimates far out: the clip must bite
    plan = NavDPPlanner(model).plan(depth_image(), None, seed=1)
    steps = np.diff(plan.candidates, axis=1, prepend=0.0)
    assert np.abs(steps).max() <= 0.25 + 1e-6
    assert np.abs(steps).max() == pytest.approx(0.25)


def test_plan_is_deterministic_with_a_seed(model):
    planner = NavDPPlanner(model)
    a, b = planner.plan(depth_image(), (1.0, -1.0), seed=5), planner.plan(depth_image(), (1.0, -1.0), seed=5)
    assert np.array_equal(a.candidates, b.candidates) and np.array_equal(a.scores, b.scores)
    c = planner.plan(depth_image(), (1.0, -1.0), seed=6)
    assert not np.array_equal(a.candidates, c.candidates)
    # A fresh planner with the same seed replays the same sequence of plans.
    p1, p2 = NavDPPlanner(model, seed=3), NavDPPlanner(model, seed=3)
    for _ in range(2):
        assert np.array_equal(p1.plan(depth_image()).candidates, p2.plan(depth_image()).candidates)
    g1, g2 = torch.Generator().manual_seed(9), torch.Generator().manual_seed(9)
    assert np.array_equal(planner.plan(depth_image(), generator=g1).candidates,
                          planner.plan(depth_image(), generator=g2).candidates)


def test_depth_may_come_with_or_without_the_history_axis(model):
    planner = NavDPPlanner(model)
    d = depth_image()
    assert np.array_equal(planner.plan(d, seed=0).candidates, planner.plan(d[None], seed=0).candidates)
    with pytest.raises(ValueError, match="depth"):
        planner.plan(np.zeros((12, 16), np.float32))
    with pytest.raises(ValueError, match="goal"):
        planner.plan(d, (1.0, 2.0, 3.0))


def test_one_batched_forward_per_diffusion_step_under_inference_mode(model, monkeypatch):
    calls: list[tuple[int, bool]] = []
    real_predict, real_score = model.predict_noise, model.score

    def spy_predict(noisy, t, goal, obs):
        calls.append((noisy.shape[0], torch.is_inference_mode_enabled()))
        return real_predict(noisy, t, goal, obs)

    def spy_score(actions, obs):
        calls.append((-actions.shape[0], torch.is_inference_mode_enabled()))
        return real_score(actions, obs)

    monkeypatch.setattr(model, "predict_noise", spy_predict)
    monkeypatch.setattr(model, "score", spy_score)
    NavDPPlanner(model).plan(depth_image(), (2.0, 0.0), seed=0)
    k = SMALL.n_candidates
    assert calls == [(k, True)] * SMALL.diffusion_steps + [(-k, True)]


@pytest.mark.parametrize(("y_sign", "rotate"), [(1.0, 1), (-1.0, -1)])
def test_stop_and_rotate_toward_the_mean_lateral_offset(model, monkeypatch, y_sign, rotate):
    k = SMALL.n_candidates
    scores = [-3.5, -4.0, -3.1, -6.0, -5.0, -3.2]  # all below -3
    patch_candidates(monkeypatch, model, fixed_increments(y_sign, [2.0] * k), scores)
    plan = NavDPPlanner(model).plan(depth_image(), (3.0, 0.0), seed=0)
    assert plan.stop and plan.rotate == rotate and plan.best == 2


def test_a_score_at_the_threshold_is_followed(model, monkeypatch):
    k = SMALL.n_candidates
    patch_candidates(monkeypatch, model, fixed_increments(-1.0, [2.0] * k), [-3.5, -3.0, -8, -8, -8, -8])
    plan = NavDPPlanner(model).plan(depth_image(), (3.0, 0.0), seed=0)
    assert not plan.stop and plan.rotate == 0 and plan.best == 1
    # A planner-level threshold overrides the config's.
    assert NavDPPlanner(model, stop_threshold=-2.0).plan(depth_image(), (3.0, 0.0), seed=0).stop


def test_no_goal_mode_scores_short_candidates_minus_ten(model, monkeypatch):
    lengths = [0.5, 0.9, 1.5, 2.0, 0.2, 3.0]
    scores = [5.0, 4.0, 1.0, 2.0, 9.0, -1.0]  # the short ones look best to the critic
    patch_candidates(monkeypatch, model, fixed_increments(1.0, lengths), scores)
    plan = NavDPPlanner(model).plan(depth_image(), None, seed=0)
    np.testing.assert_array_equal(plan.scores, [-10.0, -10.0, 1.0, 2.0, -10.0, -1.0])
    assert plan.best == 3 and not plan.stop
    # The critic-only ablation applies the same no-goal rule.
    only = NavDPPlanner(model, selection="critic_only").plan(depth_image(), None, seed=0)
    np.testing.assert_array_equal(only.scores, plan.scores)
    assert only.best == 3 and not only.stop
    # With a goal the rule is off.
    assert NavDPPlanner(model, selection="critic_only").plan(depth_image(), (2.0, 1.0), seed=0).best == 4
    # All short: nothing clears the threshold, stop and rotate (left: mean y > 0).
    patch_candidates(monkeypatch, model, fixed_increments(1.0, [0.3] * 6), scores)
    plan = NavDPPlanner(model).plan(depth_image(), None, seed=0)
    assert plan.stop and plan.rotate == 1 and np.all(plan.scores == SMALL.no_goal_short_score)


def test_critic_free_selection_modes(model, monkeypatch):
    def no_critic(actions, obs):
        raise AssertionError("the critic must not run")

    monkeypatch.setattr(model, "score", no_critic)
    first = NavDPPlanner(model, selection="first_sample").plan(depth_image(), None, seed=0)
    assert first.best == 0 and not first.stop and first.rotate == 0 and np.isnan(first.scores).all()
    random_pick = NavDPPlanner(model, selection="random_sample")
    picks = {random_pick.plan(depth_image(), None, seed=s).best for s in range(12)}
    assert len(picks) > 1 and picks <= set(range(SMALL.n_candidates))
    a = NavDPPlanner(model, selection="random_sample").plan(depth_image(), None, seed=4)
    b = NavDPPlanner(model, selection="random_sample").plan(depth_image(), None, seed=4)
    assert a.best == b.best and np.array_equal(a.candidates, b.candidates)
    with pytest.raises(ValueError, match="selection"):
        NavDPPlanner(model, selection="best")
    assert SELECTIONS == ("critic", "critic_only", "first_sample", "random_sample")


def fan_increments(angles_deg: list[float], length: float = 2.0) -> torch.Tensor:
    """``(K, N, 3)`` straight candidates of ``length`` m, candidate ``k`` at ``angles_deg[k]`` (0 =
    straight ahead, positive = left)."""
    n = SMALL.n_waypoints
    a = np.radians(np.asarray(angles_deg, dtype=np.float64))
    step = np.stack([np.cos(a), np.sin(a)], axis=-1) * length / n
    xy = torch.tensor(step, dtype=torch.float32)[:, None, :].expand(len(a), n, 2)
    return torch.cat([xy, torch.zeros(len(a), n, 1)], dim=-1)


FAN = [90.0, 60.0, 30.0, 0.0, -30.0, -60.0]  # left to right


@pytest.mark.parametrize(("goal", "expected"), [((0.0, 4.0), 0), ((4.0, 0.0), 3), ((2.0, -3.5), 5)])
def test_progress_picks_the_candidate_toward_the_goal_among_equally_safe_ones(model, monkeypatch, goal,
                                                                             expected):
    patch_candidates(monkeypatch, model, fan_increments(FAN), [-0.5] * 6)
    plan = NavDPPlanner(model).plan(depth_image(), goal, seed=0)
    assert plan.best == expected and not plan.stop
    np.testing.assert_allclose(plan.scores, -0.5)  # the reported scores are the critic's alone
    # The goal-blind ablation cannot tell them apart: the first of the ties.
    assert NavDPPlanner(model, selection="critic_only").plan(depth_image(), goal, seed=0).best == 0


def test_the_critic_still_decides_safety(model, monkeypatch):
    goal = (4.0, 0.0)  # straight ahead: candidate 3 makes the most progress
    # Candidate 3 is unsafe (below the stop threshold): never picked, however much progress it makes.
    patch_candidates(monkeypatch, model, fan_increments(FAN), [-0.5, -0.5, -0.6, -3.2, -0.5, -0.5])
    plan = NavDPPlanner(model, progress_weight=100.0).plan(depth_image(), goal, seed=0)
    assert plan.best in (2, 4) and not plan.stop
    # A candidate the critic rates worse by more than progress_weight * its extra progress is not
    # picked: straight ahead ends 0.48 m closer to the goal than 30 deg off, 0.24 in units of the
    # 2 m horizon (N * max_step), worth 0.48 score units at progress_weight 2.
    planner = NavDPPlanner(model, progress_weight=2.0)
    patch_candidates(monkeypatch, model, fan_increments(FAN), [-2.0, -2.0, -0.4, -1.0, -2.0, -2.0])
    assert planner.plan(depth_image(), goal, seed=0).best == 2
    # ... and one rated nearly as safe is.
    patch_candidates(monkeypatch, model, fan_increments(FAN), [-2.0, -2.0, -0.5, -0.6, -2.0, -2.0])
    assert planner.plan(depth_image(), goal, seed=0).best == 3
    # Nothing safe: stop and rotate as before, whatever the progress.
    patch_candidates(monkeypatch, model, fan_increments(FAN), [-3.5, -4.0, -3.1, -6.0, -5.0, -3.2])
    plan = NavDPPlanner(model).plan(depth_image(), goal, seed=0)
    assert plan.stop and plan.best == 2 and plan.rotate == 1


def test_progress_weight_zero_is_the_critic_alone_and_no_goal_mode_is_unchanged(model, monkeypatch):
    scores = [0.3, -0.2, 0.1, -1.0, 0.5, -0.4]
    patch_candidates(monkeypatch, model, fan_increments(FAN, length=1.5), scores)
    for goal in [(0.0, 4.0), (4.0, 0.0), (-1.0, -3.0)]:
        assert NavDPPlanner(model, progress_weight=0.0).plan(depth_image(), goal, seed=0).best == 4
        assert NavDPPlanner(model, selection="critic_only").plan(depth_image(), goal, seed=0).best == 4
    # No goal: NavDP selection is the critic's argmax (after the no-goal rule), as the ablation.
    for weight in (0.0, 2.0, 50.0):
        plan = NavDPPlanner(model, progress_weight=weight).plan(depth_image(), None, seed=0)
        assert plan.best == 4 and not plan.stop
    with pytest.raises(ValueError, match="progress_weight"):
        NavDPPlanner(model, progress_weight=-1.0)


def test_progress_weight_defaults_from_the_config_and_old_configs_load():
    assert NavDPConfig().progress_weight == NavDPConfig.from_dict({}).progress_weight > 0
    old = NavDPConfig().to_dict()
    del old["progress_weight"]  # a model file written before the field existed
    assert NavDPConfig.from_dict(old) == NavDPConfig()
    model = NavDPNet(dataclasses.replace(SMALL, progress_weight=0.5), seed=0)
    assert NavDPPlanner(model).progress_weight == 0.5
    assert NavDPPlanner(model, progress_weight=3.0).progress_weight == 3.0
    with pytest.raises(ValueError, match="progress_weight"):
        NavDPConfig(progress_weight=-0.1)
