"""NavPointGoal-v0 and NavExplore-v0: the coordinate contract (straight, turning, the goal in the
robot frame), collisions, start/goal sampling, reset options and their errors, the Dict
observation contract (checker, seeded determinism) and the explore reward."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from robocritic.envs.nav.robot import RobotSpec, UnicycleModel
from robocritic.envs.nav.world import PRESETS, Obstacle, World, generate_world

GOAL = "robocritic/NavPointGoal-v0"
EXPLORE = "robocritic/NavExplore-v0"
IDS = [GOAL, EXPLORE]
WALL = 4.9  # inner face of the empty arena's walls, m


@pytest.fixture
def empty_goal_env():
    env = gym.make(GOAL, world_spec="empty")
    yield env
    env.close()


def drive(env: gym.Env, action, steps: int) -> list:
    out = []
    for _ in range(steps):
        out.append(env.step(np.asarray(action, dtype=np.float64)))
        if out[-1][2] or out[-1][3]:
            break
    return out


# ---- coordinate contract --------------------------------------------------------------------------
def test_forward_speed_drives_straight_along_the_heading(empty_goal_env):
    env = empty_goal_env
    obs, info = env.reset(seed=0, options={"start": (-2.0, 1.0, 0.0), "goal": (3.0, 1.0)})
    np.testing.assert_allclose(obs["goal"], [5.0, 0.0], atol=1e-6)  # ahead: x > 0, y = 0
    obs, reward, terminated, truncated, info = drive(env, (0.5, 0.0), 10)[-1]
    np.testing.assert_allclose(info["pose"], [-1.5, 1.0, 0.0], atol=1e-12)  # 0.5 m/s for 1 s
    np.testing.assert_allclose(obs["odom"], [-1.5, 1.0, 0.0, 0.5, 0.0], atol=1e-6)
    np.testing.assert_allclose(obs["goal"], [4.5, 0.0], atol=1e-5)
    assert reward == pytest.approx(0.05, abs=1e-9)  # 5 cm of progress in the last step
    assert not (terminated or truncated or info["collision"] or info["unsafe"])
    # Heading +y: forward motion is along world +y.
    env.reset(seed=0, options={"start": (0.0, 0.0, math.pi / 2), "goal": (3.0, 0.0)})
    info = drive(env, (0.4, 0.0), 5)[-1][4]
    np.testing.assert_allclose(info["pose"], [0.0, 0.2, math.pi / 2], atol=1e-12)


def test_positive_omega_turns_left_counter_clockwise(empty_goal_env):
    env = empty_goal_env
    env.reset(seed=0, options={"start": (0.0, 0.0, 0.0), "goal": (3.0, 0.0)})
    info = drive(env, (0.0, 1.0), 10)[-1][4]
    np.testing.assert_allclose(info["pose"], [0.0, 0.0, 1.0], atol=1e-12)
    env.reset(seed=0, options={"start": (0.0, 0.0, 0.0), "goal": (3.0, 0.0)})
    obs, _, _, _, info = drive(env, (0.5, 0.5), 10)[-1]
    # An arc of radius 1 m for 0.5 rad: x = sin 0.5, y = 1 - cos 0.5 (to the left).
    np.testing.assert_allclose(info["pose"], [math.sin(0.5), 1 - math.cos(0.5), 0.5], atol=1e-12)
    # A goal to the robot's left shows y > 0 in the robot frame.
    env.reset(seed=0, options={"start": (0.0, 0.0, 0.0), "goal": (0.0, 3.0)})
    obs, _ = env.reset(seed=0, options={"start": (1.0, 1.0, math.pi / 2), "goal": (3.0, 2.0)})
    np.testing.assert_allclose(obs["goal"], [1.0, -2.0], atol=1e-6)  # 1 m ahead, 2 m to the right


def test_commands_are_saturated_to_the_robot_limits():
    env = gym.make(GOAL, world_spec="empty", robot=RobotSpec(v_max=0.3, omega_max=0.5))
    try:
        np.testing.assert_allclose(env.action_space.low, [0.0, -0.5])
        np.testing.assert_allclose(env.action_space.high, [0.3, 0.5], rtol=1e-6)
        env.reset(seed=0, options={"start": (0.0, 0.0, 0.0), "goal": (3.0, 0.0)})
        info = env.step(np.array([2.0, -3.0]))[4]
        np.testing.assert_allclose(info["applied_action"], [0.3, -0.5])
        assert info["action_saturations"] == 1
    finally:
        env.close()


def test_the_shared_model_matches_the_simulated_robot(empty_goal_env):
    env = empty_goal_env
    model = env.unwrapped.dynamics
    assert isinstance(model, UnicycleModel) and model.dt == pytest.approx(0.1)
    env.reset(seed=0, options={"start": (0.5, -0.5, 0.3), "goal": (3.0, 0.0)})
    info = env.step(np.array([0.4, -0.7]))[4]
    np.testing.assert_allclose(info["pose"], model.step(np.array([0.5, -0.5, 0.3]), np.array([0.4, -0.7])),
                               atol=1e-12)


# ---- collisions -----------------------------------------------------------------------------------
def test_driving_into_a_wall_is_unsafe_and_terminates(empty_goal_env):
    env = empty_goal_env
    # The base (radius 0.2 m) touches the wall at x = 4.7; 5 cm per step at 0.5 m/s.
    env.reset(seed=0, options={"start": (3.995, 0.0, 0.0), "goal": (0.0, 3.0)})
    steps = drive(env, (0.5, 0.0), 30)
    obs, reward, terminated, truncated, info = steps[-1]
    assert len(steps) == 15  # at 4.695 m after 14 steps; the first sub-step of the 15th touches
    assert terminated and not truncated
    assert info["collision"] and info["unsafe"] and not info["success"]
    assert info["pose"][0] == pytest.approx(4.695, abs=1e-9)  # the last contact-free sub-step
    assert info["clearance"] == pytest.approx(WALL - info["pose"][0], abs=1e-6)
    assert reward < -9.0 and info["cost"] == pytest.approx(-reward)
    np.testing.assert_allclose(obs["odom"][3:], 0.0)  # bumper stop: zero velocity
    assert not any(s[4]["unsafe"] for s in steps[:-1])


def test_without_termination_the_robot_stays_blocked_and_keeps_reporting():
    env = gym.make(EXPLORE, world_spec="empty", terminate_on_collision=False)
    try:
        env.reset(seed=0, options={"start": (4.655, 0.0, 0.0)})
        steps = drive(env, (0.5, 0.0), 5)
        assert len(steps) == 5 and all(s[4]["unsafe"] for s in steps)
        assert not any(s[2] for s in steps)
        assert steps[-1][4]["pose"][0] <= 4.7
        info = env.step(np.array([0.0, 1.0]))[4]  # turning in place never collides (a cylinder)
        assert not info["collision"]
    finally:
        env.close()


def test_a_thin_pole_is_not_driven_through():
    spec = PRESETS["empty"]
    pole = Obstacle("cylinder", (1.0, 0.0), (0.02, 0.02), 0.0, 1.5, "pole")
    env = gym.make(GOAL, world=World(spec, generate_world(0, spec).obstacles + (pole,)))
    try:
        env.reset(seed=0, options={"start": (0.0, 0.0, 0.0), "goal": (3.0, 0.0)})
        info = drive(env, (0.5, 0.0), 20)[-1][4]
        assert info["collision"] and info["world_seed"] is None
        assert 0.77 <= info["pose"][0] <= 0.78 + 1e-9  # touching at 0.78
    finally:
        env.close()


# ---- start and goal ---------------------------------------------------------------------------------
def test_drawn_starts_and_goals_are_free_far_apart_and_reachable():
    env = gym.make(GOAL)
    try:
        u = env.unwrapped
        seeds = set()
        for seed in range(6):
            obs, info = env.reset(seed=seed)
            world = u.world
            seeds.add(info["world_seed"])
            assert world.seed == info["world_seed"]
            assert info["clearance"] >= 0.35 - 0.05
            assert float(world.clearance(info["goal"])) >= 0.35 - 1e-9
            assert 3.0 <= info["geodesic_distance"] < math.inf
            assert info["geodesic_distance"] >= info["distance_to_goal"] - 0.1
            assert not u.in_collision(info["pose"])
            np.testing.assert_allclose(obs["odom"][:3], info["pose"], atol=1e-6)
        assert len(seeds) == 6  # a new world each episode
    finally:
        env.close()


def test_world_seed_option_and_fixed_world_seed():
    env = gym.make(GOAL, world_seed=42)
    try:
        _, a = env.reset(seed=0)
        _, b = env.reset(seed=1)
        assert a["world_seed"] == b["world_seed"] == 42
        _, c = env.reset(seed=0, options={"world_seed": 7})
        assert c["world_seed"] == 7
        assert env.unwrapped.world.obstacles == generate_world(7).obstacles
    finally:
        env.close()


@pytest.mark.parametrize(
    "options, match",
    [
        ({"start": (float("nan"), 0.0, 0.0)}, r"options\['start'\] must be finite"),
        ({"start": (0.0, 0.0)}, r"options\['start'\] must have shape"),
        ({"state": (9.0, 0.0, 0.0)}, r"options\['state'\] must lie inside the arena"),
        ({"start": (4.8, 0.0, 0.0)}, r"options\['start'\] puts the robot .* in collision"),
        ({"start": (0.0, 0.0, 0.0), "state": (0.0, 0.0, 0.0)}, "not both"),
        ({"goal": (0.0, float("inf"))}, r"options\['goal'\] must be finite"),
        ({"goal": (0.0, 7.0)}, r"options\['goal'\] must lie inside the arena"),
        ({"goal": (1.0, -1.0)}, r"options\['goal'\] lies inside an obstacle"),
        ({"start": (-3.0, 0.0, 0.0), "goal": (3.0, 3.0)}, r"options\['goal'\] is not reachable"),
        ({"world_seed": -1}, r"options\['world_seed'\] must be an integer"),
        ({"world_seed": 1.5}, r"options\['world_seed'\] must be an integer"),
        ({"wrld_seed": 1}, "unknown key"),
    ],
)
def test_bad_reset_options_name_the_option(options, match):
    spec = PRESETS["empty"]
    box = Obstacle("box", (1.0, -1.0), (0.5, 0.5), 0.0, 1.0, "box")
    # A closed square room around (3, 3): its inside is unreachable from outside.
    room = tuple(Obstacle("box", c, h, 0.0, 1.0, "wall") for c, h in (
        ((3.0, 2.0), (1.05, 0.05)), ((3.0, 4.0), (1.05, 0.05)),
        ((2.0, 3.0), (0.05, 1.05)), ((4.0, 3.0), (0.05, 1.05))))
    env = gym.make(GOAL, world=World(spec, generate_world(0, spec).obstacles + (box,) + room))
    try:
        with pytest.raises(ValueError, match=match):
            env.reset(seed=0, options=options)
    finally:
        env.close()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"world_spec": "cluttered"}, "world_spec"),
        ({"world_seed": -3}, "world_seed"),
        ({"control_rate": 0.0}, "control_rate"),
        ({"robot": "big"}, "robot"),
        ({"start_clearance": 0.1}, "start_clearance"),
        ({"success_radius": -1.0}, "success_radius"),
        ({"max_goal_distance": 1.0}, "max_goal_distance"),
        ({"randomization": {"mass_scale": (0.9, 1.1)}}, "randomization.mass_scale"),
        ({"randomization": {"obs_noise_std": (0.1, 0.1)}}, "obs_noise_std"),
    ],
)
def test_bad_constructor_arguments_name_the_field(kwargs, match):
    with pytest.raises(ValueError, match=match):
        gym.make(GOAL, **kwargs)


def test_reaching_the_goal_is_success_and_terminates(empty_goal_env):
    env = empty_goal_env
    env.reset(seed=0, options={"start": (0.0, 0.0, 0.0), "goal": (1.0, 0.0)})
    steps = drive(env, (0.5, 0.0), 20)
    _, reward, terminated, _, info = steps[-1]
    assert terminated and info["success"] and not info["unsafe"]
    assert len(steps) == 10 and info["distance_to_goal"] <= 0.5  # 0.5 m travelled
    assert reward == pytest.approx(0.05 + 10.0)


# ---- the Dict observation contract ----------------------------------------------------------------------
@pytest.mark.parametrize("env_id", IDS)
def test_passes_the_gymnasium_checker(env_id):
    env = gym.make(env_id)
    try:
        check_env(env.unwrapped, skip_render_check=True)
    finally:
        env.close()


def _rollout(env_id: str, seed: int, steps: int = 25) -> list:
    env = gym.make(env_id, randomization={"obs_noise_std": 0.01, "actuator_delay": (0, 2)})
    try:
        obs, info = env.reset(seed=seed)
        env.action_space.seed(seed)
        out = [obs["depth"], obs["goal"], obs["odom"], info["pose"]]
        for _ in range(steps):
            obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
            out += [obs["depth"], obs["goal"], obs["odom"], info["state"], np.array([reward, terminated])]
            if terminated or truncated:
                obs, _ = env.reset()
                out.append(obs["odom"])
        return out
    finally:
        env.close()


@pytest.mark.parametrize("env_id", IDS)
def test_seeded_rollouts_are_identical_and_seeds_matter(env_id):
    a, b, c = _rollout(env_id, 7), _rollout(env_id, 7), _rollout(env_id, 8)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[2], c[2])


def test_observation_layout_and_depth_noise():
    from robocritic.envs.nav.sensors import DepthConfig

    env = gym.make(GOAL, depth=DepthConfig(height=24, width=32, noise_std=0.02, dropout=0.1))
    try:
        obs, _ = env.reset(seed=3)
        assert obs["depth"].shape == (24, 32) and obs["depth"].dtype == np.float32
        assert env.observation_space.contains(obs)
        assert 0.0 < np.mean(obs["depth"] == 0) < 1.0
        scan = env.unwrapped.scan()
        assert scan.shape == (64,) and (scan >= 0).all()
    finally:
        env.close()


# ---- explore ----------------------------------------------------------------------------------------------
def test_explore_rewards_travel_and_new_area():
    env = gym.make(EXPLORE, world_spec="empty")
    try:
        obs, info = env.reset(seed=0, options={"start": (-3.0, 0.0, 0.0)})
        np.testing.assert_array_equal(obs["goal"], 0.0)
        start_cover = info["coverage"]
        assert start_cover == pytest.approx(math.pi, rel=0.2)  # a 1 m disc in 0.25 m cells
        steps = drive(env, (0.5, 0.0), 20)
        infos = [s[4] for s in steps]
        assert all(s[1] > 0 for s in steps)
        assert sum(i["travelled"] for i in infos) == pytest.approx(1.0)
        assert infos[-1]["coverage"] > start_cover + 1.5  # ~2 m wide swath over 1 m
        assert not any(i["success"] for i in infos)
        # Turning in place covers nothing new and travels nothing.
        _, reward, _, _, info = env.step(np.array([0.0, 1.0]))
        assert reward == 0.0 and info["travelled"] == 0.0
        with pytest.raises(ValueError, match="unknown key"):
            env.reset(seed=0, options={"goal": (1.0, 1.0)})
    finally:
        env.close()


def test_drawn_goals_in_dense_worlds_are_reachable():
    # Dense worlds have pockets cut off from the start; their cells' geodesic distance is infinite.
    from robocritic.navdp.evaluate import episode_seed

    env = gym.make(GOAL, world_spec="dense")
    try:
        for w in range(5000, 5012):
            _, info = env.reset(seed=episode_seed(w, 0), options={"world_seed": w})
            assert math.isfinite(info["geodesic_distance"]), w
    finally:
        env.close()
