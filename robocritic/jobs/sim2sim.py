"""Sim-to-sim check: do the engines integrate the same physics as the analytic model?

The same seeded open-loop torque sequence is applied to the clipped pendulum in every engine
and to :meth:`robocritic.dynamics.PendulumModel.step` (the ODE integrated by scipy at tight
tolerance). The per-step state error against the ODE is the cheapest measure of how far a policy
trained on one engine is from the physics it was designed for.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import gymnasium as gym
import numpy as np

from robocritic.dynamics import PendulumModel

ENGINES = {
    "mujoco": ("robocritic/ClippedPendulum-v0", "mujoco"),
    "pybullet": ("robocritic/ClippedPendulumBullet-v0", "pybullet"),
}


def torque_sequence(steps: int, seed: int) -> np.ndarray:
    """Seeded open-loop torques, uniform in the actuator range, shape ``(steps,)`` N m."""
    return np.random.default_rng(seed).uniform(-2.0, 2.0, size=steps)


def pendulum_sim2sim(
    steps: int = 100, seed: int = 0, x0: tuple[float, float] = (0.1, 0.0)
) -> dict[str, Any]:
    """Max and final absolute state error of each available engine against the ODE.

    Returns ``{"torques": ..., "reference": (steps+1, 2), engine: {"states", "max_abs_error":
    [theta rad, theta_dot rad/s], "final_abs_error"} | {"unavailable": reason}}``.
    """
    import robocritic.envs  # noqa: F401 -- registers the ids

    if int(steps) != steps or steps < 1:
        raise ValueError(f"steps must be a positive integer; got {steps!r}")
    torques = torque_sequence(int(steps), seed)
    model = PendulumModel()
    reference = [np.asarray(x0, dtype=np.float64)]
    for u in torques:
        reference.append(model.step(reference[-1], [u]))
    ref = np.array(reference)
    result: dict[str, Any] = {"torques": torques, "reference": ref}
    for engine, (env_id, module) in ENGINES.items():
        if importlib.util.find_spec(module) is None:
            result[engine] = {"unavailable": f"{module} not installed (pip install robocritic[{module}])"}
            continue
        env = gym.make(env_id)
        _, info = env.reset(seed=seed, options={"state": list(x0)})
        states = [info["state"]]
        for u in torques:
            states.append(env.step([u])[4]["state"])
        env.close()
        err = np.abs(np.array(states) - ref)
        result[engine] = {
            "states": np.array(states),
            "max_abs_error": err.max(axis=0),
            "final_abs_error": err[-1],
        }
    return result


def format_sim2sim(result: dict[str, Any]) -> str:
    steps = len(result["torques"])
    lines = [f"pendulum, {steps} steps of 0.05 s, seeded torques in [-2, 2] N m, vs the scipy ODE",
             f"{'engine':10s} {'max |d theta| rad':>18s} {'max |d theta_dot| rad/s':>24s}"]
    for engine in ENGINES:
        r = result[engine]
        if "unavailable" in r:
            lines.append(f"{engine:10s} unavailable: {r['unavailable']}")
        else:
            lines.append(f"{engine:10s} {r['max_abs_error'][0]:18.3e} {r['max_abs_error'][1]:24.3e}")
    return "\n".join(lines)
