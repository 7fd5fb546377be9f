"""The ``robocritic`` command line.

    robocritic demo     the main job: clipped pendulum under linear MPC in MuJoCo (headless)
    robocritic envs     list the registered environments with their spaces
    robocritic sim2sim  check MuJoCo and PyBullet against the analytic pendulum ODE
    robocritic explicit build SPEC / eval ARTEFACT --states FILE.npy   explicit MPC and YANN
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime


def _cmd_demo(args: argparse.Namespace) -> int:
    from robocritic.demo import DemoConfig, format_summary, run_demo

    out = args.out or f"runs/demo-{datetime.now():%Y%m%d-%H%M%S}"
    config = DemoConfig(episodes=args.episodes, steps=args.steps, horizon=args.horizon, seed=args.seed,
                        out_dir=out)
    record = run_demo(config, progress=not args.no_progress)
    print(format_summary(record))
    print(f"\nplot:   {record['files']['plot']}\nrecord: {record['files']['record']}")
    return 0


def _cmd_envs(_args: argparse.Namespace) -> int:
    import gymnasium as gym

    from robocritic.envs import ENV_IDS

    for env_id in ENV_IDS:
        spec = gym.spec(env_id)
        try:
            env = gym.make(env_id)
        except ImportError as exc:
            print(f"{env_id}: unavailable ({exc})")
            continue
        base = env.unwrapped
        print(f"{env_id}\n  entry point: {spec.entry_point}\n  max steps:   {spec.max_episode_steps}"
              f"\n  control dt:  {base.dt:g} s\n  observation: {env.observation_space}"
              f"\n  action:      {env.action_space}")
        env.close()
    return 0


def _cmd_sim2sim(args: argparse.Namespace) -> int:
    from robocritic.sim2sim import format_sim2sim, pendulum_sim2sim

    print(format_sim2sim(pendulum_sim2sim(steps=args.steps, seed=args.seed)))
    return 0


def _cmd_explicit_build(args: argparse.Namespace) -> int:
    import json

    from robocritic.yann.tools import build_explicit

    summary = build_explicit(args.spec, args.out, verify_states=args.verify, seed=args.seed)
    print(json.dumps(summary, indent=1))
    return 0


def _cmd_explicit_eval(args: argparse.Namespace) -> int:
    import json

    from robocritic.yann.tools import evaluate_explicit

    summary = evaluate_explicit(args.artefact, args.states, args.out, with_yann=not args.no_yann)
    print(json.dumps(summary, indent=1))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="robocritic",
        description="Sim-to-real framework for critic-guided control.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser(
        "demo",
        help="clipped pendulum under linear MPC in MuJoCo, headless (the main job)",
        description=(
            "Runs the clipped pendulum (robocritic/ClippedPendulum-v0, MuJoCo) from seeded start "
            "states under linear MPC solved by DAQP, OSQP and cvxpy, and saturated LQR; prints a "
            "table of cost, constraint violations, solver fallbacks and per-step compute time; "
            "writes summary.json and pendulum_mpc.png into the run directory."
        ),
    )
    demo.add_argument("--episodes", type=int, default=8, help="seeded start states (default 8)")
    demo.add_argument("--steps", type=int, default=200, help="control steps per episode, 0.05 s each (default 200)")
    demo.add_argument("--horizon", type=int, default=10, help="MPC horizon N (default 10)")
    demo.add_argument("--seed", type=int, default=0, help="base seed (default 0)")
    demo.add_argument("--out", help="run directory (default runs/demo-<timestamp>)")
    demo.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    demo.set_defaults(func=_cmd_demo)

    envs = sub.add_parser("envs", help="list registered environments",
                          description="Lists every robocritic/ env id with its spaces and control period.")
    envs.set_defaults(func=_cmd_envs)

    s2s = sub.add_parser(
        "sim2sim", help="MuJoCo and PyBullet vs the analytic pendulum ODE",
        description=("Applies one seeded open-loop torque sequence to the pendulum in MuJoCo, in PyBullet "
                     "(if installed) and to the analytic ODE, and prints the state errors."),
    )
    s2s.add_argument("--steps", type=int, default=100, help="control steps (default 100)")
    s2s.add_argument("--seed", type=int, default=0, help="seed of the torque sequence (default 0)")
    s2s.set_defaults(func=_cmd_sim2sim)

    explicit = sub.add_parser(
        "explicit", help="explicit MPC of your own system (build) and its YANN (eval)",
        description=("Turn a linear MPC given as a YAML spec into an explicit piecewise-affine law "
                     "(PPOPT, extra 'explicit'), and evaluate a stored law and its YANN at states. "
                     "Spec format: see robocritic/yann/spec.py and examples/*.explicit.yaml."),
    )
    explicit_sub = explicit.add_subparsers(dest="explicit_command", required=True, metavar="ACTION")
    build = explicit_sub.add_parser(
        "build", help="YAML spec -> explicit-law artefact (.npz)",
        description=("Reads SPEC (A, B, Q, R, horizon, terminal cost, state/input bounds, x0 domain), "
                     "solves the multi-parametric QP, writes the law to --out and prints the region "
                     "count and its agreement with the online QP (DAQP) on random states."),
    )
    build.add_argument("spec", help="YAML spec file")
    build.add_argument("--out", default="explicit_law.npz", help="artefact path (default explicit_law.npz)")
    build.add_argument("--verify", type=int, default=1000, help="random states checked against DAQP (default 1000)")
    build.add_argument("--seed", type=int, default=0, help="seed of the verification states")
    build.set_defaults(func=_cmd_explicit_build)
    ev = explicit_sub.add_parser(
        "eval", help="evaluate a law and its YANN at states",
        description=("Writes u, feasibility, region and margin of the explicit law, and u/feasibility "
                     "of its YANN (5-layer and fast form, float64), at every state of --states "
                     "(.npy, shape (N, n_x), absolute units) into --out (.npz)."),
    )
    ev.add_argument("artefact", help="explicit-law .npz written by 'explicit build'")
    ev.add_argument("--states", required=True, help=".npy array of states, shape (N, n_x)")
    ev.add_argument("--out", default="explicit_eval.npz", help="output .npz (default explicit_eval.npz)")
    ev.add_argument("--no-yann", action="store_true", help="skip the YANN (no torch needed)")
    ev.set_defaults(func=_cmd_explicit_eval)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueError as exc:  # configuration errors: one clear line, no traceback
        print(f"robocritic {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
