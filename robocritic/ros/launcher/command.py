"""``robocritic launch``: run a ROS 2 YAML launch file's nodes here, over the DDS transport or rclpy.

robocritic launch launch/pendulum_sim.launch.yaml mode:=free_running --duration 10
robocritic launch launch/pendulum_sim.launch.yaml --transport rclpy  # where rclpy is importable
robocritic launch robocritic pendulum_sim.launch.yaml        # PKG FILE, as ros2 launch takes it
robocritic launch FILE --show-args                           # declared arguments
robocritic launch FILE --print                               # the command of every node
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from robocritic.utils.safe_yaml import shorten

from ..transport.dds import MAX_DOMAIN_ID
from .description import LaunchPlan, load_launch_file, parse_launch_arguments
from .errors import LaunchError
from .packages import find_package_share
from .runner import PROCESS_TRANSPORTS, LaunchRunner


def _seconds(*, positive: bool) -> Callable[[str], float]:
    """argparse ``type``: a finite number of seconds, > 0 (``positive``) or >= 0.

    ``float()`` alone accepts "nan" and "inf": a duration that never elapses, a timeout that never
    expires. argparse names the option in the error.
    """
    bound = "> 0" if positive else ">= 0"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number of seconds {bound}; got {text!r}") from None
        if not math.isfinite(value) or value < 0 or (positive and value == 0):
            raise argparse.ArgumentTypeError(f"must be a finite number of seconds {bound}; got {text!r}")
        return value

    return parse


def _domain_id(text: str) -> int:
    """argparse ``type``: a DDS domain id Cyclone can use (the port arithmetic stops at 232)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer; got {text[:60]!r}") from None
    if not 0 <= value <= MAX_DOMAIN_ID:
        raise argparse.ArgumentTypeError(f"must be an integer in [0, {MAX_DOMAIN_ID}]; got {text[:60]!r}")
    return value


def _log_dir(text: str) -> str:
    """argparse ``type``: a folder for log files: not empty, not an existing file."""
    if not text.strip() or "\0" in text:
        raise argparse.ArgumentTypeError(f"expected a folder; got {text[:60]!r}")
    path = Path(text)
    try:
        is_other = path.exists() and not path.is_dir()
    except OSError as exc:  # a name too long for the file system
        raise argparse.ArgumentTypeError(f"cannot use {text[:60]!r}: {exc.strerror}") from None
    if is_other:
        raise argparse.ArgumentTypeError(f"{text[:60]!r} exists and is not a folder")
    return text


class _Parser(argparse.ArgumentParser):
    """argparse with its error line kept short: it quotes the bad value, which can be any length."""

    def error(self, message: str) -> NoReturn:
        super().error(shorten(message, 500))

    def _get_values(self, action: argparse.Action, arg_strings: list[str]) -> Any:
        # Before Python 3.12, argparse drops a "--" given as an option's value (--steps=--) and
        # hands the option an empty list, past its type check.
        if action.option_strings and "--" in arg_strings:
            raise argparse.ArgumentError(action, "'--' is not a value")
        return super()._get_values(action, arg_strings)


