"""Episodes and evaluations of a policy on Gymnasium envs: the one rollout loop of robocritic.

* :func:`run_episode` runs one episode of an env from a start state (or the env's own draw),
  up to termination, the env's time limit or ``max_steps``; hooks see the reset and every
  :class:`Transition` (a learner stores and updates there, a closed-loop test records).
* :class:`TestSet` evaluates a policy from fixed start states, one env per state from an env
  FACTORY (a zero-argument callable: the caller resolves its config once into it). A
  :class:`~robocritic.interfaces.BatchController` runs all episodes in lockstep with one batched
  call per step; any other policy runs them one after the other.
* :func:`episode_seed` and :func:`start_state_rng`: the seeds that make training episodes the
  same for every learner of a run seed.

Safety: a step is unsafe when the env says ``info["unsafe"]`` (every robocritic env reports
this one flag; the task decides what it means: the pendulum's state box, the CSTR's 480 K).
Observations reach the policy as the env returns them; costs are the env's ``info["cost"]``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from robocritic.interfaces import BatchController, Controller

__all__ = [
    "EnvFactory",
    "EpisodeResult",
    "EvalResult",
    "Policy",
    "TestSet",
    "Transition",
    "episode_seed",
    "evaluate",
    "is_unsafe",
    "run_episode",
    "start_state_rng",
]

EnvFactory = Callable[[], gym.Env]
"""Builds a fresh env (with its time limit and options) on every call."""

Policy = Controller | Callable[[np.ndarray], np.ndarray]
"""A Controller (a BatchController runs in lockstep), or a plain ``obs -> action`` callable."""


def is_unsafe(info: dict[str, Any]) -> bool:
    """The step's safety flag, ``info["unsafe"]``."""
    return bool(info["unsafe"])


def episode_seed(seed: int, episode: int) -> int:
    """``env.reset`` seed of training episode ``episode`` of run ``seed`` (the env's own RNG:
    noise, randomisation); the same for every learner."""
    return int(np.random.SeedSequence([int(seed), int(episode)]).generate_state(1)[0])


def start_state_rng(seed: int) -> np.random.Generator:
    """Generator of the training start states of run ``seed``; the same stream for every
    learner, so all of them train from the same sequence of start states."""
    return np.random.default_rng([int(seed), 1])


@dataclass(frozen=True, slots=True)
class Transition:
    """One env step.

    Attributes:
        obs: observation the action was chosen on (as the env returned it).
        action: what the policy returned (sent to ``env.step`` unchanged).
        applied_action: ``info["applied_action"]`` (the actuator's input after saturation and
            delay) where the env reports it, else ``action``; float64.
        reward: the env's reward. cost: ``info["cost"]`` (penalty included).
        next_obs: observation after the step. terminated: ended by the env (no bootstrap).
        truncated: ended by the time limit. unsafe: :func:`is_unsafe` of the step.
        info: the env's step info.
    """

    obs: np.ndarray
    action: np.ndarray
    applied_action: np.ndarray
    reward: float
    cost: float
    next_obs: np.ndarray
    terminated: bool
    truncated: bool
    unsafe: bool
    info: dict[str, Any]


@dataclass(frozen=True)
class EpisodeResult:
    """One episode: total ``cost`` (unscaled, penalty included), ``steps``, ``violation_steps``
    (unsafe steps), ``terminated`` (ended by the env, not the time limit)."""

    cost: float
    steps: int
    violation_steps: int
    terminated: bool

    @property
    def violated(self) -> bool:
        return self.violation_steps > 0


def run_episode(
    env: gym.Env,
    act: Callable[[np.ndarray], np.ndarray],
    x0: np.ndarray | Sequence[float] | None = None,
    *,
    seed: int,
    max_steps: int | None = None,
    on_step: Callable[[Transition], None] | None = None,
    on_reset: Callable[[np.ndarray, dict[str, Any]], None] | None = None,
) -> EpisodeResult:
    """Run one episode until termination, the env's time limit, or ``max_steps`` steps.

    Args:
        env: the env (with its TimeLimit). act: ``obs -> action`` (absolute units).
        x0: start state, passed as ``reset(options={"state": x0})``; ``None``: the env draws one.
        seed: ``env.reset`` seed. max_steps: stop after this many steps (``None``: no cap).
        on_step: called with each :class:`Transition` after the step.
        on_reset: called as ``on_reset(obs, info)`` after the reset.
    """
    options = None if x0 is None else {"state": np.asarray(x0, dtype=np.float64)}
    obs, info = env.reset(seed=int(seed), options=options)
    if on_reset is not None:
        on_reset(obs, info)
    total, steps, violations, terminated = 0.0, 0, 0, False
    while max_steps is None or steps < max_steps:
        action = act(obs)
        next_obs, reward, terminated, truncated, info = env.step(action)
        cost = float(info["cost"])
        unsafe = is_unsafe(info)
        total += cost
        steps += 1
        violations += unsafe
        if on_step is not None:
            on_step(
                Transition(
                    obs=obs,
                    action=action,
                    applied_action=np.asarray(info.get("applied_action", action), dtype=np.float64),
                    reward=float(reward),
                    cost=cost,
                    next_obs=next_obs,
                    terminated=bool(terminated),
                    truncated=bool(truncated),
                    unsafe=unsafe,
                    info=info,
                )
            )
        obs = next_obs
        if terminated or truncated:
            break
    return EpisodeResult(total, steps, violations, bool(terminated))


