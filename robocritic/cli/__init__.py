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
from typing import Any, NoReturn

from robocritic.cli import bresa, demo, envs, explicit, launch, navdp, sim2sim, yann

#: Command groups in help order; each module registers its subcommands and imports lazily.
COMMAND_GROUPS = (demo, envs, sim2sim, explicit, launch, yann, bresa, navdp)


class _Parser(argparse.ArgumentParser):
    """argparse with its error line kept short: it quotes the bad value (``invalid choice: '...'``),
    which the command line can make arbitrarily long. Subcommand parsers inherit the class."""

    def error(self, message: str) -> NoReturn:
        from robocritic.utils.safe_yaml import shorten

        super().error(shorten(message, 500))

    def _get_values(self, action: argparse.Action, arg_strings: list[str]) -> Any:
        # Before Python 3.12, argparse drops a "--" given as an option's value (--steps=--) and
        # hands the option an empty list, past its type check.
        if action.option_strings and "--" in arg_strings:
            raise argparse.ArgumentError(action, "'--' is not a value")
        return super()._get_values(action, arg_strings)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every command group registered."""
    parser = _Parser(
        prog="robocritic",
        description="Sim-to-real framework for critic-guided control.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns its exit status.

    A bad option (argparse: the usage, then ``error: argument --x: ...``) and a configuration
    error (``ValueError``: one line) both return 2, never a traceback; ``--help`` exits 0 as
    argparse does.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv[:1] == ["launch"]:  # options such as --duration must reach the launcher's parser untouched
            return launch.run(argparse.Namespace(launch_argv=argv[1:]))
        args = build_parser().parse_args(argv)
    except SystemExit as exc:
        if exc.code != 2:
            raise
        return 2  # argparse's usage error, already printed: the same status, returned like the others
    try:
        return args.func(args)
    except ValueError as exc:  # configuration errors: one clear line, no traceback
        print(f"robocritic {args.command}: error: {exc}", file=sys.stderr)
        return 2

