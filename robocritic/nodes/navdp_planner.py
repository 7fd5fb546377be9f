"""``navdp_planner``: NavDP (or a classical local planner) as a ROS 2 node on a differential-drive
base with a depth camera.

    navdp_planner --ros-args -p profile:=diffdrive_depth -p method:=navdp [-p checkpoint:=model.pt]

=====================  ====================================  =====================================
topic (profile key)    type                                  role
=====================  ====================================  =====================================
``depth``              sensor_msgs/msg/Image                 ``32FC1`` [m] or ``16UC1`` [mm] in
``odom``               nav_msgs/msg/Odometry                 pose and twist in ``frames.odom``, in
``goal``               geometry_msgs/msg/PoseStamped         point goal in ``frames.odom``, in
``cmd_vel``            geometry_msgs/msg/Twist               ``(v, omega)`` out, one per odometry tick
``path``               nav_msgs/msg/Path                     the chosen plan in ``frames.odom``, out
                                                             at every replan (empty: turning in place)
``estop``              std_msgs/msg/Bool                     ``true`` latches the stop command
``~/activate``         std_msgs/msg/Bool                     ``true`` (re-)activates after an e-stop
=====================  ====================================  =====================================

Every odometry message that comes with a depth image of the same stamp (sim time) or a depth image
no older than ``depth_timeout_s`` (wall clock) is one control tick: the
:class:`~robocritic.navdp.navigator.Navigator` (the same class the closed-loop benchmark runs)
replans every ``replan_period`` s and tracks the plan with pure pursuit; its ``(v, omega)`` goes out
on ``cmd_vel``, clipped to the profile's ``limits.max_linear_speed`` / ``max_angular_speed``.

The stop command ``(0, 0)`` goes out instead, with a logged reason, on: no goal yet; a goal
reached (within ``goal_tolerance``); a refused goal (NaN/inf, another frame, farther than
``max_goal_distance``, or within ``robot_radius`` of an obstacle the current depth image shows:
a goal must be reachable to be driven to); stale sensors (no odometry, or no matching depth, for
``state_timeout_s``); a latched e-stop; a planner error or a non-finite command. A refused goal
also cancels the previous one (the operator asked for something else), so the robot does not
move until a valid goal arrives. Dropped inputs are counted by reason in the report.
"""

from __future__ import annotations

import math
import sys
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from robocritic.dynamics.unicycle import to_robot_frame
from robocritic.envs.nav.sensors import DepthConfig
from robocritic.navdp.local_planners import DepthProjector
from robocritic.navdp.navigator import (
    DEPTH_METHODS,
    NAVDP_SELECTION,
    DepthLoopPlanner,
    LoopPlanner,
    NavDPLoopPlanner,
    Navigator,
    NavigatorConfig,
    NavStep,
    PlannerContext,
)
from robocritic.nodes.io.diffdrive import DiffDriveIO
from robocritic.nodes.profile_params import ESTOP_QOS, declare_profile, require_topic, topic_qos
from robocritic.nodes.rejections import InputRejected, RejectionCounter
from robocritic.nodes.report import percentiles_ms, write_report
from robocritic.nodes.runtime import run_node
from robocritic.nodes.shell import Command, NodeShell
from robocritic.nodes.validators import at_least, non_negative, one_of, positive
from robocritic.profiles import CameraSpec, HardwareProfile
from robocritic.ros.msgs import Bool, Image, Odometry, Path, PoseStamped, Twist
from robocritic.ros.transport.base import Node, NodeLogger, ParameterError

__all__ = ["METHODS", "NavPlannerLogic", "NavdpPlannerNode", "depth_config", "main", "make_planner"]

METHODS = (*NAVDP_SELECTION, *DEPTH_METHODS)
"""Planners the node runs (no privileged expert: a robot has no world map)."""

STOP_REASONS = ("no_goal", "goal_reached", "goal_refused")
"""Why the node holds still with an otherwise healthy loop (counted with the shell's safe reasons)."""


def depth_config(camera: CameraSpec) -> DepthConfig:
    """The profile's camera as the :class:`~robocritic.envs.nav.sensors.DepthConfig` planners use."""
    return DepthConfig(height=camera.height, width=camera.width, hfov=math.radians(camera.hfov_deg),
                       range=(camera.min_range, camera.max_range), position=(camera.x, camera.z),
                       pitch=math.radians(camera.pitch_deg))


