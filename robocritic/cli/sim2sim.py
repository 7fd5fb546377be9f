"""``robocritic sim2sim``: MuJoCo and PyBullet against the analytic pendulum ODE."""

from __future__ import annotations

import argparse

from robocritic.cli.options import count, seed


def _run(args: argparse.Namespace) -> int:
    """Print the state errors of each engine against the ODE."""
    from robocritic.jobs.sim2sim import format_sim2sim, pendulum_sim2sim

    print(format_sim2sim(pendulum_sim2sim(steps=args.steps, seed=args.seed)))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``sim2sim`` to the top-level subcommands."""
    s2s = sub.add_parser(
        "sim2sim", help="MuJoCo and PyBullet vs the analytic pendulum ODE",
        description=("Applies one seeded open-loop torque sequence to the pendulum in MuJoCo, in PyBullet "
                     "(if installed) and to the analytic ODE, and prints the state errors."),
    )
    s2s.add_argument("--steps", type=count(1, 10**6), default=100, help="control steps (default 100)")
    s2s.add_argument("--seed", type=seed, default=0, help="seed of the torque sequence (default 0)")
    s2s.set_defaults(func=_run)
