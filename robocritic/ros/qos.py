"""Transport-neutral QoS profiles and their mapping to cyclonedds and rclpy.

Profiles (docs/ros2.md#qos):

=================  ==========  ===========  ================  ==================================
profile            history     reliability  durability        for
=================  ==========  ===========  ================  ==================================
``SENSOR_DATA``    KEEP_LAST 5 BEST_EFFORT  VOLATILE          sensors, high-rate state
``COMMANDS``       KEEP_LAST 1 RELIABLE     VOLATILE          commands, safety verdicts, goals
``CLOCK``          KEEP_LAST 1 BEST_EFFORT  VOLATILE          ``/clock``
``DEFAULT``        KEEP_LAST 10 RELIABLE    VOLATILE          ROS 2's default for everything else
``LATCHED``        KEEP_LAST 1 RELIABLE     TRANSIENT_LOCAL   static data late joiners need
=================  ==========  ===========  ================  ==================================

Commands keep depth 1 on purpose: a controller's newest command supersedes older ones, and a
queue of stale commands is exactly what a robot must not execute late.

Matching follows DDS: a BEST_EFFORT subscription receives from a RELIABLE publisher, not the
other way round; a TRANSIENT_LOCAL subscription needs a TRANSIENT_LOCAL publisher.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

# Cyclone's default for a reliable writer whose history is full; rmw_cyclonedds keeps it too.
_MAX_BLOCKING_TIME_S = 0.1


class Reliability(str, Enum):
    """Whether lost samples are retransmitted."""

    RELIABLE = "reliable"
    BEST_EFFORT = "best_effort"


class Durability(str, Enum):
    """Whether a publisher keeps samples for subscriptions that join later."""

    VOLATILE = "volatile"
    TRANSIENT_LOCAL = "transient_local"


class History(str, Enum):
    """How many samples a queue keeps: the last ``depth`` or all of them."""

    KEEP_LAST = "keep_last"
    KEEP_ALL = "keep_all"


@dataclass(frozen=True)
class QoSProfile:
    """Quality of service of one publisher or subscription.

    Attributes:
        depth: queue length in samples for ``KEEP_LAST`` (>= 1); ignored for ``KEEP_ALL``.
        reliability: ``RELIABLE`` retransmits, ``BEST_EFFORT`` drops.
        durability: ``TRANSIENT_LOCAL`` replays the last ``depth`` samples to late joiners.
        history: ``KEEP_LAST`` (bounded queue, oldest dropped) or ``KEEP_ALL``.
    """

    depth: int = 10
    reliability: Reliability = Reliability.RELIABLE
    durability: Durability = Durability.VOLATILE
    history: History = History.KEEP_LAST

    def __post_init__(self) -> None:
        # Accept the strings a YAML hardware profile would carry ("best_effort"), fail on typos.
        for name, enum in (("reliability", Reliability), ("durability", Durability), ("history", History)):
            value = getattr(self, name)
            try:
                object.__setattr__(self, name, enum(value))
            except ValueError:
                raise ValueError(
                    f"QoSProfile.{name} must be one of {[e.value for e in enum]}; got {value!r}"
                ) from None
        if isinstance(self.depth, bool) or not isinstance(self.depth, int) or self.depth < 1:
            raise ValueError(f"QoSProfile.depth must be an int >= 1; got {self.depth!r}")

    @classmethod
    def from_dict(cls, data: dict[str, Any], base: QoSProfile | None = None) -> QoSProfile:
        """Profile from a mapping such as a hardware profile's QoS override.

        Keys not given are taken from ``base`` (default :data:`DEFAULT`); unknown keys are an error.
        """
        base = base or DEFAULT
        allowed = {"depth", "reliability", "durability", "history"}
        unknown = set(data) - allowed
        if unknown:
            raise ValueError(f"unknown QoS keys {sorted(unknown)}; allowed: {sorted(allowed)}")
        merged = {key: data.get(key, getattr(base, key)) for key in allowed}
        return cls(**merged)

    def incompatibility(self, subscription: QoSProfile) -> str | None:
        """Why a publisher with this profile cannot serve ``subscription``; ``None`` if it can."""
        if subscription.reliability is Reliability.RELIABLE and self.reliability is Reliability.BEST_EFFORT:
            return "subscription requires RELIABLE but the publisher is BEST_EFFORT"
        if subscription.durability is Durability.TRANSIENT_LOCAL and self.durability is Durability.VOLATILE:
            return "subscription requires TRANSIENT_LOCAL but the publisher is VOLATILE"
        return None

    def to_cyclonedds(self) -> Any:
        """The equivalent ``cyclonedds.qos.Qos`` for a DataWriter or DataReader."""
        from cyclonedds.qos import Policy, Qos
        from cyclonedds.util import duration

        reliability = (
            Policy.Reliability.Reliable(max_blocking_time=duration(seconds=_MAX_BLOCKING_TIME_S))
            if self.reliability is Reliability.RELIABLE
            else Policy.Reliability.BestEffort
        )
        durability = (
            Policy.Durability.TransientLocal
            if self.durability is Durability.TRANSIENT_LOCAL
            else Policy.Durability.Volatile
        )
        history = (
            Policy.History.KeepLast(depth=self.depth)
            if self.history is History.KEEP_LAST
            else Policy.History.KeepAll
        )
        return Qos(reliability, durability, history)

    def to_rclpy(self) -> Any:
        """The equivalent ``rclpy.qos.QoSProfile`` (imports rclpy; needs a ROS 2 installation)."""
        from rclpy.qos import DurabilityPolicy, HistoryPolicy, ReliabilityPolicy
        from rclpy.qos import QoSProfile as RclpyQoSProfile

        return RclpyQoSProfile(
            history=HistoryPolicy.KEEP_LAST if self.history is History.KEEP_LAST else HistoryPolicy.KEEP_ALL,
            depth=self.depth,
            reliability=(
                ReliabilityPolicy.RELIABLE
                if self.reliability is Reliability.RELIABLE
                else ReliabilityPolicy.BEST_EFFORT
            ),
            durability=(
                DurabilityPolicy.TRANSIENT_LOCAL
                if self.durability is Durability.TRANSIENT_LOCAL
                else DurabilityPolicy.VOLATILE
            ),
        )


SENSOR_DATA = QoSProfile(depth=5, reliability=Reliability.BEST_EFFORT)
"""Sensors and high-rate state: the newest sample matters, a lost one is replaced by the next."""

COMMANDS = QoSProfile(depth=1, reliability=Reliability.RELIABLE)
"""Commands, safety verdicts, goals: delivered, newest wins."""

CLOCK = QoSProfile(depth=1, reliability=Reliability.BEST_EFFORT)
"""``/clock``: only the latest simulated time is of use."""

DEFAULT = QoSProfile()
"""ROS 2's default profile (KEEP_LAST 10, RELIABLE, VOLATILE)."""

