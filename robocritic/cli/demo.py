"""``robocritic demo``: the main job (pendulum under MPC in MuJoCo, then as a ROS 2 node graph; then
Bresa on the press-and-wipe arm; then NavDP against DWA in held-out navigation worlds)."""

from __future__ import annotations

import argparse
from datetime import datetime


def _run(args: argparse.Namespace) -> int:
    """Run the demo job; exit 1 when the node-graph run does not match the in-process run."""
    from robocritic.jobs.pendulum_demo import DemoConfig, format_summary, run_demo

    if args.navdp_episodes < 0:  # checked before the long parts run, not after them
        raise ValueError(f"--navdp-episodes must be >= 0; got {args.navdp_episodes}")
    if args.yann_episodes < 0:
        raise ValueError(f"--yann-episodes must be >= 0; got {args.yann_episodes}")
    out = args.out or f"runs/demo-{datetime.now():%Y%m%d-%H%M%S}"
    config = DemoConfig(episodes=args.episodes, steps=args.steps, horizon=args.horizon, seed=args.seed,
                        out_dir=out)
    record = run_demo(config, progress=not args.no_progress)
    print(format_summary(record))
    print(f"\nplot:   {record['files']['plot']}\nrecord: {record['files']['record']}")
    status = 0
    if args.graph_episodes > 0:
        # The same loop as ROS 2 nodes in separate processes over DDS; the demo module itself stays
        # free of the ROS runtime (only the CLI sits on top of both).
        from robocritic.jobs.pendulum_graph import GraphDemoConfig, format_graph_summary, run_graph_demo

        graph = run_graph_demo(GraphDemoConfig(
            episodes=args.graph_episodes, steps=args.steps, horizon=args.horizon, seed=args.seed,
            real_time_factor=args.real_time_factor, out_dir=f"{out}/graph",
        ))
        print("\n" + format_graph_summary(graph))
        print(f"record: {out}/graph/graph_demo.json")
        status = 0 if graph["summary"]["within_tolerance"] else 1
    if args.yann_episodes > 0:
        _yann(out, args.yann_episodes)
    if args.bresa_episodes > 0:
        from robocritic.jobs.bresa_demo import format_bresa_summary, run_bresa_demo

        bresa = run_bresa_demo(args.bresa_episodes, f"{out}/bresa", progress=not args.no_progress)
        print("\n" + format_bresa_summary(bresa))
        print(f"plot:   {out}/bresa/force.png\nrecord: {out}/bresa/summary.json")
    if args.navdp_episodes > 0:
        from robocritic.jobs.navdp_demo import format_navdp_summary, run_navdp_demo

        navdp = run_navdp_demo(args.navdp_episodes, f"{out}/navdp", progress=not args.no_progress)
        print("\n" + format_navdp_summary(navdp))
        print(f"plot:   {navdp['files']['plot']}\nrecord: {navdp['files']['record']}")
        status = max(status, _navdp_graph(out))
    return status


def _yann(out: str, episodes: int) -> None:
    """YANN-DDPG beside the N=2 explicit MPC and the swing-up on easy and MPC-losing starts."""
    from robocritic.jobs.yann_demo import SHIPPED_POLICY, format_yann_summary, run_yann_demo

    if not (SHIPPED_POLICY / "actor.json").is_file():
        print(f"\nYANN-DDPG part skipped: no shipped policy in {SHIPPED_POLICY} (scripts/train_yann_v1.sh)")
        return
    record = run_yann_demo(f"{out}/yann", n_easy=episodes, n_hard=episodes)
    print("\n" + format_yann_summary(record))
    print(f"plot:   {record['files']['plot']}\nrecord: {record['files']['summary']}")


