"""The pendulum closed loop as a ROS 2 node graph over DDS, checked against the in-process loop.

:func:`run_graph_demo` starts ``sim_bridge`` and a controller node (``mpc_controller`` or
``explicit_controller``) as separate processes under the launcher's supervisor
(:class:`~robocritic.ros.launcher.LaunchRunner`), on a fresh random ``ROS_DOMAIN_ID`` with the
loopback-only Cyclone configuration (nothing leaves the machine, and a robot's graph on another
domain is never touched). They run in lockstep over ``/clock``; this process records every topic
into a rosbag2 (MCAP) and reports the bridge's control-loop timing and the closed-loop states and
commands next to :func:`robocritic.testing.run_closed_loop` running the same controller from the
same start state and seed.

Why the two must agree exactly: in lockstep the env steps only with the command computed from the
state of that very tick, so events happen in the in-process loop's order; the bridge publishes the
env's observation as ``run_closed_loop`` hands it to the controller, CDR carries float64 without
rounding, and the controller is built by the node's own builder from the same profile. A
difference therefore means lost or reordered messages (the watchdog and lockstep-timeout counters
in the record say which); :data:`STATE_TOLERANCE` only leaves room for another machine's
floating-point path (e.g. BLAS kernels chosen per process), far below what a missed tick changes.

A node on rclpy (``bridge_transport`` / ``controller_transport``, where ROS 2 is installed) next
to one on DDS checks that the two transports interoperate on the wire with identical decoded
values; rclpy nodes get ``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST`` so they stay on this machine.
Processes are always cleaned up (SIGINT, so the controller sends its safe stop, then SIGTERM,
then SIGKILL), also when the demo itself fails or is interrupted.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

from robocritic.interfaces import Controller
from robocritic.jobs.pendulum_scenario import (
    ENV_ID,
    new_record,
    percentiles_ms,
    start_states,
    write_record,
)
from robocritic.profiles import HardwareProfile, load_profile
from robocritic.ros.bag import BagRecorder, read_bag_summary
from robocritic.ros.launcher import LaunchError, LaunchRunner, NodeSpec, Parameter, format_parameter_value
from robocritic.ros.launcher.description import ParameterValue
from robocritic.ros.msgs import Bool, Clock, Float64MultiArray, JointState
from robocritic.ros.qos import CLOCK, COMMANDS, SENSOR_DATA, QoSProfile
from robocritic.ros.transport import make_node
from robocritic.ros.transport.dds import LOOPBACK_CONFIG, check_domain_id

if TYPE_CHECKING:
    from robocritic.testing import Trajectory

STATE_TOLERANCE = 1e-9
"""Largest accepted |x_graph - x_in_process| [rad, rad/s] (see the module docstring)."""
CONTROLLERS = ("mpc", "explicit")
NODE_TRANSPORTS = ("dds", "rclpy")
"""Transports a node process of the demo can run on."""
SIGTERM_AFTER_S = 5.0
"""Seconds a node has to exit after SIGINT (the controller's safe stop) before SIGTERM."""
SIGKILL_AFTER_S = 3.0
"""Seconds after SIGTERM before SIGKILL."""
GROUND_TRUTH = "/sim_bridge/ground_truth"
"""The bridge's per-tick true state; one sample per tick tells the recorder the episode is over."""
_PACKAGE = "robocritic"


class GraphDemoError(RuntimeError):
    """The node graph did not come up or finish; the message includes the nodes' log tails."""


@dataclass(frozen=True)
class GraphDemoConfig:
    """Settings of :func:`run_graph_demo`.

    Attributes:
        episodes: seeded start states (:func:`~robocritic.jobs.pendulum_scenario.start_states`).
        steps: control steps per episode (0.05 s each).
        horizon: MPC horizon N (``controller="mpc"``).
        solver: MPC QP solver (``daqp`` | ``osqp`` | ``cvxpy``).
        controller: ``"mpc"`` (online MPC node) or ``"explicit"`` (explicit MPC node, needs ``law``).
        law: path to an :class:`~robocritic.controllers.explicit_mpc.ExplicitLaw` ``.npz``.
        seed: base seed; episode ``i`` resets the env with ``seed + i``.
        real_time_factor: pacing of the lockstep loop (1.0 real time; 0.0 as fast as it closes).
        profile: hardware profile name or path (pendulum kind).
        out_dir: run directory (bags, node and launch logs, node reports, ``graph_demo.json``).
        domain_id: DDS domain; ``None`` picks a random one in [100, 200].
        startup_timeout_s: wall time allowed for the processes to start and discover each other.
        tolerance: largest accepted state difference to the in-process run [rad, rad/s].
        node_parameters: extra ``(name, value)`` parameters for both nodes, e.g. the real-time
            ones (``realtime_priority``, ``lock_memory``, ``cpu_dma_latency_us``).
        bridge_transport: transport of the ``sim_bridge`` process (``dds`` | ``rclpy``).
        controller_transport: transport of the controller process (``dds`` | ``rclpy``).
    """

    episodes: int = 1
    steps: int = 200
    horizon: int = 10
    solver: str = "daqp"
    controller: str = "mpc"
    law: str | None = None
    seed: int = 0
    real_time_factor: float = 1.0
    profile: str = "pendulum_sim"
    out_dir: str = "runs/graph_demo"
    domain_id: int | None = None
    startup_timeout_s: float = 60.0
    tolerance: float = STATE_TOLERANCE
    node_parameters: tuple[tuple[str, ParameterValue], ...] = ()
    bridge_transport: str = "dds"
    controller_transport: str = "dds"

    def __post_init__(self) -> None:
        for name in ("episodes", "steps", "horizon"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"GraphDemoConfig.{name} must be a positive integer; got {value!r}")
        if self.steps > 10_000:
            raise ValueError(f"GraphDemoConfig.steps must be <= 10000; got {self.steps}")
        if self.controller not in CONTROLLERS:
            raise ValueError(
                f"GraphDemoConfig.controller must be one of {CONTROLLERS}; got {self.controller!r}"
            )
        if self.controller == "explicit" and not self.law:
            raise ValueError("GraphDemoConfig.law is required for controller='explicit'")
        if self.solver not in ("daqp", "osqp", "cvxpy"):
            raise ValueError(f"GraphDemoConfig.solver must be daqp, osqp or cvxpy; got {self.solver!r}")
        if not (np.isfinite(self.real_time_factor) and self.real_time_factor >= 0):
            raise ValueError(f"GraphDemoConfig.real_time_factor must be >= 0; got {self.real_time_factor!r}")
        if self.domain_id is not None:
            check_domain_id(self.domain_id)
        if not (np.isfinite(self.startup_timeout_s) and self.startup_timeout_s > 0):
            raise ValueError(f"GraphDemoConfig.startup_timeout_s must be > 0; got {self.startup_timeout_s!r}")
        if not (np.isfinite(self.tolerance) and self.tolerance >= 0):
            raise ValueError(f"GraphDemoConfig.tolerance must be >= 0; got {self.tolerance!r}")
        for name in ("bridge_transport", "controller_transport"):
            if getattr(self, name) not in NODE_TRANSPORTS:
                raise ValueError(
                    f"GraphDemoConfig.{name} must be one of {NODE_TRANSPORTS}; got {getattr(self, name)!r}"
                )
        pairs = self.node_parameters
        if not all(isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str) for p in pairs):
            raise ValueError(f"GraphDemoConfig.node_parameters must be (name, value) pairs; got {pairs!r}")
        for name, value in pairs:
            try:
                format_parameter_value(value)
            except TypeError:
                raise ValueError(
                    f"GraphDemoConfig.node_parameters: {name!r} must be a bool, int, float, str or a "
                    f"list of them; got {value!r}"
                ) from None


