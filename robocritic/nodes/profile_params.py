"""The hardware profile as a node parameter: loading it, the topics and joints a node needs from it,
the QoS of its topics, and whether a control law loaded from a file fits it."""

from __future__ import annotations

from robocritic.profiles import HardwareProfile, JointMap, ProfileError, TopicSpec, load_profile
from robocritic.ros.qos import CLOCK, COMMANDS, SENSOR_DATA, QoSProfile, Reliability
from robocritic.ros.transport.base import Node, ParameterError

ESTOP_QOS = QoSProfile(depth=10, reliability=Reliability.RELIABLE)
"""E-stop and activation: reliable, and a few deep so a toggle is never collapsed into one sample."""

_PROFILE_QOS: dict[str, QoSProfile] = {"sensor_data": SENSOR_DATA, "reliable": COMMANDS, "clock": CLOCK}


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


__all__ = [
    "ESTOP_QOS",
    "check_joint_space_law",
    "declare_profile",
    "require_joints",
    "require_topic",
    "topic_qos",
]
