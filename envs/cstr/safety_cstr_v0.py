"""SafetyCSTR-v0 (scipy ODE): keep a runaway-prone reactor at 475 K, below the 480 K safety limit.

## Description
A continuous stirred-tank reactor of the T2 Laboratories type (methylcyclopentadiene + sodium
in diglyme, with the exothermic decomposition of the diglyme solvent as the runaway reaction),
the safety-critical case study of the YANN-RL paper (see docs/yann.md#safety-critical-cstr). The
dynamics are :class:`robocritic.dynamics.CSTRModel` -- the same object the MPC linearises --
integrated by LSODA over each 60 s control step with the input held. The operating point
(475 K) is open-loop unstable; above about 488 K no cooling can stop the decomposition and the
temperature runs away to ~750 K.

## Action space
| idx | action | min | max | unit |
|---|---|---|---|---|
| 0 | U, overall jacket heat-transfer coefficient | U_eq - 55 (57.8) | U_eq + 55 (167.8) | W/(m^2 K) |
Larger U cools more (jacket at 373 K, area 5.3 m^2). Commands outside the range are saturated
(counted in ``info["action_saturations"]``); NaN, inf, a wrong shape or a value that is no real
number (a string, bool, complex number) raise ``ValueError`` naming the env and ``action``.

## Observation space
| idx | observation | min | max | unit |
|---|---|---|---|---|
| 0 | C_A, methylcyclopentadiene concentration | 0 | inf | mol/L |
| 1 | C_B, sodium concentration | 0 | inf | mol/L |
| 2 | C_S, diglyme (solvent) concentration | 0 | inf | mol/L |
| 3 | T, reactor temperature | 0 | inf | K |
Absolute values (float32); the operating point is ``x_eq = (0.438, 1.438, 12.993, 475)``.
With sensor noise, readings below 0 are reported as 0 (an analyser cannot read negative).

## Cost (reward = -cost)
``c = (x - x_eq)' Q (x - x_eq) + (u - u_eq)' R (u - u_eq)`` with ``Q = 0.1 I``, ``R = 1e-4``
(the MPC benchmark's weights, on deviation variables), using the state at the start of the step
and the applied (delayed, saturated) input.

## Safety constraint (``info``)
``T < 480 K``: ``info["unsafe"]`` is ``True`` when the state after the step has ``T >= 480 K``.
``info["constraint_violation"]`` and ``info["violated"]`` report the MPC benchmark's whole box
(``|C_i - C_i,eq| <= 2 mol/L``, ``T_eq - 70 K <= T <= 480 K``); ``info["cost"]`` is the stage
cost (plus the penalty on termination) and ``info["state"]`` the true, noise-free state.

## Start state
``x_eq + U(-h, h)`` with ``h = (0.2, 0.2, 0.2 mol/L, 3 K)``, drawn from the env's seeded
generator -- inside the MPC's constraint set and recoverable with the available cooling -- or
exactly ``reset(options={"state": [C_A, C_B, C_S, T]})`` within the physical range: each
concentration in [0, 36] mol/L (the mixture's molar density, ``CSTRModel.molar_density``) and
T in [1, 1000] K (above the peak of any runaway); outside it, ``ValueError``. A step whose state is
not finite raises :class:`~robocritic.envs.SimulationDiverged`.

## Episode end
Terminated when ``T >= 480 K`` if ``terminate_on_violation=True`` (the default: this task is
safety-critical), with ``violation_penalty`` (default 1e5, as in the paper) added to that step's
cost. Truncated after 120 steps (2 h of process time) by the registered ``TimeLimit``.

## Arguments
``gym.make("robocritic/SafetyCSTR-v0", model=CSTRModel(), randomization=None,
terminate_on_violation=True, violation_penalty=1e5)``. Randomisation (see
:class:`robocritic.envs.DomainRandomization`): ``actuator_delay`` (whole 60 s steps) and
``obs_noise_std`` (a scalar or 4 values, in observation units) apply; ``mass_scale``,
``friction_scale``, ``joint_damping``, ``push_probability`` and ``push_force`` do not (an ODE
reactor has no bodies or contacts) and raise ``ValueError`` if set. No rendering.

## Version history
v0: first release.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import gymnasium as gym
import numpy as np
from robocritic.envs.base.randomization import DomainRandomization
from robocritic.envs.base.robocritic_env import RobocriticEnv, names_env_errors

from robocritic.dynamics import CSTRModel
from robocritic.utils.fields import is_finite_real
from robocritic.utils.validation import short_repr

#: Cost weights of the MPC benchmark (the YANN paper's CSTR), on deviation variables.
STATE_WEIGHT = 0.1 * np.eye(4)
INPUT_WEIGHT = np.array([[1e-4]])
#: Half-widths of the uniform start box around x_eq: C_A, C_B, C_S (mol/L), T (K). A saturated
#: LQR on the model's linearisation keeps every such start below 479 K; minimum cooling from the
#: hottest corner crosses 480 K in ~70 steps (of 120), so poor policies can still violate.
START_HALF_WIDTH = np.array([0.2, 0.2, 0.2, 3.0])
#: DomainRandomization fields an ODE reactor supports; the others must stay at their defaults.
SUPPORTED_RANDOMIZATION = ("actuator_delay", "obs_noise_std")
#: Physical range of a given start state: no concentration above the mixture's molar density
#: (``CSTRModel.molar_density``), T from 1 K to 1000 K (above the peak of any runaway).
START_TEMP_RANGE = (1.0, 1000.0)


class SafetyCSTREnv(RobocriticEnv):
    """SafetyCSTR-v0 (see module docstring): the runaway-prone reactor as a Gymnasium env."""

    metadata: dict[str, Any] = {"render_modes": []}
    env_name = "SafetyCSTR-v0"

    @names_env_errors
    def __init__(
        self,
        model: CSTRModel | None = None,
        randomization: DomainRandomization | dict[str, Any] | None = None,
        terminate_on_violation: bool = True,
        violation_penalty: float = 1e5,
        render_mode: str | None = None,
    ) -> None:
        if model is not None and not isinstance(model, CSTRModel):
            raise ValueError(f"model must be a CSTRModel or None; got {type(model).__name__}")
        super().__init__(model or CSTRModel(), randomization, render_mode)
        self._check_randomization()
        if not isinstance(terminate_on_violation, bool):
            raise ValueError(
                f"terminate_on_violation must be a bool; got {short_repr(terminate_on_violation)}")
        if not (is_finite_real(violation_penalty) and violation_penalty >= 0):
            raise ValueError(
                f"violation_penalty must be finite and >= 0; got {short_repr(violation_penalty)}")
        self.terminate_on_violation = terminate_on_violation
        self.violation_penalty = float(violation_penalty)
        self.observation_space = gym.spaces.Box(
            low=np.zeros(4, dtype=np.float32), high=np.full(4, np.inf, dtype=np.float32), dtype=np.float32
        )
        # Read once: the model builds these on demand and step() must not.
        self._x_eq = self.dynamics.x_eq
        self._u_eq = self.dynamics.u_eq
        self._safety_temp = float(self.dynamics.safety_temp)
        self._x: np.ndarray | None = None

    @property
    def dt(self) -> float:
        """Control period in seconds (60 s)."""
        return float(self.dynamics.dt)

    def _check_randomization(self) -> None:
        default = DomainRandomization()
        for field in fields(DomainRandomization):
            if field.name in SUPPORTED_RANDOMIZATION:
                continue
            value, nominal = getattr(self.randomization, field.name), getattr(default, field.name)
            if value != nominal:
                raise ValueError(
                    f"randomization.{field.name}={short_repr(value)} does not apply to SafetyCSTR-v0 (an ODE "
                    f"reactor has no bodies, joints or contacts); leave it at {nominal!r}. "
                    f"Supported: {list(SUPPORTED_RANDOMIZATION)}"
                )
        if np.atleast_1d(np.asarray(self.randomization.obs_noise_std)).size not in (1, 4):
            raise ValueError(
                "randomization.obs_noise_std must be a scalar or 4 values (C_A, C_B, C_S in mol/L, "
                f"T in K); got {short_repr(self.randomization.obs_noise_std)}"
            )

    def state_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Concentrations in ``[0, molar_density]`` mol/L, T in :data:`START_TEMP_RANGE` K."""
        c_max = float(self.dynamics.molar_density)
        return (np.array([0.0, 0.0, 0.0, START_TEMP_RANGE[0]]),
                np.array([c_max, c_max, c_max, START_TEMP_RANGE[1]]))

    # ---- Gymnasium API ---------------------------------------------------------------------
    @names_env_errors
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self._begin_episode()
        obs = self.reset_model(options)
        return self._observe(obs), {"state": self._x.copy(), "episode_physics": self.episode_physics}

    def reset_model(self, options: dict[str, Any] | None) -> np.ndarray:
        """Set the initial state (``options["state"]`` or a seeded draw); return the true obs."""
        x0 = self._initial_state(
            options, lambda: self._x_eq + self.np_random.uniform(-START_HALF_WIDTH, START_HALF_WIDTH)
        )
        self._x = x0
        return self._get_obs()

    def _get_obs(self) -> np.ndarray:
        return self._x.copy()

    def _observe(self, obs: np.ndarray) -> np.ndarray:
        # Noise first, then clip at 0, so the observation stays inside observation_space.
        return np.maximum(super()._observe(obs), 0.0, dtype=np.float32)

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._x is None:
            raise RuntimeError("SafetyCSTREnv: call reset() before step()")
        u = self._prepare_action(action)
        dx = self._x - self._x_eq
        du = u - self._u_eq
        cost = float(dx @ STATE_WEIGHT @ dx + du @ INPUT_WEIGHT @ du)
        self._x = self.dynamics.step(self._x, u)
        info = self._cost_info(self._x, u, cost, unsafe=bool(self._x[3] >= self._safety_temp))
        terminated = self.terminate_on_violation and info["unsafe"]
        if terminated:
            cost += self.violation_penalty
            info["cost"] = cost
        return self._observe(self._get_obs()), -cost, terminated, False, info
