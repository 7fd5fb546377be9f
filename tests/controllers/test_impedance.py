"""Unit tests for robocritic.controllers.impedance: stiffness law, damping ratio, contact force,
validation, energy tank, setpoint interpolation, torque limits and the Controller adapter.

No simulator: plants are point masses (``J = I``) or random linear task-space models, integrated
here with RK4, and every expected value is analytic.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from robocritic.controllers import (
    CartesianImpedance,
    EnergyTank,
    ImpedanceController,
    ImpedanceGains,
    interpolate,
    task_damping,
)

from robocritic.interfaces import ArmState, Controller


def spd(rng: np.random.Generator, n: int, scale: float = 1.0) -> np.ndarray:
    """A random symmetric positive definite ``(n, n)`` matrix."""
    a = rng.normal(size=(n, n))
    return scale * (a @ a.T + n * np.eye(n))


def arm_state(
    *,
    x: np.ndarray,
    qd: np.ndarray,
    mass: np.ndarray,
    jac: np.ndarray | None = None,
    bias: np.ndarray | None = None,
) -> ArmState:
    n = mass.shape[0]
    jac = np.eye(n) if jac is None else jac
    return ArmState(
        q=np.zeros(n),
        qd=np.asarray(qd, float),
        x=np.asarray(x, float),
        jacobian=jac,
        mass_matrix=mass,
        bias=np.zeros(n) if bias is None else bias,
    )


def point_mass_law(mass: np.ndarray, gains: ImpedanceGains, x_d: np.ndarray, bias: np.ndarray | None = None):
    """Right-hand side ``(x, v) -> (v, a)`` of a point mass (``J = I``) under the impedance law."""
    n = mass.shape[0]
    law = CartesianImpedance(n, n, stiffness_max=1e5)
    m_inv = np.linalg.inv(mass)

    def rhs(x: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        tau = law.torques(arm_state(x=x, qd=v, mass=mass, bias=bias), x_d, gains)
        return v, m_inv @ (tau - (0.0 if bias is None else bias))

    return rhs


def rk4_step(rhs, x: np.ndarray, v: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """One classical RK4 step of ``(x, v)' = rhs(x, v)``."""
    k1 = rhs(x, v)
    k2 = rhs(x + 0.5 * dt * k1[0], v + 0.5 * dt * k1[1])
    k3 = rhs(x + 0.5 * dt * k2[0], v + 0.5 * dt * k2[1])
    k4 = rhs(x + dt * k3[0], v + dt * k3[1])
    return (
        x + dt / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0]),
        v + dt / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1]),
    )


def rk4(rhs, x: np.ndarray, v: np.ndarray, dt: float, steps: int) -> np.ndarray:
    """Positions ``(steps + 1, n)`` of ``x'' = a(x, x')``, the law evaluated at every RK4 stage
    (a continuous-time closed loop)."""
    out = [x.copy()]
    for _ in range(steps):
        x, v = rk4_step(rhs, x, v, dt)
        out.append(x.copy())
    return np.array(out)


def overshoot(zeta: float) -> float:
    """Peak overshoot of a second-order step response, as a fraction of the step."""
    return math.exp(-math.pi * zeta / math.sqrt(1.0 - zeta**2))


# -- 1. stiffness law --------------------------------------------------------------------------------


def test_stiffness_law_is_exact_at_rest_with_identity_jacobian() -> None:
    rng = np.random.default_rng(0)
    law = CartesianImpedance(3, 3, stiffness_max=1e4, joint_damping=2.0)
    gains = ImpedanceGains(np.array([100.0, 2500.0, 7.5]), damping_ratio=[0.3, 1.0, 2.0])
    x, x_d = rng.normal(size=3), rng.normal(size=3)
    state = arm_state(x=x, qd=np.zeros(3), mass=spd(rng, 3))
    np.testing.assert_array_equal(law.torques(state, x_d, gains), gains.stiffness * (x_d - x))
    # The bias is added as it is (gravity compensation).
    bias = rng.normal(size=3)
    state = arm_state(x=x, qd=np.zeros(3), mass=spd(rng, 3), bias=bias)
    np.testing.assert_array_equal(law.torques(state, x_d, gains), gains.stiffness * (x_d - x) + bias)


