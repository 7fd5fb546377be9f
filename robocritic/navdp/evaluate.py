"""The NavDP closed loop: a local planner at ~4 Hz, a pure-pursuit tracker at the env's 10 Hz, and
the episode metrics of the NavDP benchmark.

Loop (:func:`run_episode`), on ``robocritic/NavPointGoal-v0``: a
:class:`~robocritic.navdp.navigator.Navigator` replans every ``replan_period`` s of simulated time
and tracks the chosen path with pure pursuit at the env's 10 Hz (stop-and-rotate and held
velocity commands as described there); the same class runs inside the ``navdp_planner`` node.

Methods (:data:`METHODS`): ``straight`` (:class:`~robocritic.navdp.local_planners.StraightToGoal`),
``dwa`` (:class:`~robocritic.navdp.local_planners.DWAPlanner`), ``navdp`` / ``navdp_critic_only`` /
``navdp_first`` / ``navdp_random`` (:class:`~robocritic.navdp.planner.NavDPPlanner` with critic
and goal-progress selection, the goal-blind critic alone, the first or a random sample) and ``expert`` (:class:`~robocritic.navdp.local_planners.ExpertPlanner`, privileged:
the upper bound). All see the same depth image, goal and odometry and use the same tracker.

Episodes (:class:`EpisodeSpec`) are paired: world seed ``w`` and episode index ``i`` give the env's
reset seed :func:`episode_seed` ``(w, i, attempt)`` (the first attempt whose goal is reachable,
:func:`reset_paired`), hence the same start and goal for every method.

Metrics per episode (:func:`run_episode`'s record): ``success`` (the env's: within its
``success_radius`` of the goal), ``collision`` (the base touched an obstacle; the env ends the
episode), ``stuck`` (the geodesic distance to the goal did not fall by ``stuck_progress`` m within
``stuck_time`` s; the episode ends), ``timeout`` (``max_time`` s without any of those); the
executed ``path_length``; SPL ``S * l / max(l, p)`` with ``p`` the path length and ``l`` the
Euclidean start-goal distance (``spl_euclidean``, as in the NavDP paper) or the expert's path
length (``spl_geodesic``); planning latency per call (ms). The geodesic distance and the expert
path use privileged geometry for scoring only; no planner but ``expert`` sees them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from robocritic.controllers.pure_pursuit import PurePursuitConfig
from robocritic.dynamics.unicycle import to_world_frame
from robocritic.envs.nav.world import World
from robocritic.navdp.expert import CostToGo, ExpertConfig, extract_path, solve_cost_to_go
from robocritic.navdp.local_planners import DWAConfig, ExpertPlanner, StraightConfig
from robocritic.navdp.navigator import (
    DEPTH_METHODS,
    NAVDP_SELECTION,
    DepthLoopPlanner,
    LoopPlanner,
    NavDPLoopPlanner,
    Navigator,
    NavigatorConfig,
    PlannerContext,
)
from robocritic.navdp.plan import Plan
from robocritic.utils.fields import check_int, check_real

__all__ = [
    "ENV_ID",
    "METHODS",
    "NAVDP_SELECTION",
    "EpisodeContext",
    "EpisodeSpec",
    "LoopConfig",
    "LoopPlanner",
    "episode_seed",
    "make_env",
    "make_loop_planner",
    "reset_paired",
    "run_episode",
]

ENV_ID = "robocritic/NavPointGoal-v0"
"""The env every method runs on."""

METHODS = ("straight", "dwa", "navdp", "navdp_critic_only", "navdp_first", "navdp_random", "expert")
"""Method names (module docstring)."""


#: Reset attempts per episode before giving up on a reachable start/goal pair.
RESET_TRIES = 20


def episode_seed(world_seed: int, episode: int, attempt: int = 0) -> int:
    """The env's reset seed of episode ``episode`` in world ``world_seed`` (a pure function);
    ``attempt`` > 0 redraws an episode whose goal turned out unreachable."""
    return int(np.random.SeedSequence([int(world_seed), int(episode), int(attempt)]).generate_state(1)[0])


@dataclass(frozen=True)
class EpisodeSpec:
    """One paired episode: the world and the index of the episode in it."""

    world_seed: int
    episode: int = 0

    def __post_init__(self) -> None:
        check_int("EpisodeSpec", "world_seed", self.world_seed, low=0)
        check_int("EpisodeSpec", "episode", self.episode, low=0)

    @property
    def seed(self) -> int:
        """The env's first reset seed (:func:`episode_seed`)."""
        return episode_seed(self.world_seed, self.episode)


def reset_paired(env: Any, spec: EpisodeSpec) -> tuple[dict[str, np.ndarray], dict[str, Any], int]:
    """Reset ``env`` to the episode ``spec``: the first of the seeds ``episode_seed(world, episode,
    attempt)``, ``attempt = 0, 1, ...``, whose goal is reachable (finite geodesic distance; the env
    may draw an unreachable goal when ``max_goal_distance`` is infinite). Returns the observation,
    the info and the seed used."""
    for attempt in range(RESET_TRIES):
        seed = episode_seed(spec.world_seed, spec.episode, attempt)
        obs, info = env.reset(seed=seed, options={"world_seed": spec.world_seed})
        if math.isfinite(float(info["geodesic_distance"])):
            return obs, info, seed
    raise RuntimeError(f"world {spec.world_seed}, episode {spec.episode}: no reachable goal in {RESET_TRIES} "
                       "resets")