def _navdp_graph(out: str) -> int:
    """The first NavDP demo episode again as ROS 2 nodes (nav_sim_bridge + navdp_planner, in
    process), recorded to MCAP; 1 when it does not match the in-process run."""
    import json

    from robocritic.jobs.navdp_demo import DEMO_PRESET, DEMO_WORLD0
    from robocritic.jobs.navdp_graph import TOLERANCE, NavGraphConfig, run_navdp_graph

    record = run_navdp_graph(NavGraphConfig(world_seed=DEMO_WORLD0, preset=DEMO_PRESET, bag=f"{out}/navdp/graph/bag"))
    path = f"{out}/navdp/graph/graph.json"
    with open(path, "w", encoding="utf-8") as f:
        json.dump(record, f, indent=1)
    s = record["summary"]
    print(f"\nNavDP as ROS 2 nodes (nav_sim_bridge + navdp_planner, lockstep, in process), world {DEMO_WORLD0}: "
          f"{s['outcome']} after {s['steps']} steps, {s['plans']} plans; in-process run: {s['reference_outcome']} "
          f"after {s['reference_steps']} steps; largest position difference {s['max_xy_diff_m']:.1e} m "
          f"(tolerance {TOLERANCE:g} m): {'match' if s['match'] else 'MISMATCH'}")
    print(f"bag:    {record['bag']['path']}\nrecord: {path}")
    return 0 if s["match"] else 1


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``demo`` to the top-level subcommands."""
    demo = sub.add_parser(
        "demo",
        help=("clipped pendulum under linear MPC in MuJoCo, then Bresa on the press-and-wipe arm, then NavDP "
              "against DWA (the main job)"),
        description=(
            "Runs the clipped pendulum (robocritic/ClippedPendulum-v0, MuJoCo) from seeded start "
            "states under linear MPC solved by DAQP, OSQP and cvxpy, its explicit MPC and YANN, and "
            "saturated LQR; prints a table of cost, constraint violations, solver fallbacks, exactness "
            "and per-step compute time; writes summary.json and pendulum_mpc.png into the run "
            "directory. Then runs the same loop as ROS 2 nodes (sim_bridge + mpc_controller) in "
            "separate processes over the DDS transport, records an MCAP bag, and reports loop timing "
            "and the match with the in-process run (exit code 1 on a mismatch). Then YANN-RL: the shipped "
            "YANN-DDPG policy (robocritic/ClippedPendulum-v1, trained by scripts/train_yann_v1.sh) beside "
            "the N=2 explicit MPC and the energy-pumping swing-up from easy and MPC-losing starts; prints "
            "the cost of each group and writes yann/hard_starts.png. Last, Bresa: the planar "
            "arm pressing and wiping (robocritic/ArmPressWipe-v1) on perturbation seeds with no safety "
            "layer, with the shipped critic checked at 20 Hz, and with the reflex and the "
            "minimal-modification filter at 1 kHz; prints the violation summary and writes "
            "bresa/force.png. Then NavDP: the shipped model (robocritic/navdp/assets/navdp_small.pt, "
            "the critic's pick of its sampled candidates) and DWA on the same point-goal episodes "
            "(robocritic/NavPointGoal-v0) in held-out worlds 9000, 9001, ... (training used worlds "
            "0-399); prints outcomes, SPL and planning time per method and writes navdp/topdown.png "
            "and navdp/summary.json; then runs the first episode again as ROS 2 nodes (nav_sim_bridge + "
            "navdp_planner) in process, records navdp/graph/bag (MCAP) and checks the match (exit code 1 "
            "on a mismatch)."
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
    demo.add_argument("--yann-episodes", type=int, default=3,
                      help="YANN-DDPG, N=2 explicit MPC and swing-up from this many easy and as many "
                           "MPC-losing pendulum starts each (default 3; 0 skips it)")
    demo.add_argument("--bresa-episodes", type=int, default=8,
                      help="Bresa press-and-wipe episodes per method (default 8; 0 skips it)")
    demo.add_argument("--navdp-episodes", type=int, default=3,
                      help="NavDP and DWA navigation episodes, one held-out world each (default 3; 0 skips it)")
    demo.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    demo.set_defaults(func=_run)
