"""Hardware profiles: one YAML file per robot under ``hardware/`` (data, not code).

A profile is the single source of truth that the sim bridge and the robot-side nodes share:
topic names and types, frames, joint order and signs, limits, rates, watchdog timeouts and the
e-stop topic. Joint order, direction and scale are the most common real-robot failure, so they
are explicit here and :class:`JointMap` applies them in one tested place.

Every problem is a :class:`ProfileError` that names the file and the field path, e.g.
``hardware/arm7.yaml: joints[3].sign must be +1 or -1; got 2``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from robocritic.utils.safe_yaml import YamlError, load_yaml, shorten

__all__ = [
    "CameraSpec",
    "ContactSpec",
    "HardwareProfile",
    "JointMap",
    "JointNameError",
    "JointSpec",
    "MPCSpec",
    "ProfileError",
    "TopicSpec",
    "available_profiles",
    "joint_order",
    "load_profile",
]

KINDS = ("pendulum", "arm", "diff_drive")
AXES = ("x", "y", "z")  # base-frame axes, in the order of a wrench's force vector
QOS_PROFILES = ("sensor_data", "reliable", "clock")
# ROS 2 names: absolute or relative, segments of letters, digits and underscores; '~' allowed first.
_TOPIC_RE = re.compile(r"^(~/|/)?[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*$")
_TYPE_RE = re.compile(r"^[a-z][a-z0-9_]*/msg/[A-Z][A-Za-z0-9]*$")
_FRAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ProfileError(ValueError):
    """A hardware profile is malformed; the message names the file and the field."""


class JointNameError(ValueError):
    """Joint names (and the arrays that go with them) that a :class:`JointMap` cannot map.

    ``reason`` says which rule failed: ``"malformed"`` (lengths disagree, a name repeats, a name
    is not a string), ``"unknown_joint"`` (a name the map does not list, where unknown joints are
    not allowed) or ``"missing_joint"`` (a joint of the map is absent).
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


class _Reader:
    """Walks a YAML mapping, recording the field path for error messages."""

    def __init__(self, source: str, data: Any, path: str = "") -> None:
        self.source, self.data, self.path = source, data, path
        if not isinstance(data, dict):
            self.fail(f"must be a mapping; got {type(data).__name__}")
        self._used: set[str] = set()

    def fail(self, message: str, key: str | None = None) -> None:
        where = self._join(key) if key is not None else (self.path or "<top level>")
        # shortened: a message quotes the offending value, which a file can make arbitrarily large
        raise ProfileError(f"{self.source}: {shorten(str(where), 200)} {shorten(message, 600)}")

    def _join(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def get(self, key: str, default: Any = ..., kind: type | tuple[type, ...] | None = None) -> Any:
        self._used.add(key)
        if key not in self.data:
            if default is ...:
                self.fail("is required", key)
            return default
        value = self.data[key]
        if kind is not None and (not isinstance(value, kind) or isinstance(value, bool) and bool not in _tuple(kind)):
            names = "/".join(k.__name__ for k in _tuple(kind))
            self.fail(f"must be {names}; got {value!r}", key)
        return value

    def number(self, key: str, default: Any = ..., positive: bool = False) -> float:
        value = self.get(key, default, (int, float))
        if value is None:
            return value
        try:
            value = float(value)
        except OverflowError:  # an integer beyond the float range (YAML ints are unbounded)
            self.fail(f"must be a {'positive ' if positive else ''}finite number; got an integer too large "
                      "for a float", key)
        if not np.isfinite(value) or (positive and value <= 0):
            self.fail(f"must be a {'positive ' if positive else ''}finite number; got {value!r}", key)
        return value

    def child(self, key: str, default: Any = ...) -> _Reader | None:
        value = self.get(key, default)
        return None if value is None else _Reader(self.source, value, self._join(key))

    def items(self, key: str) -> list[_Reader]:
        value = self.get(key, kind=list)
        return [_Reader(self.source, v, f"{self._join(key)}[{i}]") for i, v in enumerate(value)]

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self._used, key=repr)  # keys of mixed types do not compare
        if unknown:
            self.fail(f"has unknown field(s) {unknown}")


