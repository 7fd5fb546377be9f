"""``mpc_controller``: linear MPC of a hardware profile's robot as a ROS 2 node.

    mpc_controller --ros-args -p profile:=pendulum_sim -p horizon:=10 -p solver:=daqp \\
        -p use_sim_time:=true

Subscribes the profile's JointState, publishes efforts on its command topic at ``rate_hz`` (see
:mod:`robocritic.nodes.controller_node` for topics, activation, e-stop and watchdog).

Parameters of the law: ``horizon`` (prediction horizon N >= 1, steps of ``1/rate_hz``; default
10), ``solver`` (``daqp`` | ``osqp`` | ``cvxpy``; default ``daqp``), ``state_weight`` (diagonal of
Q, one per state; default the pendulum benchmark's ``[1, 1]``), ``input_weight`` (diagonal of R,
one per input; default ``[0.001]``).

The model comes from the profile (the controller never builds an env, ARCHITECTURE.md): for a
``pendulum`` profile, :class:`~robocritic.dynamics.PendulumModel` with ``dt = 1/rate_hz`` and the
profile's torque, angle and speed limits, linearised at upright.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np

from robocritic.controllers.mpc import LinearMPC, MPCConfig
from robocritic.dynamics import PendulumModel
from robocritic.envs.pendulum.task import INPUT_WEIGHT, STATE_WEIGHT
from robocritic.profiles import HardwareProfile
from robocritic.ros.transport.base import Node, ParameterError
from robocritic.nodes.common import at_least, one_of
from robocritic.nodes.controller_node import BuiltController, run_controller

SOLVERS = ("daqp", "osqp", "cvxpy")


def pendulum_model_from_profile(profile: HardwareProfile, rate_hz: float) -> PendulumModel:
    """The pendulum model a ``pendulum`` profile describes, discretised at ``1/rate_hz`` [s].

    Raises:
        ParameterError: naming ``profile``, when it is not a one-joint pendulum with symmetric
            position limits (the model's constraint is ``|theta| <= max_angle``).
    """
    if profile.kind != "pendulum" or len(profile.joints) != 1:
        raise ParameterError(
            f"parameter 'profile' ({profile.source}): mpc_controller has a model for one-joint 'pendulum' "
            f"profiles only; got kind {profile.kind!r} with {len(profile.joints)} joint(s)"
        )
    joint = profile.joints[0]
    limits = joint.position_limits
    if limits is None or limits[0] != -limits[1]:
        raise ParameterError(
            f"parameter 'profile' ({profile.source}): joints[0].position_limits must be symmetric "
            f"[-a, a] for the pendulum model; got {limits}"
        )
    return PendulumModel(
        dt=1.0 / rate_hz, max_torque=joint.effort_limit, max_angle=limits[1], max_speed=joint.velocity_limit
    )


def build_linear_mpc(
    profile: HardwareProfile,
    *,
    rate_hz: float | None = None,
    horizon: int = 10,
    solver: str = "daqp",
    state_weight: Sequence[float] | None = None,
    input_weight: Sequence[float] | None = None,
) -> LinearMPC:
    """The :class:`LinearMPC` the ``mpc_controller`` node runs for these settings.

    Also what :mod:`robocritic.jobs.pendulum_graph` runs in process as the reference, so both sides
    use one construction. ``rate_hz`` defaults to the profile's control rate.
    """
    rate_hz = profile.control_rate_hz if rate_hz is None else rate_hz
    model = pendulum_model_from_profile(profile, rate_hz)
    q = np.diag(STATE_WEIGHT) if state_weight is None else np.asarray(state_weight, dtype=np.float64)
    r = np.diag(INPUT_WEIGHT) if input_weight is None else np.asarray(input_weight, dtype=np.float64)
    if q.shape != (model.n_x,):
        raise ParameterError(
            f"parameter 'state_weight' needs {model.n_x} values (diagonal of Q); got {q.tolist()}"
        )
    if r.shape != (model.n_u,):
        raise ParameterError(
            f"parameter 'input_weight' needs {model.n_u} values (diagonal of R); got {r.tolist()}"
        )
    # OSQP polishing off, as in robocritic demo: OSQP 1.1 prints to stdout on every polished solve
    # without an active constraint (osqp/osqp#785), which would flood a node's output.
    try:
        config = MPCConfig(horizon=horizon, Q=np.diag(q), R=np.diag(r), solver=solver, polish=False)
    except ValueError as exc:
        name = "state_weight" if "Q" in str(exc) else "input_weight" if "R" in str(exc) else "horizon"
        raise ParameterError(f"parameter {name!r}: {exc}") from None
    return LinearMPC(model.linearize(), config)


def mpc_factory(node: Node, profile: HardwareProfile) -> BuiltController:
    """:data:`~robocritic.nodes.controller_node.ControllerFactory` of linear MPC."""
    horizon = node.declare_parameter("horizon", 10, at_least(1), "MPC prediction horizon N [steps]")
    solver = node.declare_parameter("solver", "daqp", one_of(*SOLVERS), "QP solver")
    state_weight = node.declare_parameter(
        "state_weight", [float(v) for v in np.diag(STATE_WEIGHT)], _finite_non_negative, "diagonal of Q"
    )
    input_weight = node.declare_parameter(
        "input_weight", [float(v) for v in np.diag(INPUT_WEIGHT)], _finite_positive, "diagonal of R"
    )
    rate_hz = node.get_parameter("rate_hz")
    mpc = build_linear_mpc(
        profile, rate_hz=rate_hz, horizon=horizon, solver=solver, state_weight=state_weight,
        input_weight=input_weight,
    )  # fmt: skip
    return BuiltController(
        controller=mpc,
        safe_command=mpc.model.u_eq.copy(),
        description=f"LinearMPC N={horizon} ({solver})",
        info={
            "horizon": horizon,
            "solver": solver,
            "state_weight": state_weight,
            "input_weight": input_weight,
        },
    )


def _finite_non_negative(values: list[float]) -> str | None:
    ok = values and all(isinstance(v, float) and np.isfinite(v) and v >= 0 for v in values)
    return None if ok else "must be a non-empty list of finite floats >= 0"


def _finite_positive(values: list[float]) -> str | None:
    ok = values and all(isinstance(v, float) and np.isfinite(v) and v > 0 for v in values)
    return None if ok else "must be a non-empty list of finite floats > 0"


def main(argv: Sequence[str] | None = None) -> int:
    """Console script ``mpc_controller``."""
    return run_controller(mpc_factory, "mpc_controller", argv)


if __name__ == "__main__":
    sys.exit(main())
