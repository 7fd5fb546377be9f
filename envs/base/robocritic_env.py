"""Engine-independent part of every robocritic environment.

Handles what must behave identically on MuJoCo, PyBullet and plain-ODE envs: action
validation (NaN/inf/wrong shape is a ``ValueError`` naming ``action``; out-of-range values are
saturated like a real actuator and counted), the actuator delay line, sensor noise, external
pushes, and the cost/constraint terms every env reports in ``info``.

The safety contract: ``info["unsafe"]`` is the one flag learning and evaluation count as a safety
violation. By default it is the state box (``info["violated"]``); a task with its own safety event
(the CSTR's 480 K, a force limit, a collision) passes ``unsafe=`` to ``_cost_info``, and
``info["violated"]`` stays as an observation of the state box.

Bad input is refused where it enters, with a ``ValueError`` that names the env and the field:
an action or ``options["state"]`` must hold real numbers (strings, bytes, bools, complex
numbers, datetimes and other objects are refused, not converted), of the right shape, finite,
and a start state must lie in the env's physical range (:meth:`RobocriticEnv.state_bounds`,
documented per env). Constructor errors name the env too (:func:`names_env_errors`).

Divergence: a step is never returned as normal when the simulation has left the finite numbers.
If the true observation holds NaN or inf, or the engine reset itself to escape a bad state
(MuJoCo does so on a NaN or huge position, velocity or acceleration), ``step`` raises
:class:`~robocritic.envs.base.errors.SimulationDiverged`; the episode is over and every later
``step`` raises it again until ``reset``.

Engine bases (:class:`~robocritic.envs.base.mujoco_env.MujocoEnv`,
:class:`~robocritic.envs.base.pybullet_env.PyBulletEnv`) add the simulator; a concrete env
implements the override surface ``step``, ``reset_model`` and ``_get_obs``.
"""

from __future__ import annotations

import functools
import math
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import gymnasium as gym
import numpy as np
from robocritic.envs.base.errors import SimulationDiverged
from robocritic.envs.base.randomization import DomainRandomization, EpisodePhysics

from robocritic.dynamics import DynamicsModel
from robocritic.utils.fields import is_int
from robocritic.utils.validation import as_real_vector, short_repr

_Method = TypeVar("_Method", bound=Callable[..., Any])


def names_env_errors(method: _Method) -> _Method:
    """Decorate an env's ``__init__`` or ``reset``: a ``ValueError`` it raises is raised again with
    the env's name in front (once), so that every refused argument or option names its env."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except ValueError as exc:
            prefix = f"{env_label(self)}: "
            if type(exc) is not ValueError or str(exc).startswith(prefix):
                raise
            raise ValueError(prefix + str(exc)) from exc

    return wrapper  # type: ignore[return-value]


def env_label(env: Any) -> str:
    """The env's name for messages: its ``env_name`` (the registered name), else its class name."""
    return getattr(type(env), "env_name", "") or type(env).__name__


