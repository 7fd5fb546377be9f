"""Bad env inputs (category ``envs``) for every registered env id, PyBullet ones included:
actions, ``reset`` options and constructor settings.

The rule (``harness.expect_clear``): a bad input raises ``ValueError`` naming the field *and*
the env; documented safe behaviour is accepted and checked (an action beyond the actuator limits
is saturated, and the applied action is the clipped one). A simulation that leaves the finite
numbers raises :class:`~robocritic.envs.SimulationDiverged` instead of returning a normal step.
Each test builds its envs once and reuses them across examples; constructor cases build the env
class directly (``gym.make`` adds Gymnasium's own ``render_mode`` handling, not the env's).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import os
from collections.abc import Callable, Iterator
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.envs.registration import load_env_creator
from harness import bounded, expect_clear
from hypothesis import given, settings
from hypothesis import strategies as st
from robocritic.envs import ENV_IDS, DomainRandomization, SimulationDiverged
from robocritic.envs.base.randomization import (
    MAX_ACTUATOR_DELAY,
    MAX_JOINT_DAMPING,
    MAX_OBS_NOISE_STD,
    MAX_PUSH_FORCE,
    MAX_SCALE,
)

CATEGORY = "envs"
LONG = os.environ.get("HYPOTHESIS_PROFILE") == "long"
#: examples of a property that builds an env per example (the default profile stays quick)
BUILD_EXAMPLES = 60 if LONG else 8
PYBULLET = {"robocritic/ClippedPendulumBullet-v0", "robocritic/ArmPressWipeBullet-v0"}
NAV = {"robocritic/NavPointGoal-v0", "robocritic/NavExplore-v0"}
#: Constructor settings every example uses: a fixed world, so a reset does not generate one.
FIXED = {env_id: {"world_seed": 0} for env_id in NAV}

#: ``reset`` option keys each env documents: "vector" options with their size, "scalar" options.
_ARM_SCALARS = ("contact_stiffness_scale",)
OPTIONS: dict[str, dict[str, Any]] = {
    "robocritic/ClippedPendulum-v0": {"state": 2},
    "robocritic/ClippedPendulumBullet-v0": {"state": 2},
    "robocritic/ClippedPendulum-v1": {"state": 2},
    "robocritic/SafetyCSTR-v0": {"state": 4},
    "robocritic/ArmPressWipe-v0": {"state": 6, "scalars": ("surface_offset",) + _ARM_SCALARS},
    "robocritic/ArmPressWipeBullet-v0": {"state": 6, "scalars": ("surface_offset",) + _ARM_SCALARS},
    "robocritic/Arm7PressWipe-v0": {"state": 14, "scalars": ("surface_offset",) + _ARM_SCALARS},
    "robocritic/ArmPressWipe-v1": {"state": 6, "scalars": ("surface_offset",) + _ARM_SCALARS},
    "robocritic/Arm7PressWipe-v1": {"state": 14, "scalars": ("surface_offset",) + _ARM_SCALARS},
    "robocritic/ArmPegInHole-v0": {"state": 6, "scalars": ("hole_offset", "table_offset") + _ARM_SCALARS},
    "robocritic/ArmGroove-v0": {"state": 6, "scalars": (
        "groove_offset", "table_offset", "obstacle_height", "obstacle_position", "obstacle_speed")
        + _ARM_SCALARS},
    "robocritic/NavPointGoal-v0": {"state": 3, "start": 3, "goal": 2, "seeds": ("world_seed",)},
    "robocritic/NavExplore-v0": {"state": 3, "start": 3, "seeds": ("world_seed",)},
}

#: Constructor settings per env and what each must be (the kind picks the bad values).
_PHYSICS = ("mass_scale", "friction_scale", "joint_damping", "push_force")
_PENDULUM_KWARGS = {"terminate_on_violation": "bool", "violation_penalty": "nonneg", "model": "object",
                    "render_mode": "render_mode"}
_ARM_KWARGS = {**_PENDULUM_KWARGS, "force_limit": "positive", "contact_stiffness_range": "range",
               "force_filter_tau": "positive", "push_duration": "positive_bounded"}
_NAV_KWARGS = {"world_spec": "world_spec", "world_seed": "seed", "world": "object", "robot": "object",
               "depth": "object", "scan": "object", "control_rate": "positive_bounded",
               "start_clearance": "positive_bounded", "terminate_on_collision": "bool",
               "collision_penalty": "nonneg", "render_mode": "render_mode"}
KWARGS: dict[str, dict[str, str]] = {
    "robocritic/ClippedPendulum-v0": _PENDULUM_KWARGS,
    "robocritic/ClippedPendulumBullet-v0": _PENDULUM_KWARGS,
    "robocritic/ClippedPendulum-v1": {**_PENDULUM_KWARGS, "observation": "observation"},
    "robocritic/SafetyCSTR-v0": _PENDULUM_KWARGS,
    "robocritic/ArmPressWipe-v0": {**_ARM_KWARGS, "surface_offset_range": "range"},
    "robocritic/ArmPressWipeBullet-v0": {**_ARM_KWARGS, "surface_offset_range": "range"},
    "robocritic/Arm7PressWipe-v0": {**_ARM_KWARGS, "surface_offset_range": "range"},
    "robocritic/ArmPressWipe-v1": {**_ARM_KWARGS, "surface_offset_range": "range"},
    "robocritic/Arm7PressWipe-v1": {**_ARM_KWARGS, "surface_offset_range": "range"},
    "robocritic/ArmPegInHole-v0": {**_ARM_KWARGS, "hole_offset_range": "range", "table_offset_range": "range"},
    "robocritic/ArmGroove-v0": {**_ARM_KWARGS, "groove_offset_range": "range", "table_offset_range": "range",
                                "obstacle_height_range": "range", "obstacle_speed_range": "range"},
    "robocritic/NavPointGoal-v0": {**_NAV_KWARGS, "goal_clearance": "positive_bounded",
                                   "min_goal_distance": "nonneg_bounded", "max_goal_distance": "above_min",
                                   "success_radius": "positive", "success_reward": "nonneg"},
    "robocritic/NavExplore-v0": {**_NAV_KWARGS, "travel_weight": "nonneg", "area_weight": "nonneg",
                                 "coverage_radius": "positive_bounded", "coverage_cell": "tiny_cell"},
}
#: Randomisation fields an env takes besides actuator_delay and obs_noise_std (none: the ODE
#: reactor and the kinematic robot refuse the physical ones).
PHYSICAL_RANDOMIZATION = {env_id: () if env_id in NAV or "CSTR" in env_id else _PHYSICS for env_id in ENV_IDS}


def _ids() -> list:
    missing = importlib.util.find_spec("pybullet") is None
    marks = [pytest.mark.skip(reason="needs the 'pybullet' extra")] if missing else []
    return [pytest.param(i, marks=marks if i in PYBULLET else [], id=i.split("/")[1]) for i in ENV_IDS]


def _name(env_id: str) -> str:
    return env_id.split("/")[1]


@pytest.fixture(autouse=True)
def _mujoco_log_in_tmp(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """MuJoCo appends its warnings (a diverged case raises some) to MUJOCO_LOG.TXT in the working
    directory: keep it out of the checkout."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def make() -> Iterator[Callable[[str], gym.Env]]:
    """``make(env_id)``: the env of this test (built once, reset to seed 0 on first use)."""
    envs: dict[str, gym.Env] = {}

    def get(env_id: str) -> gym.Env:
        if env_id not in envs:
            envs[env_id] = gym.make(env_id, **FIXED.get(env_id, {}))
            envs[env_id].reset(seed=0)
        return envs[env_id]

    yield get
    for env in envs.values():
        env.close()