def build_reference_controller(config: GraphDemoConfig) -> Controller:
    """The controller the node runs, built in this process by the node's own builder."""
    profile = load_profile(config.profile)
    if config.controller == "mpc":
        from robocritic.nodes.mpc_controller import build_linear_mpc

        return build_linear_mpc(profile, horizon=config.horizon, solver=config.solver)
    from robocritic.controllers.explicit_mpc import ExplicitMPC
    from robocritic.nodes.explicit_controller import load_explicit_law

    return ExplicitMPC(load_explicit_law(str(config.law), profile, profile.control_rate_hz))


def run_graph_demo(config: GraphDemoConfig, progress: bool = False) -> dict[str, Any]:
    """Run the node-graph demo (see the module docstring).

    Returns:
        The record, also written to ``<out_dir>/graph_demo.json``: ``summary`` (rates [Hz],
        latencies [ms], largest differences to the in-process run [rad, rad/s; N m]) and one entry
        per episode with both runs' ``(steps + 1, 2)`` states and ``(steps, 1)`` commands.

    Raises:
        GraphDemoError: the graph did not start or finish in time (processes are cleaned up).
    """
    from robocritic.testing import run_closed_loop

    out = Path(config.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    profile = load_profile(config.profile)
    domain = config.domain_id if config.domain_id is not None else random.SystemRandom().randint(100, 200)
    starts = start_states(config.episodes, config.seed)
    started = time.perf_counter()
    episodes = []
    for i, x0 in enumerate(starts):
        if progress:
            print(
                f"[graph demo] episode {i + 1}/{config.episodes}: x0 = {np.round(x0, 4).tolist()}",
                file=sys.stderr,
            )
        graph = _run_graph_episode(config, profile, domain, x0, config.seed + i, out / f"episode_{i:03d}")
        reference = run_closed_loop(
            build_reference_controller(config), ENV_ID, x0=x0, steps=config.steps, seed=config.seed + i
        )
        episodes.append(_compare(graph, reference, config.tolerance))
    record = {
        **new_record("robocritic graph demo", config, starts),
        "domain_id": domain,
        "transport": _describe_transports(config),
        "controller_node": _controller_exec(config),
        "tolerance": config.tolerance,
        "tolerance_note": (
            "lockstep + observation published as the env returns it: the node graph must reproduce the "
            "in-process run_closed_loop bit for bit; the tolerance only allows for another machine's "
            "floating-point path"
        ),
        "wall_time_s": time.perf_counter() - started,
        "summary": _summarise(episodes, config.tolerance),
        "episodes": episodes,
        "files": {"record": str(out / "graph_demo.json"), "bags": [e["bag"]["path"] for e in episodes]},
    }
    write_record(out / "graph_demo.json", record)
    return record


def format_graph_summary(record: dict[str, Any]) -> str:
    """A few lines for the terminal."""
    s = record["summary"]
    cfg = record["config"]
    rtf = cfg["real_time_factor"]
    pacing = f"real-time factor {rtf:g}" if rtf > 0 else "unpaced"
    target = f" (target {s['target_rate_hz']:.1f} Hz)" if s["target_rate_hz"] else ""
    bags = record["files"]["bags"]
    more = f" (+{len(bags) - 1} more)" if len(bags) > 1 else ""
    verdict = "MATCH" if s["within_tolerance"] else "MISMATCH"
    return "\n".join(
        [
            (
                f"node graph over {_middleware(cfg)} ({record['transport']}, lockstep, {pacing}, "
                f"domain {record['domain_id']}): "
                f"{cfg['episodes']} episode(s) x {cfg['steps']} steps"
            ),
            (
                f"  achieved rate {s['achieved_rate_hz']:.1f} Hz{target}; command latency p50 "
                f"{s['latency_p50_ms']:.3f} ms, p99 {s['latency_p99_ms']:.3f} ms, "
                f"max {s['latency_max_ms']:.3f} ms; deadline misses {s['deadline_misses']}/"
                f"{s['commands_timed']} (deadline {s['deadline_ms']:.1f} ms)"
            ),
            (
                f"  vs in-process run_closed_loop: max |dx| = {s['max_state_diff']:.3g}, max |du| = "
                f"{s['max_action_diff']:.3g} (tolerance {record['tolerance']:g}) -> {verdict}; "
                f"safe steps {s['safe_steps']}, rejected {s['rejected']}"
            ),
            f"  bag: {bags[0]}{more}",
        ]
    )


# --- one episode ------------------------------------------------------------------------------


def _controller_exec(config: GraphDemoConfig) -> str:
    return "mpc_controller" if config.controller == "mpc" else "explicit_controller"


def _middleware(cfg: dict[str, Any]) -> str:
    """``DDS``, ``rclpy`` or ``rclpy + DDS``: what the node processes ran on."""
    used = {cfg["bridge_transport"], cfg["controller_transport"]}
    return " + ".join(name for name, kind in (("rclpy", "rclpy"), ("DDS", "dds")) if kind in used)


def _describe_transports(config: GraphDemoConfig) -> str:
    """E.g. ``sim_bridge on rclpy + mpc_controller on dds, one process per node, loopback only``."""
    return (
        f"sim_bridge on {config.bridge_transport} + {_controller_exec(config)} on "
        f"{config.controller_transport}, one process per node, loopback only"
    )


def _node(executable: str, transport: str, parameters: Sequence[tuple[str, ParameterValue]]) -> NodeSpec:
    """One node process: robocritic's ``executable`` on ``transport``, output to ``<executable>.log``.

    Run as ``python -m robocritic.nodes.<executable>`` with this interpreter, so the node runs the
    code this process compares it with, whatever console scripts are installed.
    """
    return NodeSpec(
        package=_PACKAGE,
        executable=executable,
        name=None,
        namespace=None,
        parameters=tuple(Parameter(name, value) for name, value in parameters),
        arguments=("--transport", transport),
        output="log",
        where=f"robocritic graph demo: {executable}",
        command=(sys.executable, "-m", f"robocritic.nodes.{executable}"),
    )


def graph_nodes(
    config: GraphDemoConfig, x0: np.ndarray, seed: int, bridge_report: Path, controller_report: Path
) -> tuple[NodeSpec, NodeSpec]:
    """``(sim_bridge, controller)`` of one episode from start state ``x0`` ``(2,)`` [rad, rad/s]."""
    bridge: list[tuple[str, ParameterValue]] = [
        ("profile", config.profile), ("mode", "lockstep"), ("seed", seed),
        ("initial_state", [float(v) for v in x0]), ("max_steps", config.steps),
        ("real_time_factor", float(config.real_time_factor)),
        ("wait_for_subscribers", 2),  # the controller and this recorder
        # A stall of a loaded machine must not turn into a safe step (which would break the exact
        # comparison); a dead controller is noticed by this process within 10 ms anyway.
        ("lockstep_timeout_s", 10.0),
        # Stopped by this process once every tick is recorded (see _wait_recorded), not on its own.
        ("shutdown_when_done", False), ("report_path", str(bridge_report)),
    ]  # fmt: skip
    controller: list[tuple[str, ParameterValue]] = [
        ("profile", config.profile), ("use_sim_time", True),
        ("autostart", False),  # activated once the recorder hears everybody
        ("command_subscribers", 2),  # the bridge and this recorder
        ("report_path", str(controller_report)),
    ]  # fmt: skip
    if config.controller == "mpc":
        controller += [("horizon", config.horizon), ("solver", config.solver)]
    else:
        controller.append(("law", str(Path(str(config.law)).resolve())))
    extra = list(config.node_parameters)  # last: they override the demo's own values
    return (
        _node("sim_bridge", config.bridge_transport, bridge + extra),
        _node(_controller_exec(config), config.controller_transport, controller + extra),
    )


@contextlib.contextmanager
def _loopback_cyclone() -> Iterator[None]:
    """This process's DDS participants on loopback only, like the nodes' (whatever the user's
    ``CYCLONEDDS_URI``): the recorder must not reach a robot's graph either."""
    saved = os.environ.get("CYCLONEDDS_URI")
    os.environ["CYCLONEDDS_URI"] = LOOPBACK_CONFIG
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("CYCLONEDDS_URI", None)
        else:
            os.environ["CYCLONEDDS_URI"] = saved


def _runner(nodes: Sequence[NodeSpec], domain: int, folder: Path, launch_log: TextIO) -> LaunchRunner:
    """The launcher's supervisor for one episode's nodes (node logs in ``folder``)."""
    environ = {
        **os.environ,
        "CYCLONEDDS_URI": LOOPBACK_CONFIG,
        # rclpy nodes (Jazzy and later) stay on this machine; each node's --transport overrides
        # the runner's ROBOCRITIC_TRANSPORT.
        "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST",
    }
    return LaunchRunner(
        nodes, environ=environ, domain_id=domain, transport="dds", sigterm_timeout_s=SIGTERM_AFTER_S,
        sigkill_timeout_s=SIGKILL_AFTER_S, log_dir=folder, stdout=launch_log, stderr=launch_log,
    )  # fmt: skip


def _run_graph_episode(
    config: GraphDemoConfig, profile: HardwareProfile, domain: int, x0: np.ndarray, seed: int, folder: Path
) -> dict[str, Any]:
    folder.mkdir(parents=True, exist_ok=True)
    bag_path = folder / "bag"
    if bag_path.exists():
        raise GraphDemoError(f"{bag_path} exists already; choose a fresh out_dir")
    bridge_report, controller_report = folder / "sim_bridge.json", folder / "controller.json"
    for stale in (bridge_report, controller_report):
        stale.unlink(missing_ok=True)
    nodes = graph_nodes(config, x0, seed, bridge_report, controller_report)
    controller = _controller_exec(config)
    topics = {
        "/clock": (Clock, CLOCK),
        profile.topics["joint_states"].name: (JointState, SENSOR_DATA),
        profile.topics["command"].name: (Float64MultiArray, COMMANDS),
        GROUND_TRUTH: (Float64MultiArray, _ground_truth_qos()),
    }
    launch_log_path = folder / "launch.log"
    logs = {spec.label: folder / f"{spec.label}.log" for spec in nodes}
    failure: str | None = None
    with _loopback_cyclone(), open(launch_log_path, "w", encoding="utf-8") as launch_log:
        runner = _runner(nodes, domain, folder, launch_log)
        node = make_node("graph_demo_recorder", transport="dds", domain_id=domain)
        recorder = BagRecorder(node, bag_path, topics)
        activate = node.create_publisher(Bool, f"/{controller}/activate", COMMANDS)
        node.spin_in_thread()
        try:
            # Every node is shut down on the way out, also on an error or Ctrl-C, and before the
            # error is reported, so the log tails are complete.
            with runner:
                runner.wait_until(
                    lambda: all(n > 0 for n in recorder.publisher_counts().values())
                    and activate.get_subscription_count() > 0,
                    config.startup_timeout_s, "the nodes to start and discover each other",
                )  # fmt: skip
                activate.publish(Bool(data=True))
                _wait_recorded(runner, recorder, profile, config)
                # The bridge first: it must not count the controller's safe stop as a command.
                runner.stop(["sim_bridge"])
        except LaunchError as exc:
            failure = str(exc)
        finally:
            node.destroy()
            recorder.close()
        codes = runner.exit_codes()
    if failure is not None:
        raise GraphDemoError(f"{failure}\n{_tails(logs)}")
    for name, code in codes.items():
        if code not in (0, None):
            raise GraphDemoError(f"{name} exited with {code}\n{_tails(logs)}")
    try:
        bridge = json.loads(bridge_report.read_text())
        ctl = json.loads(controller_report.read_text())
    except (OSError, ValueError) as exc:
        raise GraphDemoError(f"a node wrote no report ({exc})\n{_tails(logs)}") from None
    return {
        "bridge": bridge,
        "controller": ctl,
        "bag": {"path": str(bag_path), "topics": {t: list(v) for t, v in read_bag_summary(bag_path).items()}},
        "logs": {k: str(v) for k, v in logs.items()},
        "launch_log": str(launch_log_path),
        "exit_codes": codes,
    }


def _wait_recorded(
    runner: LaunchRunner, recorder: BagRecorder, profile: HardwareProfile, config: GraphDemoConfig
) -> None:
    """Wait until the bag holds every tick's ground truth, then briefly for the last tick's command.

    The ground truth (reliable, transient local, one sample per tick) tells this process that the
    episode is over, so the bridge is stopped only after its samples arrived. A bridge that exits by
    itself right after its last tick can take samples a late-matched reader has not yet had repaired
    with it: a Fast DDS writer sends heartbeats only every few seconds, and a reliable Cyclone reader
    delivers nothing past a gap (seen as a bag without any ground truth).
    """
    steps, rtf = config.steps, config.real_time_factor
    # Paced: twice the simulated duration; unpaced: a generous allowance per step. Either way a
    # fixed 30 s on top for a loaded machine.
    run_s = 30.0 + (2.0 * steps / (profile.control_rate_hz * rtf) if rtf > 0 else 0.1 * steps)
    runner.wait_until(lambda: recorder.counts[GROUND_TRUTH] >= steps + 1, run_s, f"{steps} lockstep steps")
    # The controller's reply to the final state; the bridge ignores it, the bag keeps it.
    command = profile.topics["command"].name
    _wait_quietly(lambda: recorder.counts[command] >= steps + 1, 2.0)


def _ground_truth_qos() -> QoSProfile:
    from robocritic.nodes.sim_bridge import GROUND_TRUTH_QOS

    return GROUND_TRUTH_QOS


def _wait_quietly(condition: Callable[[], bool], timeout_s: float) -> bool:
    """Poll ``condition`` every 10 ms for up to ``timeout_s`` [s]; whether it came true."""
    end = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(0.01)
    return True


def _tails(logs: dict[str, Path], lines: int = 15) -> str:
    parts = []
    for name, path in logs.items():
        try:
            text = path.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            text = ["<no log>"]
        parts.append(f"--- {name} ({path}) ---\n" + "\n".join(text))
    return "\n".join(parts)


# --- comparison and summary ---------------------------------------------------------------------


def _compare(graph: dict[str, Any], reference: Trajectory, tolerance: float) -> dict[str, Any]:
    bridge = graph["bridge"]
    episode = bridge["episodes"][0]
    states = np.asarray(episode["states"])
    actions = np.asarray(episode["actions"])
    ref_states, ref_actions = reference.states, reference.actions
    if states.shape != ref_states.shape or actions.shape != ref_actions.shape:
        state_diff = action_diff = float("inf")
    else:
        state_diff = float(np.max(np.abs(states - ref_states)))
        action_diff = float(np.max(np.abs(actions - ref_actions)))
    timing = bridge["timing"]
    return {
        "seed": episode["seed"],
        "x0": episode["states"][0],
        "steps": int(actions.shape[0]),
        "max_state_diff": state_diff,
        "max_action_diff": action_diff,
        "within_tolerance": bool(state_diff <= tolerance),
        "graph": {"states": episode["states"], "actions": episode["actions"]},
        "in_process": {
            "states": ref_states.tolist(),
            "actions": ref_actions.tolist(),
            "cost": reference.total_cost,
        },
        "timing": {k: v for k, v in timing.items() if k != "latencies_s"},
        "latencies_s": timing["latencies_s"],
        "bridge_counters": bridge["counters"],
        "controller": {k: v for k, v in graph["controller"].items()},
        "bag": graph["bag"],
        "logs": graph["logs"],
        "launch_log": graph["launch_log"],
        "exit_codes": graph["exit_codes"],
    }


def _summarise(episodes: list[dict[str, Any]], tolerance: float) -> dict[str, Any]:
    latencies = np.concatenate([np.asarray(e["latencies_s"], dtype=np.float64) for e in episodes])
    p50, p99, worst = percentiles_ms(latencies)
    ticks = sum(e["timing"]["ticks"] for e in episodes)
    intervals = sum(e["timing"]["intervals"] for e in episodes)
    wall = sum(e["timing"]["wall_time_s"] for e in episodes)
    safe: dict[str, int] = {}
    rejected: dict[str, int] = {}
    for e in episodes:
        for key, n in e["bridge_counters"]["safe_steps"].items():
            safe[key] = safe.get(key, 0) + n
        for key, n in {**e["bridge_counters"]["rejected"], **e["controller"]["rejected"]}.items():
            rejected[key] = rejected.get(key, 0) + n
    max_dx = max(e["max_state_diff"] for e in episodes)
    return {
        "ticks": ticks,
        "commands_timed": int(latencies.size),
        "achieved_rate_hz": intervals / wall if wall > 0 else float("nan"),
        "target_rate_hz": episodes[0]["timing"]["target_rate_hz"],
        "latency_p50_ms": p50,
        "latency_p99_ms": p99,
        "latency_max_ms": worst,
        "deadline_ms": episodes[0]["timing"]["deadline_s"] * 1e3,
        "deadline_misses": sum(e["timing"]["deadline_misses"] for e in episodes),
        "controller_compute_p50_ms": float(
            np.median([e["controller"]["compute"]["p50_ms"] or np.nan for e in episodes])
        ),
        "max_state_diff": max_dx,
        "max_action_diff": max(e["max_action_diff"] for e in episodes),
        "within_tolerance": bool(max_dx <= tolerance),
        "safe_steps": safe,
        "rejected": rejected,
    }


__all__ = [
    "CONTROLLERS",
    "ENV_ID",
    "GROUND_TRUTH",
    "NODE_TRANSPORTS",
    "SIGKILL_AFTER_S",
    "SIGTERM_AFTER_S",
    "STATE_TOLERANCE",
    "GraphDemoConfig",
    "GraphDemoError",
    "build_reference_controller",
    "format_graph_summary",
    "graph_nodes",
    "run_graph_demo",
    "start_states",
]