@dataclass(frozen=True)
class LoopConfig:
    """Settings of the closed loop.

    Attributes:
        replan_period: simulated time between plans, s (0.25 = 4 Hz).
        max_time: episode time limit, s (timeout).
        stuck_time: the episode ends as stuck after this long without progress, s.
        stuck_progress: geodesic progress that counts, m.
        rotate_omega: turn rate of stop-and-rotate, rad/s.
        tracker: the pure-pursuit settings.
    """

    replan_period: float = 0.25
    max_time: float = 60.0
    stuck_time: float = 10.0
    stuck_progress: float = 0.25
    rotate_omega: float = 0.5
    tracker: PurePursuitConfig = field(default_factory=PurePursuitConfig)

    def __post_init__(self) -> None:
        for name in ("replan_period", "max_time", "stuck_time", "stuck_progress", "rotate_omega"):
            check_real("LoopConfig", name, getattr(self, name), low=0.0, low_open=True)
        if not isinstance(self.tracker, PurePursuitConfig):
            raise ValueError(f"LoopConfig.tracker must be a PurePursuitConfig; "
                             f"got {type(self.tracker).__name__}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def navigator(self) -> NavigatorConfig:
        """The replanning and tracking part."""
        return NavigatorConfig(self.replan_period, self.rotate_omega, self.tracker)


def make_env(preset: str = "default", config: LoopConfig | None = None, **kwargs: Any) -> Any:
    """The point-goal env on world preset ``preset``, its time limit one step beyond the loop's."""
    import gymnasium as gym

    import robocritic.envs  # noqa: F401 - registers the env ids

    config = config or LoopConfig()
    steps = math.ceil(config.max_time * float(kwargs.get("control_rate", 10.0)) - 1e-9)
    return gym.make(ENV_ID, world_spec=preset, max_episode_steps=steps + 1, **kwargs)


@dataclass(frozen=True, eq=False)
class EpisodeContext(PlannerContext):
    """A :class:`~robocritic.navdp.navigator.PlannerContext` (seed, camera) plus what only the
    privileged expert may use.

    Attributes:
        world: the world. goal: ``(2,)`` world frame [m] (the other planners get it in the robot
            frame through the observation). start: ``(3,)`` true start pose.
        cost_to_go: the expert's solve for this goal.
    """

    world: World
    goal: np.ndarray
    start: np.ndarray
    cost_to_go: CostToGo


class _ExpertLoop:
    """The privileged expert from the true pose (``info["pose"]``)."""

    def __init__(self, horizon: float = 3.0) -> None:
        self.horizon = horizon
        self.planner: ExpertPlanner | None = None

    def begin(self, context: PlannerContext) -> None:
        if not isinstance(context, EpisodeContext):
            raise ValueError("the expert needs an EpisodeContext (privileged world and goal)")
        self.planner = ExpertPlanner(context.world, context.goal, horizon=self.horizon,
                                     cost_to_go=context.cost_to_go)

    def plan(self, obs: dict[str, np.ndarray], info: dict[str, Any]) -> Plan:
        return self.planner.plan(np.asarray(info["pose"], dtype=np.float64))


def make_loop_planner(method: str, *, model: Any = None, straight: StraightConfig | None = None,
                      dwa: DWAConfig | None = None) -> LoopPlanner:
    """The loop planner of ``method`` (:data:`METHODS`); the NavDP methods need ``model`` (a
    :class:`~robocritic.navdp.model.NavDPNet`)."""
    if method not in METHODS:
        raise ValueError(f"method: unknown {method!r}; known: {', '.join(METHODS)}")
    if method in DEPTH_METHODS:
        return DepthLoopPlanner(method, straight, dwa)
    if method == "expert":
        return _ExpertLoop()
    if model is None:
        raise ValueError(f"method {method!r} needs a NavDP model (a checkpoint)")
    return NavDPLoopPlanner(model, NAVDP_SELECTION[method])


def _percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def run_episode(env: Any, planner: LoopPlanner, spec: EpisodeSpec, config: LoopConfig | None = None, *,
                method: str = "", keep_trace: bool = False, options: dict[str, Any] | None = None,
                clock: Callable[[], float] = time.perf_counter) -> dict[str, Any]:
    """Run one closed-loop episode (module docstring) and return its record.

    Args:
        env: a ``robocritic/NavPointGoal-v0`` env (:func:`make_env`).
        planner: the method's :class:`LoopPlanner`.
        spec: the paired episode.
        config: loop settings.
        method: the name written into the record.
        keep_trace: add ``"trace"``: the executed ``xy`` ``(steps + 1, 2)`` and the first plan's
            candidates (world frame), scores and best index (for plots).
        options: reset options instead of the paired draw (e.g. ``start`` and ``goal`` in a
            hand-built world); the env is reset once with ``seed=spec.seed``.
        clock: timer of the planning latency.

    Returns:
        A JSON-safe dict: ``method, world_seed, episode, seed, start, goal, euclidean_distance,
        geodesic_distance, expert_length, success, collision, stuck, timeout, outcome, steps,
        time_s, path_length, spl_euclidean, spl_geodesic, final_distance, min_clearance, plans,
        stop_plans, plan_ms_mean, plan_ms_p50, plan_ms_p99, plan_ms`` (every call, ms) and
        ``wall_s``.
    """
    config = config or LoopConfig()
    wall0 = time.perf_counter()
    if options is None:
        obs, info, seed = reset_paired(env, spec)
    else:
        seed = spec.seed
        obs, info = env.reset(seed=seed, options=options)
    nav = env.unwrapped
    world, goal = nav.world, np.asarray(nav.goal, dtype=np.float64).copy()
    start = np.asarray(info["pose"], dtype=np.float64).copy()
    ctg = solve_cost_to_go(world, goal, ExpertConfig(robot_radius=nav.robot.radius))
    try:
        expert_length = extract_path(ctg, world, start[:2]).length
    except ValueError:
        expert_length = math.nan
    geodesic = solve_cost_to_go(world, goal, ExpertConfig(robot_radius=nav.robot.radius, clearance_gain=0.0))
    navigator = Navigator(planner, config.navigator, clock=clock)
    navigator.begin(EpisodeContext(seed, nav.depth_config, world, goal, start, ctg))

    dt = float(nav.dt)
    n_max = math.ceil(config.max_time / dt - 1e-9)
    latencies: list[float] = []
    xy = [start[:2].copy()]
    stop_plans = 0
    first: dict[str, Any] | None = None
    t = 0.0
    best_geo = float(geodesic.value(start[:2]))
    last_progress = 0.0
    path_length, min_clearance = 0.0, float(info["clearance"])
    success = collision = stuck = False
    steps = 0
    for steps in range(1, n_max + 1):
        step = navigator.step(t, obs, info)
        plan = step.plan
        if plan is not None:
            latencies.append(step.plan_ms)
            stop_plans += int(plan.stop)
            if keep_trace and first is None:
                odom = np.asarray(obs["odom"], dtype=np.float64)
                first = {"candidates": to_world_frame(odom[:3], plan.candidates[..., :2]).round(4).tolist(),
                         "scores": [None if not math.isfinite(s) else float(s) for s in plan.scores],
                         "best": int(plan.best), "stop": bool(plan.stop)}
        action = step.action
        obs, _, terminated, truncated, info = env.step(action)
        t += dt
        pose = np.asarray(info["pose"], dtype=np.float64)
        path_length += float(np.hypot(*(pose[:2] - xy[-1])))
        xy.append(pose[:2].copy())
        min_clearance = min(min_clearance, float(info["clearance"]))
        success, collision = bool(info["success"]), bool(info["collision"])
        if terminated or truncated or success or collision:
            break
        g = float(geodesic.value(pose[:2]))
        if math.isfinite(g) and g <= best_geo - config.stuck_progress:
            best_geo, last_progress = g, t
        if t - last_progress >= config.stuck_time - 1e-9:
            stuck = True
            break
    timeout = not (success or collision or stuck)
    outcome = "success" if success else "collision" if collision else "stuck" if stuck else "timeout"
    euclid = float(np.hypot(*(goal - start[:2])))

    def spl(shortest: float) -> float | None:
        if not math.isfinite(shortest):
            return None
        return float(success) * shortest / max(shortest, path_length, 1e-12)

    record: dict[str, Any] = {
        "method": method, "world_seed": spec.world_seed, "episode": spec.episode, "seed": seed,
        "start": start.round(6).tolist(), "goal": goal.round(6).tolist(),
        "euclidean_distance": euclid, "geodesic_distance": float(nav.geodesic_distance),
        "expert_length": None if not math.isfinite(expert_length) else float(expert_length),
        "success": success, "collision": collision, "stuck": stuck, "timeout": timeout, "outcome": outcome,
        "steps": steps, "time_s": steps * dt, "path_length": path_length,
        "spl_euclidean": spl(euclid), "spl_geodesic": spl(expert_length),
        "final_distance": float(np.hypot(*(goal - xy[-1]))), "min_clearance": min_clearance,
        "plans": len(latencies), "stop_plans": stop_plans,
        "plan_ms_mean": float(np.mean(latencies)) if latencies else None,
        "plan_ms_p50": _percentile(latencies, 50), "plan_ms_p99": _percentile(latencies, 99),
        "plan_ms": latencies,
        "wall_s": time.perf_counter() - wall0,
    }
    if keep_trace:
        record["trace"] = {"xy": np.array(xy).round(4).tolist(), "first_plan": first}
    return record