def _clear(call: Callable[[], Any], env_id: str, mentions: str | list[str], **kwargs: Any) -> None:
    """:func:`expect_clear` for an env case: the error must also name the env."""
    exc = expect_clear(CATEGORY, call, mentions=mentions, **kwargs)
    if exc is not None and isinstance(exc, ValueError):
        assert _name(env_id) in str(exc), f"the error does not name the env {_name(env_id)}: {exc}"


# ---- strategies --------------------------------------------------------------------------------
def non_real() -> st.SearchStrategy:
    """Scalars that are no real numbers, though numpy would convert most of them."""
    return st.one_of(
        st.text(max_size=12), st.binary(max_size=12), st.booleans(), st.booleans().map(np.bool_),
        st.complex_numbers(max_magnitude=1e6), st.none(), st.builds(object),
        st.integers(-10**9, 10**9).map(lambda s: np.datetime64(s, "s")),
        st.integers(-10**9, 10**9).map(lambda s: np.timedelta64(s, "ms")),
        st.fractions(max_denominator=10), st.dictionaries(st.text(max_size=3), st.floats(), max_size=2),
    )


def huge_ints() -> st.SearchStrategy:
    """Python integers beyond the float range (``float(v)`` overflows)."""
    return st.integers(309, 2000).flatmap(lambda e: st.sampled_from([10**e, -(10**e)]))