LATCHED = QoSProfile(depth=1, reliability=Reliability.RELIABLE, durability=Durability.TRANSIENT_LOCAL)
"""Static data (descriptions, profiles, maps) that subscriptions joining later must still get."""

PROFILES: dict[str, QoSProfile] = {
    "sensor_data": SENSOR_DATA,
    "commands": COMMANDS,
    "clock": CLOCK,
    "default": DEFAULT,
    "latched": LATCHED,
}
"""Profiles by name, for configuration files."""


def as_qos(qos: QoSProfile | str | int | None) -> QoSProfile:
    """Normalise what a node author passes: a profile, a profile name, a depth (ROS style) or None.

    An int ``n`` means ``KEEP_LAST n, RELIABLE, VOLATILE``, as in ``create_publisher(T, "x", 10)``.
    """
    if qos is None:
        return DEFAULT
    if isinstance(qos, QoSProfile):
        return qos
    if isinstance(qos, str):
        try:
            return PROFILES[qos]
        except KeyError:
            raise ValueError(f"unknown QoS profile {qos!r}; known: {sorted(PROFILES)}") from None
    if isinstance(qos, int) and not isinstance(qos, bool):
        return QoSProfile(depth=qos)
    raise TypeError(f"qos must be a QoSProfile, a profile name or a depth; got {qos!r}")


__all__ = [
    "CLOCK",
    "COMMANDS",
    "DEFAULT",
    "LATCHED",
    "PROFILES",
    "SENSOR_DATA",
    "Durability",
    "History",
    "QoSProfile",
    "Reliability",
    "as_qos",
]
