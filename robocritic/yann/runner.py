"""Training and evaluation harness of YANN-RL: env episodes, test evaluation, logging, checkpoints.

One harness for every learner, so the comparison differs only in the learner:

* start states of training episode ``k`` are ``x_eq + U(-h, h)`` (:attr:`RLConfig.start_half_width`)
  from :func:`start_state_rng` of the run's seed -- the same sequence for every algorithm --
  passed to ``env.reset(options={"state": x0})``;
* the test set is the config's 10 fixed start states, run to the env's time limit with the
  deterministic policy; the test cost of a policy is the mean over them of the episode's total
  ``info["cost"]`` (the penalty included when an episode ends on a violation);
* a safety violation is ``info["unsafe"]`` where the env reports it (the CSTR's T >= 480 K), else
  ``info["violated"]`` (the pendulum's state box). "Violations in training" counts training
  episodes with at least one violating step.

:class:`Trainer` runs our DDPG learners (``yann_ddpg``, ``ddpg``): it evaluates before training,
trains ``config.episodes`` episodes (an env step, then ``updates_per_step`` updates once the
buffer holds ``learning_starts`` transitions), evaluates every ``eval_every`` episodes and at the
end, logs TensorBoard scalars, shows a tqdm bar, and writes a resumable checkpoint (weights,
optimiser and RNG states, replay buffer, episode counter, metrics so far, best snapshot) every
``checkpoint_every`` episodes. With :attr:`RLConfig.validation_states` it also evaluates every
snapshot on them and the final policy is the best one (the untrained actor included): policy
selection on states the test set does not contain; ``metrics["test_after_last"]`` keeps the last
iterate's test evaluation. A run resumed from its checkpoint reproduces the uninterrupted run
bit for bit (single-threaded CPU torch). :func:`train` dispatches to it or to the
stable-baselines3 baselines (:mod:`robocritic.yann.baselines`).

Run folder (``run_dir``): ``checkpoints/`` (resumable), ``tb/`` (TensorBoard), ``law.npz``
(the explicit law, YANN-DDPG), ``actor.pt`` + ``actor.json`` (final weights + sidecar: what
:func:`load_policy` needs), ``metrics.json`` (final metrics; its presence marks a finished run).
"""

from __future__ import annotations

import logging
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

import robocritic.envs  # noqa: F401 -- registers the robocritic/ env ids
from robocritic.controllers.explicit_mpc import ExplicitLaw, ExplicitMPC
from robocritic.dynamics.base import LinearModel
from robocritic.interfaces import Controller
from robocritic.utils.optional import require
from robocritic.yann.actor import MLPActor, TorchPolicy, YANNActor
from robocritic.yann.buffer import ReplayBuffer
from robocritic.yann.checkpoint import (
    CheckpointError,
    CheckpointStore,
    atomic_write_json,
    load_weights,
    read_json,
    save_weights,
)
from robocritic.yann.config import (
    ALGORITHMS,
    DDPGConfig,
    RLConfig,
    YANNDDPGConfig,
    config_from_dict,
    config_to_dict,
)
from robocritic.yann.critic import MLPCritic, YANNCritic
from robocritic.yann.ddpg import DDPG

__all__ = [
    "EpisodeResult",
    "EvalResult",
    "RunResult",
    "TestSet",
    "Trainer",
    "build_law",
    "build_learner",
    "evaluate_explicit_mpc",
    "evaluate_policy",
    "evaluate_run",
    "linear_model",
    "load_policy",
    "make_env",
    "run_episode",
    "safety_violation",
    "start_state_rng",
    "tensorboard_writer",
    "train",
]

logger = logging.getLogger(__name__)

_DTYPES = {"float64": torch.float64, "float32": torch.float32}
# Config fields that may change between an interrupted run and its resumption.
_RESUMABLE_CHANGES = {"episodes", "eval_every", "checkpoint_every", "keep_checkpoints"}


# -- env, model, law -----------------------------------------------------------------------