def test_redundant_arm_maps_the_task_force_through_the_jacobian_and_damps_joints() -> None:
    rng = np.random.default_rng(1)
    n, m, k_q = 7, 3, 1.5
    law = CartesianImpedance(n, m, stiffness_max=5000.0, joint_damping=k_q)
    gains = ImpedanceGains(np.array([300.0, 600.0, 900.0]), 0.8)
    jac, mass, qd = rng.normal(size=(m, n)), spd(rng, n), rng.normal(size=n)
    x, x_d = rng.normal(size=m), rng.normal(size=m)
    state = ArmState(q=np.zeros(n), qd=qd, x=x, jacobian=jac, mass_matrix=mass, bias=np.zeros(n))
    damping = law.damping_matrix(state, gains)
    expected = jac.T @ (gains.stiffness * (x_d - x) - damping @ (jac @ qd)) - k_q * qd
    np.testing.assert_allclose(law.torques(state, x_d, gains), expected, rtol=1e-12, atol=1e-9)


# -- 2. damping ---------------------------------------------------------------------------------------


def test_one_dof_damping_is_two_zeta_sqrt_k_m() -> None:
    mass, k = 2.5, 800.0
    law = CartesianImpedance(1, 1, stiffness_max=1e4)
    state = arm_state(x=[0.0], qd=[0.0], mass=np.array([[mass]]))
    for zeta in (0.0, 0.3, 1.0, 1.7):
        gains = ImpedanceGains([k], zeta)
        expected = 2 * zeta * math.sqrt(k * mass)
        assert law.damping_matrix(state, gains)[0, 0] == pytest.approx(expected, rel=1e-13, abs=1e-12)
        assert task_damping(np.array([[1 / mass]]), [k], [zeta])[0, 0] == pytest.approx(
            expected, rel=1e-13, abs=1e-12
        )


@pytest.mark.parametrize("zeta", [0.3, 0.6])
def test_one_dof_closed_loop_overshoot_and_log_decrement_match_zeta(zeta: float) -> None:
    mass, k, step = np.array([[2.0]]), 500.0, 0.1
    rhs = point_mass_law(mass, ImpedanceGains([k], zeta), np.array([step]))
    omega = math.sqrt(k / mass[0, 0])
    dt = 1e-3
    x = rk4(rhs, np.zeros(1), np.zeros(1), dt, int(4 * 2 * math.pi / omega / dt))[:, 0] - step
    # Extrema of the error: the first is the overshoot, successive ones alternate in sign.
    peaks = [i for i in range(1, len(x) - 1) if abs(x[i]) >= abs(x[i - 1]) and abs(x[i]) > abs(x[i + 1])]
    assert x[peaks[0]] / step == pytest.approx(overshoot(zeta), abs=2e-4)
    # Log decrement over one full period: exp(-2 pi zeta / sqrt(1 - zeta^2)).
    assert x[peaks[2]] / x[peaks[0]] == pytest.approx(overshoot(zeta) ** 2, abs=2e-4)


def test_critically_damped_by_default_no_overshoot() -> None:
    mass, k, step = np.array([[3.0]]), 1200.0, 0.05
    gains = ImpedanceGains([k])
    assert gains.damping_ratio.tolist() == [1.0]
    x = rk4(point_mass_law(mass, gains, np.array([step])), np.zeros(1), np.zeros(1), 1e-3, 1000)[:, 0]
    assert np.all(np.diff(x) >= -1e-12)  # monotone approach
    assert x.max() <= step * (1 + 1e-9)
    assert x[-1] == pytest.approx(step, rel=1e-3)


def test_two_dof_diagonal_mass_has_per_axis_ratios() -> None:
    mass = np.diag([1.5, 4.0])
    k, zeta, step = np.array([400.0, 900.0]), np.array([0.3, 0.6]), np.array([0.1, -0.2])
    law = CartesianImpedance(2, 2, stiffness_max=1e4)
    gains = ImpedanceGains(k, zeta)
    damping = law.damping_matrix(arm_state(x=np.zeros(2), qd=np.zeros(2), mass=mass), gains)
    np.testing.assert_allclose(
        damping, np.diag(2 * zeta * np.sqrt(k * np.diag(mass))), rtol=1e-13, atol=1e-12
    )
    x = rk4(point_mass_law(mass, gains, step), np.zeros(2), np.zeros(2), 1e-3, 1000) - step
    for axis in range(2):
        err = x[:, axis]
        first_peak = np.argmax(np.sign(step[axis]) * err)  # the first overshoot is the largest
        assert err[first_peak] / step[axis] == pytest.approx(overshoot(zeta[axis]), abs=2e-4)


