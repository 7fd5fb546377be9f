"""``yann_controller``: a trained YANN-RL policy (a finished ``robocritic yann train`` run) as a ROS 2 node.

    yann_controller --ros-args -p run_dir:=runs/yann -p use_sim_time:=true

Same node as ``mpc_controller`` (topics, activation, e-stop, watchdog: see
:mod:`robocritic.nodes.controller_node`); the command is the run's final policy (YANN-DDPG:
the YANN actor on its explicit law; DDPG, TD3, SAC: their actor), loaded weights-only with
:func:`robocritic.yann.policy_io.load_policy`, evaluated by torch on one thread. The sizes,
control period and safe command come from the run's sidecar: the node imports no training code,
no env and no simulator (a run folder from before the sidecar recorded them still loads, through
its env).

Parameters of the policy: ``run_dir`` (the run folder with ``actor.json``, ``actor.pt`` and, for
YANN-DDPG, ``law.npz``; required). The policy must act on ``[q, dq]`` of the profile's joints with
one input per joint, and its env's control period must equal ``1/rate_hz``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from robocritic.nodes.controller_node import BuiltController, run_controller
from robocritic.nodes.profile_params import check_joint_space_law
from robocritic.profiles import HardwareProfile
from robocritic.ros.transport.base import Node, ParameterError


def yann_factory(node: Node, profile: HardwareProfile) -> BuiltController:
    """:data:`~robocritic.nodes.controller_node.ControllerFactory` of a trained YANN-RL run."""
    import torch

    from robocritic.learning.checkpoint import CheckpointError
    from robocritic.yann.policy_io import load_policy

    torch.set_num_threads(1)  # a control loop: no intra-op thread pool competing with the node
    run_dir = node.declare_parameter("run_dir", None, description="finished YANN-RL run folder")
    where = f"parameter 'run_dir' = {run_dir!r}"
    if not (Path(run_dir) / "actor.json").is_file():
        raise ParameterError(f"{where}: no actor.json there (is it a finished `robocritic yann train` run?)")
    try:
        loaded = load_policy(run_dir)
    except (OSError, ValueError, KeyError, CheckpointError) as exc:
        raise ParameterError(f"{where}: cannot load the policy: {exc}") from None
    algorithm, env_id, plant = loaded.algorithm, loaded.config.env_id, loaded.plant
    where = f"{where} ({algorithm} on {env_id})"
    check_joint_space_law(where, plant.n_x, plant.n_u, plant.dt, profile, node.get_parameter("rate_hz"))
    return BuiltController(
        controller=loaded.policy,
        safe_command=plant.u_eq.copy(),
        description=f"YANN-RL policy ({algorithm}, {run_dir})",
        info={"run_dir": str(run_dir), "algorithm": algorithm, "env_id": env_id},
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Console script ``yann_controller``."""
    return run_controller(yann_factory, "yann_controller", argv)


if __name__ == "__main__":
    sys.exit(main())
