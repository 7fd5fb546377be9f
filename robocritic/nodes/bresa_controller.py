"""``bresa_controller``: Bresa (a 20 Hz task policy over a 1 kHz impedance law with a per-tick
safety filter) as a ROS 2 node on a torque-controlled arm.

    bresa_controller --ros-args -p profile:=arm3_sim -p method:=force_clamp -p use_sim_time:=true

=====================  ====================================  =====================================
topic                  type                                  role
=====================  ====================================  =====================================
``joint_states``       sensor_msgs/msg/JointState            ``q, qd`` in (profile joints)
``wrench``             geometry_msgs/msg/WrenchStamped       external force on the tool, base frame,
                                                             tool weight removed (see below)
``command``            std_msgs/msg/Float64MultiArray        joint torques out, profile joint order
``verdict``            robocritic_msgs/msg/SafetyVerdict     the filter's verdict, one per command
``estop``              std_msgs/msg/Bool                     ``true`` latches the safe command
``~/activate``         std_msgs/msg/Bool                     ``true`` activates, ``false`` deactivates
=====================  ====================================  =====================================

The arm: the press-and-wipe env the profile's arm is a model of -- the ``env_id`` parameter,
else the profile's ``sim.env_id``, else the env whose arm has exactly the profile's joint names
(:data:`~robocritic.nodes.arm_model.ARM_MODELS`: ``joint1..3`` the planar arm,
``panda_joint1..7`` the 7-DoF arm). It fixes the MJCF of the arm model, the task axes (x, z or
x, y, z), the scripted policy's geometry and defaults, the stroke reference and the torque law
(on the 7-DoF arm the impedance law plus the null-space posture and tool-axis hold, as
:func:`~robocritic.bresa.hierarchy.default_law`).

Per tick (one state, 1 kHz = the profile's ``critic_hz``): the arm model
(:class:`~robocritic.nodes.arm_model.ArmModel`, MuJoCo as a model) turns ``q, qd`` into the
:class:`~robocritic.interfaces.ArmState`; the normal force (wrench along ``normal_axis``) is
low-passed by the env's own 5 ms first-order filter (:class:`~robocritic.envs.arm.task.FirstOrderLowPass`,
reset to the raw value at activation); the task observation is assembled in the env's layout
(``[q, qd, x, J qd, filtered force, x_ref(t), t]``, float32, ``t`` = ticks since activation x dt);
then :meth:`~robocritic.bresa.hierarchy.TwoRateLoop.tick` runs the policy every
``critic_hz / control_hz`` ticks, the ramp, the safety filter and the impedance law. With the
same inputs this is the arithmetic of :func:`~robocritic.bresa.hierarchy.run_episode`, so a
lockstep graph reproduces it bit for bit.

Why the whole tick is the shell's *controller* and the shell's filter stage is not used: Bresa's
filter certifies an impedance command ``[setpoint, log stiffness]`` that changes every tick (the
ramp), and the torque law must run after the filter on the fresh state; the shell's filter stage
certifies a held action in the command's own space (torques). So the
:class:`~robocritic.nodes.shell.NodeShell` ticks at ``critic_hz`` with no filter stage, and
activation, e-stop latch, watchdog, output checks and counters are the shell's.

Fail-safe (each logged with its reason and counted in ``safe_commands``): the safe command is
gravity compensation at the last accepted joint state (zero stiffness, zero damping: the most
compliant command that does not let the arm fall); sent on e-stop, a stale state (watchdog), a
rejected input while active (``bad_input``: NaN, wrong joint names or sizes, a wrench in the
wrong frame, a stale wrench; counted by reason in ``rejected`` too), an exception of the
policy, law, filter or critic (``controller_error``; ``errors`` says which), and an overrun (a
tick that took longer than ``overrun_limit_s`` of wall time).

Timing. Under ``use_sim_time`` the tick for stamp ``t`` runs when both the JointState and the
wrench stamped ``t`` have arrived (either order; DDS does not order two topics), at most once per
tick; a state whose newest wrench is older than ``wrench_timeout_s`` is rejected as
``stale_wrench``. On the wall clock a timer at ``critic_hz`` acts on the newest state, paired at
arrival with the newest wrench (the same staleness rule).

Parameters: ``profile`` (an ``arm`` profile), ``method`` (:data:`~robocritic.bresa.methods.METHODS`),
``env_id`` (the arm, above; default the profile's ``sim.env_id``),
``critic`` (an exported critic ``.npz``, :func:`~robocritic.bresa.export.load_exported`; required
by the critic methods), ``seed`` (the policy's episode seed, :func:`~robocritic.bresa.hierarchy.policy_rng`),
``normal_axis`` (``x``/``y``/``z``; default the profile's ``contact.normal_axis``, else ``z``), ``state_timeout_s``,
``wrench_timeout_s`` (default the profile's state timeout), ``overrun_limit_s`` (0 = off; default
off under sim time, where wall time does not move the clock, else one tick), ``autostart``,
``command_subscribers``, ``report_path``, ``use_sim_time``.
"""

