"""A YANN-RL config resolved once into the parts a run is built from.

:func:`resolve` turns an :class:`~robocritic.yann.config.RLConfig` into a :class:`Setup`: the env
factory (``gym.make`` with the config's termination, penalty and time limit), the linear model
at the operating point, the plant spec a trained policy records, the scales the networks use,
and the test and validation start states. Trainers, baselines and evaluations take the Setup, so
the config is not re-resolved (and no env is built only to read a model): the env the model was
read from is handed out by the Setup's first :meth:`Setup.make_env` call.

:func:`build_law` (the explicit MPC the YANN actor starts from) and :func:`build_learner` (the
DDPG learner of an algorithm) build on a Setup.
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch

import robocritic.envs  # noqa: F401 -- registers the robocritic/ env ids
from robocritic.controllers.explicit_mpc import ExplicitLaw
from robocritic.dynamics.base import LinearModel
from robocritic.learning.rollout import TestSet
from robocritic.learning.spec import ObsNormalization, PlantSpec, half_widths
from robocritic.yann.actor import build_actor, torch_dtype
from robocritic.yann.config import RLConfig
from robocritic.yann.critic import MLPCritic, YANNCritic
from robocritic.yann.ddpg import DDPG

__all__ = ["EnvFactory", "Setup", "build_law", "build_learner", "linear_model", "make_env", "resolve"]


@dataclass(frozen=True)
class EnvFactory:
    """``gym.make(env_id)`` with a config's termination, penalty and time limit; each call
    builds a fresh env."""

    env_id: str
    max_episode_steps: int | None
    terminate_on_violation: bool
    violation_penalty: float

    @classmethod
    def from_config(cls, config: RLConfig) -> EnvFactory:
        return cls(
            env_id=config.env_id,
            max_episode_steps=config.max_episode_steps,
            terminate_on_violation=config.terminate_on_violation,
            violation_penalty=config.violation_penalty,
        )

    def __call__(self) -> gym.Env:
        return gym.make(
            self.env_id,
            max_episode_steps=self.max_episode_steps,
            terminate_on_violation=self.terminate_on_violation,
            violation_penalty=self.violation_penalty,
        )


def make_env(config: RLConfig) -> gym.Env:
    """``gym.make(config.env_id)`` with the config's termination, penalty and time limit."""
    return EnvFactory.from_config(config)()


def linear_model(env: gym.Env) -> LinearModel:
    """The env's dynamics model linearised at its operating point (deviation units)."""
    return env.unwrapped.dynamics.linearize()


class Setup:
    """A config resolved once (use :func:`resolve`).

    Attributes:
        config: the config. env_factory: builds the config's env.
        model: the env's dynamics linearised at the operating point (deviation units).
        plant: what a trained policy records about the system (absolute units).
        x_scale, u_scale: half-widths of the state and input boxes (1 where a side is open).
        u_low, u_high: absolute input box.
        observation: the observation normalisation of the SB3 baselines (``x_eq``, ``x_scale``).
        test_states, validation_states: ``(n, n_x)`` start states (validation may be empty).

    The env the model was read from is returned by the first :meth:`make_env` call (a trainer's
    training env); :meth:`close` closes it if nobody took it.
    """

    def __init__(self, config: RLConfig, env_factory: EnvFactory, env: gym.Env) -> None:
        self.config = config
        self.env_factory = env_factory
        dynamics = env.unwrapped.dynamics
        self.model: LinearModel = dynamics.linearize()
        self.plant = PlantSpec.from_dynamics(dynamics)
        model = self.model
        self.x_scale = half_widths(model.state_box.low, model.state_box.high)
        self.u_scale = half_widths(model.input_box.low, model.input_box.high)
        self.u_low = model.u_eq + model.input_box.low
        self.u_high = model.u_eq + model.input_box.high
        self.observation = ObsNormalization(model.x_eq, self.x_scale)
        self.test_states = config.test_state_array()
        self.validation_states = config.validation_state_array()
        self._spare: gym.Env | None = env
        if len(config.start_half_width) != model.n_x:
            self.close()
            raise ValueError(
                f"start_half_width has {len(config.start_half_width)} entries; "
                f"{config.env_id} has {model.n_x} states"
            )

    def make_env(self) -> gym.Env:
        """A fresh env of the config (the first call returns the one the model was read from)."""
        env, self._spare = self._spare, None
        return env if env is not None else self.env_factory()

    def test_set(self) -> TestSet:
        """The test states, one env each."""
        return TestSet(self.make_env, self.test_states)

    def validation_set(self) -> TestSet | None:
        """The validation states, one env each; ``None`` without validation states."""
        return TestSet(self.make_env, self.validation_states) if len(self.validation_states) else None

    def close(self) -> None:
        """Close the env the model was read from if no caller took it."""
        if self._spare is not None:
            self._spare.close()
            self._spare = None


def resolve(config: RLConfig) -> Setup:
    """Resolve ``config`` into a :class:`Setup` (builds one env, kept for the first caller).

    Raises:
        ValueError: ``start_half_width`` does not match the env's state size.
    """
    factory = EnvFactory.from_config(config)
    return Setup(config, factory, factory())


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


def build_learner(setup: Setup, algorithm: str, law: ExplicitLaw | None, seed: int) -> DDPG:
    """Seed torch with ``seed`` and build the DDPG learner of ``algorithm`` ("yann_ddpg", "ddpg").

    The actor is built first, then the critic (the order fixes the initial weights of a seed).
    """
    torch.manual_seed(seed)
    config, model = setup.config, setup.model
    learner_config = config.ddpg_learner(algorithm)
    dtype = torch_dtype(learner_config.dtype)
    gate_P = None
    if algorithm == "yann_ddpg" and config.yann_ddpg.gate is not None:
        from robocritic.controllers.lqr import dlqr

        _, gate_P = dlqr(model.A, model.B, np.array(config.state_weight), np.array(config.input_weight))
    actor = build_actor(
        config, algorithm, law, x_eq=model.x_eq, x_scale=setup.x_scale, u_low=setup.u_low, u_high=setup.u_high,
        gate_P=gate_P,
    )
    critic: torch.nn.Module
    if algorithm == "yann_ddpg":
        critic = YANNCritic(
            model,
            np.array(config.state_weight),
            np.array(config.input_weight),
            config.gamma,
            learner_config.critic_hidden,
            learner_config.critic_activation,
            cost_scale=learner_config.cost_scale,
            train_quadratic=config.yann_ddpg.train_quadratic,
            dtype=dtype,
        )
    else:
        critic = MLPCritic(
            model.x_eq,
            setup.x_scale,
            model.u_eq,
            setup.u_scale,
            learner_config.critic_hidden,
            learner_config.critic_activation,
            features=learner_config.features,
            dtype=dtype,
        )
    return DDPG(actor, critic, learner_config, gamma=config.gamma, cost_scale=learner_config.cost_scale)
