"""What the node classes share: hardware-profile parameters, QoS per profile topic, input checks.

The checks here are plain functions and classes (no middleware), used by the logic classes that
the nodes wrap, so every rule about what a node accepts is unit-tested without a transport.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from robocritic.profiles import HardwareProfile, JointMap, ProfileError, TopicSpec, load_profile
from robocritic.ros.qos import CLOCK, COMMANDS, SENSOR_DATA, QoSProfile, Reliability
from robocritic.ros.transport.base import Node, NodeLogger, ParameterError

REJECT_LOG_PERIOD_S = 1.0
"""At most one log line per rejection reason per this many seconds; the counters count them all."""

PLAUSIBLE_FACTOR = 2.0
"""How far beyond a joint's profile limits a value may lie before it is treated as impossible.

A reading or command beyond it is a sensor, scaling or unit fault, not a state of the robot, and
is rejected as ``out_of_range`` (see :class:`PlausibleRange`): acting on it would command full
effort toward a place the joint cannot be.
"""

ESTOP_QOS = QoSProfile(depth=10, reliability=Reliability.RELIABLE)
"""E-stop and activation: reliable, and a few deep so a toggle is never collapsed into one sample."""

_PROFILE_QOS: dict[str, QoSProfile] = {"sensor_data": SENSOR_DATA, "reliable": COMMANDS, "clock": CLOCK}


class InputRejected(ValueError):
    """An incoming message a node must drop; ``reason`` is the counter key, the text says why."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


class RejectionCounter:
    """Counts dropped inputs by reason and logs each reason at most once per ``period_s``.

    Attributes:
        counts: rejections so far, by reason (``non_finite``, ``wrong_size``, ...).
    """

    def __init__(self, logger: NodeLogger, what: str, period_s: float = REJECT_LOG_PERIOD_S) -> None:
        self.counts: Counter[str] = Counter()
        self._logger = logger
        self._what = what
        self._period_s = period_s

    def reject(self, exc: InputRejected) -> None:
        """Count ``exc`` and log it (rate-limited per reason)."""
        self.counts[exc.reason] += 1
        self._logger.warning(
            f"dropped {self._what}: {exc} ({exc.reason}: {self.counts[exc.reason]} so far)",
            throttle_s=self._period_s,
            key=("rejected", self._what, exc.reason),
        )

    @property
    def total(self) -> int:
        """All rejections so far."""
        return sum(self.counts.values())


@dataclass(frozen=True)
class PlausibleRange:
    """Model-order values a profile's joints can physically take; beyond them is a fault.

    The rule, with ``f`` = ``factor`` (>= 1): a position outside the joint's limit range
    ``[low, high]`` scaled by ``f`` about its centre (for symmetric limits ``|q| > f * high``;
    a joint without position limits is not checked), a velocity with ``|dq| > f * velocity_limit``
    or an effort with ``|u| > f * effort_limit`` raises :class:`InputRejected` with reason
    ``out_of_range``. Values between the limit and ``f`` times it are plausible (a joint past a
    soft limit, an effort that the actuator saturates) and pass.

    Attributes:
        names: joint names in model order.
        factor: ``f``.
        position_low, position_high: ``(n,)`` plausible positions [rad or m].
        velocity_max, effort_max: ``(n,)`` plausible magnitudes [rad/s or m/s, N m or N].
    """

    names: tuple[str, ...]
    factor: float
    position_low: np.ndarray
    position_high: np.ndarray
    velocity_max: np.ndarray
    effort_max: np.ndarray

    @classmethod
    def of(cls, joint_map: JointMap, factor: float = PLAUSIBLE_FACTOR) -> PlausibleRange:
        """The plausible range of ``joint_map``'s joints for ``factor`` (``ValueError`` if < 1)."""
        if not (math.isfinite(factor) and factor >= 1.0):
            raise ValueError(f"plausible factor must be a finite number >= 1; got {factor!r}")
        limits = joint_map.position_limits
        bounded = np.all(np.isfinite(limits), axis=1)
        finite = np.where(bounded[:, None], limits, 0.0)  # centre of [-inf, inf] would be NaN
        centre, half = finite.mean(axis=1), factor * (finite[:, 1] - finite[:, 0]) / 2
        return cls(
            names=joint_map.names,
            factor=float(factor),
            position_low=np.where(bounded, centre - half, -np.inf),
            position_high=np.where(bounded, centre + half, np.inf),
            velocity_max=factor * joint_map.velocity_limit,
            effort_max=factor * joint_map.effort_limit,
        )

    def check_state(self, q: np.ndarray, dq: np.ndarray) -> None:
        """Raise ``out_of_range`` for an impossible JointState (model order and units)."""
        self._check("JointState position", q, self.position_low, self.position_high)
        self._check("JointState velocity", dq, -self.velocity_max, self.velocity_max)

    def check_effort(self, u: np.ndarray) -> None:
        """Raise ``out_of_range`` for an impossible effort command (model order and units)."""
        self._check("command effort", u, -self.effort_max, self.effort_max)

    def _check(self, field: str, values: np.ndarray, low: np.ndarray, high: np.ndarray) -> None:
        bad = np.flatnonzero((values < low) | (values > high))
        if bad.size:
            i = int(bad[0])
            raise InputRejected(
                "out_of_range",
                f"{field} of joint {self.names[i]!r} is {values[i]:g}, beyond {self.factor:g}x the profile's "
                f"limit (plausible [{low[i]:g}, {high[i]:g}], model units): a sensor or scaling fault",
            )