def make_env(config: RLConfig) -> gym.Env:
    """``gym.make(config.env_id)`` with the config's termination, penalty and time limit."""
    return gym.make(
        config.env_id,
        max_episode_steps=config.max_episode_steps,
        terminate_on_violation=config.terminate_on_violation,
        violation_penalty=config.violation_penalty,
    )


def linear_model(env: gym.Env) -> LinearModel:
    """The env's dynamics model linearised at its operating point (deviation units)."""
    return env.unwrapped.dynamics.linearize()


def build_law(config: RLConfig, model: LinearModel) -> ExplicitLaw:
    """The explicit MPC law the YANN actor starts from.

    ``config.law_path`` if set (loaded without PPOPT), else the mpQP of the model with horizon
    ``config.mpc_horizon`` and the stage weights of the cost, solved with PPOPT (``explicit``
    extra).

    Raises:
        ValueError: the law does not match the model (sizes or operating point).
    """
    if config.law_path is not None:
        law = ExplicitLaw.load(config.law_path)
    else:
        from robocritic.controllers.mpc import MPCConfig
        from robocritic.yann.mpqp import compute_explicit_mpc

        mpc = MPCConfig(
            horizon=config.mpc_horizon,
            Q=np.array(config.state_weight),
            R=np.array(config.input_weight),
        )
        law = compute_explicit_mpc(model, mpc).law
    if law.n_x != model.n_x or law.n_u != model.n_u:
        raise ValueError(
            f"law_path: the law has n_x={law.n_x}, n_u={law.n_u}; "
            f"{config.env_id} has {model.n_x}, {model.n_u}"
        )
    if not (np.allclose(law.x_eq, model.x_eq) and np.allclose(law.u_eq, model.u_eq)):
        raise ValueError(f"law_path: the law's operating point differs from {config.env_id}'s")
    return law


def build_learner(
    config: RLConfig, algorithm: str, model: LinearModel, law: ExplicitLaw | None, seed: int
) -> DDPG:
    """Seed torch with ``seed`` and build the DDPG learner of ``algorithm`` ("yann_ddpg", "ddpg")."""
    torch.manual_seed(seed)
    cfg = config.learner(algorithm)
    if not isinstance(cfg, DDPGConfig):
        raise ValueError(f"algorithm {algorithm!r} is not a DDPG learner of ours")
    dtype = _DTYPES[cfg.dtype]
    Q, R = np.array(config.state_weight), np.array(config.input_weight)
    if isinstance(cfg, YANNDDPGConfig):
        if law is None:
            raise ValueError("yann_ddpg needs an explicit law")
        actor: torch.nn.Module = YANNActor(
            law,
            cfg.actor_hidden,
            cfg.activation,
            zero_init=cfg.zero_init,
            train_law=cfg.train_law,
            dtype=dtype,
        )
        critic: torch.nn.Module = YANNCritic(
            model,
            Q,
            R,
            config.gamma,
            cfg.critic_hidden,
            cfg.critic_activation,
            cost_scale=cfg.cost_scale,
            dtype=dtype,
        )
    else:
        x_scale, u_scale = _half_widths(model)
        u_low, u_high = model.u_eq + model.input_box.low, model.u_eq + model.input_box.high
        actor = MLPActor(model.x_eq, x_scale, u_low, u_high, cfg.actor_hidden, cfg.activation, dtype=dtype)
        critic = MLPCritic(
            model.x_eq, x_scale, model.u_eq, u_scale, cfg.critic_hidden, cfg.critic_activation, dtype=dtype
        )
    return DDPG(actor, critic, cfg, gamma=config.gamma, cost_scale=cfg.cost_scale)


def _half_widths(model: LinearModel) -> tuple[np.ndarray, np.ndarray]:
    out = []
    for box in (model.state_box, model.input_box):
        half = 0.5 * (box.high - box.low)
        out.append(np.where(np.isfinite(half) & (half > 0), half, 1.0))
    return out[0], out[1]


# -- episodes and evaluation ---------------------------------------------------------------


