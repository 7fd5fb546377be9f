"""TD3 and SAC baselines from stable-baselines3, in the same harness as YANN-DDPG and DDPG.

So that the comparison does not rest only on our own DDPG, TD3 and SAC come from a well-kept
library (stable-baselines3, extra ``rl``) and run on the same Gymnasium env with:

* the same training start states: :class:`StartStates` draws them from the same seeded stream
  as :class:`~robocritic.yann.trainer.DDPGTrainer`
  (:func:`~robocritic.learning.rollout.start_state_rng`) and resets episode ``k`` with the same
  seed, so for a given run seed every algorithm trains from the same sequence of start states;
* reward ``= -cost_scale * cost`` (the env's reward is ``-cost``), and the same termination and
  penalty on a safety violation;
* observations centred on ``x_eq`` and divided by the state box's half-widths
  (:class:`NormalizedObs` applying the Setup's
  :class:`~robocritic.learning.spec.ObsNormalization`, the same object the policy uses at
  evaluation and that the sidecar records), as our MLP baseline's networks do internally; SB3
  rescales the actions to the env's box itself;
* the same episode budget (training stops after ``config.episodes`` episodes), test states,
  evaluation, metrics record and curve logging (:class:`~robocritic.learning.runs.CurveLogger`).

Checkpoints: the final policy is saved weights-only (``actor.pt`` holds the SB3 policy's
``state_dict``). SB3's own ``save`` pickles Python objects, which robocritic never loads, so an
interrupted SB3 run is not resumed: it restarts (a finished run, marked by ``metrics.json``, is
returned as is). Our own learners are resumable.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from robocritic.learning.rollout import EpisodeResult, EvalResult, episode_seed, is_unsafe, start_state_rng
from robocritic.learning.runs import CurveLogger, RunFolder, RunMetrics, RunResult
from robocritic.learning.sb3 import SB3Policy, require_sb3
from robocritic.learning.spec import ObsNormalization
from robocritic.yann.config import SB3_ALGORITHMS, RLConfig
from robocritic.yann.factory import Setup
from robocritic.yann.policy_io import yann_sidecar

__all__ = ["NormalizedObs", "StartStates", "make_sb3_model", "make_training_env", "train_sb3"]


class StartStates(gym.Wrapper):
    """Reset from ``x_eq + U(-h, h)`` drawn from :func:`start_state_rng`; episode ``k`` (from 1)
    resets the env with the same seed as the DDPG trainer's episode ``k``.

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
        return self.env.reset(seed=episode_seed(self._seed, self.episode), options={"state": x0})


class NormalizedObs(gym.ObservationWrapper):
    """Observations through an :class:`ObsNormalization` (float32, observation space unbounded)."""

    def __init__(self, env: gym.Env, normalization: ObsNormalization) -> None:
        super().__init__(env)
        self.normalization = normalization
        self.observation_space = normalization.observation_space()

    def observation(self, observation: np.ndarray) -> np.ndarray:
        return self.normalization(observation)


def make_training_env(setup: Setup, algorithm: str, seed: int) -> gym.Env:
    """The env an SB3 learner trains on (module docstring: start states, scaled reward, obs)."""
    config = setup.config
    env = StartStates(setup.make_env(), setup.model.x_eq, np.array(config.start_half_width), seed)
    cost_scale = config.sb3_learner(algorithm).cost_scale
    if cost_scale != 1.0:
        env = gym.wrappers.TransformReward(env, lambda r: cost_scale * r)
    return NormalizedObs(env, setup.observation)