def make_planner(method: str, checkpoint: str = "") -> LoopPlanner:
    """The loop planner of ``method`` (:data:`METHODS`); NavDP methods load ``checkpoint``
    (default: the shipped model) as weights only."""
    if method in DEPTH_METHODS:
        return DepthLoopPlanner(method)
    if method not in NAVDP_SELECTION:
        raise ValueError(f"method must be one of {list(METHODS)}; got {method!r}")
    from robocritic.navdp.assets import small_model_path
    from robocritic.navdp.checkpoint import load_model

    return NavDPLoopPlanner(load_model(checkpoint or small_model_path()), NAVDP_SELECTION[method])


class _Goal:
    """A point goal being driven to: where [m, odometry frame] and the episode it started."""

    def __init__(self, xy: np.ndarray) -> None:
        self.xy = xy
        self.begun = False


class NavPlannerLogic(NodeShell):
    """The node without middleware: a :class:`NodeShell` whose state is the odometry
    ``[x, y, yaw, v, omega]`` and whose controller is a :class:`Navigator` fed by the latest depth
    image and goal (module docstring).

    Args:
        planner: the :class:`~robocritic.navdp.navigator.LoopPlanner`.
        depth: the camera.
        navigator: replanning and tracking settings.
        seed: the planner's seed for the first goal (``seed + i`` for the ``i``-th).
        max_speed: ``(v_max, omega_max)`` [m/s, rad/s] the command is clipped to.
        goal_tolerance: a goal this close counts as reached [m].
        max_goal_distance: goals farther from the robot are refused [m].
        robot_radius: a goal this close to a seen obstacle is refused [m].
        state_timeout_ns, control_period_ns, active, now_ns, logger: as :class:`NodeShell`.

    Attributes:
        last_step: the navigator's latest :class:`~robocritic.navdp.navigator.NavStep`.
        goals: goals by outcome (``accepted``, ``reached``, ``refused``, ``repeated``).
        refused_goals: refused goals by reason.
    """

    def __init__(self, planner: LoopPlanner, depth: DepthConfig, *, navigator: NavigatorConfig | None = None,
                 seed: int = 0, max_speed: tuple[float, float] = (0.5, 1.0), goal_tolerance: float = 0.5,
                 max_goal_distance: float = 20.0, robot_radius: float = 0.2, state_timeout_ns: int,
                 control_period_ns: int, active: bool = True, now_ns: int | None = None,
                 logger: NodeLogger | None = None) -> None:
        self.navigator = Navigator(planner, navigator)
        self.depth_camera = depth
        self.seed = int(seed)
        self.goal_tolerance, self.max_goal_distance = float(goal_tolerance), float(max_goal_distance)
        self.robot_radius = float(robot_radius)
        self._projector = DepthProjector(depth)
        self.depth: np.ndarray | None = None
        self.depth_stamp_ns: int | None = None
        self._goal: _Goal | None = None
        self.last_step: NavStep | None = None
        self.goals: Counter[str] = Counter()
        v, w = max_speed
        super().__init__(_NavigatorController(self), safe_command=np.zeros(2), state_timeout_ns=state_timeout_ns,
                         control_period_ns=control_period_ns, action_low=[-v, -w], action_high=[v, w],
                         active=active, now_ns=now_ns, logger=logger, what="odometry")  # fmt: skip
        self._refusals = RejectionCounter(self.logger, "goal")
        self.refused_goals = self._refusals.counts

    # --- inputs ---------------------------------------------------------------------------------

    def accept_depth(self, depth: np.ndarray, stamp_ns: int) -> None:
        """Store a decoded depth image ``(H, W)`` [m] stamped ``stamp_ns`` (the camera's size)."""
        shape = (self.depth_camera.height, self.depth_camera.width)
        if np.shape(depth) != shape:
            raise ValueError(f"depth: expected shape {shape} [m]; got {np.shape(depth)}")
        self.depth, self.depth_stamp_ns = depth, int(stamp_ns)

    def on_goal(self, xy: np.ndarray) -> bool:
        """Take a decoded goal ``(2,)`` [m, odometry frame]; ``False`` (logged, counted) if refused.
        The same goal again is ignored (a re-sent goal does not restart the plan)."""
        if self._goal is not None and np.array_equal(self._goal.xy, xy):
            self.goals["repeated"] += 1
            return True
        self._goal = _Goal(np.asarray(xy, dtype=np.float64).copy())
        reason = self._check_goal()
        if reason is not None:
            return False
        self.goals["accepted"] += 1
        self.logger.info(f"new goal ({xy[0]:.3f}, {xy[1]:.3f}) m")
        return True

    def refuse_goal(self, exc: InputRejected) -> None:
        """Count and log a goal the I/O layer rejected; it cancels the current goal."""
        self._goal = None
        self._refusals.reject(exc)

    @property
    def goal(self) -> np.ndarray | None:
        """The goal being driven to ``(2,)`` [m, odometry frame] (``None``: none)."""
        return None if self._goal is None else self._goal.xy.copy()

    def _check_goal(self) -> str | None:
        """Refuse the current goal (and return why) if it is out of range or in a seen obstacle."""
        goal, odom = self._goal, self.state
        if goal is None or odom is None:
            return None
        rel = to_robot_frame(odom[:3], goal.xy[None])[0]
        distance = float(np.hypot(*rel))
        problem = None
        if distance > self.max_goal_distance:
            problem = InputRejected("goal_out_of_range", f"goal ({goal.xy[0]:.3f}, {goal.xy[1]:.3f}) m is "
                                    f"{distance:.2f} m away; max_goal_distance is {self.max_goal_distance:g} m")
        elif self.depth is not None:
            points = self._projector.points(self.depth)
            if len(points):
                gap = float(np.min(np.hypot(*(points - rel).T)))
                if gap < self.robot_radius:
                    problem = InputRejected("goal_in_obstacle", f"goal ({goal.xy[0]:.3f}, {goal.xy[1]:.3f}) m "
                                            f"is {gap:.2f} m from an obstacle in the depth image (robot "
                                            f"radius {self.robot_radius:g} m): unreachable")
        if problem is None:
            return None
        self.refuse_goal(problem)
        return problem.reason

    # --- output ---------------------------------------------------------------------------------

    def command(self, now_ns: int) -> Command | None:
        """The shell's step, after the goal checks: the stop command while there is nothing to do."""
        if self.active and self.state is not None and not self.estopped and not self.stale(now_ns):
            reason = self._idle_reason()
            if reason is not None:
                return self._safe(reason, self.state_stamp_ns)
        return super().command(now_ns)

    def _idle_reason(self) -> str | None:
        if self._goal is None:
            return "no_goal"
        if self._check_goal() is not None:
            return "goal_refused"
        rel = self._goal.xy - self.state[:2]
        if float(np.hypot(*rel)) <= self.goal_tolerance:
            self.goals["reached"] += 1
            self.logger.info(f"goal ({self._goal.xy[0]:.3f}, {self._goal.xy[1]:.3f}) m reached")
            self._goal = None
            return "goal_reached"
        return None

    def navigate(self, odom: np.ndarray) -> np.ndarray:
        """One navigator step on ``odom`` ``(5,)``, the latest depth and the goal -> ``(v, omega)``."""
        goal = self._goal
        if goal is None or self.depth is None:  # command() checked both; a direct call is a bug
            raise RuntimeError("navigate needs a goal and a depth image")
        if not goal.begun:
            index = self.goals["accepted"] - 1
            self.navigator.begin(PlannerContext(self.seed + max(index, 0), self.depth_camera))
            goal.begun = True
        obs = {"depth": self.depth, "odom": odom,
               "goal": to_robot_frame(odom[:3], goal.xy[None])[0].astype(np.float32)}
        self.last_step = self.navigator.step(self.state_stamp_ns / 1e9, obs)
        return self.last_step.action

    def fail_safe(self, reason: str) -> Command | None:
        """The stop command for ``reason`` now (``None`` while inactive: nothing is sent)."""
        if not self.active:
            return None
        self.logger.warning(f"fail-safe ({reason}): stopping", throttle_s=1.0, key=("fail_safe", reason))
        return self._safe(reason, self.state_stamp_ns)

    def counters(self) -> dict[str, object]:
        return {**super().counters(), "goals": dict(self.goals), "refused_goals": dict(self.refused_goals)}