@pytest.mark.parametrize("zeta", [0.2, 0.4, 0.7])
def test_every_mode_of_a_coupled_task_space_loop_has_the_scalar_ratio(zeta: float) -> None:
    # Linearised task-space loop Lambda e'' + D e' + K e = 0 of a redundant arm: each complex
    # eigenvalue pair -zeta w +- i w sqrt(1 - zeta^2) has -Re / |lambda| = zeta.
    rng = np.random.default_rng(2)
    n, m = 5, 3
    jac, mass = rng.normal(size=(m, n)), spd(rng, n)
    law = CartesianImpedance(n, m, stiffness_max=1e4)
    gains = ImpedanceGains(np.array([200.0, 1500.0, 4000.0]), zeta)
    state = ArmState(
        q=np.zeros(n), qd=np.zeros(n), x=np.zeros(m), jacobian=jac, mass_matrix=mass, bias=np.zeros(n)
    )
    inv_inertia = jac @ np.linalg.solve(mass, jac.T)
    np.testing.assert_allclose(law.task_inertia_inverse(state), inv_inertia, rtol=1e-12)
    damping = law.damping_matrix(state, gains)
    closed = np.block(
        [[np.zeros((m, m)), np.eye(m)], [-inv_inertia @ np.diag(gains.stiffness), -inv_inertia @ damping]]
    )
    eig = np.linalg.eigvals(closed)
    np.testing.assert_allclose(-eig.real / np.abs(eig), zeta, atol=1e-8)
    # ... and D is the geometric mean Lambda # K, scaled by 2 zeta.
    inertia = np.linalg.inv(inv_inertia)
    w, v = np.linalg.eigh(inertia)
    half, half_inv = (v * np.sqrt(w)) @ v.T, (v / np.sqrt(w)) @ v.T
    w2, v2 = np.linalg.eigh(half_inv @ np.diag(gains.stiffness) @ half_inv)
    mean = half @ ((v2 * np.sqrt(w2)) @ v2.T) @ half
    np.testing.assert_allclose(damping, 2 * zeta * mean, rtol=1e-9)


def test_damping_is_symmetric_psd_where_the_factorisation_form_is_not() -> None:
    # Lambda far from diagonal and very unequal stiffnesses: the form
    # Lambda^(1/2) D_zeta K^(1/2) + K^(1/2) D_zeta Lambda^(1/2) has a negative eigenvalue here.
    inertia = np.array([[1.0, 0.999], [0.999, 1.0]])
    k, zeta = np.array([1.0, 1e4]), np.array([1.0, 1.0])
    w, v = np.linalg.eigh(inertia)
    half = (v * np.sqrt(w)) @ v.T
    factorised = half @ np.diag(zeta * np.sqrt(k)) + np.diag(zeta * np.sqrt(k)) @ half
    assert np.linalg.eigvalsh(factorised).min() < 0
    damping = task_damping(np.linalg.inv(inertia), k, zeta)
    np.testing.assert_allclose(damping, damping.T, rtol=0, atol=1e-12 * np.abs(damping).max())
    assert np.linalg.eigvalsh(damping).min() >= -1e-12 * np.abs(damping).max()
    # Random coupled cases with per-axis ratios, zero stiffness included.
    rng = np.random.default_rng(3)
    for _ in range(200):
        m = int(rng.integers(1, 4))
        inv_inertia = spd(rng, m, scale=float(np.exp(rng.normal())))
        k = np.exp(rng.normal(size=m) * 3) * (rng.random(m) > 0.2)
        d = task_damping(inv_inertia, k, rng.random(m) * 2)
        assert np.all(np.isfinite(d))
        np.testing.assert_allclose(d, d.T, rtol=0, atol=1e-12 * max(1.0, np.abs(d).max()))
        assert np.linalg.eigvalsh(d).min() >= -1e-10 * max(1.0, np.abs(d).max())


def test_per_axis_ratios_are_exact_for_a_diagonal_task_inertia() -> None:
    inertia = np.array([0.7, 3.0, 12.0])
    k, zeta = np.array([50.0, 0.0, 3000.0]), np.array([0.2, 1.0, 1.4])
    np.testing.assert_allclose(
        task_damping(np.diag(1 / inertia), k, zeta), np.diag(2 * zeta * np.sqrt(k * inertia)), atol=1e-12
    )


