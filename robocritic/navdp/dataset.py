"""NavDP training samples from procedural worlds and the privileged expert.

Per world seed (:func:`world_samples`): the world of ``NavPointGoal-v0`` (its preset), then
``pairs_per_world`` start/goal pairs drawn by the env's own rules (``reset`` with a seed derived
from ``(world_seed, pair)``: start ESDF >= 0.35 m, goal reachable at >= ``min_goal_distance`` m
geodesic). Per pair (:func:`pair_samples`): one Dijkstra cost-to-go from the goal, the expert
path from the start and from ``recovery_per_path`` off-path recovery starts (each relabelled by
the same cost-to-go). Along each path an observation pose every ``obs_spacing`` m of arc (on a
recovery path only within its first ``recovery_obs_length`` m; none closer than
``min_remaining`` m of arc to the goal). At each pose one sample:

* ``depth (T, H, W)``: the env's ray-cast depth camera at that pose (older frames of a history
  at ``history_spacing`` m back along the path); noise and dropout per ``depth``;
* ``goal (3,)``: ``(x, y, 1)`` in the robot frame. With probability ``hindsight`` a random
  later point of the same expert path at least ``min_hindsight_distance`` m ahead (NavDP's
  hindsight goals), else the true goal. Every sample has a goal: the no-goal case is the
  model's (:meth:`~robocritic.navdp.model.NavDPNet.loss` runs each sample with and without its
  goal token, ``goal_share`` 0.5/0.5);
* ``actions (N, 3)``: the expert path ahead of the pose up to that goal, resampled every
  ``step_length`` m of arc, as increments ``(dx, dy, dtheta)`` in the robot frame of the pose
  (x forward, y left; the trajectory is their cumulative sum), padded with zeros after the goal;
  ``theta`` is the path's heading at each waypoint;
* ``critic_actions (M, N, 3)`` and ``critic_labels (M,)``: the expert increments, then
  ``M - 1`` copies rotated rigidly about the pose by ``U(-max_rotation, max_rotation)``
  (:func:`~robocritic.navdp.labels.rotated_negatives`), each labelled with
  :func:`~robocritic.navdp.labels.critic_label` on the world's ESDF over the pose and the ``N``
  waypoints, with ``robot_radius = blocking clearance - LABEL_CLEARANCE`` (0.15 m by default):
  a waypoint counts as unsafe exactly where the expert's grid is blocked.

The pose's heading is the path's, plus ``U(-heading_noise, heading_noise)``; at a recovery start
it is the recovery pose's own (off by up to 0.6 rad). Everything is a pure function of
``(world_seed, config)``: every random draw comes from a generator seeded by
``(world_seed, pair, stream)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from robocritic.envs.nav.constants import ROBOT_BODY
from robocritic.envs.nav.sensors import DepthConfig, RayCaster, ScanConfig
from robocritic.envs.nav.world import PRESETS, World
from robocritic.navdp.expert import (
    ExpertConfig,
    ExpertPath,
    extract_path,
    recovery_starts,
    resample_path,
    solve_cost_to_go,
)
from robocritic.navdp.labels import LABEL_CLEARANCE, MAX_ROTATION, critic_label, rotated_negatives
from robocritic.utils.fields import check_choice, check_int, check_real, is_int

__all__ = [
    "SAMPLE_FIELDS",
    "SampleConfig",
    "SampleSet",
    "Scene",
    "expert_increments",
    "make_env",
    "pair_samples",
    "world_samples",
    "world_scene",
]

_OWNER = "SampleConfig"
# Independent random streams of a pair, so changing one option leaves the others' draws alone.
_STREAM_PATHS, _STREAM_DEPTH = 1, 2


@dataclass(frozen=True)
class SampleConfig:
    """Settings of the sample generator (module docstring).

    Attributes:
        world_spec: preset of :data:`robocritic.envs.nav.world.PRESETS`.
        pairs_per_world: start/goal pairs drawn per world.
        min_goal_distance: least geodesic start-goal distance, m (the env's rule).
        recovery_per_path: recovery starts drawn beside each start-goal path (fewer may come).
        obs_spacing: arc between observation poses along a path, m.
        recovery_obs_length: observation poses on a recovery path only at arcs below this, m.
        min_remaining: no observation pose closer than this (arc) to the goal, m.
        heading_noise: the pose's heading is the path's plus ``U(-h, h)``, rad (not at recovery
            starts, which keep their own heading).
        n_waypoints: ``N``, steps per expert trajectory.
        step_length: arc per step, m (<= the model's ``max_step``, 0.25 m by default).
        history: depth frames per sample ``T``; history_spacing: arc between them, m.
        n_critic: ``M``, trajectories in the critic set (the expert's and ``M - 1`` negatives).
        max_rotation: largest rotation of a negative, rad.
        hindsight: probability of a hindsight goal; min_hindsight_distance: how far ahead, m.
        depth: the depth camera (the env's :class:`DepthConfig`, with its noise and dropout).
        expert: the privileged expert's settings.
    """

    world_spec: str = "default"
    pairs_per_world: int = 4
    min_goal_distance: float = 3.0
    recovery_per_path: int = 2
    obs_spacing: float = 0.5
    recovery_obs_length: float = 1.0
    min_remaining: float = 0.5
    heading_noise: float = 0.2
    n_waypoints: int = 24
    step_length: float = 0.2
    history: int = 1
    history_spacing: float = 0.25
    n_critic: int = 4
    max_rotation: float = MAX_ROTATION
    hindsight: float = 0.5
    min_hindsight_distance: float = 0.5
    depth: DepthConfig = field(default_factory=DepthConfig)
    expert: ExpertConfig = field(default_factory=ExpertConfig)

    def __post_init__(self) -> None:
        check_choice(_OWNER, "world_spec", self.world_spec, tuple(sorted(PRESETS)))
        check_int(_OWNER, "pairs_per_world", self.pairs_per_world, low=1)
        check_int(_OWNER, "recovery_per_path", self.recovery_per_path, low=0)
        for name in ("n_waypoints", "history", "n_critic"):
            check_int(_OWNER, name, getattr(self, name), low=1)
        check_real(_OWNER, "min_goal_distance", self.min_goal_distance, low=0.0)
        for name in ("obs_spacing", "step_length", "history_spacing"):
            check_real(_OWNER, name, getattr(self, name), low=0.0, low_open=True)
        for name in ("recovery_obs_length", "min_remaining", "min_hindsight_distance"):
            check_real(_OWNER, name, getattr(self, name), low=0.0)
        check_real(_OWNER, "heading_noise", self.heading_noise, low=0.0, high=math.pi)
        check_real(_OWNER, "max_rotation", self.max_rotation, low=0.0, high=math.pi)
        check_real(_OWNER, "hindsight", self.hindsight, low=0.0, high=1.0)
        if not isinstance(self.depth, DepthConfig):
            raise ValueError(f"{_OWNER}.depth must be a DepthConfig; got {type(self.depth).__name__}")
        if not isinstance(self.expert, ExpertConfig):
            raise ValueError(f"{_OWNER}.expert must be an ExpertConfig; got {type(self.expert).__name__}")

    @property
    def label_radius(self) -> float:
        """``robot_radius`` of the critic labels: the blocking clearance minus the label's 0.1 m."""
        return self.expert.blocking_clearance - LABEL_CLEARANCE

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-safe values (nested dicts for ``depth`` and ``expert``, lists for pairs)."""
        return json_safe(asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SampleConfig:
        """Inverse of :meth:`to_dict`; unknown keys are refused (naming them), missing ones default."""
        if not isinstance(data, dict):
            raise ValueError(f"{_OWNER}: expected a dict of fields; got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{_OWNER}: unknown fields {unknown}")
        kwargs = dict(data)
        for name, sub in (("depth", DepthConfig), ("expert", ExpertConfig)):
            if name in kwargs and not isinstance(kwargs[name], sub):
                kwargs[name] = _nested(sub, name, kwargs[name])
        return cls(**kwargs)


def _nested(cls: type, name: str, data: object) -> Any:
    if not isinstance(data, dict):
        raise ValueError(f"{_OWNER}.{name}: expected a dict of {cls.__name__} fields; got {data!r}")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"{_OWNER}.{name}: unknown fields {unknown}")
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


def json_safe(value: Any) -> Any:
    """Tuples -> lists, numpy scalars -> Python numbers, recursively."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


#: Arrays of a :class:`SampleSet`: name -> (dtype, shape after the sample axis ``S``, in terms of
#: ``T, H, W, N, M``).
SAMPLE_FIELDS: dict[str, tuple[np.dtype, tuple[str, ...]]] = {
    "depth": (np.dtype(np.float32), ("T", "H", "W")),
    "goal": (np.dtype(np.float32), ("3",)),
    "actions": (np.dtype(np.float32), ("N", "3")),
    "critic_actions": (np.dtype(np.float32), ("M", "N", "3")),
    "critic_labels": (np.dtype(np.float32), ("M",)),
    "world_seed": (np.dtype(np.int64), ()),
    "pose": (np.dtype(np.float32), ("3",)),
    "path_index": (np.dtype(np.int32), ()),
    "recovery": (np.dtype(np.bool_), ()),
    "hindsight": (np.dtype(np.bool_), ()),
}


@dataclass(frozen=True, eq=False)
class SampleSet:
    """``S`` samples (arrays of :data:`SAMPLE_FIELDS`).

    Attributes:
        depth: ``(S, T, H, W)`` float32 depth [m], 0 = no return, older frames first.
        goal: ``(S, 3)`` float32 ``(x, y, 1)`` [m], robot frame.
        actions: ``(S, N, 3)`` float32 expert increments ``(dx, dy, dtheta)`` [m, m, rad].
        critic_actions: ``(S, M, N, 3)`` float32; index 0 is the expert's.
        critic_labels: ``(S, M)`` float32 NavDP labels.
        world_seed: ``(S,)`` int64.
        pose: ``(S, 3)`` float32 observation pose ``(x, y, yaw)`` [m, m, rad], world frame.
        path_index: ``(S,)`` int32 expert path of the world the sample lies on.
        recovery: ``(S,)`` bool, on a recovery path. hindsight: ``(S,)`` bool, hindsight goal.
        n_paths: expert paths (trajectories) the samples were taken from.
    """

    depth: np.ndarray
    goal: np.ndarray
    actions: np.ndarray
    critic_actions: np.ndarray
    critic_labels: np.ndarray
    world_seed: np.ndarray
    pose: np.ndarray
    path_index: np.ndarray
    recovery: np.ndarray
    hindsight: np.ndarray
    n_paths: int = 0

    def __len__(self) -> int:
        return int(self.goal.shape[0])

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays by name (order of :data:`SAMPLE_FIELDS`)."""
        return {name: getattr(self, name) for name in SAMPLE_FIELDS}

    @classmethod
    def from_columns(cls, columns: Mapping[str, Any], n_paths: int = 0) -> SampleSet:
        """Samples from per-sample lists or arrays keyed by :data:`SAMPLE_FIELDS` (other keys are
        ignored), cast to the format's dtypes."""
        arrays = {name: np.asarray(columns[name], dtype=dtype) for name, (dtype, _) in SAMPLE_FIELDS.items()}
        return cls(**arrays, n_paths=n_paths)

    @classmethod
    def empty(cls, config: SampleConfig) -> SampleSet:
        """No samples, with the shapes of ``config``."""
        dims = _dims(config)
        return cls(**{name: np.zeros((0, *(dims[d] for d in shape)), dtype=dtype)
                      for name, (dtype, shape) in SAMPLE_FIELDS.items()})

    @classmethod
    def concat(cls, parts: list[SampleSet], config: SampleConfig) -> SampleSet:
        """The samples of ``parts`` in order (:meth:`empty` for none); ``n_paths`` adds up."""
        if not parts:
            return cls.empty(config)
        arrays = {name: np.concatenate([getattr(p, name) for p in parts]) for name in SAMPLE_FIELDS}
        return cls(**arrays, n_paths=sum(p.n_paths for p in parts))


def _dims(config: SampleConfig) -> dict[str, int]:
    return {"T": config.history, "H": config.depth.height, "W": config.depth.width, "N": config.n_waypoints,
            "M": config.n_critic, "3": 3}


# ---- geometry ----------------------------------------------------------------------------------


def _arc(points: np.ndarray) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])


def _at(points: np.ndarray, arc: np.ndarray, s: float) -> np.ndarray:
    """Point of the polyline at arc ``s`` (clamped to its ends), (2,)."""
    return np.array([np.interp(s, arc, points[:, 0]), np.interp(s, arc, points[:, 1])])


def _heading_at(points: np.ndarray, arc: np.ndarray, s: float) -> float:
    """Heading of the polyline's segment containing arc ``s``, rad."""
    i = int(np.clip(np.searchsorted(arc, s, side="right") - 1, 0, len(points) - 2))
    d = points[i + 1] - points[i]
    return math.atan2(d[1], d[0])


def _headings(points: np.ndarray) -> np.ndarray:
    """Heading at each point toward the next one; the last repeats the one before, ``(Q,)``."""
    d = np.diff(points, axis=0)
    yaw = np.arctan2(d[:, 1], d[:, 0])
    return np.append(yaw, yaw[-1])


def expert_increments(points: np.ndarray, pose: np.ndarray, s_start: float, s_end: float, n: int,
                      step_length: float) -> tuple[np.ndarray, np.ndarray]:
    """The expert's ``n`` increments from ``pose`` along the path ``points`` ``(P, 2)`` (world frame)
    between arcs ``s_start`` (the pose's position) and ``s_end`` (the goal).

    The piece of path is resampled every ``step_length`` m of arc; waypoint ``i`` (``1..n``) is
    resample point ``i``, held at the goal once the path ends; its heading is the direction to
    the next resample point (the last one's repeats). Headings are unwrapped, so no increment
    jumps by 2 pi.

    Returns:
        ``(increments (n, 3), waypoints (n, 2))``: increments ``(dx, dy, dtheta)`` [m, m, rad] in
        the robot frame of ``pose`` (x, y, yaw); the waypoints in the world frame [m].
    """
    arc = _arc(points)
    inner = points[(arc > s_start) & (arc < s_end)]
    piece = np.concatenate([_at(points, arc, s_start)[None], inner, _at(points, arc, s_end)[None]])
    q = resample_path(piece, step_length)
    if len(q) < 2:  # nothing ahead: stay
        q = np.concatenate([q, q])
    yaw = _headings(q)
    idx = np.minimum(np.arange(1, n + 1), len(q) - 1)
    xy, theta = q[idx], yaw[idx]
    x0, y0, yaw0 = (float(v) for v in pose)
    c, s = math.cos(yaw0), math.sin(yaw0)
    dx, dy = xy[:, 0] - x0, xy[:, 1] - y0
    local = np.stack([c * dx + s * dy, -s * dx + c * dy], axis=-1)
    rel = np.unwrap(np.concatenate([[yaw0], theta])) - yaw0
    rel = rel - 2 * math.pi * round(rel[0] / (2 * math.pi))  # unwrap keeps rel[0] at a multiple of 2 pi
    waypoints = np.concatenate([np.zeros((1, 3)), np.concatenate([local, rel[1:, None]], axis=1)])
    return np.diff(waypoints, axis=0), xy


def _rotated_increments(increments: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """Increments ``(N, 3)`` of a trajectory rotated rigidly about its start by each of ``angles``
    ``(K,)`` rad -> ``(K, N, 3)``."""
    c, s = np.cos(angles)[:, None], np.sin(angles)[:, None]
    dx, dy, dth = increments[:, 0], increments[:, 1], increments[:, 2]
    out = np.empty((len(angles), *increments.shape))
    out[..., 0] = c * dx - s * dy
    out[..., 1] = s * dx + c * dy
    out[..., 2] = dth
    out[:, 0, 2] += angles  # the whole path turns: its first heading change takes the rotation
    return out


# ---- scenes ------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Scene:
    """A world and a depth camera in its MuJoCo model."""

    world: World
    caster: RayCaster

    def depth(self, pose: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Depth ``(H, W)`` float32 m at ``pose`` (x, y, yaw)."""
        return self.caster.depth(pose, rng)


def world_scene(world: World, depth: DepthConfig | None = None) -> Scene:
    """A :class:`Scene` of a hand-built (or generated) ``world``: the robot's model as the env
    builds it (the robot's own body is never seen)."""
    import mujoco

    from robocritic.envs.nav.robot import RobotSpec

    model = mujoco.MjModel.from_xml_string(world.mjcf(bodies=RobotSpec().mjcf()))
    data = mujoco.MjData(model)
    mujoco.mj_kinematics(model, data)
    body = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, ROBOT_BODY)
    return Scene(world, RayCaster(model, data, body, depth or DepthConfig(), ScanConfig()))


def make_env(config: SampleConfig) -> Any:
    """The ``NavPointGoal-v0`` env (unwrapped) whose rules draw the start/goal pairs."""
    from robocritic.envs.nav.point_goal_v0 import NavPointGoalEnv

    return NavPointGoalEnv(world_spec=config.world_spec, depth=config.depth,
                           min_goal_distance=config.min_goal_distance)


# ---- samples -----------------------------------------------------------------------------------


def _observation_arcs(length: float, config: SampleConfig, recovery: bool) -> np.ndarray:
    s = np.arange(0.0, length, config.obs_spacing)
    s = s[length - s >= config.min_remaining]
    return s[s < config.recovery_obs_length] if recovery else s


def _path_samples(scene: Scene, path: ExpertPath, start_yaw: float | None, config: SampleConfig,
                  rng: np.random.Generator, depth_rng: np.random.Generator) -> dict[str, list[Any]]:
    points = np.asarray(path.points, dtype=np.float64)
    arc = _arc(points)
    total = float(arc[-1])
    keys = ("depth", "goal", "actions", "critic_actions", "critic_labels", "pose", "hindsight")
    out: dict[str, list[Any]] = {k: [] for k in keys}
    n, m = config.n_waypoints, config.n_critic
    for s in _observation_arcs(total, config, recovery=start_yaw is not None):
        xy = _at(points, arc, s)
        if start_yaw is not None and s == 0.0:
            offset, yaw = 0.0, start_yaw
        else:
            offset = float(rng.uniform(-config.heading_noise, config.heading_noise))
            yaw = _heading_at(points, arc, s) + offset
        pose = np.array([xy[0], xy[1], yaw])
        s_goal, hind = total, False
        if total - s > config.min_hindsight_distance and rng.random() < config.hindsight:
            s_goal, hind = float(rng.uniform(s + config.min_hindsight_distance, total)), True
        goal_xy = _at(points, arc, s_goal)
        increments, waypoints = expert_increments(points, pose, s, s_goal, n, config.step_length)
        track = np.concatenate([xy[None], waypoints])  # the pose and the N waypoints, world frame
        labels = [critic_label(track, scene.world, config.label_radius)]
        critic = [increments[None]]
        if m > 1:
            neg = rotated_negatives(track, scene.world, rng, m - 1, config.max_rotation, config.label_radius)
            labels += list(neg.labels)
            critic.append(_rotated_increments(increments, np.asarray(neg.angles)))
        frames = []
        for k in range(config.history - 1, -1, -1):  # oldest first
            s_k = s - k * config.history_spacing
            if k == 0:
                frames.append(pose)
                continue
            if s_k <= 0.0 and start_yaw is not None:  # before a recovery start: it stood there
                frames.append(np.array([points[0, 0], points[0, 1], start_yaw]))
                continue
            s_k = max(s_k, 0.0)
            p_k = _at(points, arc, s_k)
            frames.append(np.array([p_k[0], p_k[1], _heading_at(points, arc, s_k) + offset]))
        c, sn = math.cos(yaw), math.sin(yaw)
        d = goal_xy - xy
        out["depth"].append(np.stack([scene.depth(f, depth_rng) for f in frames]))
        out["goal"].append([c * d[0] + sn * d[1], -sn * d[0] + c * d[1], 1.0])
        out["actions"].append(increments)
        out["critic_actions"].append(np.concatenate(critic))
        out["critic_labels"].append(labels)
        out["pose"].append(pose)
        out["hindsight"].append(hind)
    return out


def pair_samples(scene: Scene, start: np.ndarray, goal: np.ndarray, config: SampleConfig, *,
                 seed: tuple[int, ...], world_seed: int = -1, first_path: int = 0) -> SampleSet:
    """Samples of one start/goal pair (module docstring).

    Args:
        scene: the world and its camera. start: ``(2,)`` world frame [m]. goal: ``(2,)`` [m].
        seed: entropy of this pair's random streams (e.g. ``(world_seed, pair)``).
        world_seed: recorded in the samples (-1: a hand-built world). first_path: the
            ``path_index`` of this pair's start-goal path (its recovery paths follow).

    Raises:
        ValueError: the goal has no free cell near it, or the start cannot reach it (from the
            expert).
    """
    rng = np.random.default_rng([*seed, _STREAM_PATHS])
    depth_rng = np.random.default_rng([*seed, _STREAM_DEPTH])
    world = scene.world
    ctg = solve_cost_to_go(world, np.asarray(goal, dtype=np.float64), config.expert)
    main = extract_path(ctg, world, np.asarray(start, dtype=np.float64))
    paths: list[tuple[ExpertPath, float | None]] = [(main, None)]
    for r in recovery_starts(world, ctg, main, config.recovery_per_path, rng):
        paths.append((r.path, float(r.pose[2])))
    parts = []
    for j, (path, start_yaw) in enumerate(paths):
        got = _path_samples(scene, path, start_yaw, config, rng, depth_rng)
        s = len(got["goal"])
        if s == 0:
            continue
        parts.append(SampleSet.from_columns({**got, "world_seed": np.full(s, world_seed),
                                             "path_index": np.full(s, first_path + j),
                                             "recovery": np.full(s, start_yaw is not None)}))
    out = SampleSet.concat(parts, config)
    return SampleSet(**out.arrays(), n_paths=len(paths))


def _reset_seed(world_seed: int, pair: int) -> int:
    return int(np.random.SeedSequence([world_seed, pair]).generate_state(1)[0])


def world_samples(world_seed: int, config: SampleConfig | None = None, env: Any = None) -> SampleSet:
    """All samples of world ``world_seed`` (module docstring); a pure function of its arguments.

    Args:
        env: a :func:`make_env` env of the same ``config`` to reuse (one per process saves its
            set-up); default a new one.

    A pair the env cannot draw (no start/goal at the required distance) is skipped, so a
    cramped world can give fewer samples, or none.
    """
    config = config or SampleConfig()
    if not is_int(world_seed) or world_seed < 0:
        raise ValueError(f"world_seed must be an integer >= 0; got {world_seed!r}")
    env = env if env is not None else make_env(config)
    parts: list[SampleSet] = []
    n_paths = 0
    for pair in range(config.pairs_per_world):
        try:
            _, info = env.reset(seed=_reset_seed(int(world_seed), pair),
                                options={"world_seed": int(world_seed)})
        except RuntimeError:  # the env found no start/goal pair in this world
            continue
        scene = Scene(env.world, env.ray_caster)
        part = pair_samples(scene, info["pose"][:2], info["goal"], config, seed=(int(world_seed), pair),
                            world_seed=int(world_seed), first_path=n_paths)
        n_paths += part.n_paths
        parts.append(part)
    out = SampleSet.concat(parts, config)
    return SampleSet(**out.arrays(), n_paths=n_paths)
