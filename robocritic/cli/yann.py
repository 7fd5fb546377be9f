"""``robocritic yann train|eval|compare``: YANN-RL and its DDPG/TD3/SAC baselines."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from robocritic.cli.options import count, in_dir, in_file, number, out_dir, out_file, seed

if TYPE_CHECKING:
    import numpy as np

    from robocritic.yann.config import RLConfig

PENDULUM = "robocritic/ClippedPendulum-v0"
#: Most starts ``yann eval`` draws (robocritic.yann.starts.MAX_STARTS; not imported: light parser).
MAX_EVAL_STARTS = 10**6


def _config(args: argparse.Namespace) -> RLConfig:
    """``--config`` if given, else the defaults of ``--env`` (the pendulum where it has no default)."""
    from robocritic.yann.config import default_config, load_config

    return load_config(args.config) if args.config else default_config(args.env or PENDULUM)


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
    """Evaluate a run or a reference: on the run's test states as before, or on a set of starts
    (``--states`` / ``--box``) with per-episode and summary JSON."""
    import json

    new_options = (args.states, args.box, args.labels, args.save_starts, args.save_labels, args.out)
    on_starts = args.policy != "run" or any(v is not None for v in new_options)
    if not on_starts:
        _check_eval_args(args)
        from robocritic.yann.runner import evaluate_run

        ev = evaluate_run(args.run_dir)
        print(json.dumps({"run_dir": str(args.run_dir), "mean_cost": ev.mean_cost,
                          "costs": ev.costs.tolist(), "violating_episodes": ev.n_violating}, indent=1))
        return 0
    report = _eval_on_starts(args)
    if args.out is not None:
        from robocritic.utils.atomic import atomic_write_json

        atomic_write_json(args.out, report)
        report = {k: v for k, v in report.items() if k != "episodes"} | {"out": str(args.out)}
    print(json.dumps(report, indent=1))
    return 0


def _check_eval_args(args: argparse.Namespace) -> None:
    """Combinations argparse cannot judge alone (each error names the option)."""
    if args.policy == "run" and args.run_dir is None:
        raise ValueError("run_dir: needed with --policy run (or name a reference: "
                         "--policy mpc2|mpc20|swingup|nmpc)")
    if args.run_dir is not None and (args.config is not None or args.env is not None):
        option = "--config" if args.config is not None else "--env"
        raise ValueError(f"{option}: a RUN_DIR brings its own config")
    if args.box is None:
        for name, value in (("--n", args.n), ("--seed", args.seed), ("--grid", args.grid)):
            if value is not None:
                raise ValueError(f"{name}: draws starts from a box; give --box too")
    elif args.grid is not None and (args.n is not None or args.seed is not None):
        option = "--n" if args.n is not None else "--seed"
        raise ValueError(f"{option}: a --grid takes every point, nothing is drawn")


def _eval_on_starts(args: argparse.Namespace) -> dict[str, Any]:
    """The report of ``yann eval`` on a set of starts."""
    from robocritic.yann.references import build_reference, env_of
    from robocritic.yann.runner import load_policy
    from robocritic.yann.starts import (
        classify_starts,
        default_criterion,
        load_labels,
        run_starts,
        save_labels,
        save_states,
        summarize,
    )

    _check_eval_args(args)
    run = load_policy(args.run_dir) if args.run_dir is not None else None
    config = run[1] if run is not None else _config(args)
    parts = env_of(config)
    states, source = _starts(args, config, parts.model.x_eq)
    criterion = default_criterion(config.env_id)
    mpc_lost = load_labels(args.labels, len(states)) if args.labels is not None else None
    progress = not args.no_progress
    with _quiet("robocritic.controllers"):
        if run is not None:
            label = f"run ({run[2]})"
            outcomes = run_starts(run[0], parts.make_env, states, parts.model.x_eq, criterion,
                                  progress=progress, desc=f"eval {label}")
        else:
            label = args.policy
            ref = build_reference(args.policy, config)
            outcomes = run_starts(ref.policy, ref.make_env, states, ref.x_eq, criterion, progress=progress,
                                  desc=f"eval {label}")
            if args.policy == "mpc2" and mpc_lost is None:
                mpc_lost = outcomes.lost  # the classification is this very run
        if mpc_lost is None:
            mpc_lost = classify_starts(config, states, criterion=criterion, progress=progress).lost
    saved = {}
    if args.save_starts is not None:
        saved["starts"] = str(save_states(args.save_starts, states))
    if args.save_labels is not None:
        saved["labels"] = str(save_labels(args.save_labels, mpc_lost))
    return {
        "run_dir": None if args.run_dir is None else str(args.run_dir),
        "policy": label,
        "env_id": config.env_id,
        "starts": source | {"n": len(states)},
        "loss_criterion": {"lost_if_final_abs_deviation_above": list(criterion.tolerance),
                           "or_terminated_by_env": True},
        "summary": summarize(outcomes, mpc_lost),
        "mean_cost": float(outcomes.costs.mean()),
        "saved": saved,
        "episodes": outcomes.episodes_json(mpc_lost),
    }


@contextlib.contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    """Only errors from ``logger_name`` while inside: the MPCs warn at the onset of every run of
    infeasible states, which hundreds of starts turn into a flood on stderr (the report has the
    outcome of every episode); the previous level is restored on exit."""
    import logging

    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _starts(
    args: argparse.Namespace, config: RLConfig, x_eq: np.ndarray
) -> tuple[np.ndarray, dict[str, Any]]:
    """The starts of ``yann eval`` and where they came from: a file, a grid or a seeded draw over
    ``--box`` around the operating point ``x_eq`` ``(n_x,)``, or the config's test states."""
    from robocritic.yann.starts import grid_starts, load_states, uniform_starts

    n_x = config.n_x

    if args.states is not None:
        return load_states(args.states, n_x), {"file": str(args.states)}
    if args.box is None:
        return config.test_state_array(), {"config_test_states": True}
    if len(args.box) != n_x:
        raise ValueError(f"--box: needs {n_x} half-widths (one per state of {config.env_id}); "
                         f"got {len(args.box)}")
    if args.grid is not None:
        if len(args.grid) != n_x:
            raise ValueError(f"--grid: needs {n_x} spacings (one per state of {config.env_id}); "
                             f"got {len(args.grid)}")
        try:
            states = grid_starts(args.box, args.grid, x_eq)
        except ValueError as exc:
            raise ValueError(f"--grid: {exc}") from exc
        return states, {"grid": {"half_width": list(args.box), "resolution": list(args.grid)}}
    n = 60 if args.n is None else args.n
    seed = 0 if args.seed is None else args.seed
    drawn = uniform_starts(args.box, n, seed, x_eq)
    return drawn, {"uniform": {"half_width": list(args.box), "n": n, "seed": seed}}


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
    ev_rl = yann_sub.add_parser(
        "eval", help="evaluate a trained run or a reference controller on a set of starts",
        description=("Without --states/--box: RUN_DIR's final actor on the config's 10 test states (costs as "
                     "JSON). With --states FILE.npy, or --box drawing --n starts with --seed (or every "
                     "--grid "
                     "point): per-episode and summary JSON, easy and MPC-losing starts reported separately "
                     "(a start is MPC-losing when the config's explicit MPC does not end upright at rest; "
                     "robocritic.yann.starts). --policy mpc2|mpc20|swingup|nmpc evaluates a reference instead of "
                     "a run (the config: RUN_DIR's, else --config or --env)."))
    ev_rl.add_argument("run_dir", type=in_dir, nargs="?",
                       help="finished run folder (needed with --policy run)")
    ev_rl.add_argument("--policy", choices=("run", "mpc2", "mpc20", "swingup", "nmpc"), default="run",
                       help="run: RUN_DIR's policy; mpc2: the explicit MPC (config's mpc_horizon); "
                            "mpc20: online linear MPC, N=20; swingup: energy pumping + mpc2 catch (pendulum); "
                            "nmpc: nonlinear MPC of the true dynamics, CasADi (pendulum; extra nmpc; slow)")
    ev_rl.add_argument("--env", choices=env_ids, default=None,
                       help=f"config of a reference without RUN_DIR: {envs_help}")
    ev_rl.add_argument("--config", type=in_file,
                       help="YAML config of a reference without RUN_DIR (overrides --env)")
    starts = ev_rl.add_mutually_exclusive_group()
    starts.add_argument("--states", type=in_file, metavar="FILE.npy",
                        help="starts (N, n_x), absolute units, plain .npy (no pickle)")
    starts.add_argument("--box", type=number(0.0), nargs="+", metavar="H",
                        help="half-widths of a box around the operating point (one per state) to draw from")
    ev_rl.add_argument("--n", type=count(1, MAX_EVAL_STARTS),
                       help="starts drawn uniformly from --box (default 60)")
    ev_rl.add_argument("--seed", type=seed, help="seed of the --box draw (default 0)")
    ev_rl.add_argument("--grid", type=number(0.0, low_open=True), nargs="+", metavar="R",
                       help="instead of drawing: every point of --box on a grid of these spacings")
    ev_rl.add_argument("--labels", type=in_file, metavar="FILE.npy",
                       help="MPC-losing flags (N,) bool from --save-labels: "
                            "skips re-running the explicit MPC")
    ev_rl.add_argument("--save-starts", type=out_file, metavar="FILE.npy",
                       help="write the starts used (.npy)")
    ev_rl.add_argument("--save-labels", type=out_file, metavar="FILE.npy",
                       help="write the MPC-losing flags (.npy)")
    ev_rl.add_argument("--out", type=out_file, metavar="FILE.json",
                       help="write the full report here (stdout then omits the per-episode records)")
    ev_rl.add_argument("--no-progress", action="store_true")
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