def test_joint_damping_torque_stays_bounded_at_a_kinematic_singularity() -> None:
    # Two joints, two task axes, the Jacobian's second singular value going to zero: the task
    # inertia along that direction, and D with it, grow without bound; J' D J qd does not.
    rng = np.random.default_rng(4)
    mass, qd = spd(rng, 2), np.array([0.7, -1.1])
    u, _ = np.linalg.qr(rng.normal(size=(2, 2)))
    v, _ = np.linalg.qr(rng.normal(size=(2, 2)))
    law = CartesianImpedance(2, 2, stiffness_max=5000.0)
    gains = ImpedanceGains(np.array([400.0, 2000.0]), np.array([0.5, 1.5]))
    torques, dampings = [], []
    for sigma in (1e-1, 1e-3, 1e-6, 1e-9, 0.0):
        jac = u @ np.diag([1.0, sigma]) @ v.T
        state = ArmState(
            q=np.zeros(2), qd=qd, x=np.zeros(2), jacobian=jac, mass_matrix=mass, bias=np.zeros(2)
        )
        torques.append(law.torques(state, np.zeros(2), gains))
        dampings.append(np.abs(law.damping_matrix(state, gains)).max())
    torques = np.array(torques)
    assert np.all(np.isfinite(torques))
    assert np.abs(torques).max() <= 2 * np.abs(torques[0]).max()
    np.testing.assert_allclose(torques[-2], torques[-1], atol=1e-3 * np.abs(torques[-1]).max())
    assert dampings[3] > 1e3 * dampings[0]  # D itself does blow up


# -- 3. steady contact ------------------------------------------------------------------------------


def test_steady_force_on_a_stiff_wall_is_k_times_setpoint_depth() -> None:
    # A 2-D point mass under gravity (-y, compensated through bias) pressed into a wall x <= x_wall
    # by a setpoint beyond it. Controller at 1 kHz (zero-order hold), plant by RK4 at 0.1 ms, wall a
    # stiff spring-damper that can only push. At rest K_x (x_d - x) = f_wall, so
    # f_wall = K_x (x_d - x_wall) k_w / (K_x + k_w) -> K_x (x_d - x_wall) as k_w -> inf.
    mass_kg, g = 1.5, 9.81
    mass, bias = np.diag([mass_kg, mass_kg]), np.array([0.0, mass_kg * g])
    k_wall, d_wall, x_wall = 1e6, 1.2e3, 0.1
    x_d = np.array([0.15, 0.3])
    gains = ImpedanceGains(np.array([600.0, 800.0]))
    law = CartesianImpedance(2, 2, stiffness_max=2000.0)

    def wall_force(p: np.ndarray, v: np.ndarray) -> np.ndarray:
        depth = p[0] - x_wall
        return np.array([-max(0.0, k_wall * depth + d_wall * v[0]) if depth > 0 else 0.0, 0.0])

    p, v = np.array([0.0, 0.25]), np.zeros(2)
    for _ in range(2000):  # 2 s
        state = ArmState(
            q=p, qd=v, x=p, jacobian=np.eye(2), mass_matrix=mass, bias=bias, wrench=wall_force(p, v)
        )
        tau = law.torques(state, x_d, gains)

        def plant(p: np.ndarray, v: np.ndarray, tau: np.ndarray = tau) -> tuple[np.ndarray, np.ndarray]:
            return v, (tau - bias + wall_force(p, v)) / mass_kg

        for _ in range(10):
            p, v = rk4_step(plant, p, v, 1e-4)
    assert np.abs(v).max() < 1e-6  # settled
    assert p[1] == pytest.approx(x_d[1], abs=1e-9)  # gravity compensated, free axis at its setpoint
    force = -wall_force(p, v)[0]
    k_x = gains.stiffness[0]
    assert force == pytest.approx(k_x * (x_d[0] - p[0]), rel=1e-6)  # equilibrium
    assert force == pytest.approx(k_x * (x_d[0] - x_wall) * k_wall / (k_x + k_wall), rel=1e-6)
    assert force == pytest.approx(k_x * (x_d[0] - x_wall), rel=1e-3)


# -- 4. validation ----------------------------------------------------------------------------------


def good_state(n: int = 3, m: int = 2) -> ArmState:
    rng = np.random.default_rng(5)
    return ArmState(
        q=np.zeros(n),
        qd=rng.normal(size=n),
        x=rng.normal(size=m),
        jacobian=rng.normal(size=(m, n)),
        mass_matrix=spd(rng, n),
        bias=rng.normal(size=n),
        wrench=np.zeros(m),
    )