from __future__ import annotations

import math
import sys
import time
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from robocritic.bresa.features import FeatureLayout
from robocritic.bresa.hierarchy import HierarchyConfig, TwoRateLoop, impedance_law, policy_rng, posture_law
from robocritic.bresa.methods import METHODS, build_method, needs_critic
from robocritic.bresa.policies import TASK_GEOMETRY
from robocritic.envs.arm.press_wipe_v0 import APPROACH_TIME, STROKE_X, stroke_reference
from robocritic.envs.arm.task import FORCE_FILTER_TAU, FirstOrderLowPass
from robocritic.interfaces import SafetyFilter
from robocritic.nodes.arm_model import ARM_MODELS, ArmModel, env_for_joints
from robocritic.nodes.controller_logic import ControllerLogic
from robocritic.nodes.controller_node import SAFE_STOP_ACK_TIMEOUT_S
from robocritic.nodes.io.arm import AXES, ArmIO, WrenchReading
from robocritic.nodes.profile_params import (
    ESTOP_QOS,
    declare_profile,
    require_joints,
    require_topic,
    topic_qos,
)
from robocritic.nodes.rejections import InputRejected
from robocritic.nodes.report import percentiles_ms, write_report
from robocritic.nodes.runtime import run_node
from robocritic.nodes.shell import Command
from robocritic.nodes.validators import at_least, non_negative, one_of, positive
from robocritic.profiles import HardwareProfile
from robocritic.ros.msgs import Bool, Float64MultiArray, JointState, SafetyVerdict, WrenchStamped
from robocritic.ros.msgs.convert import time_to_ns
from robocritic.ros.qos import COMMANDS
from robocritic.ros.transport.base import Lifecycle, Node, ParameterError

TRACE_TICKS = 100_000
"""Ticks kept in :attr:`BresaTick.trace` (the most recent)."""


class FilterFailure(RuntimeError):
    """The safety filter (or the critic inside it) raised; the tick fails safe."""