NON_FINITE = st.sampled_from([math.nan, math.inf, -math.inf])


VECTOR_FAULTS = ("entry", "dtype", "non_finite", "size", "ndim", "scalar")


@st.composite
def bad_vector(draw: st.DrawFn, size: int, faults: tuple[str, ...] = VECTOR_FAULTS) -> Any:
    """A value for a vector field of ``size`` entries that must be refused: non-real entries or
    dtypes, non-finite or huge-int entries, a wrong size or number of axes, a bad scalar."""
    kind = draw(st.sampled_from(faults))
    base = [0.0] * size
    i = draw(st.integers(0, size - 1))
    if kind == "entry":
        base[i] = draw(st.one_of(non_real(), huge_ints()))
        return draw(st.sampled_from([base, tuple(base)]))
    if kind == "dtype":
        dtype = draw(st.sampled_from([bool, complex, str, bytes, "datetime64[s]", "timedelta64[s]", object]))
        arr = np.zeros(size, dtype=dtype)
        if dtype is object:
            arr[i] = draw(non_real())
        return arr
    if kind == "non_finite":
        base[i] = draw(NON_FINITE)
        return draw(st.sampled_from([base, np.array(base), np.array(base, dtype=np.float32)]))
    if kind == "size":
        n = draw(st.integers(0, 40).filter(lambda k: k != size))
        return draw(st.sampled_from([[0.0] * n, np.zeros(n)]))
    if kind == "ndim":
        return np.zeros(draw(st.sampled_from([(2, size), (1, 1, size), (size + 1, 1)])))
    return draw(st.one_of(non_real(), NON_FINITE))  # a scalar: only a 1-entry vector takes one


def bad_scalar() -> st.SearchStrategy:
    """A value for a bounded scalar option (all of them lie well inside [-1e3, 1e3])."""
    return st.one_of(non_real(), NON_FINITE, huge_ints(), st.floats(1e3, 1e308), st.floats(-1e308, -1e3),
                     st.lists(st.floats(0, 0.001), min_size=1, max_size=2))


def bad_pair(lower: float, upper: float) -> st.SearchStrategy:
    """A ``(low, high)`` setting that must be refused, for the allowed range ``[lower, upper]``."""
    inside = st.floats(lower, upper) if math.isfinite(upper) else st.floats(lower, lower + 1.0)
    return st.one_of(
        st.one_of(non_real(), NON_FINITE, st.floats(lower, lower + 1.0)),  # not a pair
        st.lists(inside, min_size=3, max_size=4).map(tuple),  # too many entries
        st.tuples(inside, st.one_of(non_real(), NON_FINITE, huge_ints())),
        st.tuples(st.one_of(non_real(), NON_FINITE), inside),
        st.tuples(inside, inside).filter(lambda p: p[0] > p[1]).map(lambda p: (p[0] + 1e-3, p[1])),
        st.floats(1e-6, 1e6).map(lambda d: (lower - d, lower)),
        st.floats(1e-6, 1e300).map(lambda d: (lower, (upper if math.isfinite(upper) else 1e300) * 2 + d)),
    )


