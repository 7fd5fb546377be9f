"""Energy-pumping swing-up (robocritic.controllers.swing_up) on analytic facts: the energy's rate
is ``b u theta_dot``, pumping raises the energy below the top and brakes above it, the switch to
the catch controller happens inside the catch region, and ``|u| <= max_torque`` throughout."""

from __future__ import annotations

import numpy as np
import pytest
from robocritic.controllers.lqr import LQRController
from robocritic.controllers.swing_up import EnergySwingUp, SwingUpConfig, pendulum_energy, wrap_angle

from robocritic.dynamics import PendulumModel

Q, R = np.eye(2), np.array([[1e-3]])
CONFIG = SwingUpConfig(catch_level=1.0, release_level=2.0, gain=1.0)


class Recorder:
    """A catch controller that records its calls (an LQR inside)."""

    def __init__(self, model: PendulumModel) -> None:
        self.lqr = LQRController(model.linearize(), Q, R)
        self.calls: list[np.ndarray] = []
        self.resets = 0

    def reset(self) -> None:
        self.resets += 1

    def act(self, obs: np.ndarray) -> np.ndarray:
        self.calls.append(np.array(obs))
        return self.lqr.act(obs)


def swing_up(model: PendulumModel) -> tuple[EnergySwingUp, Recorder]:
    catch = Recorder(model)
    return EnergySwingUp(model, catch, catch.lqr.P, CONFIG), catch


def test_energy_is_zero_upright_and_its_rate_is_b_u_theta_dot():
    m = PendulumModel()
    a, b = m.gravity_gain, m.input_gain
    assert pendulum_energy(m, np.array([0.0, 0.0])) == 0.0
    assert pendulum_energy(m, np.array([np.pi, 0.0])) == pytest.approx(-2 * a)
    rng = np.random.default_rng(0)
    for x, u in zip(rng.uniform([-4, -6], [4, 6], (50, 2)), rng.uniform(-2, 2, 50)):
        # dE/dt = dE/dx . f(x, u), by the chain rule on E = theta_dot^2/2 + a (cos theta - 1).
        grad = np.array([-a * np.sin(x[0]), x[1]])
        assert grad @ m.f(x, np.array([u])) == pytest.approx(b * u * x[1], abs=1e-9)


def test_pumping_adds_energy_below_the_top_and_brakes_above_it():
    m = PendulumModel()
    controller, _ = swing_up(m)
    rng = np.random.default_rng(1)
    below = above = 0
    for x in rng.uniform([-np.pi, -8.0], [np.pi, 8.0], (400, 2)):
        if abs(x[1]) < 0.01:
            continue
        u = controller.pump(x)[0]
        assert abs(u) <= m.max_torque
        rate = m.input_gain * u * x[1]  # dE/dt
        if pendulum_energy(m, x) < 0:
            assert rate > 0
            below += 1
        else:
            assert rate < 0
            above += 1
    assert below > 50 and above > 50
    # At rest the law gives nothing; the kick starts a swing.
    assert controller.pump(np.array([np.pi, 0.0]))[0] == m.max_torque


def test_swing_up_from_hanging_switches_inside_the_catch_region_and_ends_upright():
    # dE/dt = b u theta_dot >= 0 holds while u is held and theta_dot keeps the sign it had when u was
    # chosen: so E may dip only in a step where theta_dot changes sign (a turning point).
    m = PendulumModel(dt=0.01)
    controller, catch = swing_up(m)
    controller.reset()
    x = np.array([np.pi - 0.05, 0.0])
    energies, speeds, catching, levels, inputs = [], [], [], [], []
    for _ in range(800):
        obs = np.array([wrap_angle(x[0]), x[1]])
        u = controller.act(obs)
        energies.append(float(pendulum_energy(m, x)))
        speeds.append(x[1])
        catching.append(controller.catching)
        levels.append(controller.level(obs))
        inputs.append(u[0])
        x = m.step(x, u)
    catching_arr, levels_arr = np.array(catching), np.array(levels)
    first = int(np.argmax(catching_arr))
    assert catching_arr.any() and first > 0
    pumped = np.diff(energies[: first + 1])
    same_sign = np.sign(speeds[:first]) == np.sign(speeds[1 : first + 1])
    assert same_sign.sum() > 0.9 * first
    below = np.array(energies[:first]) < 0.0
    assert np.all(pumped[same_sign & below] >= -1e-9)  # below the top: never lost energy
    assert np.all(pumped[same_sign & ~below] <= 1e-9)  # above it (overshoot): braked
    assert energies[0] < -25.0 and energies[first] > -0.5
    # Every switch into the catch controller happens inside C; it acts only inside the release level.
    entries = np.flatnonzero(catching_arr[1:] & ~catching_arr[:-1]) + 1
    assert len(entries) == controller.n_switches >= 1
    assert np.all(levels_arr[entries] <= CONFIG.catch_level)
    assert np.all(levels_arr[catching_arr] <= CONFIG.release_level)
    assert len(catch.calls) == int(catching_arr.sum()) and catch.resets == 1
    assert np.max(np.abs(inputs)) <= m.max_torque
    assert abs(wrap_angle(x[0])) < 0.01 and abs(x[1]) < 0.05


def test_inside_the_catch_region_the_catch_controller_acts_at_once():
    m = PendulumModel()
    controller, catch = swing_up(m)
    controller.reset()
    obs = np.array([0.05, -0.1])
    assert controller.in_catch_region(obs)
    np.testing.assert_array_equal(controller.act(obs), catch.lqr.act(obs))
    assert controller.catching and controller.n_switches == 1
    controller.reset()
    assert not controller.catching and controller.n_switches == 0


@pytest.mark.parametrize("fields, name", [
    ({"catch_level": 0.0, "release_level": 1.0}, "catch_level"),
    ({"catch_level": 2.0, "release_level": 1.0}, "release_level"),
    ({"catch_level": 1.0, "release_level": 1.0, "gain": -1.0}, "gain"),
    ({"catch_level": 1.0, "release_level": 1.0, "kick_speed": float("nan")}, "kick_speed"),
])  # fmt: skip
def test_config_errors_name_the_field(fields, name):
    with pytest.raises(ValueError, match=name):
        SwingUpConfig(**fields)


def test_bad_arguments_are_refused():
    m = PendulumModel()
    catch = LQRController(m.linearize(), Q, R)
    with pytest.raises(ValueError, match="lyapunov"):
        EnergySwingUp(m, catch, -np.eye(2), CONFIG)
    with pytest.raises(ValueError, match="catch"):
        EnergySwingUp(m, object(), np.eye(2), CONFIG)  # type: ignore[arg-type]
    controller = EnergySwingUp(m, catch, np.eye(2), CONFIG)
    with pytest.raises(ValueError, match="obs"):
        controller.act(np.array([np.nan, 0.0]))
