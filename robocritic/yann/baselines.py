"""TD3 and SAC baselines from stable-baselines3, in the same harness as YANN-DDPG and DDPG.

So that the comparison does not rest only on our own DDPG, TD3 and SAC come from a well-kept
library (stable-baselines3, extra ``rl``) and run on the same Gymnasium env with:

* the same training start states: :class:`StartStates` draws them from the same seeded stream
  as :class:`~robocritic.yann.runner.Trainer` (``default_rng([seed, 1])``), so for a given seed
  every algorithm trains from the same sequence of start states;
* reward ``= -cost_scale * cost`` (the env's reward is ``-cost``), and the same termination and
  penalty on a safety violation;
* observations centred on ``x_eq`` and divided by the state box's half-widths
  (:class:`NormalizedObs`), as our MLP baseline's networks do internally; SB3 rescales the
  actions to the env's box itself;
* the same episode budget (training stops after ``config.episodes`` episodes), test states,
  evaluation function and metrics dict.

Checkpoints: the final policy is saved weights-only (``actor.pt`` holds the SB3 policy's
``state_dict``). SB3's own ``save`` pickles Python objects, which robocritic never loads, so an
interrupted SB3 run is not resumed: it restarts (a finished run, marked by ``metrics.json``, is
returned as is). Our own learners are resumable (:class:`~robocritic.yann.runner.Trainer`).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from robocritic.interfaces import Controller
from robocritic.utils.optional import require
from robocritic.yann.checkpoint import atomic_write_json, read_json, save_weights
from robocritic.yann.config import RLConfig, SB3Config
from robocritic.yann.runner import (
    RunResult,
    TestSet,
    _actor_sidecar,
    _episode_seed,
    _new_metrics,
    _progress,
    _versions,
    linear_model,
    make_env,
    safety_violation,
    start_state_rng,
    tensorboard_writer,
)

__all__ = ["NormalizedObs", "SB3Policy", "StartStates", "load_sb3_policy", "make_sb3_model", "train_sb3"]


def _require_sb3() -> Any:
    return require("stable_baselines3", "rl", "the TD3 / SAC baselines")


class StartStates(gym.Wrapper):
    """Reset from ``x_eq + U(-h, h)`` drawn from :func:`start_state_rng`; episode ``k`` (from 1)
    resets the env with the same seed as the Trainer's episode ``k``.

    An explicit ``options={"state": x0}`` passes through unchanged.
    """

    def __init__(self, env: gym.Env, x_eq: np.ndarray, half_width: np.ndarray, seed: int) -> None:
        super().__init__(env)
        self._x_eq = np.asarray(x_eq, dtype=np.float64)
        self._half = np.asarray(half_width, dtype=np.float64)
        self._rng = start_state_rng(seed)
        self._seed = int(seed)
        self.episode = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        if options and "state" in options:
            return self.env.reset(seed=seed, options=options)
        self.episode += 1
        x0 = self._x_eq + self._rng.uniform(-self._half, self._half)
        return self.env.reset(seed=_episode_seed(self._seed, self.episode), options={"state": x0})


class NormalizedObs(gym.ObservationWrapper):
    """``obs -> (obs - x_eq) / scale`` as float32 (observation space unbounded)."""

    def __init__(self, env: gym.Env, x_eq: np.ndarray, scale: np.ndarray) -> None:
        super().__init__(env)
        self._x_eq = np.asarray(x_eq, dtype=np.float64)
        self._scale = np.asarray(scale, dtype=np.float64)
        n = self._x_eq.size
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(n,), dtype=np.float32)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        return ((np.asarray(observation, dtype=np.float64) - self._x_eq) / self._scale).astype(np.float32)


def _scales(config: RLConfig) -> tuple[np.ndarray, np.ndarray]:
    env = make_env(config)
    try:
        model = linear_model(env)
    finally:
        env.close()
    half = 0.5 * (model.state_box.high - model.state_box.low)
    return model.x_eq, np.where(np.isfinite(half) & (half > 0), half, 1.0)


def make_training_env(config: RLConfig, algorithm: str, seed: int) -> gym.Env:
    """The env an SB3 learner trains on (module docstring: start states, scaled reward, obs)."""
    x_eq, x_scale = _scales(config)
    env = make_env(config)
    env = StartStates(env, x_eq, np.array(config.start_half_width), seed)
    cost_scale = config.learner(algorithm).cost_scale
    if cost_scale != 1.0:
        env = gym.wrappers.TransformReward(env, lambda r: cost_scale * r)
    return NormalizedObs(env, x_eq, x_scale)


def make_sb3_model(config: RLConfig, algorithm: str, env: gym.Env, seed: int) -> Any:
    """An SB3 ``TD3`` or ``SAC`` with the hyper-parameters of ``config.td3`` / ``config.sac``."""
    sb3 = _require_sb3()
    cfg: SB3Config = config.learner(algorithm)  # type: ignore[assignment]
    common = dict(  # noqa: C408 -- keyword arguments of the SB3 constructor
        learning_rate=cfg.learning_rate,
        buffer_size=cfg.buffer_size,
        learning_starts=cfg.learning_starts,
        batch_size=cfg.batch_size,
        tau=cfg.tau,
        gamma=config.gamma,
        train_freq=cfg.train_freq,
        gradient_steps=cfg.gradient_steps,
        policy_kwargs={"net_arch": list(cfg.net_arch)},
        seed=int(seed),
        device="cpu",
        verbose=0,
    )
    if algorithm == "td3":
        from stable_baselines3.common.noise import NormalActionNoise

        n_u = env.action_space.shape[0]
        # SB3 adds the noise to the action scaled to [-1, 1]: sigma is a fraction of the half-range.
        noise = (
            NormalActionNoise(np.zeros(n_u), cfg.action_noise * np.ones(n_u))
            if cfg.action_noise > 0
            else None
        )
        return sb3.TD3("MlpPolicy", env, action_noise=noise, **common)
    if algorithm == "sac":
        return sb3.SAC("MlpPolicy", env, **common)
    raise ValueError(f"algorithm must be 'td3' or 'sac'; got {algorithm!r}")


class SB3Policy:
    """An SB3 policy as a :class:`~robocritic.interfaces.Controller` on absolute observations
    (deterministic: TD3's actor, SAC's mean action)."""

    def __init__(self, policy: Any, x_eq: np.ndarray, scale: np.ndarray) -> None:
        self.policy = policy
        self._x_eq, self._scale = np.asarray(x_eq, dtype=np.float64), np.asarray(scale, dtype=np.float64)

    def reset(self) -> None:
        """Stateless."""

    def act(self, obs: np.ndarray) -> np.ndarray:
        z = ((np.asarray(obs, dtype=np.float64) - self._x_eq) / self._scale).astype(np.float32)
        action, _ = self.policy.predict(z, deterministic=True)
        return np.asarray(action, dtype=np.float64).reshape(-1)

    def act_batch(self, obs: np.ndarray) -> np.ndarray:
        """``(B, n_x)`` -> ``(B, n_u)`` float64 (one batched call; stateless)."""
        z = ((np.asarray(obs, dtype=np.float64) - self._x_eq) / self._scale).astype(np.float32)
        action, _ = self.policy.predict(z, deterministic=True)
        return np.asarray(action, dtype=np.float64).reshape(z.shape[0], -1)


def load_sb3_policy(config: RLConfig, algorithm: str, state: dict[str, Any]) -> Controller:
    """Rebuild an SB3 policy from the weights-only ``actor.pt`` state of :func:`train_sb3`."""
    env = make_training_env(config, algorithm, 0)
    try:
        model = make_sb3_model(config, algorithm, env, 0)
    finally:
        env.close()
    model.policy.load_state_dict(state["policy"])
    x_eq, scale = _scales(config)
    return SB3Policy(model.policy, x_eq, scale)


def train_sb3(
    config: RLConfig,
    algorithm: str,
    seed: int,
    run_dir: str | Path,
    *,
    progress: bool = True,
    tensorboard: bool = True,
) -> RunResult:
    """Train an SB3 TD3 / SAC baseline for ``config.episodes`` episodes (module docstring).

    Returns the same :class:`~robocritic.yann.runner.RunResult` as our learners.
    """
    _require_sb3()
    from stable_baselines3.common.callbacks import BaseCallback

    torch.set_num_threads(1)
    run_dir = Path(run_dir)
    if (run_dir / "metrics.json").is_file():
        metrics = read_json(run_dir / "metrics.json")
        return RunResult(run_dir, metrics, True, None)
    if (run_dir / "tb").exists():  # a partial earlier attempt: restart from scratch
        shutil.rmtree(run_dir / "tb")
    run_dir.mkdir(parents=True, exist_ok=True)

    x_eq, scale = _scales(config)
    env = make_training_env(config, algorithm, seed)
    model = make_sb3_model(config, algorithm, env, seed)
    policy = SB3Policy(model.policy, x_eq, scale)
    metrics = _new_metrics(config, algorithm, seed)
    writer = tensorboard_writer(run_dir / "tb") if tensorboard else None

    tests = TestSet(config)

    def evaluate(episode: int) -> dict[str, Any]:
        result = tests.evaluate(policy)
        metrics["eval_curve"]["episode"].append(episode)
        metrics["eval_curve"]["test_cost"].append(result.mean_cost)
        metrics["eval_curve"]["test_violating"].append(result.n_violating)
        if writer is not None:
            writer.add_scalar("eval/test_cost", result.mean_cost, episode)
            writer.add_scalar("eval/test_violating_episodes", result.n_violating, episode)
        return result.to_dict()

    bar = _progress(config.episodes, 0, f"{algorithm} {config.env_id} s{seed}", progress)
    t_start = time.perf_counter()

    class EpisodeLogger(BaseCallback):
        """Accumulates ``info["cost"]`` per episode; evaluates; stops after the episode budget."""

        def __init__(self) -> None:
            super().__init__()
            self.cost, self.steps, self.violations = 0.0, 0, 0

        def _on_step(self) -> bool:
            info = self.locals["infos"][0]
            self.cost += float(info["cost"])
            self.steps += 1
            self.violations += safety_violation(info)
            if not self.locals["dones"][0]:
                return True
            episode = metrics["episodes_done"] + 1
            metrics["episodes_done"] = episode
            c = metrics["curve"]
            c["episode"].append(episode)
            c["train_cost"].append(self.cost)
            c["train_steps"].append(self.steps)
            c["train_violation_steps"].append(self.violations)
            c["critic_loss"].append(None)
            c["actor_loss"].append(None)
            c["wall_s"].append(time.perf_counter() - t_start)
            metrics["training_violations"] += int(self.violations > 0)
            metrics["training_violation_steps"] += self.violations
            if writer is not None:
                writer.add_scalar("train/episode_cost", self.cost, episode)
                writer.add_scalar("train/violation_steps", self.violations, episode)
                writer.add_scalar("train/violating_episodes_total", metrics["training_violations"], episode)
            last = episode >= config.episodes
            if last or episode % config.eval_every == 0:
                metrics["test_after"] = evaluate(episode)
            bar.update(1)
            bar.set_postfix(cost=f"{self.cost:.4g}", test=f"{metrics['eval_curve']['test_cost'][-1]:.4g}")
            self.cost, self.steps, self.violations = 0.0, 0, 0
            return not last

    try:
        metrics["test_before"] = evaluate(0)
        max_steps = (
            env.spec.max_episode_steps if env.spec is not None and env.spec.max_episode_steps else 10_000
        )
        model.learn(
            total_timesteps=config.episodes * max_steps + 1, callback=EpisodeLogger(), progress_bar=False
        )
    finally:
        bar.close()
        env.close()
        tests.close()
        if writer is not None:
            writer.close()
    save_weights(run_dir / "actor.pt", {"policy": model.policy.state_dict()})
    atomic_write_json(run_dir / "actor.json", _actor_sidecar(config, algorithm, seed, has_law=False))
    metrics["versions"] = {**_versions(), "stable_baselines3": _require_sb3().__version__}
    atomic_write_json(run_dir / "metrics.json", metrics)
    return RunResult(run_dir, metrics, True, policy)
