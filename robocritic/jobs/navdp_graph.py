"""NavDP as a node graph (``nav_sim_bridge`` + ``navdp_planner``) in lockstep on the in-process
transport, recorded to an MCAP bag and checked against :func:`~robocritic.navdp.evaluate.run_episode`.

Both nodes and a recorder run in this process on one :class:`~robocritic.ros.transport.InProcessBus`
(messages go through their CDR bytes, as over DDS). The bridge publishes the benchmark's paired
episode (same world, start and goal); the planner is seeded with the episode's seed, as the
in-process loop seeds its planner. The planner's inputs differ from the in-process ones only by
the message round trip (yaw through a quaternion, the goal in the robot frame computed from the
odometry message instead of inside the env), a few ulp, so the executed paths must agree to
:data:`TOLERANCE` and the outcome and the number of steps must be equal.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from robocritic.navdp.evaluate import EpisodeSpec, LoopConfig, make_env, make_loop_planner, run_episode
from robocritic.nodes.nav_sim_bridge import NavSimBridgeNode
from robocritic.nodes.navdp_planner import METHODS, NavdpPlannerNode
from robocritic.profiles import load_profile
from robocritic.ros.bag import BagRecorder, read_bag_summary
from robocritic.ros.msgs import Clock, Image, Odometry, PoseStamped, Twist
from robocritic.ros.msgs import Path as PathMsg
from robocritic.ros.qos import CLOCK, COMMANDS, SENSOR_DATA
from robocritic.ros.transport import InProcessBus

__all__ = ["TOLERANCE", "NavGraphConfig", "run_navdp_graph"]

TOLERANCE = 1e-4
"""Largest accepted distance between the graph's and the in-process run's positions [m] (the
in-process trace is rounded to 0.1 mm)."""
_BUS_STEP_S = 0.05  # virtual wall time per bus step (unpaced lockstep closes many ticks per step)


@dataclass(frozen=True)
class NavGraphConfig:
    """Settings of :func:`run_navdp_graph`.

    Attributes:
        method: the planner (:data:`~robocritic.nodes.navdp_planner.METHODS`).
        checkpoint: NavDP model file (``""``: the shipped one).
        world_seed, episode, preset: the paired episode.
        profile: the diff-drive hardware profile.
        bag: rosbag2 (MCAP) directory to record the graph's topics into (``""``: no bag).
    """

    method: str = "navdp"
    checkpoint: str = ""
    world_seed: int = 9000
    episode: int = 0
    preset: str = "default"
    profile: str = "diffdrive_depth"
    bag: str = ""

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"NavGraphConfig.method must be one of {list(METHODS)}; got {self.method!r}")


def _reference(config: NavGraphConfig, max_steps: int) -> dict[str, Any]:
    from robocritic.navdp.checkpoint import load_model

    model = None
    if config.method.startswith("navdp"):
        from robocritic.navdp.assets import small_model_path

        model = load_model(config.checkpoint or small_model_path())
    env = make_env(config.preset, LoopConfig(max_time=max_steps * 0.1))
    try:
        return run_episode(env, make_loop_planner(config.method, model=model),
                           EpisodeSpec(config.world_seed, config.episode), method=config.method, keep_trace=True)
    finally:
        env.close()


def run_navdp_graph(config: NavGraphConfig, max_steps: int = 600) -> dict[str, Any]:
    """Run the in-process episode, then the same episode as a node graph for as many steps; the
    record (JSON-ready): ``summary`` (outcomes, steps, ``max_xy_diff`` [m], ``match``, wall
    time), both nodes' reports, the reference record and the bag's topics."""
    ref = _reference(config, max_steps)
    steps = int(ref["steps"])  # a stuck or timed-out reference ends the graph at the same step
    profile = load_profile(config.profile)
    bus = InProcessBus()
    bridge = NavSimBridgeNode(bus.create_node("nav_sim_bridge", parameters={
        "profile": config.profile, "world_preset": config.preset, "world_seed": config.world_seed,
        "episode": config.episode, "max_steps": steps, "real_time_factor": 0.0}))  # fmt: skip
    planner = NavdpPlannerNode(bus.create_node("navdp_planner", parameters={
        "profile": config.profile, "use_sim_time": True, "method": config.method,
        "checkpoint": config.checkpoint, "seed": int(bridge.seed)}))  # fmt: skip
    recorder = None
    if config.bag:
        topics = {"/clock": (Clock, CLOCK)}
        for key, kind, qos in (("depth", Image, SENSOR_DATA), ("odom", Odometry, SENSOR_DATA),
                               ("goal", PoseStamped, COMMANDS), ("cmd_vel", Twist, COMMANDS),
                               ("path", PathMsg, COMMANDS)):  # fmt: skip
            topics[profile.topics[key].name] = (kind, qos)
        recorder = BagRecorder(bus.create_node("recorder"), config.bag, topics)
    start = time.perf_counter()
    try:
        for _ in range(100_000):  # a stalled graph ends here rather than hanging
            if bridge.done:
                break
            bus.step(_BUS_STEP_S)
        bus.spin_until_idle()
    finally:
        if recorder is not None:
            recorder.close()
        bridge.shutdown()
    wall_s = time.perf_counter() - start
    xy, ref_xy = np.round(bridge.xy, 4), np.asarray(ref["trace"]["xy"])
    diff = float(np.abs(xy - ref_xy).max()) if xy.shape == ref_xy.shape else math.inf
    graph_outcome = bridge.outcome if bridge.outcome != "timeout" else ref["outcome"] if ref["outcome"] in (
        "stuck", "timeout") else "timeout"  # the bridge stops where the reference ended; it has no stuck rule
    record: dict[str, Any] = {
        "config": asdict(config),
        "tolerance_m": TOLERANCE,
        "summary": {
            "outcome": graph_outcome, "reference_outcome": ref["outcome"],
            "steps": int(bridge.tick), "reference_steps": steps, "max_xy_diff_m": diff,
            "match": graph_outcome == ref["outcome"] and int(bridge.tick) == steps and diff <= TOLERANCE,
            "plans": planner.paths_sent, "reference_plans": ref["plans"], "wall_time_s": wall_s,
        },
        "bridge": bridge.report(),
        "planner": planner.report(),
        "reference": {k: v for k, v in ref.items() if k not in ("trace", "plan_ms")},
    }
    if config.bag:
        record["bag"] = {"path": str(Path(config.bag)),
                         "topics": {t: list(v) for t, v in read_bag_summary(config.bag).items()}}
    return record
