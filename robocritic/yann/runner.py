"""Entry points of YANN-RL: train a run, load and evaluate a trained policy.

The parts live in their own modules; this one keeps the functions the command line, the
comparison study and the tests call:

* :mod:`robocritic.yann.factory` -- a config resolved once (env factory, linear model, scales,
  start states), the explicit law, the DDPG learners;
* :mod:`robocritic.yann.trainer` -- :class:`~robocritic.yann.trainer.DDPGTrainer`, the resumable
  training loop of ``yann_ddpg`` and ``ddpg``;
* :mod:`robocritic.yann.baselines` -- the stable-baselines3 TD3 and SAC baselines;
* :mod:`robocritic.yann.policy_io` -- trained policies from run folders, with no simulator;
* :mod:`robocritic.learning` -- rollout and evaluation, the run record and folder, checkpoints.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from robocritic.controllers.explicit_mpc import ExplicitLaw, ExplicitMPC
from robocritic.interfaces import Controller
from robocritic.learning.rollout import EvalResult, evaluate
from robocritic.learning.runs import RunResult
from robocritic.yann import policy_io
from robocritic.yann.baselines import train_sb3
from robocritic.yann.config import ALGORITHMS, SB3_ALGORITHMS, RLConfig
from robocritic.yann.factory import EnvFactory, build_law, linear_model, make_env, resolve
from robocritic.yann.trainer import DDPGTrainer

__all__ = [
    "evaluate_explicit_mpc",
    "evaluate_policy",
    "evaluate_run",
    "linear_model",
    "load_policy",
    "make_env",
    "train",
]


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
        seed: run seed. run_dir: run folder (:class:`~robocritic.learning.runs.RunFolder`).
        resume: continue from ``run_dir``'s checkpoint if there is one (ours only).
        progress: tqdm bar. tensorboard: TensorBoard scalars in ``run_dir/tb``.
        stop_after: stop after this many episodes in this call (ours only; for tests and
            time-sliced jobs).

    Returns:
        :class:`~robocritic.learning.runs.RunResult`; its ``metrics``
        (:class:`~robocritic.learning.runs.RunMetrics`) has ``test_before`` / ``test_after``, the
        test-set evaluations, and ``training_violations``, the violating training episodes.
    """
    torch.set_num_threads(1)
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {list(ALGORITHMS)}; got {algorithm!r}")
    if algorithm in SB3_ALGORITHMS and stop_after is not None:
        raise ValueError(f"stop_after: SB3 baselines ({algorithm}) run to the end (they are not resumable)")
    setup = resolve(config)
    try:
        if algorithm in SB3_ALGORITHMS:
            return train_sb3(setup, algorithm, seed, run_dir, progress=progress, tensorboard=tensorboard)
        trainer = DDPGTrainer(setup, algorithm, seed, run_dir, progress=progress, tensorboard=tensorboard)
        try:
            return trainer.train(stop_after=stop_after, resume=resume)
        finally:
            trainer.close()
    finally:
        setup.close()


def evaluate_policy(policy: Controller | Callable[[np.ndarray], np.ndarray], config: RLConfig) -> EvalResult:
    """Run ``policy`` (a Controller, or ``obs -> action``) from each of ``config.test_states``
    (see :class:`~robocritic.learning.rollout.TestSet`)."""
    return evaluate(policy, EnvFactory.from_config(config), config.test_state_array())


def evaluate_explicit_mpc(config: RLConfig, law: ExplicitLaw | None = None) -> EvalResult:
    """The explicit MPC itself on the test states (the reference row of the results table)."""
    if law is None:
        setup = resolve(config)
        try:
            law = build_law(config, setup.model)
            return evaluate(ExplicitMPC(law), setup.make_env, setup.test_states)
        finally:
            setup.close()
    return evaluate_policy(ExplicitMPC(law), config)


def load_policy(run_dir: str | Path) -> tuple[Controller, RLConfig, str]:
    """The trained policy of a finished run (:func:`robocritic.yann.policy_io.load_policy`).

    Returns:
        ``(policy, config, algorithm)``; the policy is a Controller on absolute observations.
    """
    loaded = policy_io.load_policy(run_dir)
    return loaded.policy, loaded.config, loaded.algorithm


def evaluate_run(run_dir: str | Path) -> EvalResult:
    """Evaluate a finished run's policy on its config's test states."""
    policy, config, _ = load_policy(run_dir)
    return evaluate_policy(policy, config)
