"""ArmPressWipe-v1: v0's task with a 0.8 s approach window (the same physics, the same seeds)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import robocritic.envs  # noqa: F401 - registers the env ids
from robocritic.envs.arm.press_wipe_v0 import APPROACH_TIME, STROKE_X, stroke_reference
from robocritic.envs.arm.press_wipe_v1 import APPROACH_TIME_V1


def _hold(env: gym.Env, steps: int) -> list[dict]:
    """Gravity compensation only: the arm stays where it starts."""
    u, infos = env.unwrapped, []
    for _ in range(steps):
        *_, terminated, truncated, info = env.step(u.arm_state().bias)
        infos.append(info)
        if terminated or truncated:
            break
    return infos


def test_the_stroke_and_the_contact_phase_start_at_the_v1_approach_time():
    assert APPROACH_TIME_V1 > APPROACH_TIME
    env = gym.make("robocritic/ArmPressWipe-v1")
    obs, _ = env.reset(seed=3)
    infos = _hold(env, 3000)
    env.close()
    assert len(infos) == 2500  # the registered TimeLimit: 2.5 s
    times = np.array([i["time"] for i in infos])
    phase = np.array([i["contact_phase"] for i in infos])
    assert not phase[times < APPROACH_TIME_V1 - 1e-9].any() and phase[times >= APPROACH_TIME_V1 - 1e-9].all()
    x_ref = np.array([i["x_ref"] for i in infos])
    assert np.all(x_ref[times <= APPROACH_TIME_V1] == STROKE_X[0])
    assert x_ref[-1] == pytest.approx(STROKE_X[1])  # 0.1 m/s for 1.5 s, then held
    t_mid = APPROACH_TIME_V1 + 0.75
    assert stroke_reference(t_mid, STROKE_X, APPROACH_TIME_V1) == pytest.approx(np.mean(STROKE_X))
    assert obs.shape == (13,)


def test_v1_has_v0_physics_seed_for_seed():
    """Same seed, same torques: the same states and forces (only the task's clock differs)."""
    runs = []
    for env_id in ("robocritic/ArmPressWipe-v0", "robocritic/ArmPressWipe-v1"):
        env = gym.make(env_id, randomization={"push_probability": 0.01, "push_force": (20.0, 50.0)})
        env.reset(seed=11)
        infos = _hold(env, 300)
        runs.append((env.unwrapped.surface_offset, [i["state"] for i in infos], [i["force_raw"] for i in infos]))
        env.close()
    (off0, s0, f0), (off1, s1, f1) = runs
    assert off0 == off1
    np.testing.assert_array_equal(np.array(s0), np.array(s1))
    np.testing.assert_array_equal(f0, f1)
