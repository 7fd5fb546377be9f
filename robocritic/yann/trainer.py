"""The training loop of our DDPG learners (``yann_ddpg``, ``ddpg``): :class:`DDPGTrainer`.

One harness for every learner, so that the comparison differs only in the learner:

* start states of training episode ``k`` are ``x_eq + U(-h, h)`` (:attr:`RLConfig.start_half_width`)
  from :func:`~robocritic.learning.rollout.start_state_rng` of the run's seed -- the same sequence
  for every algorithm -- and the env is reset with :func:`~robocritic.learning.rollout.episode_seed`;
* the test cost of a policy is the mean over the config's fixed test states of the episode's total
  ``info["cost"]`` (the penalty included when an episode ends on a violation), the deterministic
  policy run to the env's time limit; "violations in training" counts training episodes with at
  least one unsafe step (``info["unsafe"]``).

The trainer evaluates before training, trains ``config.episodes`` episodes (an env step, then
``updates_per_step`` updates once the buffer holds ``learning_starts`` transitions), evaluates
every ``eval_every`` episodes and at the end, logs TensorBoard scalars, shows a tqdm bar, and
writes a resumable checkpoint (weights, optimiser and RNG states, replay buffer, episode counter,
metrics so far, best snapshot) every ``checkpoint_every`` episodes (the checkpoint's step is the
training episode). With :attr:`RLConfig.validation_states` it also evaluates every snapshot on
them and the final policy is the best one (the untrained actor included): policy selection on
states the test set does not contain; ``metrics.test_after_last`` keeps the last iterate's test
evaluation. With :attr:`RLConfig.selection_easy_tolerance` a snapshot more than that fraction
above the explicit MPC on the easy validation starts is not eligible. A run resumed from its checkpoint reproduces the uninterrupted run bit for bit
(single-threaded CPU torch).

Run folder: :class:`~robocritic.learning.runs.RunFolder`, plus ``law.npz`` (the explicit law of a
YANN-DDPG run, stored so that a resumed run uses the very same law and needs no PPOPT).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from robocritic.controllers.explicit_mpc import ExplicitLaw
from robocritic.learning.buffer import ReplayBuffer
from robocritic.learning.checkpoint import (
    CheckpointError,
    CheckpointStore,
    check_module_state,
    check_rng_state,
    load_module_state,
    load_optimizer_state,
    require,
)
from robocritic.learning.rollout import (
    EpisodeResult,
    EvalResult,
    Policy,
    Transition,
    episode_seed,
    run_episode,
    start_state_rng,
)
from robocritic.learning.runs import CurveLogger, RunFolder, RunMetrics, RunResult, versions
from robocritic.yann.actor import TorchPolicy
from robocritic.yann.config import DDPG_ALGORITHMS, SELECTION_PENALTY, RLConfig, config_to_dict
from robocritic.yann.factory import Setup, build_law, build_learner, resolve
from robocritic.yann.policy_io import LAW_FILE, yann_sidecar

__all__ = ["DDPGTrainer", "ou_step"]

logger = logging.getLogger(__name__)

# Config fields that may change between an interrupted run and its resumption.
_RESUMABLE_CHANGES = {"episodes", "eval_every", "checkpoint_every", "keep_checkpoints"}


def ou_step(state: np.ndarray, std: np.ndarray, theta: float, rng: np.random.Generator) -> np.ndarray:
    """One step of the Ornstein-Uhlenbeck exploration noise ``(n_u,)``:
    ``n <- (1 - theta) n + sigma N(0, 1)`` with ``sigma = std sqrt(1 - (1 - theta)^2)``, so that the
    stationary standard deviation is ``std`` (input units) and the lag-1 correlation ``1 - theta``."""
    sigma = std * np.sqrt(1.0 - (1.0 - theta) ** 2)
    return (1.0 - theta) * state + sigma * rng.standard_normal(np.shape(state))


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else float("nan")


class DDPGTrainer:
    """Training loop of our DDPG learners (module docstring).

    Args:
        setup: the resolved config (:func:`~robocritic.yann.factory.resolve`); the trainer takes
            its first env as the training env.
        algorithm: "yann_ddpg" or "ddpg". seed: run seed (torch init, start states, replay
            sampling, exploration noise).
        run_dir: the run folder. progress: show a tqdm bar. tensorboard: write TensorBoard
            scalars to ``run_dir/tb``.

    Use :meth:`train`; a second trainer on the same ``run_dir`` resumes from its checkpoint.
    :meth:`close` closes its envs.
    """

    def __init__(
        self,
        setup: Setup,
        algorithm: str,
        seed: int,
        run_dir: str | Path,
        *,
        progress: bool = True,
        tensorboard: bool = True,
    ) -> None:
        if algorithm not in DDPG_ALGORITHMS:
            raise ValueError(
                f"DDPGTrainer runs {list(DDPG_ALGORITHMS)}; got {algorithm!r} (the SB3 baselines: train())"
            )
        config = setup.config
        self.setup, self.config, self.algorithm, self.seed = setup, config, algorithm, int(seed)
        self.learner_config = config.ddpg_learner(algorithm)
        self.run = RunFolder(run_dir)
        self.progress, self.tensorboard = progress, tensorboard
        self.env = setup.make_env()
        self.model = setup.model
        self.law = self._law() if algorithm == "yann_ddpg" else None
        self.learner = build_learner(setup, algorithm, self.law, self.seed)
        self.buffer = ReplayBuffer(self.learner_config.buffer_size, self.model.n_x, self.model.n_u)
        self.rng = np.random.default_rng(self.seed)  # replay sampling, exploration noise
        self.start_rng = start_state_rng(self.seed)
        self.metrics = RunMetrics(config.env_id, algorithm, self.seed)
        self.tests = setup.test_set()
        self.validation = setup.validation_set()
        self.best_actor: dict[str, torch.Tensor] | None = None  # weights of metrics.selection
        self._easy_guard = self._selection_guard()
        self._guide = self._build_guide()
        self.store = CheckpointStore(self.run.checkpoints, keep=config.keep_checkpoints)
        self._u_low, self._u_high = setup.u_low, setup.u_high
        self._noise_std = self.learner_config.exploration_noise * 0.5 * (self._u_high - self._u_low)
        self._ou = np.zeros_like(self._noise_std)  # Ornstein-Uhlenbeck state, zero at each episode start

    @classmethod
    def from_config(
        cls, config: RLConfig, algorithm: str, seed: int, run_dir: str | Path, **kwargs: Any
    ) -> DDPGTrainer:
        """A trainer on ``resolve(config)`` (keyword arguments as the constructor's)."""
        return cls(resolve(config), algorithm, seed, run_dir, **kwargs)

    def _build_guide(self) -> Any:
        """The controller of :attr:`RLConfig.guide_policy` (None without one)."""
        if self.config.guide_policy is None or self.config.guide_fraction <= 0:
            return None
        from robocritic.yann.references import build_reference

        return build_reference(self.config.guide_policy, self.config, law=self.law).policy

    def _selection_guard(self) -> tuple[np.ndarray, float] | None:
        """``(easy mask (n_val,), bound)`` of :attr:`RLConfig.selection_easy_tolerance`: the
        validation starts the explicit MPC keeps and ``(1 + tol)`` times its mean cost on them;
        None without a guard (or without easy validation starts)."""
        tol = self.config.selection_easy_tolerance
        if tol is None or self.validation is None:
            return None
        from robocritic.yann.starts import classify_starts

        mpc = classify_starts(self.config, self.setup.validation_states)
        easy = ~mpc.lost
        if not easy.any():
            return None
        return easy, (1.0 + tol) * float(mpc.costs[easy].mean())

    def _law(self) -> ExplicitLaw:
        """The law of this run: ``run_dir/law.npz`` if a previous session stored it (so a
        resumed run needs no PPOPT and uses the very same law), else built and stored."""
        path = self.run.path / LAW_FILE
        if path.is_file():
            law = ExplicitLaw.load(path)
        else:
            law = build_law(self.config, self.model)
            law.save(path)
        return law

    # -- checkpointing ---------------------------------------------------------------------

    def _save_checkpoint(self) -> None:
        state = {"learner": self.learner.state_dict(), "torch_rng": torch.get_rng_state()}
        if self.best_actor is not None:
            state["best_actor"] = self.best_actor
        meta = {
            "algorithm": self.algorithm,
            "seed": self.seed,
            "config": config_to_dict(self.config),
            "numpy_rng": self.rng.bit_generator.state,
            "start_rng": self.start_rng.bit_generator.state,
            "metrics": self.metrics.to_json(),
            "buffer": {"ptr": self.buffer.ptr, "size": self.buffer.size},
        }
        self.store.save(self.metrics.episodes_done, state, meta, replay=self.buffer.save)

    def _try_resume(self) -> bool:
        latest = self.store.latest()
        if latest is None:
            return False
        ckpt = self.store.load(latest)
        state_file, meta_file = ckpt.path / "state.pt", ckpt.path / "meta.json"
        algorithm, seed = ckpt.meta_entry("algorithm", str), ckpt.meta_entry("seed", int)
        if algorithm != self.algorithm or seed != self.seed:
            raise CheckpointError(
                f"{ckpt.path}: checkpoint of {algorithm} seed {seed}; asked to resume {self.algorithm} seed {self.seed}"
            )
        _check_same_config(ckpt.meta_entry("config", dict), config_to_dict(self.config), ckpt.path)
        self._restore_learner(ckpt.entry("learner", dict), state_file)
        best = ckpt.state.get("best_actor")
        if best is not None:
            check_module_state(self.learner.actor, best, state_file, "best_actor")
        self.best_actor = best
        torch.set_rng_state(check_rng_state(ckpt.entry("torch_rng"), state_file, "torch_rng"))
        for key, rng in (("numpy_rng", self.rng), ("start_rng", self.start_rng)):
            try:
                rng.bit_generator.state = ckpt.meta_entry(key, dict)
            except (TypeError, ValueError, KeyError) as exc:  # numpy checks the state's fields itself
                raise CheckpointError(f"{meta_file}: '{key}' is not a numpy generator state: {exc}") from None
        if ckpt.replay_path is None:
            raise CheckpointError(f"{ckpt.path}: no replay.npz")
        buf = ReplayBuffer.load(ckpt.replay_path)
        if buf.capacity != self.buffer.capacity:
            raise CheckpointError(
                f"{ckpt.path}: replay capacity {buf.capacity} != buffer_size {self.buffer.capacity}"
            )
        self.buffer = buf
        try:
            self.metrics = RunMetrics.from_json(ckpt.meta_entry("metrics"))
        except (TypeError, ValueError) as exc:
            raise CheckpointError(f"{ckpt.path}: {exc}") from None
        logger.info("resumed %s after episode %d", ckpt.path, ckpt.step)
        return True

    def _restore_learner(self, state: dict[str, Any], path: Path) -> None:
        """The learner's networks, optimisers and update count from a checkpoint's ``learner``
        entry, every part checked against the learner first (names, shapes, dtypes)."""
        learner = self.learner
        for name in ("actor", "critic", "actor_target", "critic_target"):
            load_module_state(getattr(learner, name), require(state, name, path), path, f"learner.{name}")
        for name in ("actor_opt", "critic_opt"):
            load_optimizer_state(getattr(learner, name), require(state, name, path), path, f"learner.{name}")
        learner.n_updates = int(require(state, "n_updates", path, int))

    # -- loop ------------------------------------------------------------------------------

    def _act_train(self, obs: np.ndarray) -> np.ndarray:
        action = self.learner.act(obs)
        lc = self.learner_config
        if lc.exploration_noise > 0:
            if lc.noise_type == "ou":
                self._ou = ou_step(self._ou, self._noise_std, lc.ou_theta, self.rng)
                noise = self._ou
            else:
                noise = self._noise_std * self.rng.standard_normal(action.shape)
            action = np.clip(action + noise, self._u_low, self._u_high)
        return action

    def _evaluate(self, episode: int, log: CurveLogger) -> EvalResult:
        """Test evaluation of the current actor; with a validation set, also validate it and keep
        its weights if it is the best so far (ties keep the earlier snapshot)."""
        policy = TorchPolicy(self.learner.actor)
        result = self.tests.evaluate(policy)
        log.evaluation(episode, result)
        if self.validation is not None and log.validation(episode, self._validation_cost(policy)):
            self.best_actor = {k: v.detach().clone() for k, v in self.learner.actor.state_dict().items()}
        return result

    def _validation_cost(self, policy: Policy) -> float:
        """The selection objective: mean validation cost, plus SELECTION_PENALTY if the snapshot
        breaks the easy-start guard."""
        assert self.validation is not None
        costs = self.validation.evaluate(policy).costs
        cost = float(np.mean(costs))
        if self._easy_guard is not None:
            easy, bound = self._easy_guard
            if float(np.mean(costs[easy])) > bound:
                cost += SELECTION_PENALTY
        return cost

    def _train_episode(self, episode: int) -> tuple[EpisodeResult, float, float]:
        half = np.array(self.config.start_half_width)
        x0 = self.model.x_eq + self.start_rng.uniform(-half, half)
        self._ou = np.zeros_like(self._noise_std)
        critic_losses: list[float] = []
        actor_losses: list[float] = []
        learner_config = self.learner_config

        def on_step(t: Transition) -> None:
            self.buffer.add(t.obs, t.applied_action, t.cost, t.next_obs, t.terminated, reward=t.reward)
            if len(self.buffer) >= learner_config.learning_starts:
                for _ in range(learner_config.updates_per_step):
                    losses = self.learner.update(self.buffer.sample(learner_config.batch_size, self.rng))
                    critic_losses.append(losses["critic_loss"])
                    if not np.isnan(losses["actor_loss"]):
                        actor_losses.append(losses["actor_loss"])

        act = self._act_train
        # One draw per episode, and only with a guide (runs without one keep their RNG stream).
        if self._guide is not None and self.rng.random() < self.config.guide_fraction:
            self._guide.reset()
            act = self._guide.act
        result = run_episode(self.env, act, x0, seed=episode_seed(self.seed, episode), on_step=on_step)
        return result, _mean(critic_losses), _mean(actor_losses)

    def train(self, *, stop_after: int | None = None, resume: bool = True) -> RunResult:
        """Train until ``config.episodes`` episodes are done (resuming from the checkpoint if
        ``resume``), or stop after ``stop_after`` episodes in this call (a checkpoint remains:
        a later call resumes). Returns the metrics and, when finished, the policy.

        Raises:
            CheckpointError: an existing checkpoint of another run (algorithm, seed or config).
        """
        torch.set_num_threads(1)
        self.run.path.mkdir(parents=True, exist_ok=True)
        resumed = resume and self._try_resume()
        if not resume and self.store.latest() is not None:
            raise CheckpointError(
                f"{self.store.directory}: a checkpoint exists; pass resume=True or use a new run_dir"
            )
        start = self.metrics.episodes_done
        log = CurveLogger(
            self.metrics,
            tb_dir=self.run.tensorboard if self.tensorboard else None,
            purge_step=start if resumed else None,
            total=self.config.episodes,
            desc=f"{self.algorithm} {self.config.env_id} s{self.seed}",
            progress=self.progress,
        )
        try:
            if start == 0 and self.metrics.test_before is None:
                self.metrics.test_before = self._evaluate(0, log)
            episodes_run = 0
            while self.metrics.episodes_done < self.config.episodes:
                if stop_after is not None and episodes_run >= stop_after:
                    break
                self._run_one(log)
                episodes_run += 1
        finally:
            log.close()
        finished = self.metrics.episodes_done >= self.config.episodes
        if finished:
            self._finish()
        return RunResult(
            self.run.path, self.metrics, finished, TorchPolicy(self.learner.actor) if finished else None
        )

    def _run_one(self, log: CurveLogger) -> None:
        episode = self.metrics.episodes_done + 1
        result, critic_loss, actor_loss = self._train_episode(episode)
        log.episode(result, critic_loss=critic_loss, actor_loss=actor_loss)
        last = episode >= self.config.episodes
        if last or episode % self.config.eval_every == 0:
            self.metrics.test_after = self._evaluate(episode, log)
        if last or episode % self.config.checkpoint_every == 0:
            log.flush()
            self._save_checkpoint()
        log.advance(result.cost)

    def _finish(self) -> None:
        """Select the final policy, then write its weights + sidecar and ``metrics.json`` (written
        last: marks the run finished)."""
        m = self.metrics
        if m.test_after_last is None:
            m.test_after_last = m.test_after
            if (
                self.best_actor is not None
                and m.selection is not None
                and m.selection.episode != m.episodes_done
            ):
                self.learner.actor.load_state_dict(self.best_actor)
                m.test_after = self.tests.evaluate(TorchPolicy(self.learner.actor))
        sidecar = yann_sidecar(
            self.config, self.algorithm, self.seed, self.setup.plant, has_law=self.law is not None
        )
        self.run.write_policy({"actor": self.learner.actor.state_dict()}, sidecar)
        m.versions = versions()
        self.run.write_metrics(m)

    def close(self) -> None:
        self.env.close()
        self.tests.close()
        if self.validation is not None:
            self.validation.close()
        self.setup.close()


def _check_same_config(stored: dict[str, Any], current: dict[str, Any], where: Path) -> None:
    # A checkpoint written before a config field existed holds no value for it: read it as the
    # field's default (as a sidecar is read), so that adding a field does not orphan old runs.
    try:
        from robocritic.yann.config import config_from_record

        stored = config_to_dict(config_from_record(stored))
    except (TypeError, ValueError):
        pass  # compared as stored: the difference is reported below
    diff = sorted(
        k
        for k in set(stored) | set(current)
        if stored.get(k) != current.get(k) and k not in _RESUMABLE_CHANGES
    )
    if diff:
        raise CheckpointError(
            f"{where}: the checkpoint was written with another config (differs in {diff}); use a new run_dir"
        )
