"""The ``robocritic`` command line.

    robocritic demo     the main job: clipped pendulum under linear MPC in MuJoCo (headless)
    robocritic envs     list the registered environments with their spaces
    robocritic sim2sim  check MuJoCo and PyBullet against the analytic pendulum ODE
    robocritic explicit build SPEC / eval ARTEFACT --states FILE.npy   explicit MPC and YANN
    robocritic launch   FILE [name:=value ...]  run a ROS 2 YAML launch file's nodes over DDS
    robocritic yann train|eval|compare           YANN-RL training and evaluation
    robocritic bresa collect|train|eval|export   the Bresa 1 kHz safety critic on the press-and-wipe arm
    robocritic navdp generate|train|export|check NavDP data, training and the model file
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from robocritic.cli import bresa, demo, envs, explicit, launch, navdp, sim2sim, yann

#: Command groups in help order; each module registers its subcommands and imports lazily.
COMMAND_GROUPS = (demo, envs, sim2sim, explicit, launch, yann, bresa, navdp)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every command group registered."""
    parser = argparse.ArgumentParser(
        prog="robocritic",
        description="Sim-to-real framework for critic-guided control.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; configuration errors (``ValueError``) exit 2 with one line, no traceback."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["launch"]:  # options such as --duration must reach the launcher's parser untouched
        return launch.run(argparse.Namespace(launch_argv=argv[1:]))
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueError as exc:  # configuration errors: one clear line, no traceback
        print(f"robocritic {args.command}: error: {exc}", file=sys.stderr)
        return 2