def bad_setting(kind: str) -> st.SearchStrategy:
    """A bad value of a constructor setting of ``kind`` (see :data:`KWARGS`)."""
    not_number = st.one_of(non_real().filter(lambda v: v is not None), huge_ints(), NON_FINITE)
    by_kind: dict[str, st.SearchStrategy] = {
        "bool": st.one_of(st.integers(), st.floats(), st.text(max_size=5), st.none(), st.booleans().map(np.bool_)),
        "nonneg": st.one_of(not_number, st.floats(-1e300, -1e-9)),
        "nonneg_bounded": st.one_of(not_number, st.floats(-1e300, -1e-9), st.floats(1e7, 1e300)),
        "positive": st.one_of(not_number, st.floats(-1e300, 0.0)),
        "positive_bounded": st.one_of(not_number, st.floats(-1e300, 0.0), st.floats(1e7, 1e300)),
        "tiny_cell": st.one_of(not_number, st.floats(-1e300, 0.0), st.floats(1e-300, 1e-4)),
        "above_min": st.one_of(non_real().filter(lambda v: v is not None), huge_ints(), st.just(math.nan),
                               st.floats(-1e300, 3.0)),
        "range": bad_pair(-1.0, 1.0).filter(lambda p: not _inside_every_arm_range(p)),
        "object": st.one_of(st.text(max_size=8), st.integers(), st.floats(), st.lists(st.integers(), max_size=2),
                            st.builds(object)),
        "render_mode": st.one_of(st.text(max_size=8).filter(lambda s: s != "rgb_array"), st.integers(),
                                 st.builds(object)),
        "observation": st.one_of(st.text(max_size=8).filter(lambda s: s not in ("state", "gym")), st.integers(),
                                 st.builds(object)),
        "world_spec": st.one_of(st.text(max_size=8).filter(lambda s: s not in ("default", "dense", "empty")),
                                st.integers(), st.lists(st.text(max_size=3), max_size=2), st.builds(object)),
        "seed": st.one_of(st.integers(max_value=-1), st.floats(), st.text(max_size=4), st.booleans()),
    }
    return by_kind[kind]


def _inside_every_arm_range(value: Any) -> bool:
    """A pair that the narrowest arm range (a hole offset within +-5 mm) accepts: not bad for all."""
    try:
        lo, hi = value
        return all(isinstance(v, float) and math.isfinite(v) for v in (lo, hi)) and -0.005 <= lo <= hi <= 0.005
    except (TypeError, ValueError):
        return False


def bad_randomization(env_id: str) -> st.SearchStrategy:
    """``(field, randomization)``: a randomisation setting with one bad field."""
    pairs = {"mass_scale": (1e-6, MAX_SCALE), "friction_scale": (0.0, MAX_SCALE),
             "joint_damping": (0.0, MAX_JOINT_DAMPING), "push_force": (0.0, MAX_PUSH_FORCE),
             "actuator_delay": (0.0, float(MAX_ACTUATOR_DELAY))}
    cases = [st.tuples(st.just(name), bad_pair(lo, hi)) for name, (lo, hi) in pairs.items()]
    cases += [
        st.tuples(st.just("actuator_delay"), st.floats(0.1, 0.9).map(lambda f: (0, 1 + f))),
        st.tuples(st.just("obs_noise_std"), st.one_of(
            non_real(), NON_FINITE, huge_ints(), st.floats(-1e300, -1e-9), st.floats(MAX_OBS_NOISE_STD * 1.01, 1e308),
            bad_vector(3, tuple(f for f in VECTOR_FAULTS if f != "size")))),
        st.tuples(st.just("push_probability"), st.one_of(
            non_real(), NON_FINITE, huge_ints(), st.floats(-1e300, -1e-9), st.floats(1.0 + 1e-9, 1e308))),
    ]
    if not PHYSICAL_RANDOMIZATION[env_id]:  # refused even when valid
        cases.append(st.tuples(st.sampled_from(_PHYSICS), st.just((0.5, 0.6))))
    return st.one_of(cases).map(lambda fv: (fv[0], {fv[0]: fv[1]}))


# ---- actions -----------------------------------------------------------------------------------
@pytest.mark.parametrize("env_id", _ids())
@given(data=st.data())
def test_bad_actions_raise_naming_the_env_and_the_action(make, env_id, data):
    env = make(env_id)
    n_u = env.action_space.shape[0]
    action = data.draw(bad_vector(n_u).filter(lambda a: not (n_u == 1 and _one_by_one(a))), label="action")
    _clear(lambda: env.step(action), env_id, "action")


def _one_by_one(value: Any) -> bool:
    """A (1, 1) array: the documented ``(1, n_u)`` form of a one-input action, accepted."""
    return isinstance(value, np.ndarray) and value.shape == (1, 1)


