"""The public testing helpers: runs on models and envs, readable failures."""

from __future__ import annotations

import numpy as np
import pytest

from robocritic.dynamics import Box, PendulumModel
from robocritic.testing import (
    assert_constraints_satisfied,
    assert_settles,
    assert_tracking_error,
    run_closed_loop,
    settling_time,
)


class StateFeedback:
    """u = -K x, clipped: a tiny controller double (no solver)."""

    def __init__(self, gain: list[float], limit: float = 2.0) -> None:
        self.gain = np.asarray(gain)
        self.limit = limit
        self.resets = 0

    def reset(self) -> None:
        self.resets += 1

    def act(self, obs: np.ndarray) -> np.ndarray:
        return np.clip([-self.gain @ obs], -self.limit, self.limit)


# Pole placement on the linearised pendulum: stabilising for small angles.
GAIN = [12.0, 3.0]


def test_runs_on_nonlinear_model_and_settles(closed_loop, pendulum_model):
    ctrl = StateFeedback(GAIN)
    traj = closed_loop(ctrl, pendulum_model, x0=[0.2, 0.0], steps=100)
    assert ctrl.resets == 1
    assert traj.states.shape == (101, 2) and traj.actions.shape == (100, 1)
    assert traj.costs.shape == (100,) and traj.total_cost > 0
    assert_constraints_satisfied(traj)
    t = assert_settles(traj, within=3.0, tolerance=0.01)
    assert 0.0 < t <= 3.0
    assert_tracking_error(traj, max_rms=[0.1, 0.5])


def test_linear_model_run_matches_manual_recursion(pendulum_model):
    lin = pendulum_model.linearize()
    traj = run_closed_loop(StateFeedback(GAIN, limit=np.inf), lin, x0=[0.1, -0.2], steps=20)
    x = np.array([0.1, -0.2])
    K = np.asarray(GAIN)
    for _ in range(20):
        x = lin.A @ x + lin.B @ (-K @ x).reshape(1)
    np.testing.assert_allclose(traj.states[-1], x, atol=1e-12)


def test_runs_on_registered_env(closed_loop):
    traj = closed_loop(StateFeedback(GAIN), "robocritic/ClippedPendulum-v0", x0=[0.2, 0.0], steps=60)
    assert traj.states.shape == (61, 2)
    assert traj.dt == pytest.approx(0.05)
    assert_settles(traj, within=3.0, tolerance=0.01)


def test_env_and_model_runs_agree(pendulum_model, make_env):
    """The MuJoCo env and the ODE model give the same closed loop (sim matches the reference)."""
    env = make_env("robocritic/ClippedPendulum-v0")
    a = run_closed_loop(StateFeedback(GAIN), env, x0=[0.25, 0.1], steps=60)
    b = run_closed_loop(StateFeedback(GAIN), pendulum_model, x0=[0.25, 0.1], steps=60)
    np.testing.assert_allclose(a.states, b.states, atol=1e-5)


def test_constraint_failure_message_names_signal_step_and_limit(pendulum_model):
    # Zero gain: the pendulum falls and leaves |theta| <= 2.
    traj = run_closed_loop(StateFeedback([0.0, 0.0]), pendulum_model, x0=[0.3, 0.0], steps=60)
    with pytest.raises(AssertionError) as err:
        assert_constraints_satisfied(traj)
    msg = str(err.value)
    assert "state constraint violated" in msg and "theta" in msg and "> 2" in msg and "t=" in msg


def test_input_violation_is_reported(pendulum_model):
    traj = run_closed_loop(StateFeedback(GAIN, limit=np.inf), pendulum_model, x0=[0.35, 0.0], steps=5)
    with pytest.raises(AssertionError, match=r"(?s)input constraint violated.*torque = -4.2 < -2"):
        assert_constraints_satisfied(traj)
    # A wider box passes.
    assert_constraints_satisfied(traj, input_box=Box.symmetric([100.0]))


def test_settling_failures_are_explained(pendulum_model):
    traj = run_closed_loop(StateFeedback(GAIN), pendulum_model, x0=[0.2, 0.0], steps=100)
    with pytest.raises(AssertionError, match="expected settling within 0.1 s"):
        assert_settles(traj, within=0.1, tolerance=1e-3)
    falling = run_closed_loop(StateFeedback([0.0, 0.0]), pendulum_model, x0=[0.3, 0.0], steps=40)
    assert settling_time(falling, 0.01) is None
    with pytest.raises(AssertionError, match="never settled"):
        assert_settles(falling, within=5.0, tolerance=0.01)
    with pytest.raises(AssertionError, match="RMS tracking error too large: theta"):
        assert_tracking_error(falling, max_rms=0.01, indices=[0])


def test_bad_arguments_raise_clear_errors(pendulum_model):
    with pytest.raises(ValueError, match="x0 is required"):
        run_closed_loop(StateFeedback(GAIN), pendulum_model)
    with pytest.raises(ValueError, match=r"x0 must have shape \(2,\)"):
        run_closed_loop(StateFeedback(GAIN), pendulum_model, x0=[0.1])
    with pytest.raises(ValueError, match="steps"):
        run_closed_loop(StateFeedback(GAIN), pendulum_model, x0=[0.1, 0.0], steps=0)
    with pytest.raises(ValueError, match="x0 must be finite"):
        run_closed_loop(StateFeedback(GAIN), pendulum_model, x0=[np.nan, 0.0])

    class NaNController(StateFeedback):
        def act(self, obs):
            return np.array([np.nan])

    with pytest.raises(ValueError, match="controller action must be finite"):
        run_closed_loop(NaNController(GAIN), pendulum_model, x0=[0.1, 0.0], steps=3)


def test_safety_filter_is_applied(pendulum_model):
    class HalfFilter:
        def __init__(self) -> None:
            self.calls = 0

        def certify(self, obs, action):
            self.calls += 1
            return 0.5 * action, {"changed": True}

    filt = HalfFilter()
    traj = run_closed_loop(StateFeedback(GAIN), pendulum_model, x0=[0.1, 0.0], steps=10, safety_filter=filt)
    assert filt.calls == 10
    np.testing.assert_allclose(traj.actions[0], 0.5 * np.clip(-np.asarray(GAIN) @ [0.1, 0.0], -2, 2))


def test_model_cost_uses_weights():
    model = PendulumModel()
    traj = run_closed_loop(
        StateFeedback(GAIN), model, x0=[0.1, 0.0], steps=1,
        state_weight=np.diag([2.0, 0.0]), input_weight=np.array([[0.5]]),
    )
    u = np.clip(-1.2, -2, 2)
    assert traj.costs[0] == pytest.approx(2 * 0.1**2 + 0.5 * u**2)
