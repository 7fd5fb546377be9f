"""Run any :class:`~robocritic.interfaces.Controller` in closed loop, without ROS.

The plant can be a :class:`~robocritic.dynamics.DynamicsModel` (its ODE is integrated by
scipy, no simulator), a :class:`~robocritic.dynamics.LinearModel` (deviation dynamics), a Gymnasium
env instance, or a registered env id (run by :func:`robocritic.learning.rollout.run_episode`,
the rollout loop training and evaluation use). Every run returns a :class:`Trajectory` that the
assertions in :mod:`robocritic.testing.assertions` check.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from robocritic.dynamics import Box, DynamicsModel, LinearModel
from robocritic.interfaces import Controller, SafetyFilter
from robocritic.learning.rollout import Transition, run_episode
from robocritic.utils.validation import as_vector

Plant = DynamicsModel | LinearModel | gym.Env | str


@dataclass(frozen=True)
class Trajectory:
    """One closed-loop run. ``T`` control steps of ``dt`` seconds.

    Attributes:
        states: (T+1, n_x) true states, absolute units.
        observations: (T+1, n_obs) what the controller was given (noisy, float32 for envs).
        actions: (T, n_u) commands the controller (after the safety filter) sent.
        costs: (T,) stage costs.
        violations: (T+1,) summed state-constraint excess of each state (0 = satisfied).
        compute_times: (T,) wall seconds spent in ``act`` (+ ``certify``).
        dt: control period, s.
        state_box / input_box: the limits the run was judged against.
        state_names / input_names: labels for messages and plots.
        terminated: whether the plant ended the episode early.
    """

    states: np.ndarray
    observations: np.ndarray
    actions: np.ndarray
    costs: np.ndarray
    violations: np.ndarray
    compute_times: np.ndarray
    dt: float
    state_box: Box
    input_box: Box
    state_names: tuple[str, ...]
    input_names: tuple[str, ...]
    terminated: bool = False

    @property
    def times(self) -> np.ndarray:
        """(T+1,) time of each state, s."""
        return np.arange(self.states.shape[0]) * self.dt

    @property
    def total_cost(self) -> float:
        return float(np.sum(self.costs))

    @property
    def n_violations(self) -> int:
        """Number of states outside the state box."""
        return int(np.count_nonzero(self.violations > 0))


def _names(names: tuple[str, ...], n: int, prefix: str) -> tuple[str, ...]:
    return tuple(names) if len(names) == n else tuple(f"{prefix}[{i}]" for i in range(n))


def run_closed_loop(
    controller: Controller,
    plant: Plant,
    x0: np.ndarray | list[float] | None = None,
    steps: int = 200,
    *,
    seed: int = 0,
    safety_filter: SafetyFilter | None = None,
    state_weight: np.ndarray | None = None,
    input_weight: np.ndarray | None = None,
    env_kwargs: dict[str, Any] | None = None,
) -> Trajectory:
    """Run ``controller`` (optionally behind ``safety_filter``) on ``plant`` for ``steps`` steps.

    Args:
        controller: anything with ``reset()`` and ``act(obs) -> action``; it is reset first.
        plant: a DynamicsModel (absolute states, integrated with ``model.step``), a LinearModel
            (deviation dynamics; states reported as ``x_eq + dx``), a Gymnasium env, or an env id.
        x0: initial state in absolute units (required for models; for envs it is passed as
            ``reset(options={"state": x0})``, else the env samples one from ``seed``).
        steps: number of control steps (an env may end earlier).
        seed: seed for the env's reset.
        state_weight, input_weight: ``Q``, ``R`` of the stage cost
            ``(x - x_eq)'Q(x - x_eq) + (u - u_eq)'R(u - u_eq)`` used for model plants
            (default ``Q = I``, ``R = 0``); env plants report their own ``info["cost"]``.
        env_kwargs: keyword arguments for ``gym.make`` when ``plant`` is an id.
    """
    if int(steps) != steps or steps < 1:
        raise ValueError(f"steps must be a positive integer; got {steps!r}")
    controller.reset()
    if isinstance(plant, str):
        import robocritic.envs  # noqa: F401 -- registers the robocritic/ ids

        env = gym.make(plant, **(env_kwargs or {}))
        try:
            return _run_env(controller, env, x0, int(steps), seed, safety_filter)
        finally:
            env.close()
    if isinstance(plant, gym.Env):
        return _run_env(controller, plant, x0, int(steps), seed, safety_filter)
    if isinstance(plant, (DynamicsModel, LinearModel)):
        if x0 is None:
            raise ValueError("x0 is required when the plant is a model")
        return _run_model(controller, plant, x0, int(steps), safety_filter, state_weight, input_weight)
    raise TypeError(f"plant must be a DynamicsModel, LinearModel, gym.Env or env id; got {type(plant)}")


def _act(
    controller: Controller, safety_filter: SafetyFilter | None, obs: np.ndarray
) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    u = np.asarray(controller.act(obs), dtype=np.float64)
    if safety_filter is not None:
        u, _ = safety_filter.certify(obs, u)
    return np.asarray(u, dtype=np.float64).reshape(-1), time.perf_counter() - start


def _run_model(
    controller: Controller,
    model: DynamicsModel | LinearModel,
    x0: Any,
    steps: int,
    safety_filter: SafetyFilter | None,
    state_weight: np.ndarray | None,
    input_weight: np.ndarray | None,
) -> Trajectory:
    linear = isinstance(model, LinearModel)
    x = as_vector("x0", x0, model.n_x)
    Q = np.eye(model.n_x) if state_weight is None else np.asarray(state_weight, dtype=np.float64)
    R = np.zeros((model.n_u, model.n_u)) if input_weight is None else np.asarray(input_weight, dtype=np.float64)
    # Limits in absolute units for both kinds of model.
    if linear:
        state_box = Box(model.state_box.low + model.x_eq, model.state_box.high + model.x_eq)
        input_box = Box(model.input_box.low + model.u_eq, model.input_box.high + model.u_eq)
    else:
        state_box, input_box = model.state_box, model.input_box
    states, actions, costs, times = [x], [], [], []
    for _ in range(steps):
        u, elapsed = _act(controller, safety_filter, x.copy())
        u = as_vector("controller action", u, model.n_u)
        dx, du = x - model.x_eq, u - model.u_eq
        costs.append(float(dx @ Q @ dx + du @ R @ du))
        # The plant saturates like a real actuator; the command is recorded unsaturated so
        # that assertions can see a controller that asks for too much.
        u_applied = input_box.clip(u)
        if linear:
            x = model.x_eq + model.step(dx, u_applied - model.u_eq)
        else:
            x = model.step(x, u_applied)
        states.append(x)
        actions.append(u)
        times.append(elapsed)
    states_arr = np.array(states)
    return Trajectory(
        states=states_arr,
        observations=states_arr.copy(),
        actions=np.array(actions),
        costs=np.array(costs),
        violations=state_box.violation(states_arr).sum(axis=1),
        compute_times=np.array(times),
        dt=float(model.dt),
        state_box=state_box,
        input_box=input_box,
        state_names=_names(model.state_names, model.n_x, "x"),
        input_names=_names(model.input_names, model.n_u, "u"),
    )


def _run_env(
    controller: Controller,
    env: gym.Env,
    x0: Any,
    steps: int,
    seed: int,
    safety_filter: SafetyFilter | None,
) -> Trajectory:
    base = env.unwrapped
    dynamics: DynamicsModel | None = getattr(base, "dynamics", None)
    states: list[np.ndarray] = []
    observations: list[np.ndarray] = []
    actions: list[np.ndarray] = []
    costs: list[float] = []
    violations: list[float] = []
    times: list[float] = []

    def on_reset(obs: np.ndarray, info: dict[str, Any]) -> None:
        if "state" not in info:
            raise ValueError(
                f"{base.spec.id if base.spec else type(base).__name__}: info has no 'state'; "
                "closed-loop checks need envs that report their true state"
            )
        states.append(np.asarray(info["state"]))
        observations.append(np.asarray(obs))
        violations.append(float(dynamics.state_box.violation(states[0]).sum()) if dynamics else 0.0)

    def act(obs: np.ndarray) -> np.ndarray:
        u, elapsed = _act(controller, safety_filter, np.asarray(obs))
        times.append(elapsed)
        return u

    def on_step(t: Transition) -> None:
        states.append(np.asarray(t.info["state"]))
        observations.append(np.asarray(t.next_obs))
        actions.append(t.action)
        costs.append(t.cost)
        violations.append(float(t.info["constraint_violation"]))

    episode = run_episode(env, act, x0, seed=seed, max_steps=steps, on_step=on_step, on_reset=on_reset)
    n_x = states[0].size
    n_u = actions[0].size
    unbounded = Box(np.full(n_x, -np.inf), np.full(n_x, np.inf))
    return Trajectory(
        states=np.array(states),
        observations=np.array(observations),
        actions=np.array(actions),
        costs=np.array(costs),
        violations=np.array(violations),
        compute_times=np.array(times),
        dt=float(getattr(base, "dt", dynamics.dt if dynamics else np.nan)),
        state_box=dynamics.state_box if dynamics else unbounded,
        input_box=dynamics.input_box if dynamics else Box(np.full(n_u, -np.inf), np.full(n_u, np.inf)),
        state_names=_names(dynamics.state_names if dynamics else (), n_x, "x"),
        input_names=_names(dynamics.input_names if dynamics else (), n_u, "u"),
        terminated=episode.terminated,
    )
