"""The safety methods compared on a Bresa task, each as a (task policy, safety filter) pair.

| name | task policy | filter | what it tests |
|---|---|---|---|
| ``none`` | :class:`ScriptedPressWipe` | -- | the task without any safety layer |
| ``low_stiffness`` | scripted, ``K = 150 N/m`` both axes | -- | fixed compliance: safe but weak |
| ``force_clamp`` | scripted | :class:`ForceClampFilter` every tick | the analytic, critic-free cap |
| ``reflex_20hz`` | scripted | :class:`ReflexFilter` at the decision rate | the critic checked only at 20 Hz |
| ``minmod_20hz`` | scripted | :class:`MinimalModificationFilter` at the decision rate | the same, minimal modification |
| ``reflex_1khz`` | scripted | :class:`ReflexFilter` every tick | the Bresa reflex |
| ``minmod_1khz`` | scripted | :class:`MinimalModificationFilter` every tick | one batched critic call per tick |

Methods whose names start with ``reflex`` or ``minmod`` need a critic (a :class:`RiskModel`).
The scripted policy is the one of the env (:func:`~robocritic.bresa.policies.policy_for_env`:
its geometry and tuned defaults); ``low_stiffness`` sets every task axis to :data:`LOW_STIFFNESS`.

Per task (:data:`TASK_SETUPS`, by env id): press-and-wipe envs use :class:`ScriptedPressWipe` and
the filters' defaults (limited force normal, along the last axis); ``robocritic/ArmPegInHole-v0``
uses :class:`~robocritic.bresa.peg_policies.ScriptedPegInHole` and the filters configured for a
LATERAL limit (comply along x, back off up; :mod:`robocritic.bresa.filters`);
``robocritic/ArmGroove-v0`` uses :class:`~robocritic.bresa.groove_policies.ScriptedGrooveFollow`
and the same lateral configuration.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from robocritic.bresa.features import FeatureLayout
from robocritic.bresa.filters import (
    DecisionRateCheck,
    ForceClampFilter,
    MinimalModificationFilter,
    RecoveryPolicy,
    ReflexFilter,
    RiskModel,
)
from robocritic.bresa.groove_policies import GROOVE_ENV_ID, GROOVE_GEOMETRY, ScriptedGrooveFollow
from robocritic.bresa.hierarchy import HierarchyConfig, TaskPolicy
from robocritic.bresa.peg_policies import PEG_ENV_ID, PEG_GEOMETRY, ScriptedPegInHole
from robocritic.bresa.policies import TASK_GEOMETRY, ScriptedPressWipe, policy_for_env
from robocritic.interfaces import SafetyFilter

__all__ = ["LOW_STIFFNESS", "METHODS", "TASK_SETUPS", "build_method", "needs_critic", "task_axes"]

LOW_STIFFNESS = 150.0
"""Stiffness of the ``low_stiffness`` baseline [N/m] (the bottom of the stiffness range)."""

_Builder = Callable[..., tuple[TaskPolicy, SafetyFilter | None]]
CONTROL_DT = 0.001
"""Control period of the arm envs [s] (the decision period is ``decision_ticks`` of it)."""
ENV_ID = "robocritic/ArmPressWipe-v0"
"""The env the methods are built for by default (the planar arm)."""

TASK_SETUPS: dict[str, dict[str, Any]] = {
    PEG_ENV_ID: {
        "reflex": {"recovery": RecoveryPolicy(retreat=0.003, soften_axes=(0,))},
        "minmod": {"shift_axis": -1, "soften_axis": 0, "retreats": (0.0, 0.001, 0.002, 0.003, 0.005)},
        "force_clamp": {"axis": 0, "two_sided": True, "force_limit": 10.0, "margin": 3.0},
    },
    GROOVE_ENV_ID: {
        "reflex": {"recovery": RecoveryPolicy(retreat=0.003, soften_axes=(0,))},
        "minmod": {"shift_axis": -1, "soften_axis": 0, "retreats": (0.0, 0.001, 0.002, 0.003, 0.005)},
        "force_clamp": {"axis": 0, "two_sided": True, "force_limit": 12.0, "margin": 3.0},
    },
}
"""Filter settings per env id that differ from the filters' defaults (the press-and-wipe envs
have none). Peg-in-hole: the limited force is lateral (x), so the reflex's recovery complies in x
(soft, setpoint at the TCP) and backs off 3 mm up; minimal modification softens x and backs off
up by up to 5 mm (the slot is 25 mm deep: a 2 cm retreat would pull the peg out); the clamp caps
the lateral spring force both ways at the env's 10 N limit minus 3 N. Groove following: the same
(the limited force is lateral too: the end walls and the obstacle's flanks; backing off up lets the
stylus ride over the obstacle and stays inside the 6 mm groove), the clamp at its 12 N limit minus
3 N."""


def task_axes(env_id: str) -> int:
    """Task axes ``m`` of the registered Bresa env ``env_id`` (press-and-wipe, peg-in-hole or groove)."""
    if env_id in PEG_GEOMETRY:
        return int(PEG_GEOMETRY[env_id]["n_task"])
    if env_id in GROOVE_GEOMETRY:
        return int(GROOVE_GEOMETRY[env_id]["n_task"])
    if env_id in TASK_GEOMETRY:
        return int(TASK_GEOMETRY[env_id]["n_task"])
    known = sorted(TASK_GEOMETRY) + sorted(PEG_GEOMETRY) + sorted(GROOVE_GEOMETRY)
    raise ValueError(f"env_id: no press-and-wipe, peg-in-hole or groove geometry for {env_id!r}; "
                     f"known: {known}")


def _setup(kw: dict[str, Any], name: str) -> dict[str, Any]:
    return TASK_SETUPS.get(kw.get("env_id", ENV_ID), {}).get(name, {})


def _scripted(config: HierarchyConfig, policy_kwargs: dict[str, Any],
              **overrides: Any) -> ScriptedPressWipe | ScriptedPegInHole | ScriptedGrooveFollow:
    policy_kwargs = dict(policy_kwargs)  # the caller's dict keeps its env_id (the filters read it)
    env_id = policy_kwargs.pop("env_id", ENV_ID)
    kwargs = {"decision_period": config.decision_ticks * CONTROL_DT, **policy_kwargs, **overrides}
    if env_id in PEG_GEOMETRY:
        geometry = {k: v for k, v in PEG_GEOMETRY[env_id].items() if k != "n_task"}
        return ScriptedPegInHole(**{**geometry, **kwargs})
    if env_id in GROOVE_GEOMETRY:
        geometry = {k: v for k, v in GROOVE_GEOMETRY[env_id].items() if k != "n_task"}
        return ScriptedGrooveFollow(**{**geometry, **kwargs})
    if env_id == ENV_ID:  # the planar arm: the constructor's defaults, exactly as before
        return ScriptedPressWipe(**kwargs)
    policy = policy_for_env("scripted", env_id, **kwargs)
    assert isinstance(policy, ScriptedPressWipe)
    return policy


def _low_stiffness(
    config: HierarchyConfig, policy_kwargs: dict[str, Any],
) -> ScriptedPressWipe | ScriptedPegInHole | ScriptedGrooveFollow:
    env_id = policy_kwargs.get("env_id", ENV_ID)
    if env_id in PEG_GEOMETRY:  # the approach's x stiffness too (the insertion's is low already)
        return _scripted(config, policy_kwargs, stiffness=(LOW_STIFFNESS,) * 2, insert_stiffness_x=LOW_STIFFNESS)
    if env_id in GROOVE_GEOMETRY:  # the approach and the traverse
        return _scripted(config, policy_kwargs, stiffness=(LOW_STIFFNESS,) * 2,
                         traverse_stiffness=(LOW_STIFFNESS,) * 2)
    m = TASK_GEOMETRY.get(env_id, {}).get("n_task", 2)
    return _scripted(config, policy_kwargs, stiffness=(LOW_STIFFNESS,) * m)


def _critic_method(make: Callable[..., SafetyFilter], kind: str, decision_rate: bool) -> _Builder:
    def build(critic: RiskModel | None, layout: FeatureLayout, config: HierarchyConfig, policy_kwargs: dict):
        if critic is None:
            raise ValueError("this method needs a critic (--critic PATH)")
        inner = make(critic, layout, **_setup(policy_kwargs, kind))
        policy = _scripted(config, policy_kwargs)
        return policy, DecisionRateCheck(inner, config.decision_ticks) if decision_rate else inner

    return build


METHODS: dict[str, _Builder] = {
    "none": lambda critic, layout, config, kw: (_scripted(config, kw), None),
    "low_stiffness": lambda critic, layout, config, kw: (_low_stiffness(config, kw), None),
    "force_clamp": lambda critic, layout, config, kw: (_scripted(config, kw),
                                                       ForceClampFilter(layout, **_setup(kw, "force_clamp"))),
    "reflex_20hz": _critic_method(ReflexFilter, "reflex", decision_rate=True),
    "minmod_20hz": _critic_method(MinimalModificationFilter, "minmod", decision_rate=True),
    "reflex_1khz": _critic_method(ReflexFilter, "reflex", decision_rate=False),
    "minmod_1khz": _critic_method(MinimalModificationFilter, "minmod", decision_rate=False),
}
"""Every method by name (module docstring), in table order."""


def needs_critic(name: str) -> bool:
    """Whether method ``name`` scores commands with a critic."""
    return name.startswith(("reflex", "minmod"))


def build_method(
    name: str,
    critic: RiskModel | None,
    layout: FeatureLayout,
    config: HierarchyConfig,
    policy_kwargs: dict[str, Any] | None = None,
    *,
    env_id: str = ENV_ID,
) -> tuple[TaskPolicy, SafetyFilter | None]:
    """A fresh (task policy, filter) pair for method ``name`` on the env ``env_id``;
    ``policy_kwargs`` go to :class:`ScriptedPressWipe` (e.g. ``{"approach_speed": 0.5}``) over
    the env's defaults. ``layout.m`` must be the env's task size."""
    if name not in METHODS:
        raise ValueError(f"method: unknown {name!r}; known: {', '.join(METHODS)}")
    if env_id not in TASK_GEOMETRY and env_id not in PEG_GEOMETRY and env_id not in GROOVE_GEOMETRY:
        raise ValueError(f"env_id: no press-and-wipe geometry for {env_id!r}; known: {sorted(TASK_GEOMETRY)} "
                         f"(peg-in-hole: {sorted(PEG_GEOMETRY)}; groove: {sorted(GROOVE_GEOMETRY)})")
    m = task_axes(env_id)
    if layout.m != m:
        raise ValueError(f"layout.m is {layout.m} but {env_id} has m = {m} task axes")
    kwargs = dict(policy_kwargs or {})
    if "env_id" in kwargs:
        raise ValueError("policy_kwargs: pass the env as env_id=, not inside policy_kwargs")
    kwargs["env_id"] = env_id
    return METHODS[name](critic, layout, config, kwargs)