def replace(state: ArmState, **fields) -> ArmState:
    return ArmState(**{**state.__dict__, **fields})


@pytest.mark.parametrize(
    ("field", "bad"),
    [
        ("x", np.array([np.nan, 0.0])),
        ("x", np.array([0.0, np.inf])),
        ("qd", np.array([0.0, np.nan, 0.0])),
        ("jacobian", np.array([[0.0, np.nan, 0.0], [0.0, 0.0, 0.0]])),
        ("mass_matrix", np.diag([1.0, np.nan, 1.0])),
        ("mass_matrix", np.diag([np.inf, 1.0, 1.0])),  # would cancel out of J M^-1 J'
        ("bias", np.array([np.nan, 0.0, 0.0])),
        ("x", np.zeros(3)),
        ("qd", np.zeros(2)),
        ("jacobian", np.zeros((3, 2))),
        ("mass_matrix", np.eye(2)),
        ("bias", np.zeros((3, 1))),
    ],
)
def test_bad_state_fields_are_named(field: str, bad: np.ndarray) -> None:
    law = CartesianImpedance(3, 2, stiffness_max=1000.0)
    with pytest.raises(ValueError, match=f"state.{field}"):
        law.torques(replace(good_state(), **{field: bad}), np.zeros(2), ImpedanceGains([100.0, 100.0]))


def test_bad_setpoint_indefinite_mass_and_wrong_types_are_named() -> None:
    law = CartesianImpedance(3, 2, stiffness_max=1000.0)
    gains = ImpedanceGains([100.0, 100.0])
    for setpoint in (np.array([np.nan, 0.0]), np.zeros(3), "abc"):
        with pytest.raises(ValueError, match="setpoint"):
            law.torques(good_state(), setpoint, gains)
    with pytest.raises(ValueError, match="state.mass_matrix must be symmetric positive definite"):
        law.torques(replace(good_state(), mass_matrix=np.diag([1.0, -1.0, 1.0])), np.zeros(2), gains)
    with pytest.raises(TypeError, match="state must be an ArmState"):
        law.torques(np.zeros(3), np.zeros(2), gains)
    with pytest.raises(TypeError, match="gains must be ImpedanceGains"):
        law.torques(good_state(), np.zeros(2), np.array([100.0, 100.0]))
    # Unused fields are still checked where the whole state is: q and wrench.
    with pytest.raises(ValueError, match="state.wrench"):
        law.check_state(replace(good_state(), wrench=np.array([np.nan, 0.0])), np.zeros(2))
    with pytest.raises(ValueError, match="state.q"):
        law.check_state(replace(good_state(), q=np.zeros(4)), np.zeros(2))


