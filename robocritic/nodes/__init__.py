"""robocritic's ROS 2 nodes: thin adapters over plain, unit-tested logic classes.

=========================  =====================================================================
module                     contents
=========================  =====================================================================
``shell``                  :class:`NodeShell`: activation, e-stop, watchdog, output checks,
                           safety-filter stage at its own rate; arrays only, no messages
``io``                     per-robot-kind message I/O (``io.joint``: JointState, efforts;
                           ``io.arm``: wrench, verdicts; ``io.diffdrive``: depth, odometry,
                           goals, cmd_vel, paths)
``controller_logic``       :class:`ControllerLogic`: the shell fed by JointStates, efforts out
``controller_node``        :class:`ControllerNode`: one controller node for any control law
                           (and an optional safety filter)
``mpc_controller``         console script ``mpc_controller`` (linear MPC factory)
``explicit_controller``    console script ``explicit_controller`` (explicit MPC law factory)
``yann_controller``        console script ``yann_controller`` (a trained YANN-RL run's policy)
``arm_sim_bridge``         console script ``arm_sim_bridge`` (Bresa's arm env, 1 kHz lockstep)
``bresa_controller``       console script ``bresa_controller`` (Bresa: task policy, critic, impedance)
``nav_sim_bridge``         console script ``nav_sim_bridge`` (NavDP's diff-drive env, 10 Hz lockstep)
``navdp_planner``          console script ``navdp_planner`` (NavDP or DWA: depth, odometry, goal ->
                           cmd_vel and the plan)
``bridge_logic``           :class:`BridgeLogic`: an env behind joint-space state/command topics
``sim_bridge``             console script ``sim_bridge`` (lockstep / free-running, /clock)
``profile_params``         the ``profile`` parameter, its topics and joints, QoS per topic
``validators``             parameter validators
``rejections``             :class:`InputRejected`, :class:`RejectionCounter`: dropped inputs
``report``                 compute-time percentiles, the JSON report written at shutdown
``args``                   ``--ros-args`` parsing (``-p``, ``-r``, ``--params-file``, ...)
``runtime``                :func:`run_node`: ``main()`` with clean SIGINT/SIGTERM shutdown
=========================  =====================================================================

Every node runs on any transport (:func:`robocritic.ros.transport.make_node`); the executables
take ``--transport`` and the ROS 2 arguments ``ros2 launch`` passes.
"""

from __future__ import annotations

from robocritic.nodes.args import NodeArgumentError, NodeArguments, parse_node_arguments
from robocritic.nodes.bridge_logic import BridgeLogic, SensorSample, StepRecord
from robocritic.nodes.controller_logic import Command, ControllerLogic
from robocritic.nodes.controller_node import (
    BuiltController,
    BuiltFilter,
    ControllerFactory,
    ControllerNode,
    FilterFactory,
)
from robocritic.nodes.rejections import InputRejected, RejectionCounter
from robocritic.nodes.runtime import NodeApp, run_node
from robocritic.nodes.shell import NodeShell

__all__ = [
    "BridgeLogic",
    "BuiltController",
    "BuiltFilter",
    "Command",
    "ControllerFactory",
    "ControllerLogic",
    "ControllerNode",
    "FilterFactory",
    "InputRejected",
    "NodeApp",
    "NodeArgumentError",
    "NodeArguments",
    "NodeShell",
    "RejectionCounter",
    "SensorSample",
    "StepRecord",
    "parse_node_arguments",
    "run_node",
]