def build_parser(prog: str = "robocritic launch") -> argparse.ArgumentParser:
    """Argument parser of ``robocritic launch``."""
    parser = _Parser(
        prog=prog,
        description=(
            "Start the nodes of a ROS 2 YAML launch file (*.launch.yaml) as processes over robocritic's "
            "ROS 2 wire-compatible DDS transport (or rclpy: --transport rclpy), supervise them, and shut "
            "them down on Ctrl-C. "
            "The same file runs on a robot with 'ros2 launch'. Unsupported launch features are errors."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "targets", nargs="+", metavar="FILE | PKG FILE | name:=value",
        help="a launch file path, or a package and a launch file in its share/launch, then launch arguments",
    )  # fmt: skip
    parser.add_argument(
        "--duration", type=_seconds(positive=True), metavar="S", help="shut down after S seconds (> 0)"
    )
    parser.add_argument(
        "--show-args", action="store_true", help="list the declared launch arguments and exit"
    )
    parser.add_argument(
        "--print",
        dest="print_only",
        action="store_true",
        help="print each node's command line and environment additions, start nothing",
    )
    parser.add_argument(
        "--domain-id", type=_domain_id, metavar="N", help=f"ROS_DOMAIN_ID for the nodes (0 to {MAX_DOMAIN_ID})"
    )
    parser.add_argument(
        "--transport",
        choices=PROCESS_TRANSPORTS,
        help="ROBOCRITIC_TRANSPORT for the nodes, which their --transport auto follows: dds, rclpy (real "
        "rclpy nodes, where ROS 2 is importable by the node executables), auto (rclpy if importable, "
        "else dds); default: the environment's, else dds",
    )
    parser.add_argument(
        "--sigterm-timeout",
        type=_seconds(positive=False),
        default=5.0,
        metavar="S",
        help="seconds from SIGINT to SIGTERM at shutdown (default 5)",
    )
    parser.add_argument(
        "--sigkill-timeout",
        type=_seconds(positive=False),
        default=5.0,
        metavar="S",
        help="seconds from SIGTERM to SIGKILL at shutdown (default 5)",
    )
    parser.add_argument(
        "--log-dir", type=_log_dir, metavar="DIR", help="where output: log files go (default ~/.ros/log/...)"
    )
    return parser  # fmt: skip


def resolve_launch_file(targets: Sequence[str]) -> tuple[Path, list[str]]:
    """Split ``targets`` into the launch file and the ``name:=value`` arguments."""
    positional = [t for t in targets if ":=" not in t]
    arguments = [t for t in targets if ":=" in t]
    if len(positional) == 1:
        return Path(positional[0]), arguments
    if len(positional) == 2:
        package, name = positional
        share = find_package_share(package)
        matches = (
            sorted(p for p in (share / "launch").rglob(name) if p.is_file())
            if (share / "launch").is_dir()
            else []
        )
        if not matches:
            raise LaunchError(f"no launch file {name!r} under {share / 'launch'}")
        return matches[0], arguments
    raise LaunchError(f"expected FILE or PKG FILE before the name:=value arguments; got {list(positional)}")


def format_arguments(plan: LaunchPlan) -> str:
    """The declared arguments, one block each, as ``ros2 launch --show-args`` lists them."""
    if not plan.arguments:
        return "the launch file declares no arguments"
    blocks = []
    for arg in plan.arguments:
        lines = [f"    '{arg.name}':", f"        {arg.description or 'no description given'}"]
        if arg.choices:
            lines.append(f"        Valid choices are: {list(arg.choices)}")
        lines.append(
            f"        (default: {arg.default!r})" if arg.default is not None else "        (required)"
        )
        blocks.append("\n".join(lines))
    return "Arguments (pass arguments as '<name>:=<value>'):\n\n" + "\n\n".join(blocks)


def main(argv: Sequence[str] | None = None, prog: str = "robocritic launch") -> int:
    """Entry point; returns the exit status (2 for a launch-file or usage error)."""
    args = build_parser(prog).parse_intermixed_args(argv)
    try:
        path, raw_arguments = resolve_launch_file(args.targets)
        plan = load_launch_file(
            path, parse_launch_arguments(raw_arguments), check_executables=not args.show_args
        )
        if args.show_args:
            print(format_arguments(plan))
            return 0
        for name in plan.unused_arguments:
            print(
                f"[launch] warning: argument {name!r} is not declared by any 'arg' in {path}", file=sys.stderr
            )
        runner = LaunchRunner(
            plan, domain_id=args.domain_id, transport=args.transport, sigterm_timeout_s=args.sigterm_timeout,
            sigkill_timeout_s=args.sigkill_timeout, log_dir=args.log_dir,
        )  # fmt: skip
        if args.print_only:
            for spec in plan.nodes:
                extra = {k: v for k, v in runner.environment(spec).items() if runner.environ.get(k) != v}
                env = " ".join(
                    f"{k}={shlex.quote(v)}" for k, v in sorted(extra.items()) if k != "CYCLONEDDS_URI"
                )
                print(f"# {spec.label} ({spec.where})\n{env + ' ' if env else ''}{shlex.join(spec.argv())}")
            return 0
        return runner.run(args.duration)
    except LaunchError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
