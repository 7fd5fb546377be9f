"""What every arm task shares, written once for every engine: the :class:`ArmState` a Cartesian
controller takes, the wrist force/torque reading turned into a contact wrench, the low-pass
filtered normal force a force limit acts on, and pushes held for a fixed time.

A concrete env combines an engine side (``mujoco_arm.MujocoArm``, which implements the hooks
below) with a task built on :class:`ArmTask` (``press_wipe_v0.PressWipeTask``) and an engine base
(``MujocoEnv``); the engine side comes first in the bases so that its hooks override the
abstract ones here. The task's ``__init__`` takes the env's arguments: it hands the engine's
(``model``, ``randomization``, ``render_mode``) to the :meth:`ArmTask._load_engine` hook, checks the
common ones with :meth:`ArmTask._init_task`, its own after, and closes the env if a check fails.

## The wrist F/T sensor and the wrench

The engine hook :meth:`ArmTask._ft_reading` returns what MuJoCo's ``force`` and ``torque``
sensors on the wrist site measure: the interaction force and torque between the sensor's body
(the welded tool) and its parent (the last link), i.e. what link3 exerts on the whole child subtree
(the tool and anything below it), expressed in the site frame, with the torque taken about the
site. MuJoCo computes it from the subtree's momentum balance (``cfrc_int``), so it includes *every*
force on that subtree: contacts, applied pushes, the subtree's weight and its inertial forces
(``m a``). A freely hanging tool at rest reads its weight ``m g`` pointing up (the flange holds
it up); pressing on a table with contact force ``f_c`` (the table's force on the tool) reads
``m g - f_c``.

Newton for the tool subtree (mass ``m``, COM acceleration ``a``, gravity vector ``g``, base
frame) with ``R`` the site's orientation and ``s`` the force reading::

    m a = R s + f_ext + m g      =>     f_ext = -R s - m g + m a

:meth:`ArmTask.arm_state` reports ``wrench = -R s - m g`` on the task axes
(:attr:`ArmTask.task_slice`: base x and z for the planar arm, x, y, z for a spatial one): the
external force acting *on* the tool (contacts and pushes), with the tool's own weight removed
(the tool-load compensation a real robot does with its identified tool mass; here the mass is
the env's, randomisation included). The inertial term ``m a`` is *not* removed (a wrist sensor
does not know ``a``): with the 0.2 kg tool it is 0.2 N per m/s^2 of tool acceleration. Pressing
down on a table gives a positive z component. The normal force is ``wrench . n`` with the
surface normal ``n = +z``.

The reading is the one the engine computed during the last physics step (the force that acted
over that step, with the orientation ``R`` of that step), so it is one step (1 ms) older than
``q``, ``qd``, ``x``, the Jacobian, the mass matrix and the bias, as a sampled sensor is.

## The force filter

:class:`FirstOrderLowPass` is ``tau dy/dt = u - y`` discretised exactly for an input held over
each step (zero-order hold)::

    y[k] = y[k-1] + alpha (u[k] - y[k-1]),   alpha = 1 - exp(-dt / tau)

so after a unit step at ``k = 0`` the output is ``1 - exp(-k dt / tau)`` exactly at every sample:
63.2 % after ``tau / dt`` steps (5 steps for ``tau = 5 ms`` at 1 kHz). It starts from the raw
value at reset.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from operator import mul
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np
from robocritic.envs.base.robocritic_env import reset_options
from robocritic.envs.base.task import EngineHooks

from robocritic.interfaces import ArmState
from robocritic.utils.fields import is_finite_real
from robocritic.utils.validation import short_repr

if TYPE_CHECKING:
    from robocritic.envs.arm.model import ArmGeometry

#: Base-frame axes of the arm plane: a planar arm's task coordinates are (x, z).
PLANE_AXES = (0, 2)
#: The same axes as a slice (a basic index: no index array is built per use, unlike a list).
PLANE_SLICE = slice(PLANE_AXES[0], PLANE_AXES[1] + 1, PLANE_AXES[1] - PLANE_AXES[0])
#: Unit normal of the work surface (base frame): the normal force is the wrench along it.
SURFACE_NORMAL = np.array([0.0, 0.0, 1.0])
#: Default time constant of the normal-force low-pass filter, s.
FORCE_FILTER_TAU = 0.005
#: Default duration of a push, s.
PUSH_DURATION = 0.05
#: The task axes of a spatial arm: all three base-frame axes (x, y, z).
SPATIAL_SLICE = slice(0, 3)
#: Allowed contact stiffness scales (``contact_stiffness_range``, ``options["contact_stiffness_scale"]``).
STIFFNESS_SCALE_LIMITS = (0.1, 10.0)
#: Longest push, s (an hour: far beyond any episode; the step count it becomes stays an int).
MAX_PUSH_DURATION = 3600.0
#: Physical range of a given start state (``options["state"]``): joint angles up to this far
#: outside the joint limits, rad (the limits are soft constraints the engine pushes back from), and
#: joint speeds up to this, rad/s (a few times the arms' speed limits).
START_JOINT_MARGIN = 0.1
START_SPEED_LIMIT = 10.0


class EnvArmState(ArmState):
    """An :class:`~robocritic.interfaces.ArmState` whose ``==`` compares the arrays' contents.

    Envs put one in ``info["arm_state"]``; Gymnasium's checker compares ``info`` values with
    ``==``, which the plain frozen dataclass cannot do for array fields.
    """

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ArmState):
            return NotImplemented
        pairs = [(getattr(self, k), getattr(other, k)) for k in
                 ("q", "qd", "x", "jacobian", "mass_matrix", "bias", "wrench")]
        return all((a is None and b is None) or (a is not None and b is not None and np.array_equal(a, b))
                   for a, b in pairs)

    __hash__ = None  # type: ignore[assignment]  # mutable array contents

    @classmethod
    def _from_arrays(cls, q: np.ndarray, qd: np.ndarray, x: np.ndarray, jacobian: np.ndarray,
                     mass_matrix: np.ndarray, bias: np.ndarray, wrench: np.ndarray) -> EnvArmState:
        """The state from arrays the env built for it, without the frozen dataclass's ``__init__``
        (one ``object.__setattr__`` per field; this runs every 1 kHz step). Same fields, same
        object: :class:`ArmState` has no ``__post_init__`` to skip."""
        self = object.__new__(cls)
        self.__dict__.update(q=q, qd=qd, x=x, jacobian=jacobian, mass_matrix=mass_matrix, bias=bias,
                             wrench=wrench)
        return self


class FirstOrderLowPass:
    """First-order low-pass ``tau dy/dt = u - y``, exact for an input held over each step of
    ``dt`` (see the module docstring)."""

    def __init__(self, tau: float, dt: float) -> None:
        if not (is_finite_real(tau) and tau > 0):
            raise ValueError(
                f"force_filter_tau must be a positive finite number of seconds; got {short_repr(tau)}")
        self.tau = float(tau)
        self.dt = float(dt)
        self.alpha = 1.0 - math.exp(-self.dt / self.tau)
        self.y = 0.0

    def reset(self, y0: float) -> float:
        self.y = float(y0)
        return self.y

    def update(self, u: float) -> float:
        self.y += self.alpha * (float(u) - self.y)
        return self.y


def check_range(name: str, value: Any, low: float, high: float) -> tuple[float, float]:
    """A constructor's ``(low, high)`` draw range of real numbers, inside ``[low, high]``
    (ValueError naming ``name``)."""
    try:
        lo, hi = value
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a (low, high) pair; got {short_repr(value)}") from exc
    if not (is_finite_real(lo) and is_finite_real(hi) and low <= lo <= hi <= high):
        raise ValueError(f"{name} must satisfy {low:g} <= low <= high <= {high:g}; got {short_repr(value)}")
    return float(lo), float(hi)


def check_option(name: str, value: Any, low: float, high: float) -> float:
    """A ``reset(options=...)`` number inside ``[low, high]`` (ValueError naming ``options[name]``)."""
    if not (is_finite_real(value) and low <= value <= high):
        raise ValueError(f"options[{name!r}] must be a finite number in [{low:g}, {high:g}]; "
                         f"got {short_repr(value)}")
    return float(value)


def check_options(options: dict[str, Any] | None, keys: tuple[str, ...]) -> dict[str, Any]:
    """A copy of ``reset``'s ``options`` (``{}`` for None); ValueError unless it is a dict of keys
    in ``keys``."""
    return reset_options(options, keys)


def check_model(model: Any, model_type: type) -> Any:
    """The env's dynamics ``model``: a ``model_type`` (its defaults for None; ValueError otherwise)."""
    if model is None:
        return model_type()
    if not isinstance(model, model_type):
        name = model_type.__name__
        article = "an" if name[0] in "AEIOU" else "a"
        raise ValueError(f"model must be {article} {name} or None; got {type(model).__name__}")
    return model


