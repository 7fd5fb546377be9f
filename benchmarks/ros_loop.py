"""1 kHz state -> command loop between two processes on loopback: robocritic's node interface on
the DDS transport versus raw cyclonedds, and (where rclpy is importable) on rclpy, side by side in
one run.

    .venv/bin/python benchmarks/ros_loop.py [--seconds 60] [--rate 1000] [--blocks 3] [--priority normal,fifo,rt]
                                            [--results PATH] [--no-write]

A "plant" process publishes a sensor_msgs/JointState from a timer at ``--rate`` Hz (sensor-data
QoS: best effort, depth 5); a "controller" process answers each state with a
std_msgs/Float64MultiArray command ``[u, seq]`` (reliable, depth 1), where ``u = -K x``. The plant
measures the round trip (state published -> its command's callback runs), the achieved tick and
reply rates, how late each tick fires, and deadline misses: a tick whose command had not arrived
when the next tick fired, plus periods the timer had to skip because the loop fell behind.

Both implementations use the same message classes, topic names (``rt/<ns>/joint_states``,
``rt/<ns>/effort_command``) and QoS: ``node`` goes through :func:`robocritic.ros.transport.make_node`
(timer, subscription dispatch, parameter and name handling, robocritic's CDR codec, as in a real
node); ``raw`` is a hand-written DomainParticipant / DataWriter / DataReader / WaitSet loop with
cyclonedds' own (de)serialisation; ``shell`` is ``node`` with each state going through the
controller node's own path (:class:`~robocritic.nodes.controller_logic.ControllerLogic`: JointState
decoding through the pendulum profile's JointMap, input checks, watchdog, the law, effort clipping;
then the command message), the same law as the others. ``--seconds`` per
implementation are split into ``--blocks`` interleaved blocks (node, raw, node, raw, ...), each
with a fresh pair of processes, so machine noise hits both alike. Both processes apply the same
:mod:`robocritic.ros.realtime` settings once set up, as node executables do: ``normal`` only
freezes the garbage collector; ``fifo`` adds SCHED_FIFO 50 for all threads; ``rt`` adds mlockall
and a cpu_dma_latency 0 request (no deep CPU idle) on top. Internal
roles: ``--role plant`` and ``--role controller`` (started by the benchmark itself).

Run from an interpreter with rclpy (the Jazzy venv, inside scripts/netns.sh), two more rows join
the interleaving: ``rclpy`` (both processes on robocritic's rclpy transport) and ``rclpy_dds``
(plant on rclpy, controller on the DDS transport: the vendor boundary). rclpy processes get
``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST``. Without rclpy those rows are left out with a note::

    scripts/netns.sh .venv-jazzy/bin/python benchmarks/ros_loop.py --seconds 60
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
from common import RESULTS, command, machine, write_section

GAINS = (30.0, 8.0)  # u = -(k0 theta + k1 theta_dot): any cheap law; the transport is measured
WARMUP_S = 0.5
DISCOVERY_TIMEOUT_S = 15.0
IMPLS = ("node", "raw", "shell")
RCLPY_IMPLS = ("rclpy", "rclpy_dds")
NODE_TRANSPORTS = {
    "node": ("dds", "dds"),
    "shell": ("dds", "dds"),
    "rclpy": ("rclpy", "rclpy"),
    "rclpy_dds": ("rclpy", "dds"),
}
"""Node-interface implementations: (plant transport, controller transport)."""
ROW_NAMES = {
    "node": "node (robocritic)",
    "shell": "node + controller shell",
    "raw": "raw cyclonedds",
    "rclpy": "rclpy <-> rclpy",
    "rclpy_dds": "rclpy plant <-> DDS controller",
}


def _cpu_busy_s() -> float:
    """CPU seconds the whole machine has been busy (all cores; from /proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_cpu_s() -> float:
    """CPU seconds of this process and its ended children."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


SCHEDULING = {
    "normal": ("default scheduling (SCHED_OTHER)", {}),
    "fifo": ("SCHED_FIFO 50", {"priority": 50}),
    "rt": ("SCHED_FIFO 50 + mlockall + cpu_dma_latency 0", {"priority": 50, "lock_memory": True, "cpu_dma_latency_us": 0}),
}  # fmt: skip
"""--priority choices: row label and the RealtimeSettings both processes apply once set up."""


def _go_realtime(priority: str) -> None:
    """What a node executable does before spinning (robocritic.ros.realtime), for both implementations."""
    from robocritic.ros.realtime import RealtimeSettings, apply_realtime

    report = apply_realtime(RealtimeSettings(**SCHEDULING[priority][1]))
    if report.failed:
        raise SystemExit(f"real-time settings for --priority {priority} failed: {report}")


def _single_thread_torch() -> None:
    if "torch" in sys.modules:  # house rule for real-time and benchmark processes
        sys.modules["torch"].set_num_threads(1)


# --- messages (shared by both implementations) ---------------------------------------------------


def _state(seq: int, theta: float, omega: float):
    from robocritic.ros.msgs import Header, JointState, Time

    now = time.time_ns()
    stamp = Time(sec=now // 1_000_000_000, nanosec=now % 1_000_000_000)
    # seq rides in the frame id: the benchmark's own convention to pair commands with states
    return JointState(header=Header(stamp=stamp, frame_id=str(seq)), name=["hinge"], position=[theta],
                      velocity=[omega], effort=[])  # fmt: skip


def _command(state):
    from robocritic.ros.msgs import Float64MultiArray

    u = -(GAINS[0] * state.position[0] + GAINS[1] * state.velocity[0])
    return Float64MultiArray(data=[u, float(state.header.frame_id)])


# --- plant ---------------------------------------------------------------------------------------


class PlantStats:
    """Round trips and deadlines of one plant run."""

    def __init__(self, period_ns: int) -> None:
        self.period_ns = period_ns
        self.sent: dict[int, int] = {}  # seq -> perf_counter_ns at publish
        self.replied: set[int] = set()
        self.rtt_ns: list[int] = []
        self.lateness_ns: list[int] = []
        self.ticks = 0
        self.misses = 0
        self.measuring = False
        self.seq = 0
        self.grid_ns = 0  # monotonic time of one tick deadline; the others are multiples of the period away
        self.skipped = 0  # grid periods without a tick (the timer fell behind by more than a period)
        self.heard = False  # a command came back (before measuring too)
        self._last_period: int | None = None

    def tick(self, publish) -> None:
        now = time.monotonic_ns()
        if self.measuring:
            if self.ticks and (self.seq - 1) not in self.replied:
                self.misses += 1
            # lateness against the timer's own grid (skipped periods are counted apart)
            self.lateness_ns.append((now - self.grid_ns) % self.period_ns)
            period = (now - self.grid_ns) // self.period_ns
            if self._last_period is not None:
                self.skipped += max(0, period - self._last_period - 1)
            self._last_period = period
            self.ticks += 1
        self.sent[self.seq] = time.monotonic_ns()
        publish(self.seq)
        self.seq += 1

    def reply(self, seq: int) -> None:
        now = time.monotonic_ns()
        self.heard = True
        sent = self.sent.pop(seq, None)
        if sent is None or not self.measuring:
            return
        self.replied.add(seq)
        self.rtt_ns.append(now - sent)

    def start_measuring(self, grid_ns: int) -> None:
        self.measuring = True
        self.grid_ns = grid_ns
        self.replied.clear()
        self.sent.clear()


def plant_node(ns: str, rate: float, seconds: float, priority: str, transport: str = "dds") -> dict:
    from robocritic.ros.msgs import Float64MultiArray, JointState
    from robocritic.ros.qos import COMMANDS, SENSOR_DATA
    from robocritic.ros.transport import make_node

    node = make_node("plant", transport=transport, namespace=ns)
    period_ns = round(1e9 / rate)
    stats = PlantStats(period_ns)
    pub = node.create_publisher(JointState, "joint_states", SENSOR_DATA)
    sub = node.create_subscription(
        Float64MultiArray, "effort_command", lambda m: stats.reply(int(m.data[1])), COMMANDS
    )
    _wait_matched(lambda: pub.get_subscription_count() > 0 and sub.get_publisher_count() > 0)
    theta = [0.1]
    created_ns = time.monotonic_ns()
    timer = node.create_timer(
        period_ns / 1e9, lambda: stats.tick(lambda s: pub.publish(_state(s, theta[0], 0.0)))
    )
    # First deadline on the monotonic clock: the DDS node's LocalTimer says so; rcl sets it one
    # period after creation (taken just before it, so a few us early at most).
    grid_ns = getattr(timer, "next_ns", created_ns + period_ns)
    _go_realtime(priority)
    # Matched on this side is not matched on both (discovery is per endpoint and, across vendors,
    # one-sided for a while): measure only once commands come back.
    _spin_until(node, lambda: stats.heard, "no command came back")
    node.spin(WARMUP_S)
    stats.start_measuring(grid_ns)
    start = time.perf_counter()
    node.spin(seconds)
    elapsed = time.perf_counter() - start
    node.destroy()
    return _result(stats, elapsed, stats.skipped)


def plant_raw(ns: str, rate: float, seconds: float, domain_id: int, priority: str) -> dict:
    from cyclonedds.core import InstanceState, ReadCondition, SampleState, ViewState, WaitSet
    from cyclonedds.domain import DomainParticipant
    from cyclonedds.pub import DataWriter
    from cyclonedds.sub import DataReader
    from cyclonedds.topic import Topic
    from cyclonedds.util import duration

    from robocritic.ros.msgs import Float64MultiArray, JointState
    from robocritic.ros.qos import COMMANDS, SENSOR_DATA

    dp = DomainParticipant(domain_id)
    writer = DataWriter(dp, Topic(dp, f"rt/{ns}/joint_states", JointState), SENSOR_DATA.to_cyclonedds())
    reader = DataReader(dp, Topic(dp, f"rt/{ns}/effort_command", Float64MultiArray), COMMANDS.to_cyclonedds())
    waitset = WaitSet(dp)
    waitset.attach(ReadCondition(reader, SampleState.Any | ViewState.Any | InstanceState.Any))
    _wait_matched(
        lambda: len(writer.get_matched_subscriptions()) > 0 and len(reader.get_matched_publications()) > 0
    )
    period_ns = round(1e9 / rate)
    stats = PlantStats(period_ns)
    skipped = 0

    _go_realtime(priority)
    next_ns = time.monotonic_ns() + period_ns
    grid_ns = next_ns

    def run(until_s: float) -> None:
        nonlocal skipped, next_ns
        end = time.monotonic_ns() + round(until_s * 1e9)
        while True:
            now = time.monotonic_ns()
            if now >= end:
                return
            if now >= next_ns:
                stats.tick(lambda s: writer.write(_state(s, 0.1, 0.0)))
                next_ns += period_ns
                if next_ns <= now:  # fell behind by more than a period: skip, as the node timer does
                    behind = (now - next_ns) // period_ns + 1
                    skipped += behind if stats.measuring else 0
                    next_ns += behind * period_ns
                continue
            waitset.wait(duration(nanoseconds=min(next_ns, end) - now))
            for msg in reader.take(N=64):
                if isinstance(msg, Float64MultiArray):  # not a dispose/unregister notice
                    stats.reply(int(msg.data[1]))

    run(WARMUP_S)
    stats.start_measuring(grid_ns)
    start = time.perf_counter()
    run(seconds)
    elapsed = time.perf_counter() - start
    return _result(stats, elapsed, skipped)


def _spin_until(node, condition, failure: str) -> None:
    end = time.monotonic() + DISCOVERY_TIMEOUT_S
    while not condition():
        if time.monotonic() > end:
            raise SystemExit(f"plant: {failure} within {DISCOVERY_TIMEOUT_S:g} s")
        node.spin_once(0.01)


def _wait_matched(matched) -> None:
    end = time.monotonic() + DISCOVERY_TIMEOUT_S
    while not matched():
        if time.monotonic() > end:
            raise SystemExit("plant: the controller was not discovered within 15 s")
        time.sleep(0.005)


def _result(stats: PlantStats, elapsed: float, skipped: int) -> dict:
    return {
        "elapsed_s": elapsed,
        "ticks": stats.ticks,
        "replies": len(stats.rtt_ns),
        "misses": stats.misses,
        "skipped": skipped,
        "rtt_us": [round(r / 1e3, 1) for r in stats.rtt_ns],
        "lateness_us": [round(x / 1e3, 1) for x in stats.lateness_ns],
    }


# --- controller ----------------------------------------------------------------------------------


def _stdin_closed() -> threading.Event:
    done = threading.Event()

    def wait() -> None:
        sys.stdin.read()
        done.set()

    threading.Thread(target=wait, daemon=True).start()
    return done


def controller_node(ns: str, priority: str, transport: str = "dds") -> None:
    from robocritic.ros.msgs import Float64MultiArray, JointState
    from robocritic.ros.qos import COMMANDS, SENSOR_DATA
    from robocritic.ros.transport import make_node

    node = make_node("controller", transport=transport, namespace=ns)
    pub = node.create_publisher(Float64MultiArray, "effort_command", COMMANDS)
    node.create_subscription(JointState, "joint_states", lambda m: pub.publish(_command(m)), SENSOR_DATA)
    done = _stdin_closed()
    _go_realtime(priority)
    print("READY", flush=True)
    while not done.is_set():
        node.spin_once(0.1)
    node.destroy()


class _Gains:
    """The benchmark's law as a :class:`~robocritic.interfaces.Controller` (what the shell wraps)."""

    def reset(self) -> None:
        pass

    def act(self, x):
        return -(GAINS[0] * x[:1] + GAINS[1] * x[1:])


def controller_shell(ns: str, priority: str) -> None:
    """``node`` with each state through ControllerLogic, as a controller node does (the command
    carries the state's sequence number after the efforts)."""
    from robocritic.nodes.controller_logic import ControllerLogic
    from robocritic.profiles import load_profile
    from robocritic.ros.msgs import Float64MultiArray, JointState
    from robocritic.ros.msgs.convert import numpy_to_float64_multi_array, time_to_ns
    from robocritic.ros.qos import COMMANDS, SENSOR_DATA
    from robocritic.ros.transport import make_node

    node = make_node("controller", transport="dds", namespace=ns)
    joint_map = load_profile("pendulum_sim").joint_map
    logic = ControllerLogic(
        _Gains(), joint_map, effort_limits=joint_map.effort_limit, safe_command=[0.0],
        state_timeout_ns=150_000_000, control_period_ns=1_000_000, now_ns=node.now_ns(), logger=node.get_logger(),
    )  # fmt: skip
    step = getattr(logic, "tick", logic.command)  # the entry point the tree's controller node calls
    pub = node.create_publisher(Float64MultiArray, "effort_command", COMMANDS)

    def on_state(msg) -> None:
        now = node.now_ns()
        logic.on_state(msg.name, msg.position, msg.velocity, time_to_ns(msg.header.stamp), now)
        command = step(now)
        effort = joint_map.effort_to_robot(command.effort)
        pub.publish(numpy_to_float64_multi_array([*effort, float(msg.header.frame_id)], labels=["joints"]))

    node.create_subscription(JointState, "joint_states", on_state, SENSOR_DATA)
    done = _stdin_closed()
    _go_realtime(priority)
    print("READY", flush=True)
    while not done.is_set():
        node.spin_once(0.1)
    node.destroy()


def controller_raw(ns: str, domain_id: int, priority: str) -> None:
    from cyclonedds.core import InstanceState, ReadCondition, SampleState, ViewState, WaitSet
    from cyclonedds.domain import DomainParticipant
    from cyclonedds.pub import DataWriter
    from cyclonedds.sub import DataReader
    from cyclonedds.topic import Topic
    from cyclonedds.util import duration

    from robocritic.ros.msgs import Float64MultiArray, JointState
    from robocritic.ros.qos import COMMANDS, SENSOR_DATA

    dp = DomainParticipant(domain_id)
    reader = DataReader(dp, Topic(dp, f"rt/{ns}/joint_states", JointState), SENSOR_DATA.to_cyclonedds())
    writer = DataWriter(dp, Topic(dp, f"rt/{ns}/effort_command", Float64MultiArray), COMMANDS.to_cyclonedds())
    waitset = WaitSet(dp)
    waitset.attach(ReadCondition(reader, SampleState.Any | ViewState.Any | InstanceState.Any))
    done = _stdin_closed()
    _go_realtime(priority)
    print("READY", flush=True)
    while not done.is_set():
        waitset.wait(duration(milliseconds=100))
        for msg in reader.take(N=64):
            if isinstance(msg, JointState):  # not a dispose/unregister notice
                writer.write(_command(msg))


# --- orchestration -------------------------------------------------------------------------------


def run_block(
    impl: str, seconds: float, rate: float, domain_id: int, block: int, priority: str, pythonpath: str | None = None
) -> dict:
    """One fresh plant/controller pair for ``seconds``; the plant's result. ``pythonpath``: import
    robocritic for both processes from there (another checkout, for an A/B comparison)."""
    ns = f"bench_{os.getpid()}_{block}"
    # LOCALHOST: rclpy processes stay on loopback too, as the Cyclone configuration does.
    env = dict(os.environ, ROS_DOMAIN_ID=str(domain_id), ROBOCRITIC_TRANSPORT="dds",
               ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST")  # fmt: skip
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath
    from robocritic.ros.transport.dds import LOOPBACK_CONFIG

    env.setdefault("CYCLONEDDS_URI", LOOPBACK_CONFIG)
    me = [sys.executable, str(Path(__file__).resolve()), "--priority", priority]
    controller = subprocess.Popen([*me, "--role", "controller", "--impl", impl, "--ns", ns, "--domain-id", str(domain_id)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)  # fmt: skip
    try:
        if controller.stdout.readline().strip() != "READY":
            raise SystemExit(f"controller ({impl}) failed to start")
        plant = subprocess.run(
            [*me, "--role", "plant", "--impl", impl, "--ns", ns, "--domain-id", str(domain_id),
             "--seconds", str(seconds), "--rate", str(rate)],
            capture_output=True, text=True, env=env, timeout=seconds + 60, check=False,
        )  # fmt: skip
        if plant.returncode != 0:
            raise SystemExit(f"plant ({impl}) failed:\n{plant.stderr}")
        return json.loads(plant.stdout.strip().splitlines()[-1])
    finally:
        controller.stdin.close()
        try:
            controller.wait(timeout=10)
        except subprocess.TimeoutExpired:
            controller.kill()


def summarize(results: list[dict], rate: float) -> dict:
    rtt = np.concatenate([np.asarray(r["rtt_us"]) for r in results])
    late = np.concatenate([np.asarray(r["lateness_us"]) for r in results])
    ticks = sum(r["ticks"] for r in results)
    skipped = sum(r["skipped"] for r in results)
    misses = sum(r["misses"] for r in results)
    elapsed = sum(r["elapsed_s"] for r in results)
    return {
        "seconds": elapsed,
        "ticks": ticks,
        "tick_rate": ticks / elapsed,
        "reply_rate": sum(r["replies"] for r in results) / elapsed,
        "rtt_p50": float(np.median(rtt)),
        "rtt_p99": float(np.percentile(rtt, 99)),
        "rtt_max": float(rtt.max()),
        "block_p50": [float(np.median(r["rtt_us"])) for r in results],
        "late_p99": float(np.percentile(late, 99)),
        "misses": misses,
        "skipped": skipped,
        "miss_rate": (misses + skipped) / max(1, ticks + skipped),
        "target": rate,
    }


def _command_line() -> str:
    """:func:`common.command`, behind scripts/netns.sh when run in a private network namespace."""
    import socket

    isolated = [name for _, name in socket.if_nameindex()] == ["lo"]
    return ("scripts/netns.sh " if isolated else "") + command()


def _shared(others: float) -> str:
    return (
        f" The machine was shared with other work during this run ({others:.2f} of its cores busy with other "
        "processes on average): the figures are noisy."
        if others >= 0.05
        else ""
    )


def _met(s: dict, rate: float) -> bool:
    """The target: the rate sustained within 1 % and at most 1 % deadline misses."""
    return s["tick_rate"] >= 0.99 * rate and s["miss_rate"] <= 0.01


def report(summary: dict[tuple[str, str], dict], args: argparse.Namespace, priorities: list[str],
           impls: list[str], others: float, load: str, rclpy_note: str) -> str:  # fmt: skip
    rclpy_text = (
        f"`rclpy <-> rclpy` = both processes on robocritic's rclpy transport ({rclpy_note}; default RMW "
        "settings with ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST, in a private network namespace); "
        "`rclpy plant <-> DDS controller` = the plant on rclpy, the controller on the DDS transport (the "
        "RMW's DDS and Cyclone on the wire). "
        if "rclpy" in impls
        else f"{rclpy_note} "
    )
    lines = [
        "## ROS 2 control loop over DDS (two processes, loopback)",
        "",
        f"Machine: {machine()}. Command: `{_command_line()}`.{_shared(others)}",
        (
            f"{args.rate:g} Hz state -> command loop between a plant and a controller process (JointState "
            "best-effort depth 5 out, Float64MultiArray reliable depth 1 back) over the loopback-only Cyclone "
            f"configuration; {args.seconds:g} s per row in {args.blocks} interleaved blocks with fresh processes. "
            "Round trip = state published -> its command's callback runs in the plant. Deadline miss = the "
            "command had not arrived when the next tick fired, or a period skipped because the loop fell behind. "
            "`node` = robocritic's node interface (make_node, timer, subscription callbacks, robocritic's CDR "
            "codec); `raw` = a hand-written cyclonedds DataWriter/DataReader/WaitSet loop with the same types, "
            "topics and QoS and cyclonedds' own (de)serialisation; `node + controller shell` = `node` with every "
            "state through the controller node's ControllerLogic (JointState decoding by the profile's JointMap, "
            "input checks, watchdog, the law, effort clipping) and its command message. "
            f"{rclpy_text}"
            "Both processes apply the row's robocritic.ros.realtime settings once set up, as node executables do "
            "(`realtime_priority`, `lock_memory`, `cpu_dma_latency_us` parameters; the GC is frozen in every row); "
            "SCHED_FIFO covers all threads, Cyclone's included. cpu_dma_latency 0 keeps idle CPUs polling instead of "
            f"halting (on this VM a halted vCPU wakes slowly). Other processes on the machine used {others:.2f} of its "
            f"{os.cpu_count()} cores during the run ({load})."
        ),
        "",
        (
            "| implementation | scheduling | ticks/s | replies/s | round trip p50 us (per block) | p99 us | max us "
            "| tick lateness p99 us | deadline misses |"
        ),
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for priority in priorities:
        for impl in impls:
            s, name = summary[impl, priority], ROW_NAMES[impl]
            blocks = ", ".join(f"{b:.0f}" for b in s["block_p50"])
            lines.append(
                f"| {name} | {SCHEDULING[priority][0]} | {s['tick_rate']:,.1f} | {s['reply_rate']:,.1f} | "
                f"{s['rtt_p50']:.0f} ({blocks}) | {s['rtt_p99']:.0f} | {s['rtt_max']:,.0f} | {s['late_p99']:.0f} | "
                f"{100 * s['miss_rate']:.3f} % ({s['misses']} late + {s['skipped']} skipped of {s['ticks']:,}) |"
            )
    lines.append("")
    for priority in priorities:
        node, raw = summary["node", priority], summary["raw", priority]
        lines.append(
            f"- {SCHEDULING[priority][0]}: node-interface overhead versus raw cyclonedds "
            f"{node['rtt_p50'] - raw['rtt_p50']:+.0f} us median round trip ({node['rtt_p50'] / raw['rtt_p50']:.2f}x), "
            f"{node['rtt_p99'] - raw['rtt_p99']:+.0f} us at p99; target ({args.rate:g} Hz sustained, <= 1 % misses) "
            f"{'met' if _met(node, args.rate) else 'NOT met'} by the node interface."
        )
        shell = summary["shell", priority]
        lines.append(
            f"- {SCHEDULING[priority][0]}: the controller shell adds {shell['rtt_p50'] - node['rtt_p50']:+.0f} us "
            f"median round trip to the node interface, {shell['rtt_p99'] - node['rtt_p99']:+.0f} us at p99; target "
            f"{'met' if _met(shell, args.rate) else 'NOT met'} with the shell."
        )
        for impl in (i for i in impls if i in RCLPY_IMPLS):
            s = summary[impl, priority]
            lines.append(
                f"- {SCHEDULING[priority][0]}, {ROW_NAMES[impl]}: {s['rtt_p50'] - node['rtt_p50']:+.0f} us "
                f"median round trip versus the node interface on DDS ({s['rtt_p50'] / node['rtt_p50']:.2f}x), "
                f"{s['rtt_p99'] - node['rtt_p99']:+.0f} us at p99; "
                f"target {'met' if _met(s, args.rate) else 'NOT met'}."
            )
    return "\n".join(lines)


def _implementations() -> tuple[list[str], str]:
    """The rows this interpreter can run, and a note on the rclpy rows."""
    import importlib.util

    if importlib.util.find_spec("rclpy") is None:
        return list(IMPLS), (
            "rclpy rows left out: rclpy is not importable here "
            "(run from .venv-jazzy inside scripts/netns.sh)."
        )
    from importlib.metadata import packages_distributions, version

    # PyPI's ROS 2 wheels install rclpy as ros-rclpy (plus an egg-info named rclpy with an older number).
    dists = sorted({d for d in packages_distributions().get("rclpy", []) if d.startswith("ros-")})
    source = ", ".join(f"{d} {version(d)}" for d in dists) or "an unknown distribution"
    rmw = os.environ.get("RMW_IMPLEMENTATION", "the distro's default RMW")
    return [*IMPLS, *RCLPY_IMPLS], f"rclpy from {source}, {rmw}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=60.0,
        help="measured seconds per implementation and scheduling (default 60)",
    )
    parser.add_argument("--rate", type=float, default=1000.0, help="loop rate in Hz (default 1000)")
    parser.add_argument("--blocks", type=int, default=3, help="interleaved blocks per row (default 3)")
    parser.add_argument(
        "--priority",
        default="normal",
        help="comma-separated real-time settings of plant and controller: normal, fifo (SCHED_FIFO 50), "
        "rt (fifo + mlockall + cpu_dma_latency 0); fifo and rt need root; default normal",
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="file to write (default BENCHMARKS.md)")
    parser.add_argument("--no-write", action="store_true", help="print the section, do not write it")
    parser.add_argument("--role", choices=("plant", "controller"), help=argparse.SUPPRESS)
    parser.add_argument("--impl", choices=(*IMPLS, *RCLPY_IMPLS), help=argparse.SUPPRESS)
    parser.add_argument("--ns", help=argparse.SUPPRESS)
    parser.add_argument("--domain-id", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    priorities = [p.strip() for p in args.priority.split(",") if p.strip()]
    if not priorities or any(p not in SCHEDULING for p in priorities):
        parser.error(f"--priority takes a comma-separated list of {list(SCHEDULING)}")
    _single_thread_torch()
    if args.role == "plant":
        if args.impl == "raw":
            result = plant_raw(args.ns, args.rate, args.seconds, args.domain_id, priorities[0])
        else:
            transport = NODE_TRANSPORTS[args.impl][0]
            result = plant_node(args.ns, args.rate, args.seconds, priorities[0], transport)
        print(json.dumps(result))
        return
    if args.role == "controller":
        if args.impl == "raw":
            controller_raw(args.ns, args.domain_id, priorities[0])
        elif args.impl == "shell":
            controller_shell(args.ns, priorities[0])
        else:
            controller_node(args.ns, priorities[0], NODE_TRANSPORTS[args.impl][1])
        return
    impls, rclpy_note = _implementations()
    print("rclpy rows: " + (rclpy_note if "rclpy" in impls else "none"), flush=True)
    domain_id = random.SystemRandom().randint(100, 200)
    per_block = args.seconds / args.blocks
    variants = [(impl, priority) for priority in priorities for impl in impls]
    results: dict[tuple[str, str], list[dict]] = {v: [] for v in variants}
    busy0, own0, wall0, load0 = _cpu_busy_s(), _own_cpu_s(), time.monotonic(), os.getloadavg()[0]
    for block in range(args.blocks):
        for impl, priority in variants:
            result = run_block(
                impl, per_block, args.rate, domain_id, sum(map(len, results.values())), priority
            )
            results[impl, priority].append(result)
            s = summarize([result], args.rate)
            print(f"block {block + 1}/{args.blocks} {impl:9s} {priority:6s}: {s['tick_rate']:.1f} ticks/s, round trip "
                  f"p50 {s['rtt_p50']:.0f} us p99 {s['rtt_p99']:.0f} us, misses {100 * s['miss_rate']:.3f} %",
                  flush=True)  # fmt: skip
    wall = time.monotonic() - wall0
    others = max(0.0, (_cpu_busy_s() - busy0) - (_own_cpu_s() - own0)) / wall
    load = f"load average {load0:.2f} at start, {os.getloadavg()[0]:.2f} at end"
    summary = {v: summarize(results[v], args.rate) for v in variants}
    body = report(summary, args, priorities, impls, others, load, rclpy_note)
    print("\n" + body)
    if not args.no_write:
        write_section("ros_loop", body, args.results)


if __name__ == "__main__":
    main()