def safety_violation(info: dict[str, Any]) -> bool:
    """``info["unsafe"]`` where the env reports it, else ``info["violated"]``."""
    return bool(info["unsafe"]) if "unsafe" in info else bool(info.get("violated", False))


@dataclass(frozen=True)
class EpisodeResult:
    """One episode: total ``cost`` (unscaled, penalty included), ``steps``, ``violation_steps``
    (steps whose next state violates), ``terminated`` (ended by the env, not the time limit)."""

    cost: float
    steps: int
    violation_steps: int
    terminated: bool

    @property
    def violated(self) -> bool:
        return self.violation_steps > 0


StepHook = Callable[[np.ndarray, np.ndarray, float, np.ndarray, bool], None]


def run_episode(
    env: gym.Env,
    act: Callable[[np.ndarray], np.ndarray],
    x0: np.ndarray,
    *,
    seed: int,
    on_step: StepHook | None = None,
) -> EpisodeResult:
    """Run one episode from absolute state ``x0`` until termination or the time limit.

    Args:
        env: the env (with its TimeLimit). act: ``obs (n_x,) -> action (n_u,)`` absolute.
        x0: ``(n_x,)`` start state. seed: ``env.reset`` seed (the env's own RNG: noise etc.).
        on_step: called after every step as ``on_step(obs, applied_action, cost, next_obs,
            terminated)`` (training stores the transition and updates there).
    """
    obs, _ = env.reset(seed=int(seed), options={"state": np.asarray(x0, dtype=np.float64)})
    obs = np.asarray(obs, dtype=np.float64)
    total, steps, violations = 0.0, 0, 0
    while True:
        action = act(obs)
        next_obs, _, terminated, truncated, info = env.step(action)
        next_obs = np.asarray(next_obs, dtype=np.float64)
        cost = float(info["cost"])
        total += cost
        steps += 1
        violations += safety_violation(info)
        if on_step is not None:
            on_step(
                obs,
                np.asarray(info.get("applied_action", action), dtype=np.float64),
                cost,
                next_obs,
                bool(terminated),
            )
        obs = next_obs
        if terminated or truncated:
            return EpisodeResult(total, steps, violations, bool(terminated))


@dataclass(frozen=True)
class EvalResult:
    """A policy on the fixed test states: ``costs``, ``steps``, ``violation_steps`` per state."""

    costs: np.ndarray
    steps: np.ndarray
    violation_steps: np.ndarray

    @property
    def mean_cost(self) -> float:
        return float(np.mean(self.costs))

    @property
    def n_violating(self) -> int:
        """Test episodes with at least one violating step."""
        return int(np.count_nonzero(self.violation_steps))

    def to_dict(self) -> dict[str, Any]:
        return {
            "mean_cost": self.mean_cost,
            "costs": [float(c) for c in self.costs],
            "steps": [int(s) for s in self.steps],
            "violation_steps": [int(v) for v in self.violation_steps],
            "n_violating": self.n_violating,
        }