@pytest.mark.parametrize("env_id", _ids())
@given(data=st.data())
def test_actions_beyond_the_limits_are_saturated(make, env_id, data):
    env = make(env_id)
    low, high = env.unwrapped.input_box.low, env.unwrapped.input_box.high
    form = data.draw(st.sampled_from(["float64", "float32", "list"]))
    magnitude = st.floats(1.0, 1e30 if form == "float32" else 1e300)  # float32 overflows beyond 3e38
    beyond = []
    for lo, hi in zip(low, high):
        m, above = data.draw(magnitude), data.draw(st.booleans())
        beyond.append(hi + m * max(1.0, abs(hi)) if above else lo - m * max(1.0, abs(lo)))
    action = np.array(beyond)
    sent = action.astype(np.float32) if form == "float32" else action.tolist() if form == "list" else action
    env.reset(seed=0)
    count = env.unwrapped.action_saturation_count
    result: dict[str, Any] = {}
    expect_clear(CATEGORY, lambda: result.update(zip(("obs", "r", "term", "trunc", "info"), env.step(sent))),
                 accept=True)
    np.testing.assert_array_equal(result["info"]["applied_action"],
                                  np.clip(np.asarray(sent, dtype=np.float64), low, high))
    assert env.unwrapped.action_saturation_count == count + 1
    assert np.all(np.isfinite(gym.spaces.flatten(env.observation_space, result["obs"])))
    assert math.isfinite(result["r"])


# ---- reset options -----------------------------------------------------------------------------
@st.composite
def bad_options(draw: st.DrawFn, env_id: str, env: gym.Env) -> tuple[dict[str, Any] | Any, list[str]]:
    """``(options, mentions)``: reset options with one bad entry, and what the error must name."""
    spec = OPTIONS[env_id]
    vectors = {k: v for k, v in spec.items() if isinstance(v, int)}
    keys = list(vectors) + list(spec.get("scalars", ())) + list(spec.get("seeds", ()))
    kind = draw(st.sampled_from(["vector", "outside", "scalar", "seed", "unknown", "not_a_dict"]))
    if kind == "scalar" and "scalars" in spec:
        key = draw(st.sampled_from(spec["scalars"]))
        return {key: draw(bad_scalar())}, [key]
    if kind == "seed" and "seeds" in spec:
        return {"world_seed": draw(bad_setting("seed"))}, ["world_seed"]
    if kind == "outside":
        key = draw(st.sampled_from(sorted(vectors)))
        return {key: draw(_outside(env_id, env, key))}, [key]
    if kind == "unknown":
        key = draw(st.one_of(st.text(max_size=10), st.integers(), st.tuples(st.integers())).filter(
            lambda k: k not in keys))
        return {key: 0.0, **({keys[0]: None} if draw(st.booleans()) else {})}, ["unknown key", keys[0]]
    if kind == "not_a_dict":
        return draw(st.one_of(st.lists(st.text(max_size=5), max_size=3), st.text(max_size=5), st.integers())), [
            "options"]
    key = draw(st.sampled_from(sorted(vectors)))
    return {key: draw(bad_vector(vectors[key]))}, [key]


@st.composite
def _outside(draw: st.DrawFn, env_id: str, env: gym.Env, key: str) -> list[float]:
    """A finite vector outside the env's documented physical range (a nav pose off the arena)."""
    delta = draw(st.floats(1e-3, 1e300))
    sign = draw(st.sampled_from([1.0, -1.0]))
    if env_id in NAV:
        hx, hy = env.unwrapped.world.half_extent
        x = [0.0] * OPTIONS[env_id][key]
        i = draw(st.integers(0, 1))
        x[i] = sign * ((hx, hy)[i] + delta)
        return x
    low, high = env.unwrapped.state_bounds()
    x = 0.5 * (low + high)
    i = draw(st.integers(0, low.size - 1))
    x[i] = high[i] + delta if sign > 0 else low[i] - delta
    return x.tolist()


@pytest.mark.parametrize("env_id", _ids())
@given(data=st.data())
def test_bad_reset_options_raise_naming_the_env_and_the_option(make, env_id, data):
    env = make(env_id)
    options, mentions = data.draw(bad_options(env_id, env), label="options")
    _clear(lambda: env.reset(seed=0, options=options), env_id, mentions)