class _NavigatorController:
    """The shell's controller: ``act(odom)`` is :meth:`NavPlannerLogic.navigate`."""

    def __init__(self, logic: NavPlannerLogic) -> None:
        self._logic = logic

    def reset(self) -> None:
        goal = self._logic._goal
        if goal is not None:
            goal.begun = False  # (re-)activation: replan from scratch

    def act(self, x: np.ndarray) -> np.ndarray:
        return self._logic.navigate(x)


class NavdpPlannerNode:
    """The ``navdp_planner`` node (module docstring) over any transport's ``node``.

    Attributes:
        logic: the :class:`NavPlannerLogic`. io: the :class:`~robocritic.nodes.io.diffdrive.DiffDriveIO`.
        paths_sent: Path messages published. plan_ms: wall time per plan [ms].
    """

    def __init__(self, node: Node) -> None:
        self.node = node
        fqn = node.fully_qualified_name
        self.profile = profile = declare_profile(node, "diffdrive_depth")
        camera = _require_camera(profile)
        specs = {key: require_topic(profile, key, kind) for key, kind in (
            ("depth", "sensor_msgs/msg/Image"), ("odom", "nav_msgs/msg/Odometry"),
            ("goal", "geometry_msgs/msg/PoseStamped"), ("cmd_vel", "geometry_msgs/msg/Twist"),
            ("path", "nav_msgs/msg/Path"))}  # fmt: skip
        limits = profile.limits
        method = node.declare_parameter("method", "navdp", one_of(*METHODS), "local planner")
        checkpoint = node.declare_parameter("checkpoint", "", description="NavDP model file ('': shipped)")
        seed = node.declare_parameter("seed", 0, at_least(0), "planner seed of the first goal")
        replan = node.declare_parameter("replan_period", 0.25, positive, "time between plans [s]")
        tolerance = node.declare_parameter("goal_tolerance", 0.5, positive, "goal reached within [m]")
        max_goal = node.declare_parameter("max_goal_distance", limits.get("max_goal_distance", 20.0), positive,
                                          "farther goals are refused [m]")
        radius = node.declare_parameter("robot_radius", limits.get("robot_radius", 0.2), positive,
                                        "goals this close to a seen obstacle are refused [m]")
        state_timeout_s = node.declare_parameter("state_timeout_s", profile.state_timeout_s, positive,
                                                 "watchdog: no odometry with depth for this long -> stop [s]")
        self.depth_timeout_s = node.declare_parameter("depth_timeout_s", profile.state_timeout_s, positive,
                                                      "largest depth age relative to the odometry [s]")
        threads = node.declare_parameter("threads", 1, at_least(1), "torch threads for the planner")
        autostart = node.declare_parameter("autostart", True, description="start active")
        self.report_path = node.declare_parameter("report_path", "", description="JSON report at shutdown")
        self.overrun_limit_s = node.declare_parameter("overrun_limit_s", 0.0, non_negative,
                                                      "wall time a tick may take [s]; 0 off")
        self.use_sim_time = bool(node.get_parameter("use_sim_time"))
        try:
            import torch

            torch.set_num_threads(threads)
            planner = make_planner(method, checkpoint)
            self.logic = NavPlannerLogic(
                planner, depth_config(camera), navigator=NavigatorConfig(replan_period=replan), seed=seed,
                max_speed=(limits.get("max_linear_speed", 0.5), limits.get("max_angular_speed", 1.0)),
                goal_tolerance=tolerance, max_goal_distance=max_goal, robot_radius=radius,
                state_timeout_ns=round(state_timeout_s * 1e9), control_period_ns=round(1e9 / profile.control_rate_hz),
                active=autostart, logger=node.get_logger(),
            )  # fmt: skip
        except (OSError, ValueError) as exc:
            raise ParameterError(f"{fqn}: parameters 'method'/'checkpoint' ({method!r}, {checkpoint!r}): {exc}") from None
        self.method = method
        self.io = DiffDriveIO(camera, odom_frame=profile.frames.get("odom", "odom"),
                              base_frame=profile.frames.get("base", "base_link"),
                              camera_frame=profile.frames.get("camera", "camera_depth_optical_frame"))  # fmt: skip
        self.depth_rejections = RejectionCounter(node.get_logger(), "depth image")
        self.paths_sent = 0
        self.overruns = 0
        self.plan_ms: list[float] = []
        self._pending: tuple[np.ndarray, int] | None = None  # sim time: odometry waiting for its depth
        self._cmd_pub = node.create_publisher(Twist, specs["cmd_vel"].name, topic_qos(specs["cmd_vel"]))
        self._path_pub = node.create_publisher(Path, specs["path"].name, topic_qos(specs["path"]))
        node.create_subscription(Image, specs["depth"].name, self._on_depth, topic_qos(specs["depth"]))
        node.create_subscription(Odometry, specs["odom"].name, self._on_odom, topic_qos(specs["odom"]))
        node.create_subscription(PoseStamped, specs["goal"].name, self._on_goal, topic_qos(specs["goal"]))
        node.create_subscription(Bool, profile.estop.name, self._on_estop, ESTOP_QOS)
        node.create_subscription(Bool, "~/activate", self._on_activate, ESTOP_QOS)
        self._timer = node.create_timer(1.0 / profile.control_rate_hz, self._on_timer)
        node.get_logger().info(f"{method} on {profile.robot} at {profile.control_rate_hz:g} Hz "
                               f"({'sim time' if self.use_sim_time else 'wall clock'})")  # fmt: skip

    finished = False  # runs until signalled

    # --- inputs ---------------------------------------------------------------------------------

    def _on_depth(self, msg: Image) -> None:
        try:
            depth, stamp = self.io.decode_depth(msg)
        except InputRejected as exc:
            self.depth_rejections.reject(exc)
            return
        self.logic.accept_depth(depth, stamp)
        pending = self._pending
        if pending is not None and pending[1] == stamp:
            self._pending = None
            self._accept(*pending)

    def _on_odom(self, msg: Odometry) -> None:
        try:
            odom, stamp = self.io.decode_odometry(msg)
        except InputRejected as exc:
            self.logic.reject(exc)
            return
        d = self.logic.depth_stamp_ns
        timeout_ns = round(self.depth_timeout_s * 1e9)
        if self.use_sim_time and (d is None or stamp - timeout_ns <= d < stamp):
            self._pending = (odom, stamp)  # its depth image is on the way (two topics are not ordered)
            return
        if d is None or not 0 <= stamp - d <= timeout_ns:
            age = "none yet" if d is None else f"{(stamp - d) / 1e9:+.3f} s"
            self.logic.reject(InputRejected("stale_depth", f"depth image age relative to the odometry: {age} "
                                                           f"(depth_timeout_s {self.depth_timeout_s:g})"))
            return
        self._accept(odom, stamp)

    def _accept(self, odom: np.ndarray, stamp_ns: int) -> None:
        self.logic.accept_state(odom, stamp_ns, self.node.now_ns())
        if self.use_sim_time and self.logic.claim_tick(stamp_ns):
            self._tick(self.node.now_ns())

    def _on_goal(self, msg: PoseStamped) -> None:
        try:
            xy = self.io.decode_goal(msg)
        except InputRejected as exc:
            self.logic.refuse_goal(exc)
            return
        self.logic.on_goal(xy)

    def _on_estop(self, msg: Bool) -> None:
        self._send(self.logic.on_estop(bool(msg.data)))

    def _on_activate(self, msg: Bool) -> None:
        if msg.data:
            self.logic.activate(self.node.now_ns())
        else:
            self._send(self.logic.deactivate())

    def _on_timer(self) -> None:
        now = self.node.now_ns()
        if self.use_sim_time and not self.logic.stale(now):
            return  # ticks follow the odometry stamps; only the watchdog runs here
        self._tick(now)

    # --- outputs --------------------------------------------------------------------------------

    def _tick(self, now_ns: int) -> None:
        self.logic.last_step = None
        start = time.perf_counter()
        command = self.logic.command(now_ns)
        took = time.perf_counter() - start
        step = self.logic.last_step
        if command is not None and not command.safe and 0 < self.overrun_limit_s < took:
            self.overruns += 1
            command = self.logic.fail_safe("overrun")
        self._send(command)
        if step is not None and step.plan is not None:
            self.plan_ms.append(step.plan_ms)
            path = self.logic.navigator.path
            stamp = self.logic.state_stamp_ns or now_ns
            self._path_pub.publish(self.io.path_message(np.zeros((0, 2)) if path is None else path, stamp))
            self.paths_sent += 1

    def _send(self, command: Command | None) -> None:
        if command is not None:
            self._cmd_pub.publish(self.io.twist_message(command.action))

    def shutdown(self) -> None:
        """Send the stop command, write the report (if asked); called once by ``main``."""
        self._send(self.logic.shutdown())
        self._cmd_pub.wait_for_acknowledgements(0.5)
        if self.report_path:
            write_report(self.report_path, self.report())

    def report(self) -> dict[str, Any]:
        """Counters and planning times, JSON-ready."""
        return {
            "node": self.node.fully_qualified_name,
            "method": self.method,
            "profile": self.profile.source,
            "use_sim_time": self.use_sim_time,
            **self.logic.counters(),
            "depth_rejected": dict(self.depth_rejections.counts),
            "paths_sent": self.paths_sent,
            "overruns": self.overruns,
            "plan": percentiles_ms([ms / 1e3 for ms in self.plan_ms]),
            "compute": percentiles_ms(list(self.logic.compute_times_s)),
            "callback_errors": dict(self.node.stats.callback_errors),
        }


def _require_camera(profile: HardwareProfile) -> CameraSpec:
    if profile.kind != "diff_drive" or profile.camera is None:
        raise ParameterError(f"parameter 'profile' ({profile.source}): navdp_planner needs a diff_drive profile "
                             f"with a camera section; got kind {profile.kind!r}"
                             f"{'' if profile.camera else ' without a camera'}")
    return profile.camera


def main(argv: Sequence[str] | None = None) -> int:
    """Console script ``navdp_planner``."""
    return run_node(NavdpPlannerNode, "navdp_planner", argv)


if __name__ == "__main__":
    sys.exit(main())
