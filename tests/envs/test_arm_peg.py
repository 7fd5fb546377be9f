"""ArmPegInHole-v0: geometry, force reporting (the limited force is the lateral one), perturbations."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import robocritic.envs  # noqa: F401 - registers the ids
from gymnasium.utils.env_checker import check_env
from robocritic.envs.arm.model import ArmGeometry
from robocritic.envs.arm.peg_in_hole_v0 import FORCE_LIMIT, HOLE_DEPTH, HOLE_X

from robocritic.bresa.hierarchy import run_episode
from robocritic.bresa.peg_policies import peg_policy_for_env

ENV_ID = "robocritic/ArmPegInHole-v0"


@pytest.fixture()
def env():
    e = gym.make(ENV_ID)
    yield e
    e.close()


def _in_slot(env, **options):
    """Reset with the peg's end 0.5 mm above the slot's floor, tool straight down."""
    arm = env.unwrapped
    geometry = ArmGeometry.from_mujoco(arm.model)
    _, info = env.reset(seed=0, options={"hole_offset": 0.0, "table_offset": 0.0, **options})
    q = geometry.inverse(info["hole_x"], info["table_height"] - HOLE_DEPTH + arm.tip_radius() + 5e-4, -np.pi / 2)
    return env.reset(seed=0, options={"state": np.r_[q, 0, 0, 0], "hole_offset": 0.0, "table_offset": 0.0,
                                      **options})


def _hold_force(env, force_xz, steps=200):
    arm = env.unwrapped
    for _ in range(steps):
        st = arm.arm_state()
        _, _, _, _, info = env.step(st.bias + st.jacobian.T @ np.asarray(force_xz))
    return info


def test_env_checker_and_registration(env):
    check_env(env.unwrapped, skip_render_check=True)
    assert env.spec.max_episode_steps == 2000
    assert env.observation_space.shape == (13,) and env.unwrapped.force_limit == FORCE_LIMIT


def test_the_peg_reaches_the_floor_of_the_slot_and_the_normal_force_is_reported_separately(env):
    _in_slot(env)
    info = _hold_force(env, [0.0, -10.0])
    assert info["insertion_depth"] >= 0.9 * HOLE_DEPTH and info["success"]
    assert info["normal_force"] == pytest.approx(10.0, abs=0.3)
    assert info["normal_force_true"] == pytest.approx(10.0, abs=0.3)
    assert info["force_filtered"] < 0.5 and info["force_raw"] < 0.5  # no lateral load


def test_the_limited_force_is_the_lateral_wall_force(env):
    _in_slot(env)
    info = _hold_force(env, [12.0, -5.0])  # press the peg into the +x wall
    assert info["lateral_force_signed"] == pytest.approx(-12.0, abs=0.3)  # the wall pushes to -x
    assert info["force_raw"] == pytest.approx(12.0, abs=0.3)
    assert info["force_filtered"] == pytest.approx(12.0, abs=0.3)
    assert info["contact_force_true"] == pytest.approx(12.0, abs=0.3)
    assert info["unsafe"] is True  # 12 N > 10 N
    _in_slot(env)
    assert _hold_force(env, [-6.0, -5.0])["unsafe"] is False


def test_the_perturbations_move_the_slot_and_the_table(env):
    _, info = env.reset(seed=0, options={"hole_offset": 0.002, "table_offset": 0.004})
    assert info["hole_x"] == pytest.approx(HOLE_X + 0.002) and info["surface_offset"] == 0.004
    assert info["table_height"] == pytest.approx(-0.26 + 0.004)
    offsets = [env.reset(seed=s)[1]["hole_offset"] for s in range(20)]
    assert min(offsets) >= -0.002 and max(offsets) <= 0.002 and np.std(offsets) > 5e-4
    with pytest.raises(ValueError, match="hole_offset"):
        env.reset(seed=0, options={"hole_offset": 0.01})
    with pytest.raises(ValueError, match="table_offset_range"):
        gym.make(ENV_ID, table_offset_range=(0.0, 0.5))


def test_a_compliant_scripted_insertion_succeeds_safely_on_the_nominal_and_offset_slot(env):
    for offset in (0.0, 0.002, -0.002):
        trace = run_episode(env, peg_policy_for_env("scripted"), seed=3,
                            options={"hole_offset": offset, "table_offset": 0.0})
        assert trace.success and not trace.violated, offset
        assert trace.peak_force_filtered < 0.5 * FORCE_LIMIT


def test_a_stiff_lateral_policy_on_an_offset_slot_violates_the_lateral_limit(env):
    trace = run_episode(env, peg_policy_for_env("stiff"), seed=3,
                        options={"hole_offset": 0.002, "table_offset": 0.0})
    assert trace.violated and trace.peak_force_filtered > FORCE_LIMIT
    # the recorded force is the lateral one: the engine's lateral contact force agrees with it
    i = int(np.argmax(trace.force_filtered))
    assert trace.contact_force_true[i] == pytest.approx(trace.force_raw[i], abs=1.0)
