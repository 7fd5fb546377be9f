"""The per-step shortcuts of ArmPressWipe-v0 and the env bases against the formulas they replace:
the arm state read from MuJoCo's buffers (fresh mj_jacSite / mj_fullM, the generic ArmTask
route), the wrench on Python floats, and the action saturation and state-box violation on Python
floats (np.clip, Box.violation, np.sum)."""

from __future__ import annotations

import gymnasium as gym
import mujoco
import numpy as np
import pytest
import robocritic.envs  # noqa: F401 -- registers the ids
from robocritic.envs.arm.task import ArmTask
from robocritic.envs.base.robocritic_env import RobocriticEnv

from robocritic.dynamics.base import Box

ENV_ID = "robocritic/ArmPressWipe-v0"


def rollout_states(env, steps: int, seed: int):
    """Yield the unwrapped env after each of ``steps`` steps of a pressing, wiping force law."""
    u = env.unwrapped
    env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        st = u.arm_state()
        f = np.array([300.0 * (0.45 - st.x[0]), -15.0]) + rng.normal(scale=3.0, size=2)
        env.step(st.jacobian.T @ f + st.bias - 0.3 * st.qd)
        yield u


def test_arm_state_from_mujoco_buffers_matches_fresh_engine_calls() -> None:
    env = gym.make(ENV_ID, randomization={"push_probability": 0.01, "push_force": (20.0, 40.0),
                                          "mass_scale": (0.8, 1.2)})
    previous = None
    for u in rollout_states(env, 600, seed=3):
        m, d = u.model, u.data
        st = u.arm_state()
        jac = np.zeros((3, m.nv))
        mujoco.mj_jacSite(m, d, jac, None, u._tcp)
        mass = np.zeros((m.nv, m.nv))
        mujoco.mj_fullM(m, d, mass)
        np.testing.assert_array_equal(st.jacobian, jac[[0, 2]])
        np.testing.assert_array_equal(st.mass_matrix, mass)
        np.testing.assert_array_equal(st.x, d.site_xpos[u._tcp][[0, 2]])
        np.testing.assert_array_equal(st.q, d.qpos)
        np.testing.assert_array_equal(st.qd, d.qvel)
        np.testing.assert_array_equal(st.bias, d.qfrc_bias)
        # The generic route (ArmTask's default, through _arm_terms) gives the same arrays.
        for got, want in zip(u._plane_terms(), ArmTask._plane_terms(u)):
            np.testing.assert_array_equal(got, want)
        force, _, rot = u._ft_reading()
        wrench = -(rot @ force) - u._tool_weight()
        np.testing.assert_allclose(u.contact_wrench_world(), wrench, rtol=0, atol=1e-12 * np.abs(wrench).max())
        np.testing.assert_allclose(st.wrench, wrench[[0, 2]], rtol=0, atol=1e-12 * np.abs(wrench).max())
        assert u.normal_force_raw() == pytest.approx(float(wrench @ [0.0, 0.0, 1.0]), rel=1e-12, abs=1e-12)
        if previous is not None:  # a state handed out earlier is its own copy, not a buffer
            prev_state, prev_arrays = previous
            for name, value in prev_arrays.items():
                np.testing.assert_array_equal(getattr(prev_state, name), value)
        previous = (st, {name: getattr(st, name).copy() for name in
                         ("q", "qd", "x", "jacobian", "mass_matrix", "bias", "wrench")})
        buffers = (d.qpos, d.qvel, d.qfrc_bias, d.site_xpos, u._jac_scratch, u._ft_force, u._ft_rot)
        for field in ("q", "qd", "x", "jacobian", "mass_matrix", "bias", "wrench"):
            assert not any(np.shares_memory(getattr(st, field), b) for b in buffers), field
    env.close()


def reference_prepare(env: RobocriticEnv, action) -> tuple[np.ndarray, bool]:
    u = np.asarray(action, dtype=np.float64).reshape(env.dynamics.n_u)
    clipped = env.input_box.clip(u)
    return clipped, not np.array_equal(clipped, u)


def test_action_saturation_matches_np_clip() -> None:
    env = gym.make(ENV_ID).unwrapped
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    high = env.input_box.high
    for i in range(3000):
        action = rng.uniform(-1.5, 1.5, size=3) * high
        if i % 5 == 0:
            action[rng.integers(3)] = high[0] * 10.0
        form = (action, action.astype(np.float32), action.tolist(), action[None, :])[i % 4]
        want, saturated = reference_prepare(env, form)
        count = env.action_saturation_count
        got = env._prepare_action(form)
        assert got.dtype == np.float64 and got.shape == (3,)
        np.testing.assert_array_equal(got, want)
        assert env.action_saturation_count == count + saturated
    for bad in (np.array([np.nan, 0.0, 0.0]), np.array([0.0, np.inf, 0.0]), np.zeros(4), "abc"):
        with pytest.raises(ValueError, match="action"):
            env._prepare_action(bad)
    env.close()


def test_state_box_violation_matches_box_violation_and_np_sum() -> None:
    env = gym.make(ENV_ID).unwrapped
    rng = np.random.default_rng(1)
    for n in range(1, 10):
        for trial in range(500):
            low = rng.normal(size=n) - 0.5
            high = low + rng.uniform(0.0, 1.0, size=n)
            if trial % 7 == 0:
                high[0] = np.inf
            if trial % 5 == 0:
                low[-1] = -np.inf
            env.state_box = Box(low, high)
            env._x_shape = (n,) if n < 8 else None  # as RobocriticEnv.__init__ sets them
            env._x_bounds = list(zip(low.tolist(), high.tolist()))
            x = rng.normal(size=n) * rng.choice([1e-3, 1.0, 1e3], size=n)
            for special, every in ((np.nan, 11), (np.inf, 13), (-np.inf, 17)):
                if trial % every == 0:
                    x[rng.integers(n)] = special
            info = env._cost_info(x, np.zeros(3), 0.0)
            with np.errstate(invalid="ignore"):
                violation = Box(low, high).violation(x)
            want = float(np.sum(violation))
            got = info["constraint_violation"]
            assert got == want or (np.isnan(got) and np.isnan(want))
            assert info["violated"] == bool((violation > 0).any()) == info["unsafe"]
    env.close()
