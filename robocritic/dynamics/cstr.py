"""Safety-critical CSTR: a T2 Laboratories-type runaway reactor as a continuous-flow model.

Chemistry (docs/yann.md#safety-critical-cstr; Braniff & Tian, arXiv 2508.16474):

* reaction 1, the wanted one: ``A + B -> P`` (methylcyclopentadiene + sodium -> sodium
  methylcyclopentadienide + 1/2 H2), ``r1 = k1(T) C_A C_B``, ``dH1 = -45.6 kJ/mol``;
* reaction 2, the hazard: ``S -> gases`` (decomposition of the diglyme solvent),
  ``r2 = k2(T) C_S``, ``dH2 = -320 kJ/mol``, ``E2 = 800 kJ/mol``. At 475 K it is negligible
  (k2 ~ 1e-4 1/h), but k2 grows ~8x per 5 K, which is why 480 K is the safety limit.

``k_i = A_i exp(-E_i / (R T))`` with ``A = (4e14 L/(mol h), 1e84 1/h)``, ``E = (128, 800) kJ/mol``.

Model (all assumptions are ours: the paper lists parameters but not the balances):

1. Ideal CSTR: perfectly mixed liquid, constant volume ``V`` (outflow = inflow ``F``), constant
   molar density ``rho`` and molar heat capacity ``Cp`` (the given 36 mol/L and
   430.91 J/(mol K)); no vapour phase, no pressure state (the H2 and decomposition gases are
   assumed vented).
2. One feed stream of A, B and solvent S at ``T_in``; dilution rate ``D = F / V``::

       dC_A/dt = D (C_A,in - C_A) - r1
       dC_B/dt = D (C_B,in - C_B) - r1
       dC_S/dt = D (C_S,in - C_S) - r2
       dT/dt   = D (T_in - T) + (-dH1 r1 - dH2 r2) / (rho Cp) - U A_x (T - T_c) / (rho Cp V)

   with the jacket at ``T_c = 373 K`` and the manipulated input ``U``, the overall heat-transfer
   coefficient in W/(m^2 K) (a variable-area / variable-flow cooling jacket).
3. Time. The rate constants are per hour: with them, the paper's input column
   ``B = -0.0007`` at ``dt = 1/60`` is reproduced to 2e-4 only if time is in hours and U in
   W/(m^2 K) (-5.2e-4 here; minutes would give -8.7e-6). So the paper's sample time is
   1 minute. Following robocritic's SI convention, this module integrates in **seconds**
   (``dt = 60 s``); rate parameters are entered per hour as published and converted once.
4. Operating point: ``T_eq = 475 K`` by design (the MPC's bound ``T - T_eq <= 5`` is the safety
   limit 480 K). The steady state is solved in closed form: ``C_S`` from its own balance, ``C_A``
   from a quadratic (``C_A - C_B = C_A,in - C_B,in`` at steady state), and ``U_eq`` from the
   energy balance; :meth:`CSTRModel.__post_init__` checks ``|f(x_eq, u_eq)| ~ 0``.

Feed and flow (not published) were chosen by a grid search that minimises the largest entry
error against the paper's A (A[3,0] excluded, see below) with ``A[3,3]`` held at 1.0030 (the
paper's open-loop instability), ``U_eq - 55 >= 0`` and a plausible feed (reactants in diglyme,
36 mol/L in total, preheated but cooler than the reactor), then rounded:
``F = 800 L/h`` (residence time 5 h), ``C_in = (11, 12, 13) mol/L``, ``T_in = 461.5 K``, giving
``x_eq = (0.438, 1.438, 12.993 mol/L, 475 K)``, ``U_eq = 112.8 W/(m^2 K)``.

Why the paper's A cannot be matched with the given parameters (rates per hour, h = 1/60 h):

* ``A_c[3,0] = (-dH1/(rho Cp)) dr1/dC_A`` and ``A_c[0,0] = -D - dr1/dC_A``, so
  ``A_c[3,0] <= 2.94 |A_c[0,0]|``; with ``A[0,0] = 0.9506`` that is ``A[3,0] <~ 0.15``, not 0.697.
* The zero ``A[0,1] = -k1 C_A h`` and ``A[3,1] = 2.94 k1 C_A h = 0.0678`` contradict each other;
  the best compromise errs by 0.017 on both.
* ``A[1,1] = 0.9943`` and ``A[2,2] = 0.9909`` need different dilution rates for B and S;
  ``k2(475 K) ~ 1e-4 1/h`` cannot make up the 0.2 1/h difference.
* ``A[3,3] > 1`` needs ``0.20 r1 > 0.18 + D + U A_x/(rho Cp V)`` (1/h): the heat-release slope of
  reaction 1 must beat outflow and cooling. Matching ``A[0,0]`` and ``A[1,1]`` as well would bound
  ``r1 <= 0.31 mol/(L h)`` (slope <= 0.06 1/h), so the instability forces a larger ``k1 C_A``
  (``A[0,1] != 0``) and a visible ``dr1/dT`` in ``A[0,3]``, ``A[1,3]``.

Achieved (``tests/dynamics/test_cstr.py`` keeps the exact values): the paper's signs; its zero
entries are ``|.| <= 2.3e-3`` except ``A[0,1] = -0.023``; ``A[3,3] = 1.0030``; ``B[3] = -5.2e-4``
(paper -7e-4); all other entries within 0.031 except ``A[3,0] = 0.224`` (paper 0.697).

Beyond the safety limit: from about 488 K no cooling stops the decomposition and T runs away to
~750 K while the solvent is consumed; :meth:`CSTRModel.step` integrates through it.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy.integrate import ODEintWarning, odeint, solve_ivp

from robocritic.dynamics.base import Box, DynamicsModel
from robocritic.utils.validation import as_vector

__all__ = ["CSTRModel"]

GAS_CONSTANT = 8.314  # J/(mol K)
SECONDS_PER_HOUR = 3600.0


def _is_real(value: object) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


@dataclass(frozen=True)
class CSTRModel(DynamicsModel):
    """Runaway-prone CSTR. State ``[C_A, C_B, C_S (mol/L), T (K)]``; input ``[U (W/(m^2 K))]``.

    Time is in seconds (``dt = 60 s``, the paper's 1/60 h). See the module docstring for the
    balances and every modelling assumption. The operating point ``(x_eq, u_eq)`` is computed
    in ``__post_init__``; the state box is the MPC benchmark's ``|C_i - C_i,eq| <= 2 mol/L``,
    ``-70 <= T - T_eq <= 5 K`` (upper edge = the 480 K safety limit), the input box
    ``|U - U_eq| <= 55 W/(m^2 K)``.
    """

    dt: float = 60.0  # s (1 min, the paper's 1/60 h)
    # Given by the paper.
    volume: float = 4000.0  # L
    molar_density: float = 36.0  # mol/L (rho)
    heat_capacity: float = 430.91  # J/(mol K) (Cp)
    heat_transfer_area: float = 5.3  # m^2 (A_x)
    coolant_temp: float = 373.0  # K (T_c)
    heat_of_reaction_1: float = -45.6e3  # J/mol
    heat_of_reaction_2: float = -320.0e3  # J/mol
    pre_exponential_1: float = 4.0e14  # L/(mol h)
    pre_exponential_2: float = 1.0e84  # 1/h
    activation_energy_1: float = 1.28e5  # J/mol
    activation_energy_2: float = 8.0e5  # J/mol
    # Our assumptions (see module docstring).
    feed_flow: float = 800.0  # L/h
    feed_conc_a: float = 11.0  # mol/L
    feed_conc_b: float = 12.0  # mol/L
    feed_conc_s: float = 13.0  # mol/L
    feed_temp: float = 461.5  # K
    operating_temp: float = 475.0  # K, T_eq
    # Limits of the MPC benchmark (docs/yann.md#safety-critical-cstr), as deviations from the operating point.
    max_conc_deviation: float = 2.0  # mol/L
    max_temp_drop: float = 70.0  # K below T_eq
    safety_temp: float = 480.0  # K, T < safety_temp is the safety constraint
    max_input_deviation: float = 55.0  # W/(m^2 K)
    # Numerical guard, far outside the operating range: rate constants are evaluated at
    # min(T, rate_temp_cap). Beyond ~490 K the decomposition runs away; near 700 K k2 ~ 1e21 1/s
    # and the last few hundred kelvin of the explosion would take ~1e-20 s, which no integrator
    # resolves in float64 time. With the cap the same heat (same peak T) is released within
    # ~1e-4 s. Nothing below the cap changes (and the real vessel would have burst long before).
    rate_temp_cap: float = 550.0  # K

    state_names = ("C_A", "C_B", "C_S", "T")
    input_names = ("U",)
    # Near the operating point the fastest mode is ~1e-3 1/s; during a runaway k2 grows by
    # orders of magnitude (E2 = 800 kJ/mol) and the ODE becomes very stiff. LSODA switches
    # between non-stiff and stiff (BDF) methods, so it is cheap in normal operation and robust
    # in a runaway. step() calls ODEPACK's LSODA through odeint: same method as
    # solve_ivp("LSODA") with ~5x less per-call overhead, and it uses the analytic Jacobian;
    # Radau takes over if LSODA ever reports a failure (a safety net: before rate_temp_cap was
    # introduced, LSODA stalled after complete runaways; with it, none has been seen).
    ode_method = "LSODA"
    ode_rtol = 1e-8
    ode_atol = 1e-10
    _MXSTEP: ClassVar[int] = 20000  # LSODA internal steps per control step (a runaway needs many)

    def __post_init__(self) -> None:
        positive = (
            "dt", "volume", "molar_density", "heat_capacity", "heat_transfer_area", "coolant_temp",
            "pre_exponential_1", "pre_exponential_2", "activation_energy_1", "activation_energy_2",
            "feed_flow", "feed_temp", "operating_temp", "max_conc_deviation", "max_temp_drop",
            "safety_temp", "max_input_deviation", "rate_temp_cap",
        )
        for name in positive:
            value = getattr(self, name)
            if not (_is_real(value) and math.isfinite(value) and value > 0):
                raise ValueError(f"CSTRModel.{name} must be a positive finite number; got {value!r}")
        for name in ("heat_of_reaction_1", "heat_of_reaction_2", "feed_conc_a", "feed_conc_b", "feed_conc_s"):
            value = getattr(self, name)
            if not (_is_real(value) and math.isfinite(value)):
                raise ValueError(f"CSTRModel.{name} must be a finite number; got {value!r}")
        for name in ("feed_conc_a", "feed_conc_b", "feed_conc_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"CSTRModel.{name} must be >= 0 mol/L; got {getattr(self, name)!r}")
        if self.safety_temp <= self.operating_temp:
            raise ValueError(
                f"CSTRModel.safety_temp ({self.safety_temp} K) must exceed operating_temp "
                f"({self.operating_temp} K)"
            )
        if self.rate_temp_cap <= self.safety_temp:
            raise ValueError(
                f"CSTRModel.rate_temp_cap ({self.rate_temp_cap} K) must exceed safety_temp "
                f"({self.safety_temp} K) so that it never alters the dynamics being controlled"
            )
        if self.operating_temp <= self.coolant_temp:
            raise ValueError(
                f"CSTRModel.operating_temp ({self.operating_temp} K) must exceed coolant_temp "
                f"({self.coolant_temp} K): the jacket can only cool"
            )
        # Constants of f in SI time, computed once (step() evaluates f thousands of times).
        set_ = lambda k, v: object.__setattr__(self, k, v)
        set_("_d", self.feed_flow / self.volume / SECONDS_PER_HOUR)  # 1/s
        set_("_ln_a1", math.log(self.pre_exponential_1 / SECONDS_PER_HOUR))  # ln L/(mol s)
        set_("_ln_a2", math.log(self.pre_exponential_2 / SECONDS_PER_HOUR))  # ln 1/s
        set_("_e1", self.activation_energy_1 / GAS_CONSTANT)  # K
        set_("_e2", self.activation_energy_2 / GAS_CONSTANT)  # K
        rho_cp = self.molar_density * self.heat_capacity  # J/(L K)
        set_("_q1", -self.heat_of_reaction_1 / rho_cp)  # K L/mol, adiabatic rise per mol/L of r1
        set_("_q2", -self.heat_of_reaction_2 / rho_cp)  # K L/mol
        set_("_a", self.heat_transfer_area / (rho_cp * self.volume))  # m^2 K/J: U a (T - T_c) is K/s
        x_eq, u_eq = self._solve_steady_state()
        set_("_x_eq", x_eq)
        set_("_u_eq", u_eq)

    # ---- operating point ------------------------------------------------------------------
    def _solve_steady_state(self) -> tuple[np.ndarray, np.ndarray]:
        """Closed-form steady state at ``T = operating_temp``; ``U_eq`` holds it there."""
        T = self.operating_temp
        d = self._d
        k1, k2 = self.rate_constants(T)
        # A and B are consumed 1:1, so C_A - C_B = C_A,in - C_B,in at steady state; substituting
        # into D (C_A,in - C_A) = k1 C_A C_B gives k1 C_A^2 + (D - k1 delta) C_A - D C_A,in = 0,
        # whose positive root is the only physical one (the other is negative). Of the two
        # algebraically equal forms, take the one without cancellation for the sign of b.
        delta = self.feed_conc_a - self.feed_conc_b
        b = d - k1 * delta
        root = math.sqrt(b * b + 4.0 * k1 * d * self.feed_conc_a)
        c_a = 2.0 * d * self.feed_conc_a / (b + root) if b > 0 else (root - b) / (2.0 * k1)
        c_b = c_a - delta
        c_s = d * self.feed_conc_s / (d + k2)
        if c_a < 0 or c_b < 0:
            raise ValueError(
                f"CSTRModel.feed_conc_a/feed_conc_b give a negative steady state (C_A={c_a:.4g}, "
                f"C_B={c_b:.4g} mol/L); check the feed"
            )
        heat = d * (self.feed_temp - T) + self._q1 * k1 * c_a * c_b + self._q2 * k2 * c_s  # K/s
        u_eq = heat / (self._a * (T - self.coolant_temp))
        if u_eq - self.max_input_deviation < 0:
            raise ValueError(
                f"CSTRModel: the operating point needs U_eq = {u_eq:.4g} W/(m^2 K), so the input box "
                f"U_eq +- max_input_deviation ({self.max_input_deviation}) reaches a negative heat-"
                "transfer coefficient; raise feed_temp or the feed concentrations, or lower "
                "max_input_deviation"
            )
        x_eq = np.array([c_a, c_b, c_s, T])
        u = np.array([u_eq])
        # The closed form is exact up to rounding; check it against f itself, scaled by the
        # size of the terms that cancel (a wrong sign anywhere above would show here).
        residual = np.abs(self.f(x_eq, u))
        feed = np.maximum([self.feed_conc_a, self.feed_conc_b, self.feed_conc_s], 1.0)
        scale = np.append(d * feed, abs(heat) + d * T)
        if np.any(residual > 1e-10 * scale):
            raise RuntimeError(f"CSTRModel steady state is not a root of f: residual {residual}")
        return x_eq, u

    @property
    def x_eq(self) -> np.ndarray:
        """Operating point ``[C_A, C_B, C_S (mol/L), T (K)]`` with ``T = operating_temp``."""
        return self._x_eq.copy()

    @property
    def u_eq(self) -> np.ndarray:
        """Heat-transfer coefficient that holds :attr:`x_eq`, W/(m^2 K), shape ``(1,)``."""
        return self._u_eq.copy()

    @property
    def dilution_rate(self) -> float:
        """``D = F / V`` in 1/s."""
        return self._d

    @property
    def state_box(self) -> Box:
        """MPC benchmark limits in absolute units; ``high[3]`` is the 480 K safety limit.

        The concentration lower edges may be negative: they are the benchmark's symmetric
        deviation bounds, never binding for a physical (non-negative) concentration.
        """
        x = self._x_eq
        c = self.max_conc_deviation
        return Box(
            np.array([x[0] - c, x[1] - c, x[2] - c, x[3] - self.max_temp_drop]),
            np.array([x[0] + c, x[1] + c, x[2] + c, self.safety_temp]),
        )

    @property
    def input_box(self) -> Box:
        """``U_eq +- max_input_deviation`` in W/(m^2 K) (non-negative by construction)."""
        u = float(self._u_eq[0])
        return Box(np.array([u - self.max_input_deviation]), np.array([u + self.max_input_deviation]))

    # ---- dynamics ----------------------------------------------------------------------------
    def rate_constants(self, T: float) -> tuple[float, float]:
        """``(k1 in L/(mol s), k2 in 1/s)`` at temperature ``T`` (K), evaluated at
        ``min(T, rate_temp_cap)``."""
        if T <= 0:
            # Only an integrator's trial point can get here; k -> 0 as T -> 0+, and exp(-E/RT)
            # with T <= 0 would overflow.
            return 0.0, 0.0
        T = min(T, self.rate_temp_cap)
        return math.exp(self._ln_a1 - self._e1 / T), math.exp(self._ln_a2 - self._e2 / T)

    def _rhs(self, c_a: float, c_b: float, c_s: float, T: float, U: float) -> list[float]:
        # Scalar math: this runs inside the integrator's inner loop, where numpy's per-call
        # overhead on 4-vectors would dominate.
        d = self._d
        k1, k2 = self.rate_constants(T)
        # Rates see max(C, 0): identical for physical states, and a negative concentration (a
        # corner of the MPC's box, or integrator round-off) relaxes back through the flow
        # instead of a mass-action blow-up (r1 = k1 C_A C_B > 0 when both are negative).
        c_a_, c_b_, c_s_ = max(c_a, 0.0), max(c_b, 0.0), max(c_s, 0.0)
        r1 = k1 * c_a_ * c_b_
        r2 = k2 * c_s_
        return [
            d * (self.feed_conc_a - c_a) - r1,
            d * (self.feed_conc_b - c_b) - r1,
            d * (self.feed_conc_s - c_s) - r2,
            d * (self.feed_temp - T) + self._q1 * r1 + self._q2 * r2
            - U * self._a * (T - self.coolant_temp),
        ]

    def _jac(self, c_a: float, c_b: float, c_s: float, T: float, U: float) -> np.ndarray:
        d = self._d
        k1, k2 = self.rate_constants(T)
        # dk/dT from Arrhenius; zero where the rates are frozen (T <= 0 or T > rate_temp_cap).
        live = 0.0 < T < self.rate_temp_cap
        dk1 = k1 * self._e1 / (T * T) if live else 0.0
        dk2 = k2 * self._e2 / (T * T) if live else 0.0
        c_a_, c_b_, c_s_ = max(c_a, 0.0), max(c_b, 0.0), max(c_s, 0.0)
        # d max(C, 0)/dC: 1 inside the physical domain, 0 below it (one-sided at C = 0).
        ga, gb, gs = float(c_a > 0), float(c_b > 0), float(c_s > 0)
        q1, q2 = self._q1, self._q2
        dr1_da, dr1_db, dr1_dt = k1 * c_b_ * ga, k1 * c_a_ * gb, dk1 * c_a_ * c_b_
        dr2_ds, dr2_dt = k2 * gs, dk2 * c_s_
        return np.array([
            [-d - dr1_da, -dr1_db, 0.0, -dr1_dt],
            [-dr1_da, -d - dr1_db, 0.0, -dr1_dt],
            [0.0, 0.0, -d - dr2_ds, -dr2_dt],
            [q1 * dr1_da, q1 * dr1_db, q2 * dr2_ds, -d + q1 * dr1_dt + q2 * dr2_dt - U * self._a],
        ])

    def f(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        """``dx/dt`` in (mol/(L s), mol/(L s), mol/(L s), K/s)."""
        return np.array(self._rhs(float(x[0]), float(x[1]), float(x[2]), float(x[3]), float(u[0])))

    def jacobians(self, x: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Analytic ``(df/dx (4, 4), df/du (4, 1))`` in per-second units."""
        c_a, c_b, c_s, T = (float(v) for v in x)
        A = self._jac(c_a, c_b, c_s, T, float(u[0]))
        B = np.array([[0.0], [0.0], [0.0], [-self._a * (T - self.coolant_temp)]])
        return A, B

    def step(self, x: np.ndarray, u: np.ndarray, dt: float | None = None) -> np.ndarray:
        """Integrate over ``dt`` seconds (default :attr:`dt`) with ``U`` held (LSODA with the
        analytic Jacobian, Radau as fall-back). ``ValueError`` if ``T <= 0`` K."""
        x = as_vector("x", x, 4)
        U = float(as_vector("u", u, 1)[0])
        h = self.dt if dt is None else float(dt)
        if not h > 0:
            raise ValueError(f"dt must be > 0 seconds; got {dt!r}")
        if x[3] <= 0:
            raise ValueError(f"x[3] (T) must be > 0 K; got {x[3]!r}")
        with warnings.catch_warnings():
            # A failed LSODA attempt is handled below; its warning would only be noise.
            warnings.simplefilter("ignore", ODEintWarning)
            y, info = odeint(
                lambda y, _t: self._rhs(y[0], y[1], y[2], y[3], U),
                x,
                (0.0, h),
                Dfun=lambda y, _t: self._jac(y[0], y[1], y[2], y[3], U),
                rtol=self.ode_rtol,
                atol=self.ode_atol,
                mxstep=self._MXSTEP,
                full_output=True,
            )
        if info["message"] == "Integration successful.":
            return y[-1]
        # Radau (fully implicit, L-stable, ~1 ms per step) integrated every case in which LSODA's
        # Newton iteration stalled during development.
        sol = solve_ivp(
            lambda _t, y: self._rhs(y[0], y[1], y[2], y[3], U),
            (0.0, h),
            x,
            method="Radau",
            jac=lambda _t, y: self._jac(y[0], y[1], y[2], y[3], U),
            rtol=self.ode_rtol,
            atol=self.ode_atol,
        )
        if not sol.success:
            raise RuntimeError(
                f"CSTRModel.step: ODE integration failed (LSODA: {info['message']}; Radau: {sol.message})"
            )
        return sol.y[:, -1]