def _tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _range(r: _Reader, key: str, default: Any = ...) -> tuple[float, float] | None:
    value = r.get(key, default)
    if value is None:
        return None
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value)):
        r.fail(f"must be a [low, high] pair of numbers; got {value!r}", key)
    low, high = float(value[0]), float(value[1])
    if not low < high:
        r.fail(f"needs low < high; got {value!r}", key)
    return low, high


@dataclass(frozen=True)
class TopicSpec:
    """A topic the robot's graph provides or consumes."""

    name: str  # ROS name, e.g. "/pendulum/joint_states"
    type: str  # ROS type, e.g. "sensor_msgs/msg/JointState"
    qos: str  # one of QOS_PROFILES


@dataclass(frozen=True)
class JointSpec:
    """One actuated joint in the order the controllers use.

    ``model = sign * robot + offset``: ``sign`` (+1/-1) flips direction, ``offset`` (rad or m)
    shifts the zero. Limits are in model units: position (rad or m), velocity (rad/s or m/s),
    effort (N m or N).
    """

    name: str
    sign: int
    offset: float
    position_limits: tuple[float, float] | None
    velocity_limit: float
    effort_limit: float


@dataclass(frozen=True)
class MPCSpec:
    """Defaults of a model-predictive controller for the profile's joints (``mpc`` section).

    The controller's state is ``[q, dq]`` of the profile's joints in model order and its input one
    effort per joint; its constraints are the joints' limits. ``model`` names a
    :class:`~robocritic.dynamics.DynamicsModel` class in :mod:`robocritic.dynamics`, built with
    ``dt = 1 / control rate`` and ``model_parameters`` (its physical parameters, model units).

    Attributes:
        model: class name, e.g. ``"PendulumModel"``.
        model_parameters: keyword arguments of the model class besides ``dt``.
        horizon: prediction horizon ``N >= 1`` [control periods].
        state_weight: ``(2 n,)`` diagonal of ``Q`` (>= 0), for ``[q, dq]``.
        input_weight: ``(n,)`` diagonal of ``R`` (> 0).
    """

    model: str
    model_parameters: dict[str, float]
    horizon: int
    state_weight: tuple[float, ...]
    input_weight: tuple[float, ...]


@dataclass(frozen=True)
class ContactSpec:
    """Where an arm touches its task surface (``contact`` section, ``kind: arm`` only).

    Attributes:
        normal_axis: ``"x"``, ``"y"`` or ``"z"``: the base-frame (``frames.base``) axis of the
            surface normal; the contact force is the wrench's force along it [N].
    """

    normal_axis: str

    @property
    def normal_index(self) -> int:
        """Index of :attr:`normal_axis` in a base-frame force vector ``(3,)``."""
        return AXES.index(self.normal_axis)


@dataclass(frozen=True)
class CameraSpec:
    """The depth camera of a mobile base (``camera`` section, ``kind: diff_drive`` only).

    Attributes:
        width, height: image size [pixels].
        hfov_deg: horizontal field of view [deg].
        min_range, max_range: valid depth [m]; readings outside count as no return.
        x, z: optical centre ahead of and above the base frame's origin [m].
        pitch_deg: downward tilt of the optical axis [deg].
    """

    width: int
    height: int
    hfov_deg: float
    min_range: float
    max_range: float
    x: float = 0.0
    z: float = 0.0
    pitch_deg: float = 0.0


@dataclass(frozen=True)
class HardwareProfile:
    """A validated robot profile; see ``hardware/*.yaml`` for annotated examples."""

    robot: str
    kind: str
    description: str
    frames: dict[str, str]
    joints: tuple[JointSpec, ...]
    topics: dict[str, TopicSpec]
    control_rate_hz: float
    critic_rate_hz: float | None
    state_timeout_s: float
    command_timeout_s: float
    estop: TopicSpec
    limits: dict[str, float]
    sim_env: str | None
    source: str
    mpc: MPCSpec | None = None
    contact: ContactSpec | None = None
    camera: CameraSpec | None = None

    @property
    def joint_map(self) -> JointMap:
        return JointMap(self.joints)


