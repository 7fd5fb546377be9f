"""``mpc_controller``: linear MPC of a hardware profile's robot as a ROS 2 node.

    mpc_controller --ros-args -p profile:=pendulum_sim -p horizon:=10 -p solver:=daqp \\
        -p use_sim_time:=true

Subscribes the profile's JointState, publishes efforts on its command topic at ``rate_hz`` (see
:mod:`robocritic.nodes.controller_node` for topics, activation, e-stop and watchdog).

The problem comes from the profile (the controller never builds an env, docs/architecture.md#interfaces): its
``mpc`` section names the robot's dynamics model (a :class:`~robocritic.dynamics.DynamicsModel`
class, built with ``dt = 1/rate_hz`` and the section's ``model_parameters``, linearised at its
operating point) and the defaults of horizon and weights; the state is ``[q, dq]`` of the
profile's joints, the input one effort per joint, and the constraints are the joints' position,
velocity and effort limits.

Parameters of the law: ``horizon`` (prediction horizon N >= 1, steps of ``1/rate_hz``; default
the profile's ``mpc.horizon``), ``solver`` (``daqp`` | ``osqp`` | ``cvxpy``; default ``daqp``),
``state_weight`` (diagonal of Q, one per state; default the profile's), ``input_weight``
(diagonal of R, one per input; default the profile's).
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Sequence

import numpy as np

import robocritic.dynamics
from robocritic.controllers.mpc import LinearMPC, MPCConfig
from robocritic.dynamics import Box, DynamicsModel, LinearModel
from robocritic.nodes.controller_node import BuiltController, run_controller
from robocritic.nodes.profile_params import check_joint_space_law, require_joints
from robocritic.nodes.validators import at_least, finite_floats, one_of
from robocritic.profiles import HardwareProfile, MPCSpec
from robocritic.ros.transport.base import Node, ParameterError

SOLVERS = ("daqp", "osqp", "cvxpy")


def _mpc_spec(profile: HardwareProfile) -> MPCSpec:
    if profile.mpc is None:
        raise ParameterError(
            f"parameter 'profile' ({profile.source}): mpc_controller needs the profile's 'mpc' section (the "
            f"dynamics model, horizon and weights, as in hardware/pendulum_sim.yaml); robot {profile.robot} "
            "has none"
        )
    return profile.mpc


def linear_model_from_profile(profile: HardwareProfile, rate_hz: float) -> LinearModel:
    """The deviation model MPC plans with: the profile's ``mpc.model`` at ``dt = 1/rate_hz`` [s],
    linearised at its operating point, constrained by the profile's joint limits.

    State ``(2 n,)`` ``[q, dq]`` [rad or m, rad/s or m/s], input ``(n,)`` efforts [N m or N], in
    the profile's model joint order.

    Raises:
        ParameterError: naming ``profile`` and the field, when the profile has no ``mpc`` section,
            names no :mod:`robocritic.dynamics` model, or the model does not act on its joints.
    """
    spec = _mpc_spec(profile)
    where = f"parameter 'profile' ({profile.source}): mpc.model"
    cls = getattr(robocritic.dynamics, spec.model, None)
    if not (isinstance(cls, type) and issubclass(cls, DynamicsModel)):
        known = sorted(
            name for name in robocritic.dynamics.__all__
            if isinstance(getattr(robocritic.dynamics, name), type)
            and issubclass(getattr(robocritic.dynamics, name), DynamicsModel)
            and getattr(robocritic.dynamics, name) is not DynamicsModel
        )  # fmt: skip
        raise ParameterError(
            f"{where} = {spec.model!r} is not a dynamics model; robocritic.dynamics has {known}"
        )
    try:
        model = cls(dt=1.0 / rate_hz, **spec.model_parameters)
    except (TypeError, ValueError) as exc:
        raise ParameterError(
            f"parameter 'profile' ({profile.source}): mpc.model_parameters do not fit {spec.model}: {exc}"
        ) from None
    joint_map = require_joints(profile)
    check_joint_space_law(f"{where} = {spec.model!r}", model.n_x, model.n_u, model.dt, profile, rate_hz)
    lin = model.linearize()
    state_low = np.concatenate([joint_map.position_limits[:, 0], -joint_map.velocity_limit])
    state_high = np.concatenate([joint_map.position_limits[:, 1], joint_map.velocity_limit])
    return dataclasses.replace(
        lin,
        state_box=Box(state_low - lin.x_eq, state_high - lin.x_eq),
        input_box=Box(-joint_map.effort_limit - lin.u_eq, joint_map.effort_limit - lin.u_eq),
    )


def build_linear_mpc(
    profile: HardwareProfile,
    *,
    rate_hz: float | None = None,
    horizon: int | None = None,
    solver: str = "daqp",
    state_weight: Sequence[float] | None = None,
    input_weight: Sequence[float] | None = None,
) -> LinearMPC:
    """The :class:`LinearMPC` the ``mpc_controller`` node runs for these settings.

    Also what :mod:`robocritic.jobs.pendulum_graph` runs in process as the reference, so both sides
    use one construction. ``rate_hz`` defaults to the profile's control rate; ``horizon``,
    ``state_weight`` ``(n_x,)`` and ``input_weight`` ``(n_u,)`` (diagonals of Q and R) to the
    profile's ``mpc`` section.

    Raises:
        ParameterError: naming the parameter (``profile``, ``horizon``, ``solver``,
            ``state_weight`` or ``input_weight``) that makes the problem invalid.
    """
    spec = _mpc_spec(profile)
    rate_hz = profile.control_rate_hz if rate_hz is None else rate_hz
    model = linear_model_from_profile(profile, rate_hz)
    horizon = spec.horizon if horizon is None else horizon
    if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1:
        raise ParameterError(f"parameter 'horizon' = {horizon!r} is invalid: must be an integer >= 1")
    if solver not in SOLVERS:
        raise ParameterError(f"parameter 'solver' = {solver!r} is invalid: must be one of {list(SOLVERS)}")
    q = _diagonal("state_weight", spec.state_weight if state_weight is None else state_weight, model.n_x, "Q")
    r = _diagonal("input_weight", spec.input_weight if input_weight is None else input_weight, model.n_u, "R")
    if not np.all(q >= 0):
        raise ParameterError(f"parameter 'state_weight' = {q.tolist()} is invalid: Q needs entries >= 0")
    if not np.all(r > 0):
        raise ParameterError(f"parameter 'input_weight' = {r.tolist()} is invalid: R needs entries > 0")
    # OSQP polishing off, as in robocritic demo: OSQP 1.1 prints to stdout on every polished solve
    # without an active constraint (osqp/osqp#785), which would flood a node's output.
    config = MPCConfig(horizon=horizon, Q=np.diag(q), R=np.diag(r), solver=solver, polish=False)
    try:
        return LinearMPC(model, config)
    except ValueError as exc:  # the weights leave the terminal cost (DARE) without a solution
        raise ParameterError(
            f"parameters 'state_weight' = {q.tolist()} and 'input_weight' = {r.tolist()} give no MPC for "
            f"the model of profile {profile.robot}: {exc}"
        ) from None


def _diagonal(name: str, values: Sequence[float], size: int, matrix: str) -> np.ndarray:
    d = np.asarray(values, dtype=np.float64).reshape(-1)
    if d.shape != (size,) or not np.all(np.isfinite(d)):
        raise ParameterError(
            f"parameter {name!r} needs {size} values (diagonal of {matrix}); got {d.tolist()}"
        )
    return d


def mpc_factory(node: Node, profile: HardwareProfile) -> BuiltController:
    """:data:`~robocritic.nodes.controller_node.ControllerFactory` of linear MPC."""
    spec = _mpc_spec(profile)
    horizon = node.declare_parameter(
        "horizon", spec.horizon, at_least(1), "MPC prediction horizon N [steps]; default the profile's"
    )
    solver = node.declare_parameter("solver", "daqp", one_of(*SOLVERS), "QP solver")
    state_weight = node.declare_parameter(
        "state_weight", list(spec.state_weight), finite_floats(minimum=0.0, strict=False),
        "diagonal of Q; default the profile's",
    )  # fmt: skip
    input_weight = node.declare_parameter(
        "input_weight", list(spec.input_weight), finite_floats(minimum=0.0, strict=True),
        "diagonal of R; default the profile's",
    )  # fmt: skip
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
            "model": spec.model,
            "horizon": horizon,
            "solver": solver,
            "state_weight": state_weight,
            "input_weight": input_weight,
        },
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Console script ``mpc_controller``."""
    return run_controller(mpc_factory, "mpc_controller", argv)


if __name__ == "__main__":
    sys.exit(main())