class TestSet:
    """Fixed start states (the config's test states unless ``states`` is given), one env per
    state, for repeated evaluations.

    A policy with ``act_batch(obs (B, n_x)) -> (B, n_u)`` (a stateless batched policy, e.g.
    :class:`~robocritic.yann.actor.TorchPolicy`) runs all test episodes in lockstep with one
    batched call per step; any other Controller runs them one after the other, reset before each.
    Env ``i`` is reset with seed ``i`` (it matters only with randomisation).
    """

    def __init__(self, config: RLConfig, states: np.ndarray | None = None) -> None:
        self.states = config.test_state_array() if states is None else np.asarray(states, dtype=np.float64)
        self.envs = [make_env(config) for _ in self.states]

    def evaluate(self, policy: Controller | Callable[[np.ndarray], np.ndarray]) -> EvalResult:
        """Total cost, steps and violating steps of ``policy`` from each test state."""
        if hasattr(policy, "act_batch"):
            return self._lockstep(policy.act_batch)
        act = policy.act if hasattr(policy, "act") else policy
        results = []
        for i, (env, x0) in enumerate(zip(self.envs, self.states)):
            if hasattr(policy, "reset"):
                policy.reset()
            results.append(run_episode(env, act, x0, seed=i))
        return EvalResult(
            costs=np.array([r.cost for r in results]),
            steps=np.array([r.steps for r in results]),
            violation_steps=np.array([r.violation_steps for r in results]),
        )

    def _lockstep(self, act_batch: Callable[[np.ndarray], np.ndarray]) -> EvalResult:
        n = len(self.envs)
        obs = [
            np.asarray(env.reset(seed=i, options={"state": x0})[0], dtype=np.float64)
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
                violations[i] += safety_violation(info)
                obs[i] = np.asarray(next_obs, dtype=np.float64)
                if not (terminated or truncated):
                    still.append(i)
            active = still
        return EvalResult(costs=costs, steps=steps, violation_steps=violations)

    def close(self) -> None:
        for env in self.envs:
            env.close()


def evaluate_policy(policy: Controller | Callable[[np.ndarray], np.ndarray], config: RLConfig) -> EvalResult:
    """Run ``policy`` (a Controller, or ``obs -> action``) from each of ``config.test_states``
    (see :class:`TestSet`)."""
    tests = TestSet(config)
    try:
        return tests.evaluate(policy)
    finally:
        tests.close()


def evaluate_explicit_mpc(config: RLConfig, law: ExplicitLaw | None = None) -> EvalResult:
    """The explicit MPC itself on the test states (the reference row of the results table)."""
    if law is None:
        env = make_env(config)
        try:
            law = build_law(config, linear_model(env))
        finally:
            env.close()
    return evaluate_policy(ExplicitMPC(law), config)


# -- training ------------------------------------------------------------------------------


@dataclass
class RunResult:
    """A finished (or stopped) training run.

    Attributes:
        run_dir: its folder. metrics: the metrics dict (``metrics.json`` once finished).
        finished: all ``config.episodes`` episodes done. policy: the trained policy.
    """

    run_dir: Path
    metrics: dict[str, Any]
    finished: bool
    policy: Controller | None = None


def _episode_seed(seed: int, episode: int) -> int:
    return int(np.random.SeedSequence([seed, episode]).generate_state(1)[0])


def start_state_rng(seed: int) -> np.random.Generator:
    """Generator of the training start states of run ``seed``; the same stream for every
    algorithm, so all of them train from the same sequence of start states."""
    return np.random.default_rng([int(seed), 1])


def _new_metrics(config: RLConfig, algorithm: str, seed: int) -> dict[str, Any]:
    return {
        "env_id": config.env_id,
        "algorithm": algorithm,
        "seed": int(seed),
        "episodes_done": 0,
        "curve": {
            "episode": [],
            "train_cost": [],
            "train_steps": [],
            "train_violation_steps": [],
            "critic_loss": [],
            "actor_loss": [],
            "wall_s": [],
        },
        "eval_curve": {"episode": [], "test_cost": [], "test_violating": [], "validation_cost": []},
        "test_before": None,
        "test_after": None,  # of the final policy: the selected snapshot if there is a validation set
        "test_after_last": None,  # of the last iterate
        "selection": None,  # {"episode", "validation_cost"} of the best snapshot so far
        "training_violations": 0,
        "training_violation_steps": 0,
    }


class Trainer:
    """Training loop of our DDPG learners (module docstring).

    Args:
        config: the env's config. algorithm: "yann_ddpg" or "ddpg". seed: run seed (torch init,
            start states, replay sampling, exploration noise).
        run_dir: the run folder. progress: show a tqdm bar. tensorboard: write TensorBoard
            scalars to ``run_dir/tb``.

    Use :meth:`train`; a second Trainer on the same ``run_dir`` resumes from its checkpoint.
    """

    def __init__(
        self,
        config: RLConfig,
        algorithm: str,
        seed: int,
        run_dir: str | Path,
        *,
        progress: bool = True,
        tensorboard: bool = True,
    ) -> None:
        if algorithm not in ("yann_ddpg", "ddpg"):
            raise ValueError(f"Trainer runs 'yann_ddpg' or 'ddpg'; got {algorithm!r} (see train())")
        self.config, self.algorithm, self.seed = config, algorithm, int(seed)
        self.cfg = config.learner(algorithm)
        assert isinstance(self.cfg, DDPGConfig)
        self.run_dir = Path(run_dir)
        self.progress, self.tensorboard = progress, tensorboard
        self.env = make_env(config)
        self.model = linear_model(self.env)
        if len(config.start_half_width) != self.model.n_x:
            raise ValueError(
                f"start_half_width has {len(config.start_half_width)} entries; "
                f"{config.env_id} has {self.model.n_x} states"
            )
        self.law = self._law() if algorithm == "yann_ddpg" else None
        self.learner = build_learner(config, algorithm, self.model, self.law, self.seed)
        self.buffer = ReplayBuffer(self.cfg.buffer_size, self.model.n_x, self.model.n_u)
        self.rng = np.random.default_rng(self.seed)  # replay sampling, exploration noise
        self.start_rng = start_state_rng(self.seed)
        self.metrics = _new_metrics(config, algorithm, self.seed)
        self.tests = TestSet(config)
        self.validation = TestSet(config, config.validation_state_array()) if config.validation_states else None
        self.best_actor: dict[str, torch.Tensor] | None = None  # weights of metrics["selection"]
        self.store = CheckpointStore(self.run_dir / "checkpoints", keep=config.keep_checkpoints)
        self._u_low = self.model.u_eq + self.model.input_box.low
        self._u_high = self.model.u_eq + self.model.input_box.high
        self._noise_std = self.cfg.exploration_noise * 0.5 * (self._u_high - self._u_low)

    def _law(self) -> ExplicitLaw:
        """The law of this run: ``run_dir/law.npz`` if a previous session stored it (so a
        resumed run needs no PPOPT and uses the very same law), else built and stored."""
        path = self.run_dir / "law.npz"
        if path.is_file():
            law = ExplicitLaw.load(path)
        else:
            law = build_law(self.config, self.model)
            law.save(path)
        return law

    # -- checkpointing ---------------------------------------------------------------------

    def _save_checkpoint(self) -> None:
        episode = self.metrics["episodes_done"]
        state = {"learner": self.learner.state_dict(), "torch_rng": torch.get_rng_state()}
        if self.best_actor is not None:
            state["best_actor"] = self.best_actor
        meta = {
            "algorithm": self.algorithm,
            "seed": self.seed,
            "config": config_to_dict(self.config),
            "numpy_rng": self.rng.bit_generator.state,
            "start_rng": self.start_rng.bit_generator.state,
            "metrics": self.metrics,
            "buffer": {"ptr": self.buffer.ptr, "size": self.buffer.size},
        }
        self.store.save(episode, state, meta, replay=self.buffer.save)

    def _try_resume(self) -> bool:
        latest = self.store.latest()
        if latest is None:
            return False
        ckpt = self.store.load(latest)
        meta = ckpt.meta
        if meta["algorithm"] != self.algorithm or meta["seed"] != self.seed:
            raise CheckpointError(
                f"{ckpt.path}: checkpoint of {meta['algorithm']} seed {meta['seed']}; asked to resume "
                f"{self.algorithm} seed {self.seed}"
            )
        _check_same_config(meta["config"], config_to_dict(self.config), ckpt.path)
        self.learner.load_state_dict(ckpt.state["learner"])
        self.best_actor = ckpt.state.get("best_actor")
        torch.set_rng_state(ckpt.state["torch_rng"])
        self.rng.bit_generator.state = meta["numpy_rng"]
        self.start_rng.bit_generator.state = meta["start_rng"]
        if ckpt.replay_path is None:
            raise CheckpointError(f"{ckpt.path}: no replay.npz")
        buf = ReplayBuffer.load(ckpt.replay_path)
        if buf.capacity != self.buffer.capacity:
            raise CheckpointError(
                f"{ckpt.path}: replay capacity {buf.capacity} != buffer_size {self.buffer.capacity}"
            )
        self.buffer = buf
        self.metrics = meta["metrics"]
        logger.info("resumed %s after episode %d", ckpt.path, ckpt.episode)
        return True

    # -- loop ------------------------------------------------------------------------------

    def _act_train(self, obs: np.ndarray) -> np.ndarray:
        action = self.learner.act(obs)
        if self.cfg.exploration_noise > 0:
            action = np.clip(
                action + self._noise_std * self.rng.standard_normal(action.shape), self._u_low, self._u_high
            )
        return action

    def _evaluate(self, episode: int, writer: Any) -> dict[str, Any]:
        """Test evaluation of the current actor; with a validation set, also validate it and keep
        its weights if it is the best so far (ties keep the earlier snapshot)."""
        policy = TorchPolicy(self.learner.actor)
        result = self.tests.evaluate(policy)
        curve = self.metrics["eval_curve"]
        curve["episode"].append(episode)
        curve["test_cost"].append(result.mean_cost)
        curve["test_violating"].append(result.n_violating)
        if writer is not None:
            writer.add_scalar("eval/test_cost", result.mean_cost, episode)
            writer.add_scalar("eval/test_violating_episodes", result.n_violating, episode)
        if self.validation is not None:
            cost = self.validation.evaluate(policy).mean_cost
            curve["validation_cost"].append(cost)
            best = self.metrics["selection"]
            if best is None or cost < best["validation_cost"]:
                self.metrics["selection"] = {"episode": episode, "validation_cost": cost}
                self.best_actor = {k: v.detach().clone() for k, v in self.learner.actor.state_dict().items()}
            if writer is not None:
                writer.add_scalar("eval/validation_cost", cost, episode)
        return result.to_dict()

    def _train_episode(self, episode: int) -> tuple[EpisodeResult, float, float]:
        half = np.array(self.config.start_half_width)
        x0 = self.model.x_eq + self.start_rng.uniform(-half, half)
        critic_losses: list[float] = []
        actor_losses: list[float] = []
        cfg = self.cfg

        def on_step(
            obs: np.ndarray, action: np.ndarray, cost: float, next_obs: np.ndarray, terminated: bool
        ) -> None:
            self.buffer.add(obs, action, cost, next_obs, terminated)
            if len(self.buffer) >= cfg.learning_starts:
                for _ in range(cfg.updates_per_step):
                    losses = self.learner.update(self.buffer.sample(cfg.batch_size, self.rng))
                    critic_losses.append(losses["critic_loss"])
                    if not np.isnan(losses["actor_loss"]):
                        actor_losses.append(losses["actor_loss"])

        result = run_episode(
            self.env, self._act_train, x0, seed=_episode_seed(self.seed, episode), on_step=on_step
        )
        mean = lambda v: float(np.mean(v)) if v else float("nan")
        return result, mean(critic_losses), mean(actor_losses)

    def train(self, *, stop_after: int | None = None, resume: bool = True) -> RunResult:
        """Train until ``config.episodes`` episodes are done (resuming from the checkpoint if
        ``resume``), or stop after ``stop_after`` episodes in this call (a checkpoint remains:
        a later call resumes). Returns the metrics and, when finished, the policy.

        Raises:
            CheckpointError: an existing checkpoint of another run (algorithm, seed or config).
        """
        torch.set_num_threads(1)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        resumed = resume and self._try_resume()
        if not resume and self.store.latest() is not None:
            raise CheckpointError(
                f"{self.store.directory}: a checkpoint exists; pass resume=True or use a new run_dir"
            )
        start = self.metrics["episodes_done"]
        writer = self._writer(purge_step=start if resumed else None)
        t_start = time.perf_counter()
        try:
            if start == 0 and self.metrics["test_before"] is None:
                self.metrics["test_before"] = self._evaluate(0, writer)
            bar = _progress(
                self.config.episodes,
                start,
                f"{self.algorithm} {self.config.env_id} s{self.seed}",
                self.progress,
            )
            episodes_run = 0
            while self.metrics["episodes_done"] < self.config.episodes:
                if stop_after is not None and episodes_run >= stop_after:
                    break
                self._run_one(writer, bar, t_start)
                episodes_run += 1
            bar.close()
        finally:
            if writer is not None:
                writer.close()
        finished = self.metrics["episodes_done"] >= self.config.episodes
        if finished:
            self._finish()
        return RunResult(
            self.run_dir, self.metrics, finished, TorchPolicy(self.learner.actor) if finished else None
        )

    def _run_one(self, writer: Any, bar: Any, t_start: float) -> None:
        episode = self.metrics["episodes_done"] + 1
        result, critic_loss, actor_loss = self._train_episode(episode)
        m = self.metrics
        m["episodes_done"] = episode
        c = m["curve"]
        c["episode"].append(episode)
        c["train_cost"].append(result.cost)
        c["train_steps"].append(result.steps)
        c["train_violation_steps"].append(result.violation_steps)
        c["critic_loss"].append(_json_float(critic_loss))
        c["actor_loss"].append(_json_float(actor_loss))
        c["wall_s"].append(time.perf_counter() - t_start)
        m["training_violations"] += int(result.violated)
        m["training_violation_steps"] += result.violation_steps
        if writer is not None:
            writer.add_scalar("train/episode_cost", result.cost, episode)
            writer.add_scalar("train/violation_steps", result.violation_steps, episode)
            writer.add_scalar("train/violating_episodes_total", m["training_violations"], episode)
            if not np.isnan(critic_loss):
                writer.add_scalar("loss/critic", critic_loss, episode)
            if not np.isnan(actor_loss):
                writer.add_scalar("loss/actor", actor_loss, episode)
        last = episode >= self.config.episodes
        if last or episode % self.config.eval_every == 0:
            m["test_after"] = self._evaluate(episode, writer)
        if last or episode % self.config.checkpoint_every == 0:
            if writer is not None:
                writer.flush()
            self._save_checkpoint()
        bar.update(1)
        bar.set_postfix(cost=f"{result.cost:.4g}", test=f"{m['eval_curve']['test_cost'][-1]:.4g}")

    def _writer(self, purge_step: int | None) -> Any:
        return tensorboard_writer(self.run_dir / "tb", purge_step) if self.tensorboard else None

    def _finish(self) -> None:
        """Select the final policy, then write its weights + sidecar and ``metrics.json`` (written
        last: marks the run finished)."""
        m = self.metrics
        if m["test_after_last"] is None:
            m["test_after_last"] = m["test_after"]
            if self.best_actor is not None and m["selection"]["episode"] != m["episodes_done"]:
                self.learner.actor.load_state_dict(self.best_actor)
                m["test_after"] = self.tests.evaluate(TorchPolicy(self.learner.actor)).to_dict()
        save_weights(self.run_dir / "actor.pt", {"actor": self.learner.actor.state_dict()})
        atomic_write_json(
            self.run_dir / "actor.json",
            _actor_sidecar(self.config, self.algorithm, self.seed, self.law is not None),
        )
        self.metrics["versions"] = _versions()
        atomic_write_json(self.run_dir / "metrics.json", self.metrics)

    def close(self) -> None:
        self.env.close()
        self.tests.close()


def tensorboard_writer(log_dir: Path, purge_step: int | None = None) -> Any:
    """A ``torch.utils.tensorboard.SummaryWriter`` on ``log_dir`` (needs ``tensorboard``).

    ``purge_step``: on resuming, events at or after this step from the interrupted session are
    dropped, so the curves have no duplicate points.
    """
    require("tensorboard", "rl", "TensorBoard logging (or pass tensorboard=False)")
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(log_dir=str(log_dir), purge_step=purge_step)


def _json_float(v: float) -> float | None:
    return None if not np.isfinite(v) else float(v)


def _check_same_config(stored: dict[str, Any], current: dict[str, Any], where: Path) -> None:
    diff = sorted(
        k
        for k in set(stored) | set(current)
        if stored.get(k) != current.get(k) and k not in _RESUMABLE_CHANGES
    )
    if diff:
        raise CheckpointError(
            f"{where}: the checkpoint was written with another config (differs in {diff}); use a new run_dir"
        )


def _actor_sidecar(config: RLConfig, algorithm: str, seed: int, has_law: bool) -> dict[str, Any]:
    return {
        "kind": "robocritic.yann actor",
        "algorithm": algorithm,
        "seed": int(seed),
        "env_id": config.env_id,
        "config": config_to_dict(config),
        "weights": "actor.pt",
        "law": "law.npz" if has_law else None,
        "versions": _versions(),
    }


def _versions() -> dict[str, str]:
    import robocritic

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "gymnasium": gym.__version__,
        "robocritic": getattr(robocritic, "__version__", "unknown"),
    }