def make_sb3_model(config: RLConfig, algorithm: str, env: gym.Env, seed: int) -> Any:
    """An SB3 ``TD3`` or ``SAC`` with the hyper-parameters of ``config.td3`` / ``config.sac``."""
    sb3 = require_sb3()
    learner_config = config.sb3_learner(algorithm)
    common = dict(
        learning_rate=learner_config.learning_rate,
        buffer_size=learner_config.buffer_size,
        learning_starts=learner_config.learning_starts,
        batch_size=learner_config.batch_size,
        tau=learner_config.tau,
        gamma=config.gamma,
        train_freq=learner_config.train_freq,
        gradient_steps=learner_config.gradient_steps,
        policy_kwargs={"net_arch": list(learner_config.net_arch)},
        seed=int(seed),
        device="cpu",
        verbose=0,
    )
    if algorithm == "td3":
        from stable_baselines3.common.noise import NormalActionNoise

        n_u = env.action_space.shape[0]
        # SB3 adds the noise to the action scaled to [-1, 1]: sigma is a fraction of the half-range.
        noise = (
            NormalActionNoise(np.zeros(n_u), learner_config.action_noise * np.ones(n_u))
            if learner_config.action_noise > 0
            else None
        )
        return sb3.TD3("MlpPolicy", env, action_noise=noise, **common)
    return sb3.SAC("MlpPolicy", env, **common)


def train_sb3(
    setup: Setup,
    algorithm: str,
    seed: int,
    run_dir: str | Path,
    *,
    progress: bool = True,
    tensorboard: bool = True,
) -> RunResult:
    """Train an SB3 TD3 / SAC baseline for ``config.episodes`` episodes (module docstring).

    Returns the same :class:`~robocritic.learning.runs.RunResult` as our learners; a finished
    run folder is read back (its policy is not loaded: ``policy`` is ``None``).
    """
    if algorithm not in SB3_ALGORITHMS:
        raise ValueError(f"algorithm must be one of {list(SB3_ALGORITHMS)}; got {algorithm!r}")
    sb3 = require_sb3()
    from stable_baselines3.common.callbacks import BaseCallback

    torch.set_num_threads(1)
    config = setup.config
    run = RunFolder(run_dir)
    if run.finished():
        return RunResult(run.path, run.read_metrics(), True, None)
    if run.tensorboard.exists():  # a partial earlier attempt: restart from scratch
        shutil.rmtree(run.tensorboard)
    run.path.mkdir(parents=True, exist_ok=True)

    env = make_training_env(setup, algorithm, seed)
    model = make_sb3_model(config, algorithm, env, seed)
    policy = SB3Policy(model.policy, setup.observation)
    metrics = RunMetrics(config.env_id, algorithm, int(seed))
    log = CurveLogger(
        metrics,
        tb_dir=run.tensorboard if tensorboard else None,
        total=config.episodes,
        desc=f"{algorithm} {config.env_id} s{seed}",
        progress=progress,
    )
    tests = setup.test_set()

    def evaluate(episode: int) -> EvalResult:
        result = tests.evaluate(policy)
        log.evaluation(episode, result)
        return result

    class EpisodeCallback(BaseCallback):
        """Sums each training episode's ``info["cost"]`` and unsafe steps, logs it, evaluates,
        and stops after the episode budget."""

        def __init__(self) -> None:
            super().__init__()
            self.cost, self.steps, self.violations = 0.0, 0, 0

        def _on_step(self) -> bool:
            info = self.locals["infos"][0]
            self.cost += float(info["cost"])
            self.steps += 1
            self.violations += is_unsafe(info)
            if not self.locals["dones"][0]:
                return True
            truncated = bool(info.get("TimeLimit.truncated", False))
            episode = log.episode(EpisodeResult(self.cost, self.steps, self.violations, not truncated))
            last = episode >= config.episodes
            if last or episode % config.eval_every == 0:
                metrics.test_after = evaluate(episode)
            log.advance(self.cost)
            self.cost, self.steps, self.violations = 0.0, 0, 0
            return not last

    try:
        metrics.test_before = evaluate(0)
        max_steps = (
            env.spec.max_episode_steps if env.spec is not None and env.spec.max_episode_steps else 10_000
        )
        model.learn(
            total_timesteps=config.episodes * max_steps + 1, callback=EpisodeCallback(), progress_bar=False
        )
    finally:
        log.close()
        env.close()
        tests.close()
    sidecar = yann_sidecar(
        config,
        algorithm,
        seed,
        setup.plant,
        has_law=False,
        observation=setup.observation,
        extra_versions={"stable_baselines3": sb3.__version__},
    )
    run.write_policy({"policy": model.policy.state_dict()}, sidecar)
    metrics.versions = sidecar.versions
    run.write_metrics(metrics)
    return RunResult(run.path, metrics, True, policy)
