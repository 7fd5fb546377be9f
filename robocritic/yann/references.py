"""Reference controllers a YANN-RL policy is measured against, on the same starts and env.

Names (:data:`REFERENCES`), each built from an :class:`~robocritic.yann.config.RLConfig` by
:func:`build_reference`:

* ``mpc2`` -- the explicit MPC the YANN actor starts from
  (:func:`~robocritic.yann.factory.build_law`: horizon ``config.mpc_horizon``, 2 by default, or
  ``config.law_path``), evaluated by :class:`~robocritic.controllers.explicit_mpc.ExplicitMPC`.
* ``mpc20`` -- the online linear MPC with horizon :data:`LONG_HORIZON`, built as ``build_law``
  builds the short one (same model, ``Q``, ``R``, Riccati terminal cost, state box), solved by
  DAQP every step (:class:`~robocritic.controllers.mpc.LinearMPC`).
* ``swingup`` (pendulum only) -- energy pumping with ``mpc2`` as the catch controller
  (:class:`~robocritic.controllers.swing_up.EnergySwingUp`), ``|u| <= max_torque`` throughout.
  Catch region: ``dx' P dx <= SWING_UP.catch_level`` with ``P`` the DARE solution of the MPC's
  ``(A, B, Q, R)`` (its terminal cost); released above ``SWING_UP.release_level``. Both levels lie
  below the smallest ``dx' P dx`` of any grid start the explicit MPC loses (the benchmark
  ``benchmarks/yann_hard_starts.py`` prints that level), so the MPC is only handed states of the
  kind it was seen to catch.

* ``nmpc`` (pendulum only; extra ``nmpc``: CasADi) -- a nonlinear MPC of the true dynamics
  (:class:`~robocritic.yann.nmpc.PendulumNMPC`, horizon :data:`NMPC_HORIZON` steps, IPOPT each
  step, the same ``P`` as terminal weight): the near-optimal reference. Not in
  :data:`REFERENCES` (the set the hard-starts benchmark runs on every grid start): one episode
  takes tens of seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robocritic.controllers.explicit_mpc import ExplicitLaw, ExplicitMPC
from robocritic.controllers.lqr import dlqr
from robocritic.controllers.mpc import LinearMPC, MPCConfig
from robocritic.controllers.swing_up import EnergySwingUp, SwingUpConfig
from robocritic.dynamics import PendulumModel
from robocritic.dynamics.base import DynamicsModel, LinearModel
from robocritic.interfaces import Controller
from robocritic.yann.config import RLConfig
from robocritic.yann.factory import EnvFactory, build_law, resolve

__all__ = [
    "LONG_HORIZON",
    "NMPC_HORIZON",
    "REFERENCES",
    "SLOW_REFERENCES",
    "SWING_UP",
    "EnvParts",
    "Reference",
    "build_reference",
    "catch_lyapunov",
    "env_of",
]

REFERENCES: tuple[str, ...] = ("mpc2", "mpc20", "swingup")
"""The fast references (every start set of the hard-starts benchmark runs all of them)."""
SLOW_REFERENCES: tuple[str, ...] = ("nmpc",)
"""References :func:`build_reference` also knows that take seconds per step-episode."""
NMPC_HORIZON = 80
"""Horizon of the ``nmpc`` reference in steps of the env's period (4 s: room for a swing-up)."""
LONG_HORIZON = 20
"""Horizon of the ``mpc20`` reference (steps of the env's period)."""
SWING_UP = SwingUpConfig(catch_level=1.0, release_level=2.0, gain=1.0)
"""The pendulum swing-up's levels (of ``dx' P dx``, P from the DARE) and pumping gain (N m s^3/rad^3)."""


@dataclass(frozen=True, eq=False)
class Reference:
    """A policy with the env it is measured in.

    Attributes:
        name: one of :data:`REFERENCES` (or a caller's label). policy: the controller.
        make_env: builds the config's env. x_eq: ``(n_x,)`` operating point, absolute units.
    """

    name: str
    policy: Controller
    make_env: EnvFactory
    x_eq: np.ndarray


@dataclass(frozen=True, eq=False)
class EnvParts:
    """What the references need from a config's env: its factory, linear model and dynamics."""

    make_env: EnvFactory
    model: LinearModel
    dynamics: DynamicsModel


def env_of(config: RLConfig) -> EnvParts:
    """Build the config's env once to read its linear model and dynamics, then close it."""
    setup = resolve(config)
    try:
        env = setup.make_env()
        try:
            dynamics = env.unwrapped.dynamics
        finally:
            env.close()
        return EnvParts(setup.env_factory, setup.model, dynamics)
    finally:
        setup.close()


def catch_lyapunov(config: RLConfig, model: LinearModel) -> np.ndarray:
    """``P`` ``(n_x, n_x)``: the DARE solution of ``(A, B, Q, R)``, the MPC's terminal cost."""
    _, P = dlqr(model.A, model.B, np.array(config.state_weight), np.array(config.input_weight))
    return P


def build_reference(name: str, config: RLConfig, *, law: ExplicitLaw | None = None) -> Reference:
    """The reference ``name`` (one of :data:`REFERENCES`) on ``config``'s env.

    Args:
        law: the explicit law of ``mpc2`` and of the swing-up's catch; ``None``: ``build_law``
            (``config.law_path``, else PPOPT, the ``explicit`` extra).

    Raises:
        ValueError: an unknown name (field ``policy``), ``swingup`` on an env that is not the
            pendulum, or a law that does not fit the env.
    """
    if name not in REFERENCES + SLOW_REFERENCES:
        raise ValueError(f"policy must be one of {list(REFERENCES + SLOW_REFERENCES)} or a run; got {name!r}")
    parts = env_of(config)
    model = parts.model
    policy: Controller
    if name == "nmpc":
        if not isinstance(parts.dynamics, PendulumModel):
            raise ValueError(f"policy: nmpc is defined for the pendulum only; {config.env_id} is not one")
        from robocritic.yann.nmpc import NMPCConfig, PendulumNMPC

        policy = PendulumNMPC(parts.dynamics, np.array(config.state_weight), np.array(config.input_weight),
                              catch_lyapunov(config, model), NMPCConfig(horizon=NMPC_HORIZON))
    elif name == "mpc20":
        Q, R = np.array(config.state_weight), np.array(config.input_weight)
        policy = LinearMPC(model, MPCConfig(horizon=LONG_HORIZON, Q=Q, R=R))
    else:
        pendulum = parts.dynamics if isinstance(parts.dynamics, PendulumModel) else None
        if name == "swingup" and pendulum is None:
            raise ValueError(f"policy: swingup is defined for the pendulum only; {config.env_id} is not one")
        catch = ExplicitMPC(law if law is not None else build_law(config, model))
        policy = catch if pendulum is None or name == "mpc2" else EnergySwingUp(
            pendulum, catch, catch_lyapunov(config, model), SWING_UP)
    return Reference(name, policy, parts.make_env, model.x_eq.copy())