def _progress(total: int, initial: int, desc: str, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc=desc, disable=not enabled, leave=False, dynamic_ncols=True)


# -- entry points --------------------------------------------------------------------------


def train(
    config: RLConfig,
    algorithm: str,
    seed: int,
    run_dir: str | Path,
    *,
    resume: bool = True,
    progress: bool = True,
    tensorboard: bool = True,
    stop_after: int | None = None,
) -> RunResult:
    """Train ``algorithm`` (one of :data:`~robocritic.yann.config.ALGORITHMS`) on ``config``'s env.

    Args:
        config: env config (:func:`~robocritic.yann.config.default_config` or a YAML file).
        algorithm: "yann_ddpg", "ddpg" (ours, resumable) or "td3", "sac" (stable-baselines3).
        seed: run seed. run_dir: run folder (see the module docstring).
        resume: continue from ``run_dir``'s checkpoint if there is one (ours only).
        progress: tqdm bar. tensorboard: TensorBoard scalars in ``run_dir/tb``.
        stop_after: stop after this many episodes in this call (ours only; for tests and
            time-sliced jobs).

    Returns:
        :class:`RunResult`; ``metrics["test_before"]`` / ``["test_after"]`` are the test-set
        evaluations, ``["training_violations"]`` the violating training episodes.
    """
    torch.set_num_threads(1)
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {list(ALGORITHMS)}; got {algorithm!r}")
    if algorithm in ("td3", "sac"):
        from robocritic.yann.baselines import train_sb3

        if stop_after is not None:
            raise ValueError(
                f"stop_after: SB3 baselines ({algorithm}) run to the end (they are not resumable)"
            )
        return train_sb3(config, algorithm, seed, run_dir, progress=progress, tensorboard=tensorboard)
    trainer = Trainer(config, algorithm, seed, run_dir, progress=progress, tensorboard=tensorboard)
    try:
        return trainer.train(stop_after=stop_after, resume=resume)
    finally:
        trainer.close()