def test_gains_outside_the_configured_range_name_the_axis() -> None:
    law = CartesianImpedance(3, 2, stiffness_min=[10.0, 20.0], stiffness_max=[1000.0, 500.0])
    with pytest.raises(ValueError, match=r"gains.stiffness\[1\] = 600 N/m is outside \[20, 500\].*axis 1"):
        law.torques(good_state(), np.zeros(2), ImpedanceGains([100.0, 600.0]))
    with pytest.raises(ValueError, match=r"gains.stiffness\[0\] = 5 N/m is outside \[10, 1000\]"):
        law.torques(good_state(), np.zeros(2), ImpedanceGains([5.0, 100.0]))
    with pytest.raises(ValueError, match=r"gains.stiffness must have shape \(2,\)"):
        law.torques(good_state(), np.zeros(2), ImpedanceGains([100.0, 100.0, 100.0]))
    law.torques(good_state(), np.zeros(2), ImpedanceGains([10.0, 500.0]))  # bounds are inclusive


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"stiffness": [np.nan, 1.0]}, "ImpedanceGains.stiffness must be finite"),
        ({"stiffness": [1.0, -1.0]}, "ImpedanceGains.stiffness must be >= 0"),
        ({"stiffness": [[1.0, 2.0]]}, r"ImpedanceGains.stiffness must have shape \(m,\)"),
        ({"stiffness": 5.0}, r"ImpedanceGains.stiffness must have shape \(m,\)"),
        ({"stiffness": "stiff"}, "ImpedanceGains.stiffness must be numeric"),
        (
            {"stiffness": [1.0, 2.0], "damping_ratio": [1.0]},
            r"ImpedanceGains.damping_ratio must have shape \(2,\)",
        ),
        ({"stiffness": [1.0, 2.0], "damping_ratio": np.inf}, "ImpedanceGains.damping_ratio must be finite"),
        ({"stiffness": [1.0, 2.0], "damping_ratio": -0.1}, "ImpedanceGains.damping_ratio must be >= 0"),
    ],
)
def test_gains_validation_names_the_field(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ImpedanceGains(**kwargs)


def test_gains_are_read_only_copies() -> None:
    k = np.array([100.0, 200.0])
    gains = ImpedanceGains(k, 0.5)
    k[0] = 1e9
    assert gains.stiffness.tolist() == [100.0, 200.0]
    assert gains.damping_ratio.tolist() == [0.5, 0.5]
    with pytest.raises(ValueError, match="read-only"):
        gains.stiffness[0] = 1.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_joints": 2, "n_task": 3}, "CartesianImpedance.n_task must be <= n_joints"),
        ({"n_joints": 0, "n_task": 0}, "CartesianImpedance.n_joints must be an integer >= 1"),
        ({"stiffness_min": [10.0, 600.0]}, "stiffness_min must be <= stiffness_max; axis 1"),
        ({"stiffness_max": [100.0, np.nan]}, "CartesianImpedance.stiffness_max must be finite"),
        (
            {"stiffness_max": [100.0, 100.0, 100.0]},
            r"CartesianImpedance.stiffness_max must have shape \(2,\)",
        ),
        ({"joint_damping": -1.0}, "CartesianImpedance.joint_damping must be >= 0"),
        ({"torque_limit": [1.0, 0.0, 1.0]}, "CartesianImpedance.torque_limit must be > 0"),
    ],
)
def test_constructor_validation_names_the_field(kwargs: dict, match: str) -> None:
    args = {"n_joints": 3, "n_task": 2, "stiffness_max": 500.0, **kwargs}
    with pytest.raises(ValueError, match=match):
        CartesianImpedance(**args)


def test_tank_validation_names_the_field() -> None:
    with pytest.raises(ValueError, match="EnergyTank.initial"):
        EnergyTank(initial=2.0, maximum=1.0, period=1e-3)
    with pytest.raises(ValueError, match="EnergyTank.maximum"):
        EnergyTank(initial=0.0, maximum=0.0, period=1e-3)
    with pytest.raises(ValueError, match="EnergyTank.period"):
        EnergyTank(initial=0.0, maximum=1.0, period=0.0)
    with pytest.raises(TypeError, match="CartesianImpedance.tank"):
        CartesianImpedance(1, 1, stiffness_max=1.0, tank=1.0)


# -- 5. energy tank ---------------------------------------------------------------------------------


def tank_law(initial: float, maximum: float = 1.0, stiffness_min: float = 100.0) -> CartesianImpedance:
    tank = EnergyTank(initial=initial, maximum=maximum, period=1e-3)
    return CartesianImpedance(2, 2, stiffness_min=stiffness_min, stiffness_max=2000.0, tank=tank)


def test_empty_tank_refuses_a_stiffness_increase_at_a_displacement() -> None:
    law = tank_law(initial=0.0)
    state = arm_state(x=np.zeros(2), qd=np.zeros(2), mass=np.eye(2))
    x_d = np.array([0.1, 0.0])  # displaced on axis 0 only
    tau = law.torques(state, x_d, ImpedanceGains([1000.0, 1000.0]))
    # Axis 0 would cost 0.5 * 0.1^2 * 900 J; axis 1 has no displacement, so its increase is free.
    # The tank scales all increases by one factor, and an empty tank's factor is 0.
    np.testing.assert_array_equal(law.applied_stiffness, [100.0, 100.0])
    np.testing.assert_allclose(tau, [100.0 * 0.1, 0.0])
    assert law.tank.level == 0.0
    # At zero displacement the same increase costs nothing and goes through.
    law.torques(state, np.zeros(2), ImpedanceGains([1000.0, 1000.0]))
    np.testing.assert_array_equal(law.applied_stiffness, [1000.0, 1000.0])