def joint_order(wanted: Sequence[str], names: Sequence[str], *, allow_unknown: bool = True) -> np.ndarray:
    """``(len(wanted),)`` positions in ``names`` of the joints ``wanted``, in ``wanted``'s order.

    The name rules of every joint-order conversion (:meth:`JointMap.index` applies them).

    Raises:
        JointNameError: ``malformed`` (a repeated or non-string name in ``names``),
            ``unknown_joint`` (a name not in ``wanted``, unless ``allow_unknown``),
            ``missing_joint`` (a joint of ``wanted`` absent from ``names``).
    """
    if not all(isinstance(name, str) for name in names):
        raise JointNameError("malformed", f"joint names must be strings; got {list(names)!r}")
    position = {name: i for i, name in enumerate(names)}
    if len(position) != len(names):
        raise JointNameError("malformed", f"joint state repeats a joint name: {list(names)}")
    if not allow_unknown:
        known = set(wanted)
        unknown = [name for name in names if name not in known]
        if unknown:
            raise JointNameError(
                "unknown_joint", f"joint state has joints {unknown} that the profile does not list"
            )
    missing = [name for name in wanted if name not in position]
    if missing:
        raise JointNameError("missing_joint", f"joint state lacks joint(s) {missing}; it has {list(names)}")
    return np.array([position[name] for name in wanted], dtype=np.intp)