@pytest.mark.parametrize("env_id", _ids())
@given(seed=st.one_of(st.integers(max_value=-1), st.floats(), st.text(max_size=4), st.booleans(), huge_ints()
                      .map(lambda v: -abs(v)), st.lists(st.integers(0, 9), max_size=2), st.builds(object)))
def test_bad_seeds_raise_naming_the_env_and_the_seed(make, env_id, seed):
    _clear(lambda: make(env_id).reset(seed=seed), env_id, "seed")


@pytest.mark.parametrize("env_id", [p for p in _ids() if p.values[0] not in NAV])
@given(data=st.data())
def test_start_states_in_the_physical_range_are_accepted_and_stay_finite(make, env_id, data):
    env = make(env_id)
    low, high = env.unwrapped.state_bounds()
    state = [data.draw(st.floats(lo, hi)) for lo, hi in zip(low, high)]

    def episode() -> None:
        obs, _ = env.reset(seed=0, options={"state": state})
        for _ in range(3):
            obs, reward, *_ = env.step(env.action_space.sample())
            assert np.all(np.isfinite(obs)) and math.isfinite(reward)

    expect_clear(CATEGORY, episode, errors=(), accept=True)


# ---- constructor settings ----------------------------------------------------------------------
def _env_class(env_id: str) -> Callable[..., gym.Env]:
    return load_env_creator(gym.spec(env_id).entry_point)


def _build_and_close(env_id: str, kwargs: dict[str, Any]) -> None:
    env = _env_class(env_id)(**{**FIXED.get(env_id, {}), **kwargs})
    env.close()


@pytest.mark.parametrize("env_id", _ids())
@given(data=st.data())
def test_bad_settings_raise_naming_the_env_and_the_setting(env_id, data):
    name = data.draw(st.sampled_from(sorted(KWARGS[env_id])), label="setting")
    value = data.draw(bad_setting(KWARGS[env_id][name]), label="value")
    kwargs = {name: value, **({"world_seed": None} if name == "world" else {})}
    _clear(lambda: _build_and_close(env_id, kwargs), env_id, name)


@pytest.mark.parametrize("env_id", _ids())
@given(data=st.data())
def test_bad_randomization_raises_naming_the_env_and_the_field(env_id, data):
    field, randomization = data.draw(bad_randomization(env_id), label="randomization")
    _clear(lambda: _build_and_close(env_id, {"randomization": randomization}), env_id, field)


_FIELDS = {f.name for f in dataclasses.fields(DomainRandomization)}


@pytest.mark.parametrize("env_id", _ids())
@given(bad=st.one_of(st.text(max_size=8), st.integers(), st.lists(st.integers(), max_size=2),
                     st.dictionaries(st.text(max_size=8).filter(lambda k: k not in _FIELDS), st.floats(),
                                     min_size=1, max_size=3),
                     st.dictionaries(st.integers(), st.floats(), min_size=1, max_size=2)))
def test_randomization_must_be_a_config_or_a_dict_of_its_fields(env_id, bad):
    _clear(lambda: _build_and_close(env_id, {"randomization": bad}), env_id, "randomization")


@st.composite
def extreme_randomization(draw: st.DrawFn, env_id: str) -> dict[str, Any]:
    """A randomisation the env takes, its ranges drawn up to the documented bounds."""
    def pair(lo: float, hi: float) -> tuple[float, float]:
        a, b = draw(st.floats(lo, hi)), draw(st.floats(lo, hi))
        return (min(a, b), max(a, b))

    config: dict[str, Any] = {
        "actuator_delay": tuple(sorted(draw(st.lists(st.integers(0, MAX_ACTUATOR_DELAY), min_size=2, max_size=2)))),
        "obs_noise_std": draw(st.floats(0.0, MAX_OBS_NOISE_STD)),
    }
    if PHYSICAL_RANDOMIZATION[env_id]:
        config.update(mass_scale=pair(1e-6, MAX_SCALE), friction_scale=pair(0.0, MAX_SCALE),
                      joint_damping=pair(0.0, MAX_JOINT_DAMPING), push_force=pair(0.0, MAX_PUSH_FORCE),
                      push_probability=draw(st.floats(0.0, 1.0)))
    return config