def planar_start_state(rng: np.random.Generator, geometry: ArmGeometry, x_range: tuple[float, float],
                       z0: float, height_range: tuple[float, float], half_width: float) -> np.ndarray:
    """A planar arm's start state ``[q, qd]`` at rest, elbow up: TCP x uniform in ``x_range`` [m],
    z ``z0`` plus a uniform draw from ``height_range`` [m], tool angle within ``half_width`` [rad] of
    straight down (drawn in that order)."""
    x = rng.uniform(*x_range)
    z = z0 + rng.uniform(*height_range)
    phi = -np.pi / 2 + rng.uniform(-half_width, half_width)
    return np.concatenate([geometry.inverse(x, z, phi), np.zeros(3)])


def _finite_number(value: Any) -> bool:
    return is_finite_real(value)


class ArmTask(EngineHooks):
    """Mixin for arm envs (see the module docstring). In ``__init__``: :meth:`_load_engine`, then
    :meth:`_init_task`; in ``reset_model``: :meth:`_start_episode`; in ``step``: :meth:`_advance`,
    :meth:`_update_force_filter` and :meth:`_finish_step` for the cost. A task implements
    :meth:`_force_info`, added to ``info`` at reset (here) and in its ``step``.

    Engine hooks (besides :class:`~robocritic.envs.base.task.EngineHooks`' three): the ones
    below, all in the base frame and SI units. ``_simulate`` applies :attr:`push_force` (N, base
    frame, at the tool body's centre of mass) during the step.
    """

    push_force: np.ndarray  # (3,) N, the push acting during the current step

    def _option_or_draw(self, options: dict[str, Any], key: str, draw: tuple[float, float],
                        limits: tuple[float, float]) -> float:
        """``options[key]`` checked against ``limits``, else one uniform draw from ``draw`` (the
        env's RNG: call in a fixed order so that a seed means one episode)."""
        if key in options:
            return check_option(key, options[key], *limits)
        return float(self.np_random.uniform(*draw))

    def _start_state(self, options: dict[str, Any]) -> np.ndarray:
        """``options["state"]`` (``[q, qd]``, checked against :meth:`state_bounds`) or a sampled
        start state."""
        if "state" not in options:
            return self.sample_start_state()
        return self._state_option(options["state"])  # type: ignore[attr-defined]  # RobocriticEnv's

    def state_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Joint angles within the model's joint limits widened by :data:`START_JOINT_MARGIN` (the
        limits are soft), joint speeds within :data:`START_SPEED_LIMIT` (or the model's speed
        limits where those are wider)."""
        box = self.dynamics.state_box
        n = box.low.size // 2
        margin = np.r_[np.full(n, START_JOINT_MARGIN), np.zeros(n)]
        speed = np.r_[np.zeros(n), np.full(n, START_SPEED_LIMIT)]
        return np.minimum(box.low - margin, -speed), np.maximum(box.high + margin, speed)
    #: Base-frame axes of the task coordinates (``x``, Jacobian rows, ``wrench``), as a basic
    #: slice: the arm plane (x, z) by default; a spatial arm sets :data:`SPATIAL_SLICE`.
    task_slice: slice = PLANE_SLICE
    #: Horizontal base-frame axes a push acts along (one drawn per push when there are several).
    push_axes: tuple[int, ...] = (PLANE_AXES[0],)

    # ---- engine hooks --------------------------------------------------------------------
    @abstractmethod
    def _load_engine(self, model: Any, randomization: Any, render_mode: str | None) -> None:
        """Build the engine base with the dynamics ``model`` (checked with :func:`check_model`),
        ``randomization`` and ``render_mode``, and resolve the arm's parts in the asset (the env
        is closed again on a ValueError)."""

    @abstractmethod
    def _arm_terms(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """At the current state: TCP position ``(3,)`` m, its translational Jacobian ``(3, n)``,
        the joint-space mass matrix ``(n, n)`` kg m^2 and the bias torques ``(n,)`` N m
        (gravity, Coriolis, centrifugal)."""

    @abstractmethod
    def _ft_reading(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Wrist sensor: force ``(3,)`` N and torque ``(3,)`` N m that the parent link exerts on
        the tool subtree, in the site frame, and the site's orientation ``(3, 3)`` (site to
        base) at the time of the reading (MuJoCo's ``force``/``torque`` convention)."""

    def _plane_terms(self) -> tuple[np.ndarray, ...]:
        """``(q, qd, x, jacobian, mass_matrix, bias)`` of :meth:`arm_state`, each a new array:
        ``x`` and the Jacobian rows restricted to the task axes (:attr:`task_slice`). From :meth:`_true_state` and
        :meth:`_arm_terms`; an engine may override it to read its buffers directly."""
        state = self._true_state()
        n = state.size // 2
        pos, jac, mass, bias = self._arm_terms()
        axes = self.task_slice
        return state[:n], state[n:], pos[axes].copy(), jac[axes].copy(), mass, bias

    def _ft_force_and_rotation(self) -> tuple[np.ndarray, np.ndarray]:
        """Force and orientation of :meth:`_ft_reading`, read once by :meth:`arm_state` and not
        kept, so an engine may override it to hand out its buffers without copies."""
        force, _, rot = self._ft_reading()
        return force, rot

    @abstractmethod
    def _tool_weight(self) -> np.ndarray:
        """Gravity force on the sensor's child subtree, ``m g`` ``(3,)`` N, base frame (with this
        episode's masses; read at reset)."""

    @abstractmethod
    def _hold_start(self) -> None:
        """Command the torques that hold the current state (the bias) and refresh the sensor
        readings with them, as a robot's holding controller does before an episode."""

    @abstractmethod
    def _surface_height(self) -> float:
        """Height of the work surface, m (base frame z)."""

    @abstractmethod
    def nominal_surface_height(self) -> float:
        """Height of the work surface as the asset has it (no offset), m (base frame z)."""

    @abstractmethod
    def tip_radius(self) -> float:
        """Radius of the fingertip sphere, m: a touching TCP sits this far above the surface."""

    @abstractmethod
    def _set_surface_height(self, z: float) -> None:
        """Move the work surface to height ``z`` m (base frame)."""

    @abstractmethod
    def _set_contact_stiffness_scale(self, scale: float) -> None:
        """Scale the surface contact's stiffness by ``scale`` (damping ratio kept) from nominal."""

    @abstractmethod
    def _contact_normal_force(self) -> float:
        """The engine's own normal force between tool and surface, N (privileged: for ``info``
        and tests, never the observation)."""

    # ---- set-up ----------------------------------------------------------------------------
    def _init_task(self, force_limit: float, contact_stiffness_range: tuple[float, float],
                   force_filter_tau: float, push_duration: float, terminate_on_violation: bool,
                   violation_penalty: float, n_obs: int) -> None:
        """Check and keep the arguments every arm task takes, then :meth:`_init_arm`; ``n_obs`` is
        the observation's size (``randomization.obs_noise_std`` has 1 or ``n_obs`` values)."""
        if not (_finite_number(force_limit) and force_limit > 0):
            raise ValueError(
                f"force_limit must be a positive finite number of newtons; got {short_repr(force_limit)}")
        if not isinstance(terminate_on_violation, bool):
            raise ValueError(
                f"terminate_on_violation must be a bool; got {short_repr(terminate_on_violation)}")
        if not (_finite_number(violation_penalty) and violation_penalty >= 0):
            raise ValueError(
                f"violation_penalty must be finite and >= 0; got {short_repr(violation_penalty)}")
        noise = np.atleast_1d(np.asarray(self.randomization.obs_noise_std))
        if noise.size not in (1, n_obs):
            raise ValueError(f"randomization.obs_noise_std must be a scalar or {n_obs} values (one per "
                             f"observation); got {short_repr(self.randomization.obs_noise_std)}")
        self.force_limit = float(force_limit)
        self.contact_stiffness_range = check_range("contact_stiffness_range", contact_stiffness_range,
                                                    *STIFFNESS_SCALE_LIMITS)
        self.terminate_on_violation = terminate_on_violation
        self.violation_penalty = float(violation_penalty)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(n_obs,), dtype=np.float32)
        self._init_arm(force_filter_tau, push_duration)

    def _init_arm(self, force_filter_tau: float, push_duration: float) -> None:
        """The force filter, pushes, the arm-state cache and the step count."""
        if not (is_finite_real(push_duration) and self.dt <= push_duration <= MAX_PUSH_DURATION):
            raise ValueError(
                f"push_duration must be a finite number of seconds >= one step ({self.dt:g} s) and <= "
                f"{MAX_PUSH_DURATION:g} s; got {short_repr(push_duration)}"
            )
        self.step_dt = float(self.dt)  # s, read once: the engine computes dt on every access
        self.force_filter = FirstOrderLowPass(force_filter_tau, self.step_dt)
        self.push_steps = round(push_duration / self.dt)
        self.push_force = np.zeros(3)
        self._push_steps_left = 0
        self._arm_state_cache: EnvArmState | None = None
        self._wrench_world = np.zeros(3)
        self._normal_force = 0.0  # wrench . SURFACE_NORMAL of the cached state
        self._normal = SURFACE_NORMAL.tolist()
        self._force_raw = 0.0
        self._steps = 0

    # ---- stepping --------------------------------------------------------------------------
    @property
    def time(self) -> float:
        """Seconds since reset."""
        return self._steps * self.step_dt

    def _advance(self, u: np.ndarray) -> None:
        """One control step under torques ``u`` (and the current push)."""
        self._simulate(u)
        self._arm_state_cache = None
        self._steps += 1

    def _finish_step(self, u: np.ndarray, cost: float, force: float) -> tuple[float, dict[str, Any], bool]:
        """The common part of ``step`` after the task's ``cost``: unsafe when the limited ``force``
        [N] exceeds ``force_limit``; terminated when unsafe if ``terminate_on_violation`` (cost plus
        ``violation_penalty``). Returns ``(cost, info, terminated)``."""
        unsafe = force > self.force_limit
        info = self._cost_info(self._true_state(), u, cost, unsafe=unsafe)
        terminated = bool(self.terminate_on_violation and unsafe)
        if terminated:
            cost += self.violation_penalty
            info["cost"] = cost
        return cost, info, terminated

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, info = super().reset(seed=seed, options=options)
        info.update(self._force_info())
        return obs, info

    @abstractmethod
    def _force_info(self) -> dict[str, Any]:
        """The task's force, contact and geometry part of ``info`` (at reset and every step)."""

    def _sensor_info(self) -> dict[str, Any]:
        """The part of ``info`` every arm task reports: ``arm_state``, ``force_raw``,
        ``force_filtered``, ``wrench``, ``ft_force``, ``ft_torque``."""
        force, torque, _ = self._ft_reading()
        st = self.arm_state()
        return {"arm_state": st, "force_raw": self._force_raw, "force_filtered": self.force_filter.y,
                "wrench": st.wrench.copy(), "ft_force": force, "ft_torque": torque}

    def _obs(self, *extra: float) -> np.ndarray:
        """``[q, qd, x, v, *extra]``: the arm's part of the observation (``v = J qd``, the TCP
        velocity on the task axes) followed by the task's ``extra`` values."""
        st = self.arm_state()
        # One array from one list: a dozen floats, where np.concatenate and a matmul cost more.
        qd = st.qd.tolist()
        tcp_velocity = [sum(map(mul, row, qd)) for row in st.jacobian.tolist()]
        return np.array(st.q.tolist() + qd + st.x.tolist() + tcp_velocity + list(extra))

    # ---- arm state -------------------------------------------------------------------------
    def contact_wrench_world(self) -> np.ndarray:
        """External force on the tool ``(3,)`` N, base frame, the tool's weight removed."""
        self.arm_state()
        return self._wrench_world.copy()

    def arm_state(self) -> EnvArmState:
        """The :class:`~robocritic.interfaces.ArmState` at the current state: ``q``, ``qd``,
        TCP position ``x`` ``(m,)`` m, Jacobian rows ``(m, n)``, ``mj_fullM`` mass matrix, bias
        torques ``qfrc_bias`` and the wrench ``(m,)`` N (the external force on the tool, weight
        removed; see the module docstring), on the task axes :attr:`task_slice` (``m = 2``, (x, z),
        for the planar arm). Computed once per state."""
        if self._arm_state_cache is None:
            q, qd, x, jac, mass, bias = self._plane_terms()
            force, rot = self._ft_force_and_rotation()
            # -(R s) - m g on Python floats: three 3-vectors, where each numpy call costs more
            # than the arithmetic.
            (f0, f1, f2), (g0, g1, g2) = force.tolist(), self._tool_weight().tolist()
            r0, r1, r2 = rot.tolist()
            wrench = [-(r0[0] * f0 + r0[1] * f1 + r0[2] * f2) - g0,
                      -(r1[0] * f0 + r1[1] * f1 + r1[2] * f2) - g1,
                      -(r2[0] * f0 + r2[1] * f1 + r2[2] * f2) - g2]
            n0, n1, n2 = self._normal
            self._normal_force = wrench[0] * n0 + wrench[1] * n1 + wrench[2] * n2
            self._wrench_world = np.array(wrench)
            self._arm_state_cache = EnvArmState._from_arrays(
                q, qd, x, jac, mass, bias, np.array(wrench[self.task_slice]))
        return self._arm_state_cache

    def normal_force_raw(self) -> float:
        """Normal contact force from the wrist sensor, N (positive when pressing on the surface)."""
        self.arm_state()
        return self._normal_force

    def _start_episode(self, x0: np.ndarray) -> None:
        """Start an episode in state ``x0``: held by its gravity torques, the force filter started
        from the reading, no push, step 0."""
        self._steps = 0
        self._set_true_state(x0)
        self._hold_start()
        self._reset_force_filter()
        self._reset_push()

    def _reset_force_filter(self) -> None:
        """Start the force filter from the raw normal force now."""
        self._force_raw = self.normal_force_raw()
        self.force_filter.reset(self._force_raw)

    def _update_force_filter(self) -> tuple[float, float]:
        """Read the raw normal force after a step and filter it; returns (raw, filtered) N."""
        self._force_raw = self.normal_force_raw()
        return self._force_raw, self.force_filter.update(self._force_raw)

    # ---- pushes ------------------------------------------------------------------------------
    def _update_push(self) -> None:
        """Hold the active push, or draw a new one: with ``push_probability`` per step (while none
        is active) a push of ``push_force`` N along + or - one of :attr:`push_axes` (sign 50/50,
        then the axis uniformly when there are several; the planar arm's is x) acts on the tool for
        :attr:`push_steps` steps."""
        if self._push_steps_left > 0:
            self._push_steps_left -= 1
            if self._push_steps_left == 0:
                self.push_force = np.zeros(3)
            return
        cfg = self.randomization
        if cfg.push_probability <= 0.0 or self.np_random.random() >= cfg.push_probability:
            return
        magnitude = self.np_random.uniform(*cfg.push_force)
        sign = 1.0 if self.np_random.random() < 0.5 else -1.0
        axes = self.push_axes
        # One axis: no draw, so the planar arm's random stream is what it always was.
        axis = axes[0] if len(axes) == 1 else axes[int(self.np_random.integers(len(axes)))]
        self.push_force = np.zeros(3)
        self.push_force[axis] = sign * magnitude
        self._push_steps_left = self.push_steps

    def _reset_push(self) -> None:
        self.push_force = np.zeros(3)
        self._push_steps_left = 0
