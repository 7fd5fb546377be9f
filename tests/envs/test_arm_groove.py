"""ArmGroove-v0: geometry, force reporting (the limited force is the lateral wall force), the moving
obstacle, pushes on the upper arm, perturbations, and the scripted policy on the nominal groove."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import robocritic.envs  # noqa: F401 - registers the ids
from gymnasium.utils.env_checker import check_env
from robocritic.envs.arm.groove_v0 import (
    FORCE_LIMIT,
    GROOVE_DEPTH,
    GROOVE_END_X,
    GROOVE_START_X,
    OBSTACLE_MARGIN,
    OBSTACLE_PATH,
    TABLE_TOP,
)
from robocritic.envs.arm.model import ArmGeometry

from robocritic.bresa.hierarchy import run_episode
from robocritic.bresa.groove_policies import groove_policy_for_env

ENV_ID = "robocritic/ArmGroove-v0"
NOMINAL = {"groove_offset": 0.0, "table_offset": 0.0, "obstacle_height": 0.0}


@pytest.fixture()
def env():
    e = gym.make(ENV_ID)
    yield e
    e.close()


def _on_floor(env, x, **options):
    """Reset with the stylus 0.3 mm above the groove floor at TCP ``x``, tool straight down."""
    arm = env.unwrapped
    geometry = ArmGeometry.from_mujoco(arm.model)
    opts = {**NOMINAL, **options}
    _, info = env.reset(seed=0, options=opts)
    q = geometry.inverse(x, info["floor_height"] + arm.tip_radius() + 3e-4, -np.pi / 2)
    return env.reset(seed=0, options={"state": np.r_[q, 0, 0, 0], **opts})


def _hold_force(env, force_xz, steps=200):
    """Command a Cartesian force ``(x, z)`` N at the TCP (on top of the bias) for ``steps`` steps."""
    arm = env.unwrapped
    for _ in range(steps):
        st = arm.arm_state()
        _, _, _, _, info = env.step(st.bias + st.jacobian.T @ np.asarray(force_xz))
    return info


def test_env_checker_registration_and_asset_geometry(env):
    check_env(env.unwrapped, skip_render_check=True)
    assert env.spec.max_episode_steps == 2000
    assert env.observation_space.shape == (13,) and env.unwrapped.force_limit == FORCE_LIMIT
    _, info = env.reset(seed=0, options=NOMINAL)
    assert (info["groove_start_x"], info["groove_end_x"]) == pytest.approx((GROOVE_START_X, GROOVE_END_X))
    assert info["table_height"] == pytest.approx(TABLE_TOP)
    assert info["floor_height"] == pytest.approx(TABLE_TOP - GROOVE_DEPTH)


def test_pressing_on_the_floor_is_normal_force_and_the_end_wall_is_lateral_force(env):
    _on_floor(env, 0.44)
    info = _hold_force(env, [0.0, -5.0])
    assert info["normal_force"] == pytest.approx(5.0, abs=0.3)
    assert info["normal_force_true"] == pytest.approx(5.0, abs=0.3)
    assert info["force_filtered"] < 0.5 and info["floor_gap"] < 5e-4
    # pressed into the far end wall: the wall pushes back along -x
    _on_floor(env, GROOVE_END_X - env.unwrapped.tip_radius() - 0.001)
    info = _hold_force(env, [15.0, -4.0])
    assert info["lateral_force_signed"] == pytest.approx(-15.0, abs=0.5)
    assert info["force_raw"] == pytest.approx(15.0, abs=0.5)
    assert info["force_filtered"] == pytest.approx(15.0, abs=0.5)
    assert info["contact_force_true"] == pytest.approx(15.0, abs=0.5)
    assert info["unsafe"] is True and not info["obstacle_contact"]  # 15 N > 12 N
    _on_floor(env, GROOVE_END_X - env.unwrapped.tip_radius() - 0.001)
    assert _hold_force(env, [6.0, -4.0])["unsafe"] is False


def test_the_obstacle_moves_along_its_path_turns_at_its_ends_and_loads_the_stylus_laterally(env):
    arm = env.unwrapped
    lo = GROOVE_START_X + OBSTACLE_MARGIN
    _, info = env.reset(seed=0, options={**NOMINAL, "obstacle_height": 0.003, "obstacle_position": 0.045,
                                         "obstacle_speed": 0.1})
    assert info["obstacle_x"] == pytest.approx(lo + 0.045)
    xs = [env.step(arm.arm_state().bias)[4]["obstacle_x"] for _ in range(100)]  # 0.1 s at 0.1 m/s
    assert xs[49] == pytest.approx(lo + OBSTACLE_PATH)  # reached the end of the path after 5 mm ...
    assert xs[-1] == pytest.approx(lo + OBSTACLE_PATH - 0.005)  # ... and came back 5 mm
    # standing still just ahead of the stylus on the floor (its flank 4 mm away), pushed into it
    # along +x with too little force to climb it under a 6 N press: the flank holds the push
    x_tcp, x_obstacle = 0.44, 0.452
    _on_floor(env, x_tcp, obstacle_height=0.003, obstacle_speed=0.0, obstacle_position=x_obstacle - lo)
    info = _hold_force(env, [3.0, -6.0], steps=200)
    assert info["obstacle_contact"] and info["arm_state"].x[0] < x_obstacle - 0.005
    assert info["lateral_force_signed"] == pytest.approx(-3.0, abs=0.3)  # the bump's flank pushes back
    assert info["contact_force_true"] == pytest.approx(3.0, abs=0.3)
    # pushed harder it climbs over the bump
    assert _max_x(env, [8.0, -6.0], steps=300) > x_obstacle
    # height 0: sunk out of reach, the same small push slides the stylus along the floor past it
    _on_floor(env, x_tcp, obstacle_height=0.0, obstacle_speed=0.0, obstacle_position=x_obstacle - lo)
    assert _max_x(env, [3.0, -6.0], steps=200) > x_obstacle


def _max_x(env, force_xz, steps):
    """The largest TCP x [m] while commanding the Cartesian force ``(x, z)`` N for ``steps`` steps."""
    arm, x = env.unwrapped, -np.inf
    for _ in range(steps):
        st = arm.arm_state()
        _, _, _, _, info = env.step(st.bias + st.jacobian.T @ np.asarray(force_xz))
        x = max(x, float(info["arm_state"].x[0]))
    return x


def test_pushes_act_on_the_upper_arm_and_the_wrist_sensor_sees_only_their_effect():
    env = gym.make(ENV_ID, randomization={"push_probability": 1.0, "push_force": (50.0, 50.0)})
    try:
        arm = env.unwrapped
        _, info = env.reset(seed=1, options=NOMINAL)  # the stylus in the air above the groove
        x0 = info["arm_state"].x.copy()
        pushes, raw, moved = [], [], 0.0
        for _ in range(40):
            _, _, _, _, info = env.step(arm.arm_state().bias)
            pushes.append(abs(info["push_force"][0]))
            raw.append(info["force_raw"])
            moved = max(moved, abs(info["arm_state"].x[0] - x0[0]))
        assert max(pushes) == 50.0 and moved > 0.002
        assert max(raw) < 5.0  # a 50 N push on the tool would read 50 N
    finally:
        env.close()


def test_perturbations_are_seeded_and_bad_options_and_ranges_name_the_field(env):
    _, info = env.reset(seed=0, options={"groove_offset": 0.002, "table_offset": 0.003})
    assert info["groove_end_x"] == pytest.approx(GROOVE_END_X + 0.002)
    assert info["table_height"] == pytest.approx(TABLE_TOP + 0.003) and info["surface_offset"] == 0.003
    draws = [env.reset(seed=s)[1] for s in range(20)]
    offsets = [d["groove_offset"] for d in draws]
    assert -0.003 <= min(offsets) and max(offsets) <= 0.003 and np.std(offsets) > 5e-4
    heights = [d["obstacle_height"] for d in draws]
    assert 0.002 <= min(heights) and max(heights) <= 0.004
    first, again = env.reset(seed=7)[1], env.reset(seed=7)[1]
    for key in ("groove_offset", "surface_offset", "obstacle_x", "obstacle_speed", "obstacle_height"):
        assert again[key] == first[key], key
    for key, value in (("groove_offset", 0.01), ("obstacle_height", 0.006), ("obstacle_speed", 0.5),
                       ("obstacle_position", -0.001), ("contact_stiffness_scale", 0.0)):
        with pytest.raises(ValueError, match=key):
            env.reset(seed=0, options={key: value})
    for key, value in (("obstacle_speed_range", (0.0, 0.3)), ("groove_offset_range", (0.0, 0.01)),
                       ("obstacle_height_range", (0.003, 0.001)), ("force_limit", -1.0)):
        with pytest.raises(ValueError, match=key):
            gym.make(ENV_ID, **{key: value})


def test_the_scripted_policy_follows_the_nominal_groove_safely_and_a_stiff_one_violates(env):
    trace = run_episode(env, groove_policy_for_env("scripted"), seed=3, options=NOMINAL)
    assert trace.success and not trace.violated
    assert trace.peak_force_filtered < 0.5 * FORCE_LIMIT
    # with the obstacle and a groove ending 2 mm early, a stiff lateral axis overloads a wall
    options = {**NOMINAL, "groove_offset": -0.002, "obstacle_height": 0.004, "obstacle_speed": -0.04,
               "obstacle_position": 0.025}
    stiff = run_episode(env, groove_policy_for_env("stiff"), seed=3, options=options)
    assert stiff.violated and stiff.peak_force_filtered > FORCE_LIMIT
    i = int(np.argmax(stiff.force_filtered))  # the recorded force is the engine's lateral contact force
    assert stiff.contact_force_true[i] == pytest.approx(stiff.force_raw[i], abs=1.5)
    compliant = run_episode(env, groove_policy_for_env("scripted"), seed=3, options=options)
    assert compliant.success and not compliant.violated
