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
| ``minmod_reflex_1khz`` | scripted | :class:`ReflexBackstop` every tick | min. modification; the reflex over :data:`BACKSTOP_THRESHOLD` |

Methods whose names start with ``reflex`` or ``minmod`` need a critic (a :class:`RiskModel`).
The scripted policy is the one of the env (:meth:`~robocritic.bresa.tasks.TaskSpec.policy`:
its geometry and tuned defaults); ``low_stiffness`` sets every task axis to :data:`LOW_STIFFNESS`.

Per task (:func:`robocritic.bresa.tasks.task_spec`, by env id): press-and-wipe envs use
:class:`ScriptedPressWipe` and the filters' defaults (limited force normal, along the last axis);
``robocritic/ArmPegInHole-v0`` uses :class:`~robocritic.bresa.peg_policies.ScriptedPegInHole` and
the filters configured for a LATERAL limit (comply along x, back off up;
:mod:`robocritic.bresa.filters`); ``robocritic/ArmGroove-v0`` uses
:class:`~robocritic.bresa.groove_policies.ScriptedGrooveFollow` and the same lateral configuration.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from robocritic.bresa.features import FeatureLayout
from robocritic.bresa.filters import (
    DecisionRateCheck,
    ForceClampFilter,
    MinimalModificationFilter,
    ReflexBackstop,
    ReflexFilter,
    RiskModel,
)
from robocritic.bresa.hierarchy import HierarchyConfig, TaskPolicy
from robocritic.bresa.tasks import LOW_STIFFNESS, task_spec
from robocritic.interfaces import SafetyFilter

__all__ = ["BACKSTOP_THRESHOLD", "LOW_STIFFNESS", "METHODS", "build_method", "needs_critic", "task_axes"]

_Builder = Callable[..., tuple[TaskPolicy, SafetyFilter | None]]
CONTROL_DT = 0.001
"""Control period of the arm envs [s] (the decision period is ``decision_ticks`` of it)."""
ENV_ID = "robocritic/ArmPressWipe-v0"
"""The env the methods are built for by default (the planar arm)."""


def task_axes(env_id: str) -> int:
    """Task axes ``m`` of the registered Bresa env ``env_id`` (press-and-wipe, peg-in-hole or groove)."""
    return task_spec(env_id).n_task


def _setup(kw: dict[str, Any], name: str) -> dict[str, Any]:
    return dict(task_spec(kw.get("env_id", ENV_ID)).filter_setup.get(name, {}))


def _scripted(config: HierarchyConfig, policy_kwargs: dict[str, Any], **overrides: Any) -> TaskPolicy:
    policy_kwargs = dict(policy_kwargs)  # the caller's dict keeps its env_id (the filters read it)
    task = task_spec(policy_kwargs.pop("env_id", ENV_ID))
    return task.policy("scripted", **{"decision_period": config.decision_ticks * CONTROL_DT, **policy_kwargs,
                                      **overrides})


def _low_stiffness(config: HierarchyConfig, policy_kwargs: dict[str, Any]) -> TaskPolicy:
    return _scripted(config, policy_kwargs, **task_spec(policy_kwargs.get("env_id", ENV_ID)).low_stiffness)


def _filter(make: Callable[..., SafetyFilter], kind: str) -> Callable[..., SafetyFilter]:
    """``(critic, layout, policy_kwargs) -> make(critic, layout, **the task's settings of kind)``."""
    return lambda critic, layout, kw: make(critic, layout, **_setup(kw, kind))


_reflex = _filter(ReflexFilter, "reflex")
_minmod = _filter(MinimalModificationFilter, "minmod")


BACKSTOP_THRESHOLD = 0.99
"""Risk over which :class:`ReflexBackstop`'s reflex takes over from the minimal-modification
filter (chosen on ArmPressWipe-v1's tuning seeds: the highest task success of 0.9, 0.95, 0.99)."""


def _backstop(critic: RiskModel, layout: FeatureLayout, kw: dict[str, Any]) -> SafetyFilter:
    # the task's reflex settings (its axes), then the backstop's threshold and overrides
    reflex = {**_setup(kw, "reflex"), "threshold": BACKSTOP_THRESHOLD, **_setup(kw, "backstop")}
    return ReflexBackstop(_minmod(critic, layout, kw), ReflexFilter(critic, layout, **reflex))


def _critic_method(make: Callable[..., SafetyFilter], decision_rate: bool) -> _Builder:
    def build(critic: RiskModel | None, layout: FeatureLayout, config: HierarchyConfig, policy_kwargs: dict):
        if critic is None:
            raise ValueError("this method needs a critic (--critic PATH)")
        inner = make(critic, layout, policy_kwargs)
        policy = _scripted(config, policy_kwargs)
        return policy, DecisionRateCheck(inner, config.decision_ticks) if decision_rate else inner

    return build


METHODS: dict[str, _Builder] = {
    "none": lambda critic, layout, config, kw: (_scripted(config, kw), None),
    "low_stiffness": lambda critic, layout, config, kw: (_low_stiffness(config, kw), None),
    "force_clamp": lambda critic, layout, config, kw: (_scripted(config, kw),
                                                       ForceClampFilter(layout, **_setup(kw, "force_clamp"))),
    "reflex_20hz": _critic_method(_reflex, decision_rate=True),
    "minmod_20hz": _critic_method(_minmod, decision_rate=True),
    "reflex_1khz": _critic_method(_reflex, decision_rate=False),
    "minmod_1khz": _critic_method(_minmod, decision_rate=False),
    "minmod_reflex_1khz": _critic_method(_backstop, decision_rate=False),
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
    m = task_axes(env_id)
    if layout.m != m:
        raise ValueError(f"layout.m is {layout.m} but {env_id} has m = {m} task axes")
    kwargs = dict(policy_kwargs or {})
    if "env_id" in kwargs:
        raise ValueError("policy_kwargs: pass the env as env_id=, not inside policy_kwargs")
    kwargs["env_id"] = env_id
    return METHODS[name](critic, layout, config, kwargs)
