"""The ``robocritic`` command line.

    robocritic demo     the main job: clipped pendulum under linear MPC in MuJoCo (headless)
    robocritic envs     list the registered environments with their spaces
    robocritic sim2sim  check MuJoCo and PyBullet against the analytic pendulum ODE
    robocritic explicit build SPEC / eval ARTEFACT --states FILE.npy   explicit MPC and YANN
    robocritic launch   FILE [name:=value ...]  run a ROS 2 YAML launch file's nodes over DDS
    robocritic yann train|eval|compare           YANN-RL training and evaluation
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime


def _cmd_demo(args: argparse.Namespace) -> int:
    from robocritic.jobs.pendulum_demo import DemoConfig, format_summary, run_demo

    out = args.out or f"runs/demo-{datetime.now():%Y%m%d-%H%M%S}"
    config = DemoConfig(episodes=args.episodes, steps=args.steps, horizon=args.horizon, seed=args.seed,
                        out_dir=out)
    record = run_demo(config, progress=not args.no_progress)
    print(format_summary(record))
    print(f"\nplot:   {record['files']['plot']}\nrecord: {record['files']['record']}")
    if args.graph_episodes == 0:
        return 0
    # The same loop as ROS 2 nodes in separate processes over DDS; the demo module itself stays
    # free of the ROS runtime (only the CLI sits on top of both).
    from robocritic.jobs.pendulum_graph import GraphDemoConfig, format_graph_summary, run_graph_demo

    graph = run_graph_demo(GraphDemoConfig(
        episodes=args.graph_episodes, steps=args.steps, horizon=args.horizon, seed=args.seed,
        real_time_factor=args.real_time_factor, out_dir=f"{out}/graph",
    ))
    print("\n" + format_graph_summary(graph))
    print(f"record: {out}/graph/graph_demo.json")
    return 0 if graph["summary"]["within_tolerance"] else 1


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
    from robocritic.jobs.sim2sim import format_sim2sim, pendulum_sim2sim

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


def _cmd_launch(args: argparse.Namespace) -> int:
    from robocritic.ros.launcher.command import main as launch_main

    return launch_main(args.launch_argv)


def _yann_config(args: argparse.Namespace):
    from robocritic.yann.config import default_config, load_config

    return load_config(args.config) if args.config else default_config(args.env)


def _cmd_yann_train(args: argparse.Namespace) -> int:
    import json

    from robocritic.yann.runner import train

    config = _yann_config(args)
    result = train(config, args.algorithm, args.seed, args.run_dir, resume=not args.restart,
                   progress=not args.no_progress)
    m = result.metrics
    print(json.dumps({"run_dir": str(args.run_dir), "algorithm": args.algorithm, "seed": args.seed,
                      "test_cost_before": m["test_before"]["mean_cost"],
                      "test_cost_after": m["test_after"]["mean_cost"],
                      "test_cost_after_last_iterate": (m.get("test_after_last") or m["test_after"])["mean_cost"],
                      "selected_episode": (m.get("selection") or {}).get("episode"),
                      "training_violations": m["training_violations"]}, indent=1))
    return 0


def _cmd_yann_eval(args: argparse.Namespace) -> int:
    import json

    from robocritic.yann.runner import evaluate_run

    ev = evaluate_run(args.run_dir)
    print(json.dumps({"run_dir": str(args.run_dir), "mean_cost": ev.mean_cost,
                      "costs": ev.costs.tolist(), "violating_episodes": ev.n_violating}, indent=1))
    return 0


def _cmd_yann_compare(args: argparse.Namespace) -> int:
    from robocritic.yann.comparison import format_table, run_comparison

    results = run_comparison(args.out, env_ids=args.envs, algorithms=args.algorithms, seeds=args.seeds,
                             progress=not args.no_progress)
    print(format_table(results))
    print(f"\nresults: {args.out}/results.json, curves: {args.out}/curves_*.png")
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
            "states under linear MPC solved by DAQP, OSQP and cvxpy, its explicit MPC and YANN, and "
            "saturated LQR; prints a table of cost, constraint violations, solver fallbacks, exactness "
            "and per-step compute time; writes summary.json and pendulum_mpc.png into the run "
            "directory. Then runs the same loop as ROS 2 nodes (sim_bridge + mpc_controller) in "
            "separate processes over the DDS transport, records an MCAP bag, and reports loop timing "
            "and the match with the in-process run (exit code 1 on a mismatch)."
        ),
    )
    demo.add_argument("--episodes", type=int, default=8, help="seeded start states (default 8)")
    demo.add_argument("--steps", type=int, default=200, help="control steps per episode, 0.05 s each (default 200)")
    demo.add_argument("--horizon", type=int, default=10, help="MPC horizon N (default 10)")
    demo.add_argument("--seed", type=int, default=0, help="base seed (default 0)")
    demo.add_argument("--out", help="run directory (default runs/demo-<timestamp>)")
    demo.add_argument("--graph-episodes", type=int, default=1,
                      help="episodes also run as a ROS 2 node graph over DDS (default 1; 0 skips it)")
    demo.add_argument("--real-time-factor", type=float, default=1.0,
                      help="pacing of the node-graph run: 1 = real time (default), 0 = as fast as it closes")
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

    launch = sub.add_parser(
        "launch", add_help=False, help="run a ROS 2 YAML launch file's nodes here, over DDS",
        description="robocritic launch FILE [name:=value ...]; see 'robocritic launch --help'.",
    )
    # Everything after 'launch' belongs to the launcher's own parser (robocritic.ros.launcher.command).
    launch.add_argument("launch_argv", nargs=argparse.REMAINDER)
    launch.set_defaults(func=_cmd_launch)

    from robocritic.yann.config import ALGORITHMS  # light: dataclasses only

    yann = sub.add_parser(
        "yann", help="YANN-RL: train, evaluate, compare with DDPG/TD3/SAC",
        description=("YANN-DDPG starts from the explicit MPC (actor) and the discounted-LQR Q-function "
                     "(critic) and improves them by RL; DDPG, TD3 and SAC (stable-baselines3) run in "
                     "the same harness. Runs write weights-only checkpoints (atomic, resumable), "
                     "TensorBoard scalars and metrics.json into RUN_DIR."),
    )
    yann_sub = yann.add_subparsers(dest="yann_command", required=True, metavar="ACTION")
    envs_help = "robocritic/ClippedPendulum-v0 or robocritic/SafetyCSTR-v0"
    tr = yann_sub.add_parser("train", help="train one algorithm with one seed",
                             description="Train (or resume) one run; prints test cost before/after.")
    tr.add_argument("run_dir", help="run folder (resumed if it holds a checkpoint)")
    tr.add_argument("--algorithm", choices=ALGORITHMS, default="yann_ddpg")
    tr.add_argument("--env", default="robocritic/ClippedPendulum-v0", help=f"env id with built-in defaults: {envs_help}")
    tr.add_argument("--config", help="YAML config (overrides --env); unknown keys are an error")
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--restart", action="store_true", help="ignore an existing checkpoint")
    tr.add_argument("--no-progress", action="store_true")
    tr.set_defaults(func=_cmd_yann_train)
    ev_rl = yann_sub.add_parser("eval", help="evaluate a trained run on the fixed test states",
                                description="Loads RUN_DIR's final actor (weights only) and runs the 10 test episodes.")
    ev_rl.add_argument("run_dir")
    ev_rl.set_defaults(func=_cmd_yann_eval)
    cmp_ = yann_sub.add_parser("compare", help="the study: algorithms x seeds x envs",
                               description="Trains (or reads back) every run and writes results.json and learning curves.")
    cmp_.add_argument("--out", default="results/yann_rl")
    cmp_.add_argument("--envs", nargs="+", default=["robocritic/ClippedPendulum-v0", "robocritic/SafetyCSTR-v0"])
    cmp_.add_argument("--algorithms", nargs="+", choices=ALGORITHMS, default=list(ALGORITHMS))
    cmp_.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    cmp_.add_argument("--no-progress", action="store_true")
    cmp_.set_defaults(func=_cmd_yann_compare)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["launch"]:  # options such as --duration must reach the launcher's parser untouched
        return _cmd_launch(argparse.Namespace(launch_argv=argv[1:]))
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueError as exc:  # configuration errors: one clear line, no traceback
        print(f"robocritic {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
