"""``robocritic yann train|eval|compare``: YANN-RL and its DDPG/TD3/SAC baselines."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from robocritic.cli.options import in_dir, in_file, out_dir, seed

if TYPE_CHECKING:
    from robocritic.yann.config import RLConfig


def _config(args: argparse.Namespace) -> RLConfig:
    """``--config`` if given, else the defaults of ``--env``."""
    from robocritic.yann.config import default_config, load_config

    return load_config(args.config) if args.config else default_config(args.env)


def _train(args: argparse.Namespace) -> int:
    """Train or resume one run; print its test costs as JSON."""
    import json

    from robocritic.yann.runner import train

    config = _config(args)
    result = train(config, args.algorithm, args.seed, args.run_dir, resume=not args.restart,
                   progress=not args.no_progress)
    m = result.metrics.to_json()
    print(json.dumps({"run_dir": str(args.run_dir), "algorithm": args.algorithm, "seed": args.seed,
                      "test_cost_before": m["test_before"]["mean_cost"],
                      "test_cost_after": m["test_after"]["mean_cost"],
                      "test_cost_after_last_iterate": (m.get("test_after_last") or m["test_after"])["mean_cost"],
                      "selected_episode": (m.get("selection") or {}).get("episode"),
                      "training_violations": m["training_violations"]}, indent=1))
    return 0


def _eval(args: argparse.Namespace) -> int:
    """Evaluate a finished run on its test states; print the costs as JSON."""
    import json

    from robocritic.yann.runner import evaluate_run

    ev = evaluate_run(args.run_dir)
    print(json.dumps({"run_dir": str(args.run_dir), "mean_cost": ev.mean_cost,
                      "costs": ev.costs.tolist(), "violating_episodes": ev.n_violating}, indent=1))
    return 0


def _compare(args: argparse.Namespace) -> int:
    """Run (or read back) the study and print its table."""
    from robocritic.yann.comparison import format_table, run_comparison

    results = run_comparison(args.out, env_ids=args.envs, algorithms=args.algorithms, seeds=args.seeds,
                             progress=not args.no_progress)
    print(format_table(results))
    print(f"\nresults: {args.out}/results.json, curves: {args.out}/curves_*.png")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``yann`` and its actions to the top-level subcommands."""
    from robocritic.yann.config import ALGORITHMS, CONFIG_FACTORIES  # light: dataclasses only

    env_ids = tuple(CONFIG_FACTORIES)

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
    tr.add_argument("run_dir", type=out_dir, help="run folder (resumed if it holds a checkpoint)")
    tr.add_argument("--algorithm", choices=ALGORITHMS, default="yann_ddpg")
    tr.add_argument("--env", choices=env_ids, default="robocritic/ClippedPendulum-v0",
                    help=f"env id with built-in defaults: {envs_help}")
    tr.add_argument("--config", type=in_file, help="YAML config (overrides --env); unknown keys are an error")
    tr.add_argument("--seed", type=seed, default=0)
    tr.add_argument("--restart", action="store_true", help="do not resume: refused (exit 2) if RUN_DIR holds a checkpoint")
    tr.add_argument("--no-progress", action="store_true")
    tr.set_defaults(func=_train)
    ev_rl = yann_sub.add_parser("eval", help="evaluate a trained run on the fixed test states",
                                description="Loads RUN_DIR's final actor (weights only) and runs the 10 test episodes.")
    ev_rl.add_argument("run_dir", type=in_dir)
    ev_rl.set_defaults(func=_eval)
    cmp_ = yann_sub.add_parser("compare", help="the study: algorithms x seeds x envs",
                               description="Trains (or reads back) every run and writes results.json and learning curves.")
    cmp_.add_argument("--out", type=out_dir, default="results/yann_rl")
    cmp_.add_argument("--envs", nargs="+", choices=env_ids,
                      default=["robocritic/ClippedPendulum-v0", "robocritic/SafetyCSTR-v0"])
    cmp_.add_argument("--algorithms", nargs="+", choices=ALGORITHMS, default=list(ALGORITHMS))
    cmp_.add_argument("--seeds", nargs="+", type=seed, default=[0, 1, 2, 3, 4])
    cmp_.add_argument("--no-progress", action="store_true")
    cmp_.set_defaults(func=_compare)