def load_policy(run_dir: str | Path) -> tuple[Controller, RLConfig, str]:
    """The trained policy of a finished run, rebuilt from ``actor.json`` + ``actor.pt``
    (weights-only) and, for YANN-DDPG, ``law.npz``; no PPOPT needed.

    Returns:
        ``(policy, config, algorithm)``; the policy is a Controller on absolute observations.
    """
    run_dir = Path(run_dir)
    side = read_json(run_dir / "actor.json")
    config = config_from_dict(side["config"])
    algorithm = side["algorithm"]
    state = load_weights(run_dir / side["weights"])
    if algorithm in ("td3", "sac"):
        from robocritic.yann.baselines import load_sb3_policy

        return load_sb3_policy(config, algorithm, state), config, algorithm
    env = make_env(config)
    try:
        model = linear_model(env)
    finally:
        env.close()
    law = ExplicitLaw.load(run_dir / side["law"]) if side.get("law") else None
    learner = build_learner(config, algorithm, model, law, int(side["seed"]))
    learner.actor.load_state_dict(state["actor"])
    return TorchPolicy(learner.actor), config, algorithm


def evaluate_run(run_dir: str | Path) -> EvalResult:
    """Evaluate a finished run's policy on its config's test states."""
    policy, config, _ = load_policy(run_dir)
    return evaluate_policy(policy, config)
