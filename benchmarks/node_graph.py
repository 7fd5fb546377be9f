"""The real node graph at 1 kHz: ``sim_bridge`` (MuJoCo pendulum) + ``mpc_controller`` (DAQP, N=10)
as separate processes over the DDS transport, lockstep, paced so that a control tick comes every
millisecond, with MCAP recording and ground truth on, as ``robocritic demo`` runs them.

    .venv/bin/python benchmarks/node_graph.py [--steps 5000] [--repeats 3] [--rate-hz 1000] [--no-write]

Where benchmarks/ros_loop.py measures the transport with a trivial law, this measures everything a
node does per tick: the env step, input checks, the MPC solve, the bag writer. The pendulum's
control period is 50 ms, so ``real_time_factor`` 50 gives 1 kHz ticks (``--rate-hz``). Each repeat
is a fresh pair of processes; the first tick (start-up: discovery, activation) is excluded from
the latency figures and the achieved rate, and shown apart. Every run is also checked against the in-process closed loop. Two
rows, interleaved per repeat: default scheduling, and both nodes with the real-time parameters
(``realtime_priority`` 50, ``lock_memory``, ``cpu_dma_latency_us`` 0; needs root).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np
from common import command, machine, stats, write_section

from robocritic.jobs.pendulum_graph import GraphDemoConfig, run_graph_demo

PENDULUM_DT_S = 0.05
SETTINGS = {
    "default scheduling": (),
    "real-time parameters": (("realtime_priority", 50), ("lock_memory", True), ("cpu_dma_latency_us", 0)),
}


def one_run(steps: int, rate_hz: float, out_dir: str, node_parameters: tuple) -> dict:
    """Timing of one fresh graph run: achieved rate, latency percentiles (first tick excluded), misses."""
    config = GraphDemoConfig(
        steps=steps,
        real_time_factor=rate_hz * PENDULUM_DT_S,
        out_dir=out_dir,
        node_parameters=node_parameters,
    )
    record = run_graph_demo(config)
    episode = record["episodes"][0]
    if not episode["within_tolerance"]:
        raise SystemExit(f"the node graph diverged from the in-process run: {episode['max_state_diff']}")
    timing = episode["timing"]
    latency_ms = np.asarray(episode["latencies_s"][1:]) * 1e3
    return {
        "rate_hz": timing["achieved_rate_hz"],
        "p50_ms": float(np.median(latency_ms)),
        "p99_ms": float(np.percentile(latency_ms, 99)),
        "max_ms": float(latency_ms.max()),
        "first_ms": episode["latencies_s"][0] * 1e3,
        "miss_pct": 100.0 * timing["deadline_misses"] / timing["ticks"],
        "compute_p50_ms": episode["controller"]["compute"]["p50_ms"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=5000, help="control ticks per run (default 5000)")
    parser.add_argument("--repeats", type=int, default=3, help="fresh runs (default 3)")
    parser.add_argument("--rate-hz", type=float, default=1000.0, help="tick rate (default 1000)")
    parser.add_argument("--no-write", action="store_true", help="print the section, do not write it")
    args = parser.parse_args()
    started = time.monotonic()
    settings = dict(SETTINGS)
    if os.geteuid() != 0:  # the nodes would only log that they could not apply them
        print("not root: skipping the real-time-parameters row", flush=True)
        del settings["real-time parameters"]
    runs: dict[str, list[dict]] = {name: [] for name in settings}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            for name, params in settings.items():
                runs[name].append(
                    one_run(args.steps, args.rate_hz, f"{tmp}/{len(runs[name])}{name[:4]}", params)
                )
                summary = ", ".join(f"{k} {v:.3g}" for k, v in runs[name][-1].items())
                print(f"run {i + 1}/{args.repeats} {name}: {summary}", flush=True)

    def cell(name: str, key: str, fmt: str = ".3g") -> str:
        med, low, high = stats(np.array([r[key] for r in runs[name]]))
        return f"{med:{fmt}} [{low:{fmt}}, {high:{fmt}}]"

    body = "\n".join([
        "## The node graph at 1 kHz (sim_bridge + mpc_controller processes over DDS)",
        "",
        f"Machine: {machine()}. Command: `{command()}` ({time.monotonic() - started:.0f} s).",
        (
            f"{args.repeats} fresh runs of {args.steps} lockstep ticks at {args.rate_hz:g} Hz (the pendulum's 50 ms "
            f"step paced at real-time factor {args.rate_hz * PENDULUM_DT_S:g}): MuJoCo env step, JointState out, "
            "DAQP MPC N=10 in the controller process, command back, MCAP bag and ground truth recorded by a "
            "third process. Real-time parameters: both nodes with realtime_priority 50, lock_memory, "
            "cpu_dma_latency_us 0 (the recorder at default scheduling). Latency = tick published -> its command received by the bridge; the first tick (start-up) is "
            "excluded from latency and rate and shown apart. Miss = the command came after the next tick's slot. "
            "Lockstep waits for every command, so a late command delays its tick and a stalled process skips "
            "slots: the achieved rate falls short of the target by the time lost that way. Median over runs "
            "[p25, p75]. Every run matched the in-process closed loop exactly."
        ),
        "",
        "| nodes | achieved ticks/s | latency p50 ms | p99 ms | max ms | first tick ms | misses % | MPC solve p50 ms |",
        "|---|---|---|---|---|---|---|---|",
        *(
            f"| {n} | {cell(n, 'rate_hz', '.1f')} | {cell(n, 'p50_ms')} | {cell(n, 'p99_ms')} | {cell(n, 'max_ms')} "
            f"| {cell(n, 'first_ms')} | {cell(n, 'miss_pct')} | {cell(n, 'compute_p50_ms')} |"
            for n in settings
        ),
    ])  # fmt: skip
    print("\n" + body)
    if not args.no_write:
        write_section("node_graph", body)


if __name__ == "__main__":
    main()
