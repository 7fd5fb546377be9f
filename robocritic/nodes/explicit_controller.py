"""``explicit_controller``: an explicit MPC law (an :class:`ExplicitLaw` ``.npz``) as a ROS 2 node.

    explicit_controller --ros-args -p law:=pendulum_law.npz -p use_sim_time:=true

Same node as ``mpc_controller`` (topics, activation, e-stop, watchdog: see
:mod:`robocritic.nodes.controller_node`); the law is evaluated by point location, no solver.
Build a law with ``robocritic explicit build``.

Parameters of the law: ``law`` (path to the ``.npz``; required), ``feasibility_tol`` (margin up
to which a state counts as inside the law's feasible set, deviation units; default 1e-8). The law
must act on ``[q, dq]`` of the profile's joints with one input per joint, and its sample time must
equal the control period ``1/rate_hz``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from robocritic.controllers.explicit_mpc import ExplicitLaw, ExplicitMPC
from robocritic.nodes.controller_node import BuiltController, run_controller
from robocritic.nodes.profile_params import check_joint_space_law
from robocritic.nodes.validators import non_negative
from robocritic.profiles import HardwareProfile
from robocritic.ros.transport.base import Node, ParameterError


def load_explicit_law(path: str, profile: HardwareProfile, rate_hz: float) -> ExplicitLaw:
    """Load ``path`` and check it fits the profile and rate (``ParameterError`` naming ``law``)."""
    try:
        law = ExplicitLaw.load(path)
    except (OSError, ValueError, KeyError) as exc:
        raise ParameterError(f"parameter 'law' = {path!r}: cannot load the explicit law: {exc}") from None
    check_joint_space_law(f"parameter 'law' = {path!r}", law.n_x, law.n_u, law.dt, profile, rate_hz)
    return law


def explicit_factory(node: Node, profile: HardwareProfile) -> BuiltController:
    """:data:`~robocritic.nodes.controller_node.ControllerFactory` of explicit MPC."""
    path = node.declare_parameter("law", None, description="explicit law .npz (robocritic explicit build)")
    tol = node.declare_parameter(
        "feasibility_tol", 1e-8, non_negative, "feasible-set margin [deviation units]"
    )
    law = load_explicit_law(path, profile, node.get_parameter("rate_hz"))
    return BuiltController(
        controller=ExplicitMPC(law, feasibility_tol=tol),
        safe_command=law.u_eq.copy(),
        description=f"ExplicitMPC ({law.n_regions} regions, {path})",
        info={"law": path, "regions": law.n_regions, "feasibility_tol": tol},
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Console script ``explicit_controller``."""
    return run_controller(explicit_factory, "explicit_controller", argv)


if __name__ == "__main__":
    sys.exit(main())