def test_partly_filled_tank_pays_what_it_can() -> None:
    law = tank_law(initial=1.0, maximum=10.0)
    state = arm_state(x=np.zeros(2), qd=np.zeros(2), mass=np.eye(2))
    x_d = np.array([0.1, 0.2])
    # Increases cost 0.5 (0.01 * 900 + 0.04 * 400) = 12.5 J > 1 J: scaled by 1 / 12.5.
    law.torques(state, x_d, ImpedanceGains([1000.0, 500.0]))
    np.testing.assert_allclose(law.applied_stiffness, [100.0 + 900.0 / 12.5, 100.0 + 400.0 / 12.5])
    assert law.tank.level == 0.0
    # Decreasing is free: applied at once, the level unchanged.
    law.tank.level = 0.25
    law.torques(state, x_d, ImpedanceGains([100.0, 100.0]))
    np.testing.assert_array_equal(law.applied_stiffness, [100.0, 100.0])
    assert law.tank.level == 0.25
    # An affordable increase is paid exactly.
    law.torques(state, x_d, ImpedanceGains([140.0, 100.0]))
    np.testing.assert_array_equal(law.applied_stiffness, [140.0, 100.0])
    assert law.tank.level == pytest.approx(0.25 - 0.5 * 0.01 * 40.0, abs=1e-15)


def test_damping_dissipation_refills_the_tank_up_to_its_maximum() -> None:
    law = tank_law(initial=0.0, maximum=0.05)
    mass = np.diag([2.0, 0.5])
    state = arm_state(x=np.zeros(2), qd=np.array([0.3, -0.4]), mass=mass)
    gains = ImpedanceGains([100.0, 100.0], 0.7)  # = stiffness_min: no change to pay
    power = state.qd @ law.damping_matrix(state, gains) @ state.qd
    assert power > 0
    law.torques(state, np.zeros(2), gains)
    assert law.tank.level == pytest.approx(power * 1e-3, rel=1e-12)
    for _ in range(1000):
        law.torques(state, np.zeros(2), gains)
    assert law.tank.level == 0.05
    # Once refilled, the refused increase of the first test goes through.
    law.torques(state, np.array([0.1, 0.0]), ImpedanceGains([1000.0, 100.0], 0.7))
    np.testing.assert_allclose(law.applied_stiffness, [100.0 + 0.05 / (0.5 * 0.01), 100.0])


def test_tank_is_untouched_by_a_call_that_raises_and_restored_by_reset() -> None:
    law = tank_law(initial=0.5)
    state = arm_state(x=np.zeros(2), qd=np.zeros(2), mass=np.eye(2))
    with pytest.raises(ValueError, match="setpoint"):
        law.torques(state, np.array([np.nan, 0.0]), ImpedanceGains([1000.0, 1000.0]))
    assert law.tank.level == 0.5
    np.testing.assert_array_equal(law.applied_stiffness, [100.0, 100.0])
    law.torques(state, np.array([0.1, 0.1]), ImpedanceGains([1000.0, 1000.0]))
    assert law.tank.level == 0.0
    law.reset()
    assert law.tank.level == 0.5
    np.testing.assert_array_equal(law.applied_stiffness, [100.0, 100.0])


# -- 6. interpolation -------------------------------------------------------------------------------


def test_interpolate_endpoints_and_monotonicity() -> None:
    prev = (np.array([0.0, 0.5, 0.2]), ImpedanceGains([100.0, 2000.0, 300.0], 0.5))
    new = (np.array([0.1, 0.3, 0.2]), ImpedanceGains([1600.0, 125.0, 300.0], [1.0, 0.5, 0.7]))
    ramp = interpolate(prev, new, 50)
    assert ramp.setpoint.shape == ramp.stiffness.shape == ramp.damping_ratio.shape == (50, 3)
    # The last tick is the new decision exactly; the first is one step away from the previous one.
    np.testing.assert_array_equal(ramp.setpoint[-1], new[0])
    np.testing.assert_array_equal(ramp.stiffness[-1], new[1].stiffness)
    np.testing.assert_array_equal(ramp.damping_ratio[-1], new[1].damping_ratio)
    np.testing.assert_allclose(ramp.setpoint[0], prev[0] + (new[0] - prev[0]) / 50)
    np.testing.assert_allclose(
        ramp.stiffness[0], prev[1].stiffness * (new[1].stiffness / prev[1].stiffness) ** (1 / 50)
    )
    # Monotone per axis, in the direction of the change (constant where nothing changes).
    for series, a, b in (
        (ramp.setpoint, prev[0], new[0]),
        (ramp.stiffness, prev[1].stiffness, new[1].stiffness),
        (ramp.damping_ratio, prev[1].damping_ratio, new[1].damping_ratio),
    ):
        steps = np.diff(np.vstack([a, series]), axis=0) * np.sign(b - a)
        assert np.all(steps >= -1e-12)
        assert np.all(steps[:, b != a] > 0)
    # Linear in position, linear in log-stiffness: constant differences and constant ratios.
    np.testing.assert_allclose(
        np.diff(ramp.setpoint, axis=0), (new[0] - prev[0]) / 50 + np.zeros((49, 3)), atol=1e-15
    )
    ratios = ramp.stiffness[1:] / ramp.stiffness[:-1]
    np.testing.assert_allclose(ratios, np.broadcast_to(ratios[0], ratios.shape), rtol=1e-12)
    np.testing.assert_allclose(ratios[0], [2.0 ** (4 / 50), 2.0 ** (-4 / 50), 1.0], rtol=1e-12)
    gains = ramp.gains(10)
    assert isinstance(gains, ImpedanceGains)
    np.testing.assert_array_equal(gains.stiffness, ramp.stiffness[10])