class RobocriticEnv(gym.Env[np.ndarray, np.ndarray]):
    """Base of all robocritic envs. ``dynamics`` is the shared model; its limits are the
    action bounds and the safety constraints reported in ``info``."""

    metadata: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": 20}
    #: The registered name without its namespace (``"ClippedPendulum-v0"``), for messages.
    env_name: str = ""

    def __init__(
        self,
        dynamics: DynamicsModel,
        randomization: DomainRandomization | dict[str, Any] | None = None,
        render_mode: str | None = None,
    ) -> None:
        modes = self.metadata["render_modes"]
        if render_mode is not None and not (isinstance(render_mode, str) and render_mode in modes):
            raise ValueError(f"render_mode must be one of {modes} or None; got {short_repr(render_mode)}")
        self.dynamics = dynamics
        self.randomization = DomainRandomization.from_any(randomization)
        self.render_mode = render_mode
        # Limits are read once: models build them on demand and a step must not allocate them.
        self.state_box = dynamics.state_box
        self.input_box = dynamics.input_box
        self._noise_std = np.asarray(self.randomization.obs_noise_std, dtype=np.float64)
        self._noisy = bool(np.any(self._noise_std > 0))
        self.action_space = gym.spaces.Box(
            self.input_box.low.astype(np.float32), self.input_box.high.astype(np.float32)
        )
        self.episode_physics = EpisodePhysics()
        self._delay_line: deque[np.ndarray] = deque()
        # The input box as floats, for the per-step saturation on Python floats.
        self._u_shape = (int(dynamics.n_u),)
        self._u_bounds = list(zip(self.input_box.low.tolist(), self.input_box.high.tolist()))
        # The state box likewise for _cost_info; from 8 entries on np.sum adds in blocks, in an
        # order the loop does not copy, so larger states keep numpy.
        n_x = self.state_box.size
        self._x_shape = (n_x,) if n_x < 8 else None
        self._x_bounds = list(zip(self.state_box.low.tolist(), self.state_box.high.tolist()))
        self.action_saturation_count = 0  # commands clipped to the actuator limits, this episode
        self._diverged: str | None = None  # why the episode ended in a diverged simulation

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        """Seed the env's generator: ``seed`` is an integer >= 0 or None (ValueError naming the env
        otherwise). Engine bases extend this with the episode's set-up."""
        if seed is not None and not (is_int(seed) and seed >= 0):
            raise ValueError(f"{env_label(self)}: seed must be an integer >= 0 or None; got {short_repr(seed)}")
        return super().reset(seed=None if seed is None else int(seed))

    # ---- override surface (shared by every engine) ----------------------------------------
    def reset_model(self, options: dict[str, Any] | None) -> np.ndarray:
        """Set the initial state (honouring ``options``) and return the true observation."""
        raise NotImplementedError(f"{type(self).__name__} must implement reset_model")

    def _get_obs(self) -> np.ndarray:
        """The true (noise-free) observation of the current state."""
        raise NotImplementedError(f"{type(self).__name__} must implement _get_obs")

    def state_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """The physical range ``(low, high)`` of a start state ``options["state"]``, per entry:
        the states the simulation models (each env documents its range under *Start state*).
        Wider than the safety constraints, so a start in violation can be tested. Default: every
        finite state."""
        n_x = int(self.dynamics.n_x)
        return np.full(n_x, -np.inf), np.full(n_x, np.inf)

    # ---- helpers for concrete envs -------------------------------------------------------
    def _begin_episode(self) -> None:
        """Draw this episode's physics and reset delay line and counters (call in ``reset``)."""
        self.episode_physics = EpisodePhysics.sample(self.randomization, self.np_random)
        neutral = self.dynamics.u_eq.copy()
        self._delay_line = deque([neutral] * self.episode_physics.actuator_delay)
        self.action_saturation_count = 0
        self._diverged = None

    def _diverged_error(self, reason: str) -> SimulationDiverged:
        """End the episode as diverged (every later ``step`` raises until ``reset``); the error to raise."""
        self._diverged = (f"{env_label(self)}: the simulation diverged ({reason}); this episode is over, "
                          "call reset()")
        return SimulationDiverged(self._diverged)

    def _check_finite(self, what: str, values: np.ndarray) -> None:
        """Raise :class:`SimulationDiverged` if ``values`` (the true ``what``) holds NaN or inf."""
        # A sum of the entries is finite when every entry is (a few floats: cheaper than numpy);
        # a non-finite sum is checked exactly, since finite entries can overflow it.
        flat = values.tolist() if values.ndim == 1 else values.ravel().tolist()
        if math.isfinite(sum(flat)) or np.isfinite(values).all():
            return
        raise self._diverged_error(f"the {what} holds non-finite values: {short_repr(flat)}")

    def _prepare_action(self, action: Any) -> np.ndarray:
        """Validate and saturate ``action``, pass it through the delay line; return the input
        the actuator applies this step, shape ``(n_u,)``."""
        # A float64 array of the right shape is saturated on Python floats (a few entries, where
        # each numpy call costs more than the loop); anything else, or a NaN or inf (a non-finite
        # sum), takes as_real_vector, which converts it or names the problem (and the env).
        if self._diverged is not None:
            raise SimulationDiverged(self._diverged)
        values = None
        if type(action) is np.ndarray and action.dtype == np.float64 and action.shape == self._u_shape:
            values = action.tolist()
            if not math.isfinite(sum(values)):
                values = None
        if values is None:
            values = as_real_vector(f"{env_label(self)}: action", action, self._u_shape[0]).tolist()
        clipped = [low if v < low else high if v > high else v for v, (low, high) in zip(values, self._u_bounds)]
        if clipped != values:
            self.action_saturation_count += 1
        self._delay_line.append(np.array(clipped))
        return self._delay_line.popleft()

    def _sample_push(self) -> np.ndarray | None:
        """A horizontal force (N, world frame, shape (3,)) for this step, or ``None``."""
        cfg = self.randomization
        if cfg.push_probability <= 0.0 or self.np_random.random() >= cfg.push_probability:
            return None
        magnitude = self.np_random.uniform(*cfg.push_force)
        angle = self.np_random.uniform(0.0, 2.0 * np.pi)
        return magnitude * np.array([np.cos(angle), np.sin(angle), 0.0])

    def _observe(self, obs: np.ndarray) -> np.ndarray:
        """Add the configured sensor noise to the true observation (which must be finite:
        :class:`SimulationDiverged` otherwise)."""
        self._check_finite("observation", obs)
        if self._noisy:
            obs = obs + self._noise_std * self.np_random.standard_normal(obs.shape)
        return obs.astype(self.observation_space.dtype)

    def _cost_info(
        self, x: np.ndarray, u: np.ndarray, cost: float, unsafe: bool | None = None
    ) -> dict[str, Any]:
        """Cost and constraint terms for ``info``: true state, applied input, violation amount,
        and ``unsafe`` (the task's safety event; the state box when ``None``)."""
        if x.shape == self._x_shape:
            # Box.violation on Python floats (max(a, 0) keeping a NaN, as np.maximum does), summed
            # left to right, which is np.sum's order below 8 entries.
            terms = []
            for v, (low, high) in zip(x.tolist(), self._x_bounds):
                above, below = v - high, low - v
                terms.append((0.0 if above <= 0.0 else above) + (0.0 if below <= 0.0 else below))
            amount = sum(terms)
            violated = any(term > 0.0 for term in terms)
        else:
            violation = self.state_box.violation(x)
            amount, violated = float(np.sum(violation)), bool((violation > 0).any())
        return {
            "state": x.copy(),
            "applied_action": u.copy(),
            "cost": float(cost),
            "constraint_violation": amount,
            "violated": violated,
            "unsafe": violated if unsafe is None else bool(unsafe),
            "action_saturations": self.action_saturation_count,
        }

    def _state_option(self, value: Any) -> np.ndarray:
        """``options["state"]``: real numbers, shape ``(n_x,)``, finite and inside
        :meth:`state_bounds` (ValueError naming the entry otherwise)."""
        name = "options['state']"
        x = as_real_vector(f"{env_label(self)}: {name}", value, int(self.dynamics.n_x))
        low, high = self.state_bounds()
        outside = np.flatnonzero((x < low) | (x > high))
        if outside.size:
            i = int(outside[0])
            names = self.dynamics.state_names
            label = f" ({names[i]})" if i < len(names) else ""
            raise ValueError(f"{env_label(self)}: {name}[{i}]{label} = {x[i]:g} is outside the physical "
                             f"range [{low[i]:g}, {high[i]:g}] (see the env's docstring, Start state)")
        return x

    def _initial_state(self, options: dict[str, Any] | None, sample: Any) -> np.ndarray:
        """``options["state"]`` if given (validated by :meth:`_state_option`), else ``sample()``."""
        options = reset_options(options, ("state",))
        if "state" in options:
            return self._state_option(options["state"])
        return np.asarray(sample(), dtype=np.float64)


def reset_options(options: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    """A copy of ``reset``'s ``options`` (``{}`` for None); ValueError unless it is a dict whose
    keys are all in ``keys``."""
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        message = f"reset options must be a dict or None; got {short_repr(options)}"
        raise ValueError(message)  # noqa: TRY004 - bad input is a ValueError, whatever its type
    unknown = sorted((k for k in options if k not in keys), key=repr)
    if unknown:
        shown = short_repr(unknown[:10]) + (f" and {len(unknown) - 10} more" if len(unknown) > 10 else "")
        raise ValueError(f"reset options: unknown key(s) {shown}; known: {list(keys)}")
    return dict(options)


def check_frame_skip(frame_skip: int) -> None:
    """Engine bases take ``frame_skip`` physics steps per control step; it must be a whole >= 1."""
    if int(frame_skip) != frame_skip or frame_skip < 1:
        raise ValueError(f"frame_skip must be a positive integer; got {frame_skip!r}")