class JointMap:
    """The one codec between a robot's joint data and model order: order, sign and offset.

    ``model = sign * robot + offset`` per joint (see :class:`JointSpec`); model order is the
    order of :attr:`names`. Robot data arrives either named (a JointState: any order, maybe with
    extra joints; :meth:`index`, :meth:`to_model`) or already in profile order (an effort command:
    :meth:`effort_to_model`, :meth:`effort_to_robot`).

    Also carries the joints' limits in model units, so whoever converts a reading can check it:
    ``position_limits`` ``(n, 2)`` [rad or m] (``[-inf, inf]`` for a joint without them),
    ``velocity_limit`` ``(n,)`` [rad/s or m/s], ``effort_limit`` ``(n,)`` [N m or N].
    """

    def __init__(self, joints: tuple[JointSpec, ...]) -> None:
        self.names = tuple(j.name for j in joints)
        self.sign = np.array([j.sign for j in joints], dtype=np.float64)
        self.offset = np.array([j.offset for j in joints], dtype=np.float64)
        self.position_limits = np.array(
            [j.position_limits or (-np.inf, np.inf) for j in joints], dtype=np.float64
        ).reshape(-1, 2)
        self.velocity_limit = np.array([j.velocity_limit for j in joints], dtype=np.float64)
        self.effort_limit = np.array([j.effort_limit for j in joints], dtype=np.float64)
        self._known = frozenset(self.names)
        # A driver sends the same name list every time: the last mapping is reused as is.
        self._cached: tuple[tuple[str, ...], bool, np.ndarray] | None = None

    def index(self, names: Sequence[str], *, allow_unknown: bool = True) -> np.ndarray:
        """``(n,)`` positions in ``names`` of the map's joints, in model order.

        Raises:
            JointNameError: ``malformed`` (a repeated or non-string name), ``unknown_joint`` (a
                name the map lacks, unless ``allow_unknown``), ``missing_joint``.
        """
        key = names if isinstance(names, tuple) else tuple(names)
        cached = self._cached
        if cached is not None and cached[0] == key and (allow_unknown or not cached[1]):
            return cached[2]
        order = joint_order(self.names, key, allow_unknown=allow_unknown)
        order.setflags(write=False)  # shared by every caller of the cached mapping
        self._cached = (key, any(name not in self._known for name in key), order)
        return order

    def to_model(
        self,
        names: Sequence[str],
        position: Sequence[float] | np.ndarray,
        velocity: Sequence[float] | np.ndarray | None = None,
        *,
        allow_unknown: bool = True,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Named robot readings -> model-order ``q (n,)`` [rad or m] and ``dq (n,)`` (``None`` if not given).

        ``position`` and ``velocity`` have one value per name (robot units); joints the map does not
        list are ignored when ``allow_unknown``. Raises :class:`JointNameError` (see :meth:`index`;
        ``malformed`` also when an array's length differs from the names').
        """
        q_robot = np.asarray(position, dtype=np.float64).reshape(-1)
        dq_robot = None if velocity is None else np.asarray(velocity, dtype=np.float64).reshape(-1)
        if q_robot.size != len(names) or (dq_robot is not None and dq_robot.size != len(names)):
            raise JointNameError(
                "malformed",
                f"joint state has {len(names)} names, {q_robot.size} positions and "
                f"{'no' if dq_robot is None else dq_robot.size} velocities",
            )
        idx = self.index(names, allow_unknown=allow_unknown)
        q = self.sign * q_robot[idx] + self.offset
        dq = None if dq_robot is None else self.sign * dq_robot[idx]
        return q, dq

    def position_to_robot(self, position: Sequence[float] | np.ndarray) -> np.ndarray:
        """Model-order positions ``(n,)`` -> robot units, profile order."""
        return self.sign * (np.asarray(position, dtype=np.float64) - self.offset)

    def velocity_to_robot(self, velocity: Sequence[float] | np.ndarray) -> np.ndarray:
        """Model-order velocities ``(n,)`` -> robot units, profile order (the offset does not apply)."""
        return self.sign * np.asarray(velocity, dtype=np.float64)

    def effort_to_robot(self, effort: Sequence[float] | np.ndarray) -> np.ndarray:
        """Model-order efforts ``(n,)`` [N m or N] -> robot units, profile order."""
        return self.sign * np.asarray(effort, dtype=np.float64)

    def effort_to_model(self, effort: Sequence[float] | np.ndarray) -> np.ndarray:
        """Robot efforts ``(n,)`` in profile order -> model order and units [N m or N]."""
        # sign is +-1, its own inverse; efforts carry no offset.
        return self.sign * np.asarray(effort, dtype=np.float64)


def _topic(r: _Reader) -> TopicSpec:
    name = r.get("name", kind=str)
    if not _TOPIC_RE.match(name):
        r.fail(f"is not a valid ROS 2 topic name: {name!r}", "name")
    type_ = r.get("type", kind=str)
    if not _TYPE_RE.match(type_):
        r.fail(f"must look like 'pkg/msg/Type'; got {type_!r}", "type")
    qos = r.get("qos", "reliable", str)
    if qos not in QOS_PROFILES:
        r.fail(f"must be one of {list(QOS_PROFILES)}; got {qos!r}", "qos")
    r.finish()
    return TopicSpec(name, type_, qos)


def _joint(r: _Reader) -> JointSpec:
    name = r.get("name", kind=str)
    sign = r.get("sign", kind=int)
    if sign not in (1, -1):
        r.fail(f"must be +1 or -1; got {sign!r}", "sign")
    spec = JointSpec(
        name=name,
        sign=sign,
        offset=r.number("offset", 0.0),
        position_limits=_range(r, "position_limits", None),
        velocity_limit=r.number("velocity_limit", positive=True),
        effort_limit=r.number("effort_limit", positive=True),
    )
    r.finish()
    return spec


def _weights(r: _Reader, key: str, size: int, what: str, positive: bool) -> tuple[float, ...]:
    value = r.get(key, kind=list)
    ok = all(isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) for v in value)
    if not ok or len(value) != size or any(v < 0 or (positive and v == 0) for v in value):
        bound = "> 0" if positive else ">= 0"
        r.fail(f"must be {size} finite numbers {bound} ({what}); got {value!r}", key)
    return tuple(float(v) for v in value)


def _mpc(r: _Reader, n_joints: int) -> MPCSpec:
    model = r.get("model", kind=str)
    if not model.isidentifier():
        r.fail(f"must name a class of robocritic.dynamics (e.g. PendulumModel); got {model!r}", "model")
    params_r = r.child("model_parameters", {})
    parameters = {k: params_r.number(k) for k in list(params_r.data)}
    horizon = r.get("horizon", kind=int)
    if horizon < 1:
        r.fail(f"must be an integer >= 1; got {horizon!r}", "horizon")
    spec = MPCSpec(
        model=model,
        model_parameters=parameters,
        horizon=horizon,
        state_weight=_weights(r, "state_weight", 2 * n_joints, "diagonal of Q for [q, dq]", positive=False),
        input_weight=_weights(r, "input_weight", n_joints, "diagonal of R, one per joint", positive=True),
    )
    r.finish()
    return spec


def _contact(r: _Reader) -> ContactSpec:
    axis = r.get("normal_axis", kind=str)
    if axis not in AXES:
        r.fail(f"must be one of {list(AXES)} (a base-frame axis); got {axis!r}", "normal_axis")
    r.finish()
    return ContactSpec(normal_axis=axis)


def _camera(r: _Reader) -> CameraSpec:
    size = {}
    for key in ("width", "height"):
        size[key] = r.get(key, kind=int)
        if size[key] < 1:
            r.fail(f"must be >= 1 pixel; got {size[key]}", key)
    hfov = r.number("hfov_deg", positive=True)
    if hfov >= 180:
        r.fail(f"must be below 180 deg; got {hfov:g}", "hfov_deg")
    low, high = r.number("min_range", positive=True), r.number("max_range", positive=True)
    if not low < high:
        r.fail(f"must exceed min_range ({low:g} m); got {high:g}", "max_range")
    pitch = r.number("pitch_deg", 0.0)
    if abs(pitch) >= 90:
        r.fail(f"must be within (-90, 90) deg; got {pitch:g}", "pitch_deg")
    spec = CameraSpec(width=size["width"], height=size["height"], hfov_deg=hfov, min_range=low, max_range=high,
                      x=r.number("x", 0.0), z=r.number("z", 0.0), pitch_deg=pitch)
    r.finish()
    return spec


def parse_profile(data: Any, source: str = "<profile>") -> HardwareProfile:
    """Validate a profile mapping (as loaded from YAML); raise :class:`ProfileError` naming the field."""
    r = _Reader(source, data)
    kind = r.get("kind", kind=str)
    if kind not in KINDS:
        r.fail(f"must be one of {list(KINDS)}; got {kind!r}", "kind")
    frames_r = r.child("frames")
    frames = {k: frames_r.get(k, kind=str) for k in list(frames_r.data)}
    for k, v in frames.items():
        if not _FRAME_RE.match(v):
            frames_r.fail(f"is not a valid frame id: {v!r}", k)
    joints = tuple(_joint(j) for j in r.items("joints")) if kind != "diff_drive" or "joints" in r.data else ()
    names = [j.name for j in joints]
    if len(set(names)) != len(names):
        r.fail(f"has duplicate joint names {names}", "joints")
    topics_r = r.child("topics")
    topics = {k: _topic(topics_r.child(k)) for k in list(topics_r.data)}
    topics_r.finish()
    rates = r.child("rates")
    control = rates.number("control_hz", positive=True)
    critic = rates.number("critic_hz", None, positive=True)
    rates.finish()
    watchdog = r.child("watchdog")
    state_timeout = watchdog.number("state_timeout_s", positive=True)
    command_timeout = watchdog.number("command_timeout_s", positive=True)
    watchdog.finish()
    fastest_period = 1.0 / max(control, critic or 0.0)  # the critic loop, where there is one
    if state_timeout < fastest_period:
        watchdog.fail(f"must be at least one period of the fastest loop ({fastest_period:g} s); "
                      f"got {state_timeout}", "state_timeout_s")
    estop = _topic(r.child("estop"))
    if estop.type != "std_msgs/msg/Bool":
        r.fail(f"must use std_msgs/msg/Bool; got {estop.type!r}", "estop.type")
    limits_r = r.child("limits", {})
    limits = {k: limits_r.number(k, positive=True) for k in list(limits_r.data)}
    sim_r = r.child("sim", None)
    sim_env = None
    if sim_r is not None:
        sim_env = sim_r.get("env_id", kind=str)
        sim_r.finish()
    mpc_r = r.child("mpc", None)
    if mpc_r is not None and not joints:
        r.fail("needs joints: its state is [q, dq] of the profile's joints", "mpc")
    mpc = None if mpc_r is None else _mpc(mpc_r, len(joints))
    contact_r = r.child("contact", None)
    if contact_r is not None and kind != "arm":  # the surface normal of a force-controlled task
        r.fail(f"is only valid for kind 'arm'; got kind {kind!r}", "contact")
    contact = None if contact_r is None else _contact(contact_r)
    camera_r = r.child("camera", None)
    if camera_r is not None and kind != "diff_drive":  # the depth camera a local planner sees through
        r.fail(f"is only valid for kind 'diff_drive'; got kind {kind!r}", "camera")
    camera = None if camera_r is None else _camera(camera_r)
    required_topics = {"pendulum": ("joint_states", "command"), "arm": ("joint_states", "command", "wrench"),
                       "diff_drive": ("odom", "cmd_vel", "depth")}[kind]
    for t in required_topics:
        if t not in topics:
            r.fail(f"must define '{t}' for a {kind} robot", "topics")
    if kind != "diff_drive" and not joints:
        r.fail("must list at least one joint", "joints")
    profile = HardwareProfile(
        robot=r.get("robot", kind=str),
        kind=kind,
        description=r.get("description", "", str),
        frames=frames,
        joints=joints,
        topics=topics,
        control_rate_hz=control,
        critic_rate_hz=critic,
        state_timeout_s=state_timeout,
        command_timeout_s=command_timeout,
        estop=estop,
        limits=limits,
        sim_env=sim_env,
        source=source,
        mpc=mpc,
        contact=contact,
        camera=camera,
    )
    r.finish()
    return profile


def available_profiles() -> list[str]:
    """Names of the profiles shipped with robocritic (``hardware/<name>.yaml``)."""
    folder = resources.files("robocritic.hardware")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_profile(name_or_path: str | Path) -> HardwareProfile:
    """Load a shipped profile by name (``"pendulum_sim"``) or any YAML file by path.

    Raises:
        ProfileError: no such profile, a file that cannot be read (missing, a directory, not
            UTF-8), YAML that is malformed or over the limits of :mod:`robocritic.utils.safe_yaml`,
            or a field that fails validation; the message names the file.
    """
    target, source = _profile_file(name_or_path)
    try:
        data = load_yaml(target, source)
    except YamlError as exc:
        raise ProfileError(str(exc)) from None
    return parse_profile(data, source)


def _profile_file(name_or_path: str | Path) -> tuple[Path | bytes, str]:
    """What to read (a path, or a shipped profile's bytes) and the source named in messages."""
    path = Path(name_or_path)
    try:
        is_path = path.suffix in (".yaml", ".yml") or path.exists()
    except OSError:  # a name too long for the file system: then it is not a shipped name either
        is_path = True
    if is_path:
        return path, shorten(str(path), 300)
    if not _is_profile_name(str(name_or_path)):
        raise ProfileError(f"no hardware profile {shorten(repr(str(name_or_path)), 200)}: neither a YAML "
                           f"file (*.yaml) nor a shipped name; shipped: {available_profiles()}")
    candidate = resources.files("robocritic.hardware").joinpath(f"{name_or_path}.yaml")
    if not candidate.is_file():
        raise ProfileError(f"no hardware profile {name_or_path!r}; shipped: {available_profiles()}")
    source = f"hardware/{name_or_path}.yaml"
    return (candidate if isinstance(candidate, Path) else candidate.read_bytes()), source


def _is_profile_name(name: str) -> bool:
    # A shipped name is one plain file name: no separators, no "..", nothing Path() would reject.
    return re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}", name) is not None and ".." not in name