def topic_qos(spec: TopicSpec) -> QoSProfile:
    """QoS of a hardware-profile topic (``sensor_data``, ``reliable`` or ``clock``)."""
    return _PROFILE_QOS[spec.qos]


def declare_profile(node: Node, default: str = "pendulum_sim") -> HardwareProfile:
    """Declare the ``profile`` parameter and return the validated hardware profile it names.

    Raises:
        ParameterError: naming ``profile`` and, from the profile loader, the file and field.
    """
    loaded: dict[str, HardwareProfile] = {}

    def check(value: str) -> str | None:
        try:
            loaded["profile"] = load_profile(value)
        except (ProfileError, OSError) as exc:
            return str(exc)
        return None

    node.declare_parameter(
        "profile", default, check, "hardware profile: a name under hardware/ or a YAML file path"
    )
    return loaded["profile"]


def require_topic(profile: HardwareProfile, key: str, ros_type: str) -> TopicSpec:
    """The profile's topic ``key``, checked to carry ``ros_type`` (``ParameterError`` on ``profile``)."""
    spec = profile.topics.get(key)
    if spec is None:
        raise ParameterError(f"parameter 'profile' ({profile.source}): topics.{key} is required by this node")
    if spec.type != ros_type:
        raise ParameterError(
            f"parameter 'profile' ({profile.source}): topics.{key}.type must be {ros_type} for this node; "
            f"got {spec.type}"
        )
    return spec


def require_joints(profile: HardwareProfile) -> JointMap:
    """The profile's joint map; ``ParameterError`` naming ``profile`` for a robot without joints."""
    if not profile.joints:
        raise ParameterError(
            f"parameter 'profile' ({profile.source}): a {profile.kind} profile lists no joints; this node "
            "works in joint space"
        )
    return profile.joint_map


def check_joint_space_law(
    where: str, n_x: int, n_u: int, dt: float, profile: HardwareProfile, rate_hz: float
) -> None:
    """A control law loaded from a file fits the profile: ``[q, dq]`` of its joints in, one input
    per joint out, sample time ``dt`` [s] equal to ``1/rate_hz``; else ``ParameterError`` starting
    with ``where`` (the parameter that named the file)."""
    n = len(profile.joints)
    if n_x != 2 * n or n_u != n:
        raise ParameterError(
            f"{where}: the law maps {n_x} states to {n_u} inputs; profile {profile.robot} needs "
            f"{2 * n} states ([q, dq]) and {n} inputs"
        )
    if abs(dt * rate_hz - 1.0) > 1e-9:
        raise ParameterError(
            f"{where}: the law's sample time {dt:g} s differs from the control period "
            f"1/rate_hz = {1.0 / rate_hz:g} s"
        )