@dataclass(frozen=True, eq=False)
class EvalResult:
    """A policy from fixed start states: ``costs``, ``steps``, ``violation_steps`` per state."""

    costs: np.ndarray
    steps: np.ndarray
    violation_steps: np.ndarray

    @property
    def mean_cost(self) -> float:
        return float(np.mean(self.costs))

    @property
    def n_violating(self) -> int:
        """Episodes with at least one unsafe step."""
        return int(np.count_nonzero(self.violation_steps))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EvalResult):
            return NotImplemented
        return all(
            np.array_equal(a, b)
            for a, b in (
                (self.costs, other.costs),
                (self.steps, other.steps),
                (self.violation_steps, other.violation_steps),
            )
        )

    __hash__ = None  # type: ignore[assignment]  # mutable arrays inside

    def to_json(self) -> dict[str, Any]:
        return {
            "mean_cost": self.mean_cost,
            "costs": [float(c) for c in self.costs],
            "steps": [int(s) for s in self.steps],
            "violation_steps": [int(v) for v in self.violation_steps],
            "n_violating": self.n_violating,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EvalResult:
        """Inverse of :meth:`to_json` (``mean_cost`` and ``n_violating`` are recomputed)."""
        return cls(
            costs=np.array(data["costs"], dtype=np.float64),
            steps=np.array(data["steps"], dtype=np.int64),
            violation_steps=np.array(data["violation_steps"], dtype=np.int64),
        )


class TestSet:
    """Fixed start states, one env per state from ``make_env``, for repeated evaluations.

    Env ``i`` is reset with seed ``i`` (it matters only with randomisation). A
    :class:`~robocritic.interfaces.BatchController` runs all episodes in lockstep, one
    ``act_batch`` call per step; a Controller runs them one after the other, reset before each;
    a plain callable likewise, without reset.

    Args:
        make_env: env factory. states: ``(n, n_x)`` absolute start states.
    """

    __test__ = False  # not a pytest class

    def __init__(self, make_env: EnvFactory, states: np.ndarray | Sequence[Sequence[float]]) -> None:
        self.states = np.asarray(states, dtype=np.float64)
        if self.states.ndim != 2 or self.states.shape[0] == 0:
            raise ValueError(
                f"TestSet: states must be a non-empty (n, n_x) array; got shape {self.states.shape}"
            )
        self.envs = [make_env() for _ in self.states]

    def __len__(self) -> int:
        return len(self.envs)

    def evaluate(self, policy: Policy) -> EvalResult:
        """Total cost, steps and unsafe steps of ``policy`` from each start state."""
        if isinstance(policy, BatchController):
            return self._lockstep(policy.act_batch)
        results = []
        for i, (env, x0) in enumerate(zip(self.envs, self.states)):
            if isinstance(policy, Controller):
                policy.reset()
                results.append(run_episode(env, policy.act, x0, seed=i))
            else:
                results.append(run_episode(env, policy, x0, seed=i))
        return EvalResult(
            costs=np.array([r.cost for r in results]),
            steps=np.array([r.steps for r in results]),
            violation_steps=np.array([r.violation_steps for r in results]),
        )

    def _lockstep(self, act_batch: Callable[[np.ndarray], np.ndarray]) -> EvalResult:
        n = len(self.envs)
        obs = [
            env.reset(seed=i, options={"state": x0})[0]
            for i, (env, x0) in enumerate(zip(self.envs, self.states))
        ]
        costs, steps, violations = np.zeros(n), np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
        active = list(range(n))
        while active:
            actions = act_batch(np.stack([obs[i] for i in active]))
            still = []
            for j, i in enumerate(active):
                next_obs, _, terminated, truncated, info = self.envs[i].step(actions[j])
                costs[i] += float(info["cost"])
                steps[i] += 1
                violations[i] += is_unsafe(info)
                obs[i] = next_obs
                if not (terminated or truncated):
                    still.append(i)
            active = still
        return EvalResult(costs=costs, steps=steps, violation_steps=violations)

    def close(self) -> None:
        for env in self.envs:
            env.close()


def evaluate(
    policy: Policy, make_env: EnvFactory, states: np.ndarray | Sequence[Sequence[float]]
) -> EvalResult:
    """``policy`` from each of ``states`` (a :class:`TestSet` built, used once and closed)."""
    tests = TestSet(make_env, states)
    try:
        return tests.evaluate(policy)
    finally:
        tests.close()
