"""Bresa as a node graph (``arm_sim_bridge`` + ``bresa_controller``) in lockstep on the in-process
transport, checked against :func:`~robocritic.bresa.hierarchy.run_episode`.

Both nodes run in this process on one :class:`~robocritic.ros.transport.InProcessBus` (messages
go through their CDR bytes, as over DDS). In lockstep the env steps only with the torque computed
from the state of that very tick, the bridge publishes the env's true float64 joint state and the
raw contact wrench, and the controller runs the env's own force filter, the same arm model
arithmetic (MuJoCo's forward pass on the same MJCF) and the same :class:`TwoRateLoop`; so the
torques, the forces and the loop's per-tick features and commands must equal the in-process run
*bit for bit* (:data:`TOLERANCE` is 0). A difference means a lost, reordered or rejected
message (the counters in the record say which) or a divergence of the two arithmetic paths.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from robocritic.bresa.features import FeatureLayout
from robocritic.bresa.hierarchy import EpisodeTrace, HierarchyConfig, run_episode
from robocritic.bresa.methods import build_method
from robocritic.nodes.arm_sim_bridge import ArmSimBridgeNode, make_arm_env
from robocritic.nodes.bresa_controller import BresaControllerNode, resolve_env
from robocritic.profiles import load_profile
from robocritic.ros.transport import InProcessBus

TOLERANCE = 0.0
"""Largest accepted difference graph vs in-process (torques [N m], forces [N], features, commands)."""
_BUS_STEP_S = 0.05  # virtual wall time per bus step (unpaced lockstep closes many ticks per step)


@dataclass(frozen=True)
class ArmGraphConfig:
    """Settings of :func:`run_arm_bresa_graph`.

    Attributes:
        method: Bresa method (``force_clamp`` needs no critic). critic: exported critic ``.npz``.
        seed: env reset and policy seed. steps: control ticks (1 ms each).
        surface_offset: table offset [m] (``None``: drawn from the seed).
        profile: arm hardware profile. env_id: the arm's env (``""``: the profile's ``sim.env_id``).
    """

    method: str = "force_clamp"
    critic: str = ""
    seed: int = 0
    steps: int = 300
    surface_offset: float | None = 0.02
    profile: str = "arm3_sim"
    env_id: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or not 1 <= self.steps <= 2500:
            raise ValueError(f"ArmGraphConfig.steps must be an integer in [1, 2500]; got {self.steps!r}")


def _graph(config: ArmGraphConfig) -> tuple[ArmSimBridgeNode, BresaControllerNode, float]:
    bus = InProcessBus()
    env_id = resolve_env(load_profile(config.profile), config.env_id)
    bridge_params: dict[str, Any] = {"profile": config.profile, "env_id": env_id, "seed": config.seed,
                                     "max_steps": config.steps, "real_time_factor": 0.0}  # fmt: skip
    if config.surface_offset is not None:
        bridge_params["surface_offset"] = float(config.surface_offset)
    bridge = ArmSimBridgeNode(bus.create_node("arm_sim_bridge", parameters=bridge_params))
    ctl = BresaControllerNode(bus.create_node("bresa_controller", parameters={
        "profile": config.profile, "env_id": env_id, "use_sim_time": True, "method": config.method,
        "critic": config.critic, "seed": config.seed}))  # fmt: skip
    start = time.perf_counter()
    for _ in range(10_000):  # a stalled graph ends here rather than hanging
        if bridge.logic.done:
            break
        bus.step(_BUS_STEP_S)
    bus.spin_until_idle()  # the controller's answer to the final state
    return bridge, ctl, time.perf_counter() - start


def run_reference(config: ArmGraphConfig) -> tuple[EpisodeTrace, np.ndarray]:
    """The in-process run: ``(trace, torques (steps, n))`` of :func:`run_episode` on the same env."""
    profile = load_profile(config.profile)
    cfg = HierarchyConfig(decision_ticks=round(profile.critic_rate_hz / profile.control_rate_hz),
                          max_ticks=config.steps)  # fmt: skip
    critic = None
    if config.critic:
        from robocritic.bresa.export import load_exported

        critic, _ = load_exported(config.critic)
    env_id = resolve_env(profile, config.env_id)  # the arm and its task's scripted policy, as the nodes
    policy, safety_filter = build_method(config.method, critic, FeatureLayout(m=2), cfg, env_id=env_id)
    torques: list[np.ndarray] = []
    env = _Recorder(make_arm_env(env_id), torques)
    options = None if config.surface_offset is None else {"surface_offset": float(config.surface_offset)}
    try:
        trace = run_episode(env, policy, config=cfg, safety_filter=safety_filter, seed=config.seed,
                            options=options)
    finally:
        env.close()
    return trace, np.array(torques)


class _Recorder(gym.Wrapper):
    """Keeps every action the loop steps the env with."""

    def __init__(self, env: gym.Env, actions: list[np.ndarray]) -> None:
        super().__init__(env)
        self.actions = actions

    def step(self, action: Any):
        self.actions.append(np.array(action, dtype=np.float64))
        return self.env.step(action)


def run_arm_bresa_graph(config: ArmGraphConfig) -> dict[str, Any]:
    """Run the graph and the in-process reference; the record (JSON-ready).

    ``summary``: the largest differences (torques, forces, features, commands, intervention
    flags), ``match`` (all within :data:`TOLERANCE`), the counters of both nodes and the wall time.
    """
    bridge, ctl, wall_s = _graph(config)
    trace, ref_torques = run_reference(config)
    steps = config.steps
    episode = bridge.logic.episodes[0]
    torques = np.array(episode["actions"])
    forces = np.array(list(bridge.forces))  # (steps, 2): raw, filtered after each step
    ticks = list(ctl.bresa.tick.trace)[:steps]  # the controller also answered the final state
    graph = {
        "torque": torques,
        "force_raw": forces[:, 0] if forces.size else forces,
        "force_filtered": forces[:, 1] if forces.size else forces,
        "state_features": np.array([t.features for t in ticks]),
        "nominal": np.array([t.nominal for t in ticks]),
        "applied": np.array([t.applied for t in ticks]),
        "intervened": np.array([t.intervened for t in ticks], dtype=float),
    }
    reference = {
        "torque": ref_torques, "force_raw": trace.force_raw, "force_filtered": trace.force_filtered,
        "state_features": trace.state_features, "nominal": trace.nominal, "applied": trace.applied,
        "intervened": trace.intervened.astype(float),
    }  # fmt: skip
    diffs = {k: _max_diff(graph[k], reference[k]) for k in graph}
    return {
        "config": config.__dict__,
        "tolerance": TOLERANCE,
        "summary": {
            "ticks": int(torques.shape[0]),
            "max_diff": diffs,
            "match": all(d <= TOLERANCE for d in diffs.values()),
            "interventions": int(np.count_nonzero(reference["intervened"])),
            "peak_force_filtered": float(trace.peak_force_filtered),
            "wall_time_s": wall_s,
        },
        "bridge": bridge.report(),
        "controller": ctl.report(),
    }


def _max_diff(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b), initial=0.0)) if a.shape == b.shape else float("inf")


__all__ = ["TOLERANCE", "ArmGraphConfig", "run_arm_bresa_graph", "run_reference"]
