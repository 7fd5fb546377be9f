"""``robocritic launch FILE [name:=value ...]``: a ROS 2 YAML launch file's nodes, here, over DDS."""

from __future__ import annotations

import argparse


def run(args: argparse.Namespace) -> int:
    """Hand ``args.launch_argv`` to the launcher's own parser."""
    from robocritic.ros.launcher.command import main as launch_main

    return launch_main(args.launch_argv)


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``launch`` to the top-level subcommands."""
    launch = sub.add_parser(
        "launch", add_help=False, help="run a ROS 2 YAML launch file's nodes here, over DDS",
        description="robocritic launch FILE [name:=value ...]; see 'robocritic launch --help'.",
    )
    # Everything after 'launch' belongs to the launcher's own parser (robocritic.ros.launcher.command).
    launch.add_argument("launch_argv", nargs=argparse.REMAINDER)
    launch.set_defaults(func=run)