def test_interpolate_one_step_and_errors() -> None:
    prev = (np.zeros(2), ImpedanceGains([100.0, 100.0]))
    new = (np.ones(2), ImpedanceGains([200.0, 50.0]))
    ramp = interpolate(prev, new, 1)
    np.testing.assert_array_equal(ramp.setpoint, [[1.0, 1.0]])
    np.testing.assert_array_equal(ramp.stiffness, [[200.0, 50.0]])
    with pytest.raises(ValueError, match="interpolate.steps"):
        interpolate(prev, new, 0)
    with pytest.raises(ValueError, match=r"new gains.stiffness\[1\] must be > 0"):
        interpolate(prev, (np.ones(2), ImpedanceGains([100.0, 0.0])), 5)
    with pytest.raises(ValueError, match="prev gains have 3 axes"):
        interpolate((np.zeros(3), ImpedanceGains([1.0, 1.0, 1.0])), new, 5)
    with pytest.raises(ValueError, match="interpolate: new setpoint"):
        interpolate(prev, (np.ones(3), ImpedanceGains([1.0, 1.0])), 5)


# -- torque limits and the Controller adapter ------------------------------------------------------


def test_torque_limits_clip_and_count_per_joint() -> None:
    law = CartesianImpedance(2, 2, stiffness_max=1e4, torque_limit=[5.0, 50.0])
    state = arm_state(x=np.zeros(2), qd=np.zeros(2), mass=np.eye(2))
    gains = ImpedanceGains([1000.0, 1000.0])
    np.testing.assert_array_equal(law.torques(state, np.array([0.01, -0.01]), gains), [5.0, -10.0])
    np.testing.assert_array_equal(law.torques(state, np.array([-0.1, -0.1]), gains), [-5.0, -50.0])
    np.testing.assert_array_equal(law.saturations, [2, 1])
    np.testing.assert_array_equal(law.torques(state, np.array([0.001, 0.0]), gains), [1.0, 0.0])
    np.testing.assert_array_equal(law.saturations, [2, 1])
    law.reset()
    np.testing.assert_array_equal(law.saturations, [0, 0])


def test_controller_adapter_holds_the_first_pose_then_follows_commands() -> None:
    mass = np.eye(2)

    def state_fn(obs: np.ndarray) -> ArmState:  # obs = [x, xd] of a point mass
        return arm_state(x=obs[:2], qd=obs[2:], mass=mass)

    law = CartesianImpedance(2, 2, stiffness_max=1000.0)
    ctrl = ImpedanceController(law, state_fn, hold_gains=ImpedanceGains([200.0, 200.0]))
    assert isinstance(ctrl, Controller)
    np.testing.assert_array_equal(ctrl.act(np.array([0.3, -0.2, 0.0, 0.0])), [0.0, 0.0])  # holds here
    np.testing.assert_allclose(ctrl.act(np.array([0.4, -0.2, 0.0, 0.0])), [-20.0, 0.0])  # pulled back
    ctrl.set_command(np.array([1.0, 1.0]), ImpedanceGains([500.0, 100.0]))
    np.testing.assert_allclose(ctrl.act(np.array([0.0, 0.0, 0.0, 0.0])), [500.0, 100.0])
    with pytest.raises(ValueError, match=r"gains.stiffness\[0\]"):
        ctrl.set_command(np.zeros(2), ImpedanceGains([5000.0, 100.0]))
    ctrl.reset()
    np.testing.assert_array_equal(ctrl.act(np.array([1.0, 2.0, 0.0, 0.0])), [0.0, 0.0])