def decode_joint_state(
    joint_map: JointMap,
    names: Sequence[str],
    position: Sequence[float],
    velocity: Sequence[float],
    *,
    ignore_unknown_joints: bool = False,
    plausible: PlausibleRange | None = None,
) -> np.ndarray:
    """Model-order state ``[q (n,), dq (n,)]`` [rad, rad/s] from the fields of a JointState.

    The JointMap applies joint order, sign and offset. Raises :class:`InputRejected` with reason
    ``malformed`` (lengths disagree, repeated names), ``unknown_joint`` (a name the profile does
    not list, unless ``ignore_unknown_joints``), ``missing_joint``, ``no_velocity``,
    ``non_finite`` (NaN/inf in a joint the node uses) or ``out_of_range`` (outside
    ``plausible``; not checked when ``None``).
    """
    names = [str(n) for n in names]
    n = len(names)
    if len(position) != n or len(velocity) not in (0, n):
        raise InputRejected(
            "malformed",
            f"JointState has {n} names, {len(position)} positions and {len(velocity)} velocities",
        )
    if len(set(names)) != n:
        raise InputRejected("malformed", f"JointState repeats a joint name: {names}")
    known = set(joint_map.names)
    unknown = [name for name in names if name not in known]
    if unknown and not ignore_unknown_joints:
        raise InputRejected(
            "unknown_joint", f"JointState has joints {unknown} that the profile does not list"
        )
    missing = [name for name in joint_map.names if name not in names]
    if missing:
        raise InputRejected("missing_joint", f"JointState lacks joints {missing}; it has {names}")
    if not len(velocity):
        raise InputRejected("no_velocity", "JointState carries no velocities; the controller needs them")
    q, dq = joint_map.to_model(
        names, np.asarray(position, dtype=np.float64), np.asarray(velocity, dtype=np.float64)
    )
    x = np.concatenate([q, dq])
    if not np.all(np.isfinite(x)):
        raise InputRejected("non_finite", f"JointState holds NaN or inf: q={q.tolist()}, dq={dq.tolist()}")
    if plausible is not None:
        plausible.check_state(q, dq)
    return x


def decode_effort(
    values: Sequence[float], joint_map: JointMap, plausible: PlausibleRange | None = None
) -> np.ndarray:
    """Model-order effort ``(n,)`` [N m or N] from a command in robot joint order.

    Raises :class:`InputRejected`: ``wrong_size`` (not one value per profile joint),
    ``non_finite`` or ``out_of_range`` (outside ``plausible``; not checked when ``None``).
    """
    u = np.asarray(values, dtype=np.float64).ravel()
    n = len(joint_map.names)
    if u.size != n:
        raise InputRejected(
            "wrong_size", f"command has {u.size} values; the profile has {n} joints {list(joint_map.names)}"
        )
    if not np.all(np.isfinite(u)):
        raise InputRejected("non_finite", f"command holds NaN or inf: {u.tolist()}")
    # sign is +-1, so the robot -> model map is the model -> robot map applied again.
    u = joint_map.effort_to_robot(u)
    if plausible is not None:
        plausible.check_effort(u)
    return u


# --- parameter validators (return None if valid, else the reason) ---------------------------------


def positive(value: float) -> str | None:
    """Validator: a finite number > 0."""
    return None if math.isfinite(value) and value > 0 else "must be a finite number > 0"


def non_negative(value: float) -> str | None:
    """Validator: a finite number >= 0."""
    return None if math.isfinite(value) and value >= 0 else "must be a finite number >= 0"


def one_of(*choices: str) -> Callable[[str], str | None]:
    """Validator: one of ``choices``."""

    def check(value: str) -> str | None:
        return None if value in choices else f"must be one of {list(choices)}"

    return check


def at_least(low: int) -> Callable[[int], str | None]:
    """Validator: an integer >= ``low``."""

    def check(value: int) -> str | None:
        return None if value >= low else f"must be >= {low}"

    return check


def write_json_atomic(path: str | os.PathLike[str], data: dict[str, Any]) -> Path:
    """Write ``data`` as JSON through a temporary file, so a reader never sees half a report."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, allow_nan=True))
    tmp.replace(path)
    return path


def percentiles_ms(samples_s: Sequence[float]) -> dict[str, float | None]:
    """p50/p99/max of durations [s] in milliseconds (``None`` without samples)."""
    if not len(samples_s):
        return {"p50_ms": None, "p99_ms": None, "max_ms": None}
    a = np.asarray(samples_s, dtype=np.float64) * 1e3
    return {
        "p50_ms": float(np.percentile(a, 50)),
        "p99_ms": float(np.percentile(a, 99)),
        "max_ms": float(a.max()),
    }


__all__ = [
    "ESTOP_QOS",
    "PLAUSIBLE_FACTOR",
    "REJECT_LOG_PERIOD_S",
    "InputRejected",
    "PlausibleRange",
    "RejectionCounter",
    "at_least",
    "declare_profile",
    "decode_effort",
    "decode_joint_state",
    "non_negative",
    "one_of",
    "percentiles_ms",
    "positive",
    "require_joints",
    "require_topic",
    "topic_qos",
    "write_json_atomic",
]