@pytest.mark.parametrize("env_id", _ids())
@settings(max_examples=BUILD_EXAMPLES)
@given(data=st.data())
def test_extreme_randomization_steps_finite_or_reports_divergence(env_id, data):
    randomization = data.draw(extreme_randomization(env_id), label="randomization")

    def episode() -> None:
        env = gym.make(env_id, randomization=randomization, **FIXED.get(env_id, {}))
        try:
            env.reset(seed=0)
            for _ in range(5):
                obs, reward, *_ = env.step(env.action_space.sample())
                assert np.all(np.isfinite(gym.spaces.flatten(env.observation_space, obs))) and math.isfinite(reward)
        finally:
            env.close()

    expect_clear(CATEGORY, episode, errors=(SimulationDiverged,), accept=True)


# ---- the findings, as regression cases ---------------------------------------------------------
@pytest.mark.parametrize("env_id", [p for p in _ids() if "Pendulum" in p.values[0]])
def test_an_impossible_start_state_is_refused(make, env_id):
    """Was accepted: MuJoCo reset itself to upright (reward 0, no violation), PyBullet returned NaN."""
    _clear(lambda: make(env_id).reset(options={"state": [0, 1e300]}), env_id, "options['state'][1] (theta_dot)")


@pytest.mark.parametrize("env_id", _ids())
@pytest.mark.parametrize("action", ["1.0", b"1", True, 1 + 2j, np.datetime64(1, "s"), 10**400])
def test_non_real_actions_are_refused(make, env_id, action):
    """Were accepted as numbers (10**400 raised OverflowError)."""
    env = make(env_id)
    n_u = env.action_space.shape[0]
    _clear(lambda: env.step(action if n_u == 1 else [action] * n_u), env_id, "action")


@pytest.mark.parametrize("env_id", _ids())
def test_huge_noise_and_delay_are_refused(env_id):
    """obs_noise_std=1e300 gave inf/NaN observations; actuator_delay=(1e9, 1e9) failed later."""
    _clear(lambda: _build_and_close(env_id, {"randomization": {"obs_noise_std": 1e300}}), env_id, "obs_noise_std")
    _clear(bounded(lambda: _build_and_close(env_id, {"randomization": {"actuator_delay": (1e9, 1e9)}}),
                   memory_mb=256, seconds=60), env_id, "actuator_delay")


def _diverge(env: gym.Env) -> None:
    """Put the simulator in a state no valid input reaches (a velocity of 1e300)."""
    u = env.unwrapped
    if hasattr(u, "_p"):  # PyBullet: the joint state, as set_state would
        u._p.resetJointState(u.body, u._joints[0], 0.0, 1e300)
    else:
        u.data.qvel[0] = 1e300


@pytest.mark.parametrize("env_id", [p for p in _ids() if p.values[0] not in NAV and "CSTR" not in p.values[0]])
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # the cost of the injected state
def test_a_diverged_simulation_raises_until_reset(make, env_id):
    """Was a normal step: MuJoCo's own reset (reward 0, no violation) or PyBullet's NaN."""
    env = make(env_id)
    env.reset(seed=0)
    _diverge(env)
    zero = np.zeros(env.action_space.shape)
    for _ in range(2):  # the episode is over: the next step raises again
        expect_clear(CATEGORY, lambda: env.step(zero), errors=(SimulationDiverged,),
                     mentions=f"{_name(env_id)}: the simulation diverged")
    env.reset(seed=0)
    obs, reward, *_ = env.step(zero)
    assert np.all(np.isfinite(obs)) and math.isfinite(reward)


def test_a_non_finite_ode_step_raises(monkeypatch):
    """The ODE env has no engine reset: a step whose integration returns NaN raises the same way."""
    env = gym.make("robocritic/SafetyCSTR-v0")
    env.reset(seed=0)
    model = env.unwrapped.dynamics
    monkeypatch.setattr(type(model), "step", lambda self, x, u: np.full(4, math.nan))
    expect_clear(CATEGORY, lambda: env.step(model.u_eq), errors=(SimulationDiverged,),
                 mentions="SafetyCSTR-v0: the simulation diverged")
    env.close()
