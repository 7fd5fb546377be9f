"""robocritic's ROS 2 nodes: thin adapters over plain, unit-tested logic classes.

=========================  =====================================================================
module                     contents
=========================  =====================================================================
``controller_logic``       :class:`ControllerLogic`: activation, e-stop, watchdog, input checks
``controller_node``        :class:`ControllerNode`: one controller node for any control law
``mpc_controller``         console script ``mpc_controller`` (linear MPC factory)
``explicit_controller``    console script ``explicit_controller`` (explicit MPC law factory)
``yann_controller``        console script ``yann_controller`` (a trained YANN-RL run's policy)
``bridge_logic``           :class:`BridgeLogic`: an env behind joint-space state/command topics
``sim_bridge``             console script ``sim_bridge`` (lockstep / free-running, /clock)
``common``                 profile parameter, QoS per profile topic, input checks, validators
``args``                   ``--ros-args`` parsing (``-p``, ``-r``, ``--params-file``, ...)
``runtime``                :func:`run_node`: ``main()`` with clean SIGINT/SIGTERM shutdown
=========================  =====================================================================

Every node runs on any transport (:func:`robocritic.ros.transport.make_node`); the executables
take ``--transport`` and the ROS 2 arguments ``ros2 launch`` passes.
"""

from __future__ import annotations

from robocritic.nodes.args import NodeArgumentError, NodeArguments, parse_node_arguments
from robocritic.nodes.bridge_logic import BridgeLogic, SensorSample, StepRecord
from robocritic.nodes.common import InputRejected, RejectionCounter
from robocritic.nodes.controller_logic import Command, ControllerLogic
from robocritic.nodes.controller_node import BuiltController, ControllerFactory, ControllerNode
from robocritic.nodes.runtime import NodeApp, run_node

__all__ = [
    "BridgeLogic",
    "BuiltController",
    "Command",
    "ControllerFactory",
    "ControllerLogic",
    "ControllerNode",
    "InputRejected",
    "NodeApp",
    "NodeArgumentError",
    "NodeArguments",
    "RejectionCounter",
    "SensorSample",
    "StepRecord",
    "parse_node_arguments",
    "run_node",
]
