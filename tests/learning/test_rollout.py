"""The rollout loop (robocritic.learning.rollout) on a tiny env built by a factory: episodes from
start states, hooks, the time limit and ``max_steps``, the safety flag read from ``info["unsafe"]``
only, lockstep evaluation of a BatchController equal to one-by-one evaluation, seeds."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from robocritic.interfaces import BatchController, Controller
from robocritic.learning.rollout import (
    EvalResult,
    TestSet,
    Transition,
    episode_seed,
    evaluate,
    is_unsafe,
    run_episode,
    start_state_rng,
)


class Drift(gym.Env):
    """``x' = x + u`` (1 state, 1 input); cost ``x'^2``; unsafe when ``|x'| > 1``; terminates when
    ``|x'| > 2``. ``info["violated"]`` is set the other way round, to show it is never read."""

    observation_space = gym.spaces.Box(-np.inf, np.inf, (1,), np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.x = float(options["state"][0]) if options else float(self.np_random.uniform(-0.5, 0.5))
        return np.array([self.x], np.float32), {"state": np.array([self.x])}

    def step(self, action):
        applied = float(np.clip(action[0], -1.0, 1.0))
        self.x += applied
        unsafe = abs(self.x) > 1.0
        info = {"cost": self.x**2, "unsafe": unsafe, "violated": not unsafe, "applied_action": np.array([applied])}
        return np.array([self.x], np.float32), -self.x**2, abs(self.x) > 2.0, False, info


class Factory:
    """An env factory that counts the envs it built."""

    def __init__(self, limit: int = 5) -> None:
        self.limit, self.built = limit, 0

    def __call__(self) -> gym.Env:
        self.built += 1
        return gym.wrappers.TimeLimit(Drift(), self.limit)


class Push:
    """``u = gain`` (a constant push), as a BatchController; counts its calls."""

    def __init__(self, gain: float) -> None:
        self.gain, self.calls, self.resets = gain, 0, 0

    def reset(self) -> None:
        self.resets += 1

    def act(self, obs: np.ndarray) -> np.ndarray:
        self.calls += 1
        return np.array([self.gain])

    def act_batch(self, obs: np.ndarray) -> np.ndarray:
        self.calls += 1
        return np.full((obs.shape[0], 1), self.gain)


class OneByOne:
    """The same push as a plain Controller (no act_batch)."""

    def __init__(self, gain: float) -> None:
        self.inner = Push(gain)

    def reset(self) -> None:
        self.inner.reset()

    def act(self, obs: np.ndarray) -> np.ndarray:
        return self.inner.act(obs)


def test_episode_from_a_start_state_with_hooks():
    env = Factory(limit=3)()
    steps: list[Transition] = []
    resets: list[dict] = []
    result = run_episode(env, lambda obs: np.array([0.5]), [0.2], seed=0, on_step=steps.append,
                         on_reset=lambda obs, info: resets.append(info))  # fmt: skip
    xs = [0.7, 1.2, 1.7]
    assert result.steps == 3 and not result.terminated  # the time limit ended it
    np.testing.assert_allclose(result.cost, sum(x**2 for x in xs))
    assert result.violation_steps == 2 and result.violated  # |x| > 1 twice; "violated" is not read
    assert resets[0]["state"][0] == pytest.approx(0.2)
    assert [t.unsafe for t in steps] == [False, True, True] and steps[-1].truncated
    np.testing.assert_allclose([t.reward for t in steps], [-(x**2) for x in xs])
    assert steps[0].obs.dtype == np.float32  # observations as the env returns them
    np.testing.assert_array_equal(steps[0].applied_action, [0.5])
    np.testing.assert_allclose(steps[0].next_obs, steps[1].obs)


def test_termination_and_max_steps_end_an_episode():
    env = Factory(limit=50)()
    ended = run_episode(env, lambda obs: np.array([1.0]), [0.5], seed=0)
    assert ended.terminated and ended.steps == 2  # 1.5, 2.5 > 2
    capped = run_episode(env, lambda obs: np.array([0.0]), [0.0], seed=0, max_steps=4)
    assert capped.steps == 4 and not capped.terminated and capped.cost == 0.0


def test_without_a_start_state_the_env_draws_one_from_the_seed():
    env = Factory()()
    a, b = [], []
    run_episode(env, lambda obs: np.zeros(1), None, seed=3, on_reset=lambda o, i: a.append(i["state"]))
    run_episode(env, lambda obs: np.zeros(1), None, seed=3, on_reset=lambda o, i: b.append(i["state"]))
    np.testing.assert_array_equal(a, b)


def test_only_info_unsafe_counts():
    assert is_unsafe({"unsafe": True, "violated": False})
    assert not is_unsafe({"unsafe": False, "violated": True})
    with pytest.raises(KeyError):
        is_unsafe({"violated": True})


def test_test_set_builds_its_envs_from_the_factory_and_lockstep_equals_one_by_one():
    factory = Factory(limit=4)
    states = np.array([[0.0], [0.9], [-0.3]])
    tests = TestSet(factory, states)
    assert factory.built == 3 and len(tests) == 3
    batched = Push(0.3)
    assert isinstance(batched, BatchController) and not isinstance(OneByOne(0.3), BatchController)
    lock = tests.evaluate(batched)
    assert batched.calls == 4 and batched.resets == 0  # one batched call per step, stateless
    single = OneByOne(0.3)
    assert isinstance(single, Controller)
    seq = tests.evaluate(single)
    assert single.inner.resets == 3 and single.inner.calls == 12
    plain = tests.evaluate(lambda obs: np.array([0.3]))  # a plain callable
    for other in (seq, plain):
        np.testing.assert_allclose(lock.costs, other.costs, rtol=1e-12)
        np.testing.assert_array_equal(lock.steps, other.steps)
        np.testing.assert_array_equal(lock.violation_steps, other.violation_steps)
    # from 0.0: 0.3 ... 1.2 (one unsafe step); from 0.9: 1.2, 1.5, 1.8, 2.1 (terminated, all unsafe)
    np.testing.assert_array_equal(lock.violation_steps, [1, 4, 0])
    assert lock.n_violating == 2 and lock.mean_cost == pytest.approx(np.mean(lock.costs))
    tests.close()
    assert factory.built == 3  # evaluations reuse the envs


def test_lockstep_handles_episodes_of_different_lengths():
    res = evaluate(Push(1.0), Factory(limit=10), [[0.5], [-1.5], [1.9]])
    np.testing.assert_array_equal(res.steps, [2, 4, 1])  # 1.5, 2.5 | -0.5, 0.5, 1.5, 2.5 | 2.9


def test_eval_result_json_round_trip_and_equality():
    res = EvalResult(np.array([1.5, 0.25]), np.array([3, 4]), np.array([0, 2]))
    data = res.to_json()
    assert data == {"mean_cost": 0.875, "costs": [1.5, 0.25], "steps": [3, 4], "violation_steps": [0, 2],
                    "n_violating": 1}  # fmt: skip
    assert EvalResult.from_json(data) == res and EvalResult.from_json(data).to_json() == data
    assert res != EvalResult(np.array([1.5, 0.5]), np.array([3, 4]), np.array([0, 2]))


def test_seeds_are_reproducible_and_distinct():
    assert episode_seed(3, 1) == episode_seed(3, 1) != episode_seed(3, 2) != episode_seed(4, 1)
    a, b = start_state_rng(7), start_state_rng(7)
    assert a.uniform() == b.uniform() and start_state_rng(8).uniform() != start_state_rng(7).uniform()