class _GuardedFilter:
    """Marks an exception of the filter as a :class:`FilterFailure` (so the log names it)."""

    def __init__(self, inner: SafetyFilter) -> None:
        self.inner = inner

    def reset(self) -> None:
        if hasattr(self.inner, "reset"):
            self.inner.reset()

    def certify(self, obs: np.ndarray, action: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
        try:
            return self.inner.certify(obs, action)
        except Exception as exc:
            raise FilterFailure(f"{type(self.inner).__name__} raised {type(exc).__name__}: {exc}") from exc


@dataclass(frozen=True)
class TickRecord:
    """One tick as the node computed it: ``features (n_s,)``, ``nominal``/``applied (2 m,)``,
    ``force_filtered``/``force_raw`` [N], ``intervened``, ``risk`` (NaN: none), ``torque (n,)`` [N m]."""

    features: np.ndarray
    nominal: np.ndarray
    applied: np.ndarray
    force_filtered: float
    force_raw: float
    intervened: bool
    risk: float
    torque: np.ndarray


class BresaTick:
    """The shell's controller: one :meth:`TwoRateLoop.tick` per state (module docstring).

    ``act(x)`` takes ``x = [q (n,), qd (n,), force (3,)]`` (model order, base-frame external
    force [N]) and returns joint torques ``(n,)`` [N m]; ``reset()`` starts an episode at the next
    state (the loop, the force filter and the policy's generator from ``seed``).

    Args:
        loop: the two-rate loop. model: the arm model. seed: the policy's episode seed.
        normal_axis: index of the surface normal in the force. force_filter_tau: [s].
        stroke_x: the env's stroke start and end along x [m] (the observation's ``x_ref(t)``).
        approach_time: when the env's stroke starts [s].

    Attributes:
        errors: failed ticks by source (``filter``, ``loop``). trace: recent :class:`TickRecord`.
        last: the latest tick's record (``None`` before the first).
    """

    def __init__(self, loop: TwoRateLoop, model: ArmModel, *, seed: int, normal_axis: int = 2,
                 force_filter_tau: float = FORCE_FILTER_TAU,
                 stroke_x: tuple[float, float] = STROKE_X,
                 approach_time: float = APPROACH_TIME) -> None:  # fmt: skip
        self.loop, self.model, self.seed, self.normal_axis = loop, model, int(seed), int(normal_axis)
        self.stroke_x = (float(stroke_x[0]), float(stroke_x[1]))
        self.approach_time = float(approach_time)
        self.dt = loop.tracker.dt
        self.force_filter = FirstOrderLowPass(force_filter_tau, self.dt)
        self._rows = list(model.task_axes)
        self.errors: Counter[str] = Counter()
        self.trace: deque[TickRecord] = deque(maxlen=TRACE_TICKS)
        self.last: TickRecord | None = None
        self._fresh = True

    def reset(self) -> None:
        self._fresh = True

    def act(self, x: np.ndarray) -> np.ndarray:
        n = self.model.n
        q, qd, force = x[:n], x[n:2 * n], x[2 * n:2 * n + 3]
        state = self.model.state(q, qd, force[self._rows])
        raw = float(force[self.normal_axis])
        if self._fresh:  # as the env: the filter starts from the raw value at reset
            filtered = self.force_filter.reset(raw)
            self.loop.reset(state, policy_rng(self.seed))
            self._fresh = False
        else:
            filtered = self.force_filter.update(raw)
        t = self.loop.ticks * self.dt
        x_ref = stroke_reference(t, self.stroke_x, self.approach_time)
        obs = np.concatenate([state.q, state.qd, state.x, state.jacobian @ state.qd,
                              [filtered, x_ref, t]]).astype(np.float32)  # the env's layout and dtype
        info = {"arm_state": state, "force_raw": raw, "force_filtered": filtered, "time": t, "x_ref": x_ref}
        try:
            tau = self.loop.tick(state, filtered, raw, obs, info)
        except FilterFailure:
            self.errors["filter"] += 1
            raise
        except Exception:
            self.errors["loop"] += 1
            raise
        loop = self.loop
        filtering = loop.safety_filter is not None
        self.last = TickRecord(
            features=loop.features, nominal=loop.nominal, applied=loop.applied.copy(),
            force_filtered=filtered,
            force_raw=raw, intervened=bool(loop.intervened) if filtering else False,
            risk=float(loop.risk) if filtering else math.nan, torque=tau,
        )  # fmt: skip
        self.trace.append(self.last)
        return tau


@dataclass(frozen=True)
class BuiltBresa:
    """What :func:`build_bresa` returns: the per-tick controller, a log line, report facts."""

    tick: BresaTick
    model: ArmModel
    description: str
    info: dict[str, Any]


def resolve_env(profile: HardwareProfile, env_id: str = "") -> str:
    """The env id of the profile's arm (module docstring); ``ValueError`` naming ``env_id`` when
    none fits."""
    if not env_id:
        env_id = profile.sim_env or env_for_joints(tuple(j.name for j in profile.joints)) or ""
    if not env_id:
        raise ValueError(f"env_id: profile {profile.source} has no sim.env_id and its joints match no known "
                         f"arm; give env_id (one of {sorted(ARM_MODELS)})")
    if env_id not in ARM_MODELS or env_id not in TASK_GEOMETRY:
        raise ValueError(f"env_id: no arm model for {env_id!r}; known: {sorted(ARM_MODELS)}")
    return env_id


def build_bresa(
    profile: HardwareProfile,
    method: str,
    *,
    critic_path: str = "",
    seed: int = 0,
    normal_axis: str = "z",
    config: HierarchyConfig | None = None,
    env_id: str = "",
) -> BuiltBresa:
    """The Bresa tick for ``profile`` (an arm with ``control_hz`` and ``critic_hz``), method ``method``.

    ``config`` defaults to :class:`HierarchyConfig` with ``decision_ticks = critic_hz / control_hz``.
    ``env_id`` names the arm (module docstring; ``""``: the profile's ``sim.env_id``, else the env
    whose arm has the profile's joint names).
    Raises ``ValueError`` naming the bad argument (method, critic file, rates, normal axis, env).
    """
    if method not in METHODS:
        raise ValueError(f"method: unknown {method!r}; known: {', '.join(METHODS)}")
    if normal_axis not in AXES:
        raise ValueError(f"normal_axis: must be one of {list(AXES)}; got {normal_axis!r}")
    critic_hz = profile.critic_rate_hz
    if critic_hz is None:
        raise ValueError(f"profile {profile.source}: rates.critic_hz is required (the impedance/filter rate)")
    ratio = critic_hz / profile.control_rate_hz
    if abs(ratio - round(ratio)) > 1e-9 or round(ratio) < 1:
        raise ValueError(
            f"profile {profile.source}: rates.critic_hz / control_hz must be an integer; got {ratio:g}"
        )
    env_id = resolve_env(profile, env_id)
    spec = ARM_MODELS[env_id]
    names = tuple(j.name for j in profile.joints)
    if names != spec.joints:
        raise ValueError(f"profile {profile.source}: joints {list(names)} are not the joints of {env_id}'s arm "
                         f"{list(spec.joints)} (in model order)")
    model = ArmModel.for_env(env_id)
    dt = 1.0 / critic_hz
    if abs(dt - model.dt) > 1e-12 or model.n != len(profile.joints):
        raise ValueError(f"profile {profile.source}: {len(profile.joints)} joints at {critic_hz:g} Hz do not "
                         f"fit the arm model ({model.n} joints, time step {model.dt:g} s)")  # fmt: skip
    cfg = config or HierarchyConfig(decision_ticks=round(ratio))
    layout = FeatureLayout(m=model.m, axes=("x", "z") if model.m == 2 else tuple("xyz"[: model.m]))
    critic, info = None, {"method": method, "seed": int(seed), "decision_ticks": cfg.decision_ticks,
                          "env_id": env_id}
    if critic_path:
        from robocritic.bresa.export import load_exported  # deferred: its module imports torch

        critic, names = load_exported(critic_path)
        expected = layout.state_names() + layout.action_names()
        if tuple(names) != expected:
            raise ValueError(
                f"critic: {critic_path} scores features {list(names)}; this arm gives {list(expected)}"
            )
        info["critic"] = str(critic_path)
    elif needs_critic(method):
        raise ValueError(f"critic: method {method!r} needs an exported critic file (critic:=PATH)")
    policy, safety_filter = build_method(method, critic, layout, cfg, env_id=env_id)
    # The env's default law (default_law()): its torque limits are the profile's effort limits here.
    law = impedance_law(model.n, model.m, cfg, np.array([j.effort_limit for j in profile.joints]))
    if spec.posture:
        law = posture_law(law)
    guarded = None if safety_filter is None else _GuardedFilter(safety_filter)
    loop = TwoRateLoop(policy, law, cfg, dt, guarded)
    tick = BresaTick(loop, model, seed=seed, normal_axis=AXES.index(normal_axis),
                     stroke_x=TASK_GEOMETRY[env_id]["stroke_x"],
                     approach_time=TASK_GEOMETRY[env_id].get("approach_time", APPROACH_TIME))
    what = "no filter" if safety_filter is None else type(safety_filter).__name__
    return BuiltBresa(tick, model, f"Bresa {method} ({type(policy).__name__}, {what})", info)


class BresaLogic(ControllerLogic):
    """:class:`ControllerLogic` whose safe command is gravity compensation at the last accepted
    state, with :meth:`fail_safe` for a tick that must not use the computed command."""

    def __init__(self, model: ArmModel, **kwargs: Any) -> None:
        self.model = model
        super().__init__(**kwargs)

    def _safe(self, reason: str, stamp_ns: int | None) -> Command:
        x = self.state
        if x is not None:  # before any state the constructor's safe command (zeros) stays
            n = self.model.n
            self.safe_command = np.clip(self.model.gravity(x[:n]), -self.effort_limits, self.effort_limits)
        return super()._safe(reason, stamp_ns)

    def fail_safe(self, reason: str) -> Command | None:
        """The safe command for ``reason`` now (``None`` while inactive: nothing is sent)."""
        if not self.active:
            return None
        self.logger.warning(f"fail-safe ({reason}): sending gravity compensation", throttle_s=1.0,
                            key=("fail_safe", reason))  # fmt: skip
        return self._safe(reason, self.state_stamp_ns)


class BresaControllerNode:
    """The ``bresa_controller`` node (module docstring) over any transport's ``node``.

    Attributes:
        logic: the :class:`BresaLogic` (shell counters, activation, e-stop, watchdog).
        bresa: the :class:`BuiltBresa` (its ``tick`` holds the loop, the trace and error counts).
        io: the :class:`~robocritic.nodes.io.arm.ArmIO`.
        lifecycle: the managed-node state. finished: set by the lifecycle ``shutdown``.
        overruns: ticks replaced by the safe command for taking too long.
        verdicts_sent: SafetyVerdicts published.
    """

    def __init__(self, node: Node) -> None:
        self.node = node
        fqn = node.fully_qualified_name
        self.profile = profile = declare_profile(node, "arm3_sim")
        if profile.kind != "arm":
            raise ParameterError(f"parameter 'profile' ({profile.source}): bresa_controller needs an arm "
                                 "profile; "
                                 f"got kind {profile.kind!r}")  # fmt: skip
        joint_map = require_joints(profile)
        state_spec = require_topic(profile, "joint_states", "sensor_msgs/msg/JointState")
        wrench_spec = require_topic(profile, "wrench", "geometry_msgs/msg/WrenchStamped")
        command_spec = require_topic(profile, "command", "std_msgs/msg/Float64MultiArray")
        verdict_spec = profile.topics.get("verdict")
        method = node.declare_parameter(
            "method", "force_clamp", one_of(*METHODS), "Bresa method (safety layer)"
        )
        critic = node.declare_parameter("critic", "", description="exported critic .npz (critic methods)")
        seed = node.declare_parameter("seed", 0, description="the policy's episode seed")
        default_axis = profile.contact.normal_axis if profile.contact is not None else "z"
        normal_axis = node.declare_parameter("normal_axis", default_axis, one_of(*AXES),
                                             "surface normal, base frame (default: the profile's contact.normal_axis)")
        env_id = node.declare_parameter("env_id", profile.sim_env or "",
                                        description="the arm's press-and-wipe env ('': from the joints)")
        state_timeout_s = node.declare_parameter("state_timeout_s", profile.state_timeout_s, positive,
                                                 "watchdog: no state for this long [s] -> safe command")
        wrench_timeout_s = node.declare_parameter("wrench_timeout_s", profile.state_timeout_s, positive,
                                                  "largest wrench age relative to the joint state [s]")
        autostart = node.declare_parameter("autostart", True, description="start active (simulation)")
        self.command_subscribers = node.declare_parameter("command_subscribers", 1, at_least(1),
                                                          "command subscriptions to wait for before a tick")
        self.report_path = node.declare_parameter("report_path", "", description="JSON report at shutdown")
        self.use_sim_time = bool(node.get_parameter("use_sim_time"))
        tick_default = 0.0 if self.use_sim_time else 1.0 / (profile.critic_rate_hz or profile.control_rate_hz)
        self.overrun_limit_s = node.declare_parameter("overrun_limit_s", tick_default, non_negative,
                                                      "wall time a tick may take [s]; 0 off")
        try:
            self.bresa = build_bresa(profile, method, critic_path=critic, seed=seed, normal_axis=normal_axis,
                                     env_id=env_id)
        except ValueError as exc:
            raise ParameterError(f"{fqn}: {exc}") from None
        self.io = ArmIO(joint_map, base_frame=profile.frames.get("base", ""), normal_axis=normal_axis,
                        max_contact_force=profile.limits.get("max_contact_force"))  # fmt: skip
        limits = np.array([j.effort_limit for j in profile.joints])
        period_ns = round(1e9 / profile.critic_rate_hz)
        self.logic = BresaLogic(
            self.bresa.model, controller=self.bresa.tick, joint_map=joint_map, effort_limits=limits,
            safe_command=np.zeros(len(limits)), state_timeout_ns=round(state_timeout_s * 1e9),
            control_period_ns=period_ns, active=False, logger=node.get_logger(),
        )  # fmt: skip
        self.wrench_timeout_ns = round(wrench_timeout_s * 1e9)
        self.wrench: WrenchReading | None = None
        self._pending: tuple[np.ndarray, int] | None = None  # sim time: a state waiting for its wrench
        self.overruns = 0
        self.unheard = 0
        self.verdicts_sent = 0
        self.finished = False
        self._command_pub = node.create_publisher(
            Float64MultiArray, command_spec.name, topic_qos(command_spec)
        )
        self._verdict_pub = node.create_publisher(
            SafetyVerdict, verdict_spec.name if verdict_spec else "~/verdict",
            topic_qos(verdict_spec) if verdict_spec else COMMANDS,
        )  # fmt: skip
        node.create_subscription(JointState, state_spec.name, self._on_state, topic_qos(state_spec))
        node.create_subscription(WrenchStamped, wrench_spec.name, self._on_wrench, topic_qos(wrench_spec))
        node.create_subscription(Bool, profile.estop.name, self._on_estop, ESTOP_QOS)
        node.create_subscription(Bool, "~/activate", self._on_activate, ESTOP_QOS)
        self._timer = node.create_timer(period_ns / 1e9, self._on_timer)
        node.get_logger().info(
            f"{self.bresa.description} at {profile.critic_rate_hz:g} Hz "
            f"(policy {profile.control_rate_hz:g} Hz) on "
            f"{profile.robot} ({'sim time' if self.use_sim_time else 'wall clock'}); "
            f"{'active' if autostart else 'inactive until activated'}"
        )
        self.lifecycle: Lifecycle = node.manage_lifecycle(self._start, self._stop, self._finalize)
        if autostart:
            self.activate()

    # --- lifecycle ------------------------------------------------------------------------------

    def activate(self) -> bool:
        """Configure if needed and activate (a new episode at the next state); re-arms after an e-stop."""
        if self.lifecycle.state == "active":
            return self._start()
        return self.lifecycle.activate()

    def deactivate(self) -> None:
        """One safe stop, then nothing (lifecycle ``deactivate``)."""
        self.lifecycle.deactivate()

    def _start(self) -> bool:
        now = self.node.now_ns()
        return self.logic.activate(None if self.use_sim_time and now == 0 else now)

    def _stop(self) -> None:
        self._send(self.logic.deactivate())

    def _finalize(self) -> None:
        self._send(self.logic.shutdown())
        self.finished = True

    def shutdown(self) -> None:
        """Safe stop (if active), wait for its acknowledgement, write the report; called once by ``main``."""
        self._send(self.logic.shutdown())
        if not self._command_pub.wait_for_acknowledgements(SAFE_STOP_ACK_TIMEOUT_S):
            self.node.get_logger().warning(
                f"the safe stop on {self._command_pub.topic} was not acknowledged within "
                f"{SAFE_STOP_ACK_TIMEOUT_S} s"
            )
        if self.report_path:
            write_report(self.report_path, self.report())

    # --- inputs ---------------------------------------------------------------------------------

    def _reject(self, exc: InputRejected) -> None:
        self.logic.reject(exc)
        self._send(self.logic.fail_safe("bad_input"))

    def _on_wrench(self, msg: WrenchStamped) -> None:
        try:
            self.wrench = self.io.decode_wrench(msg)
        except InputRejected as exc:
            self._reject(exc)
            return
        pending = self._pending
        if pending is not None and pending[1] == self.wrench.stamp_ns:
            self._pending = None
            self._accept(pending[0], pending[1])

    def _on_state(self, msg: JointState) -> None:
        stamp = time_to_ns(msg.header.stamp)
        try:
            x = self.io.decode_state(msg.name, msg.position, msg.velocity)
        except InputRejected as exc:
            self._reject(exc)
            return
        except (TypeError, ValueError) as exc:
            self._reject(InputRejected("malformed", str(exc)))
            return
        w = self.wrench
        if self.use_sim_time and (w is None or stamp - self.wrench_timeout_ns <= w.stamp_ns < stamp):
            self._pending = (x, stamp)  # its wrench is on the way (two topics are not ordered)
            return
        try:
            self.io.check_fresh(w, stamp, self.wrench_timeout_ns)
        except InputRejected as exc:
            self._pending = None
            self._reject(exc)
            return
        self._accept(x, stamp)

    def _accept(self, x: np.ndarray, stamp_ns: int) -> None:
        self.logic.accept_state(np.concatenate([x, self.wrench.force]), stamp_ns, self.node.now_ns())
        if self.use_sim_time:
            self._control_step(stamp_ns)

    def _control_step(self, stamp_ns: int) -> None:
        if self._command_pub.get_subscription_count() < self.command_subscribers:
            self.unheard += 1  # nobody would hear it: the re-sent state triggers the tick again
            return
        if self.logic.claim_tick(stamp_ns):
            self._tick(self.node.now_ns(), stamp_ns)

    def _on_timer(self) -> None:
        now = self.node.now_ns()
        if self.use_sim_time and not self.logic.stale(now):
            return  # ticks follow the state stamps; only the watchdog runs here
        self._tick(now, None)

    def _tick(self, now_ns: int, stamp_ns: int | None) -> None:
        start = time.perf_counter()
        command = self.logic.tick(now_ns, stamp_ns)
        took = time.perf_counter() - start
        if command is not None and not command.safe and 0 < self.overrun_limit_s < took:
            self.overruns += 1
            command = self.logic.fail_safe("overrun")
        self._send(command)

    def _on_estop(self, msg: Bool) -> None:
        self._send(self.logic.on_estop(bool(msg.data)))

    def _on_activate(self, msg: Bool) -> None:
        if msg.data:
            self.activate()
        else:
            self.deactivate()

    # --- outputs --------------------------------------------------------------------------------

    def _send(self, command: Command | None) -> None:
        if command is None:
            return
        self._command_pub.publish(self.io.command_message(command.effort))
        stamp = command.state_stamp_ns if command.state_stamp_ns is not None else self.node.now_ns()
        last = self.bresa.tick.last
        nominal = [] if last is None else last.nominal
        if command.safe:
            verdict = self.io.verdict_message(stamp, modified=True, value=math.nan, nominal=nominal,
                                              certified=[], reason=command.reason)  # fmt: skip
        else:
            loop = self.bresa.tick.loop
            reason = type(loop.safety_filter.inner).__name__ if last.intervened else ""
            verdict = self.io.verdict_message(stamp, modified=last.intervened, value=1.0 - last.risk,
                                              nominal=last.nominal, certified=last.applied, reason=reason)
        self._verdict_pub.publish(verdict)
        self.verdicts_sent += 1

    def report(self) -> dict[str, Any]:
        """Counters, compute-time percentiles and the loop's errors, JSON-ready."""
        return {
            "node": self.node.fully_qualified_name,
            "controller": self.bresa.description,
            "info": self.bresa.info,
            "profile": self.profile.source,
            "use_sim_time": self.use_sim_time,
            **self.logic.counters(),
            "errors": dict(self.bresa.tick.errors),
            "overruns": self.overruns,
            "unheard": self.unheard,
            "verdicts_sent": self.verdicts_sent,
            "compute": percentiles_ms(list(self.logic.compute_times_s)),
            "callback_errors": dict(self.node.stats.callback_errors),
            "receive_errors": dict(self.node.stats.receive_errors),
        }


def main(argv: Sequence[str] | None = None) -> int:
    """Console script ``bresa_controller``."""
    return run_node(BresaControllerNode, "bresa_controller", argv, lifecycle=True)


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["BresaControllerNode", "BresaLogic", "BresaTick", "BuiltBresa", "FilterFailure", "TickRecord",
           "build_bresa", "main", "resolve_env"]
