"""Run ROS 2 YAML launch files without ROS 2: ``robocritic launch FILE [name:=value ...]``.

- :mod:`.description`: read a ``*.launch.yaml`` (args, nodes, groups, includes, namespaces,
  substitutions) into a :class:`LaunchPlan`; unsupported features are :class:`LaunchError`\\ s
  naming file, line and entity.
- :mod:`.substitutions`: ``$(var)``, ``$(env)``, ``$(find-pkg-share)``, ``$(dirname)``.
- :mod:`.packages`: share directories and executables (ament index, source checkout, wheel data).
- :mod:`.runner`: start the nodes as processes, prefix their output, supervise, shut down cleanly.
- :mod:`.spawn`: start a node so that it dies with the launcher, also on ``kill -9`` (Linux).
- :mod:`.command`: the command line.

The package is named ``launcher`` on purpose: a package named ``launch`` would shadow ROS 2's.
"""

from __future__ import annotations

from .description import (
    LaunchArgument,
    LaunchPlan,
    NodeSpec,
    Parameter,
    ParameterFile,
    format_parameter_value,
    load_launch_file,
    parse_launch_arguments,
)
from .errors import LaunchError
from .packages import find_executable, find_package_share
from .runner import LaunchRunner, run_launch

__all__ = [
    "LaunchArgument",
    "LaunchError",
    "LaunchPlan",
    "LaunchRunner",
    "NodeSpec",
    "Parameter",
    "ParameterFile",
    "find_executable",
    "find_package_share",
    "format_parameter_value",
    "load_launch_file",
    "parse_launch_arguments",
    "run_launch",
]
