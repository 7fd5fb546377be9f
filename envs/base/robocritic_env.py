"""Engine-independent part of every robocritic environment.

Handles what must behave identically on MuJoCo, PyBullet and plain-ODE envs: action
validation (NaN/inf/wrong shape is a ``ValueError`` naming ``action``; out-of-range values are
saturated like a real actuator and counted), the actuator delay line, sensor noise, external
pushes, and the cost/constraint terms every env reports in ``info``.

The safety contract: ``info["unsafe"]`` is the one flag learning and evaluation count as a safety
violation. By default it is the state box (``info["violated"]``); a task with its own safety event
(the CSTR's 480 K, a force limit, a collision) passes ``unsafe=`` to ``_cost_info``, and
``info["violated"]`` stays as an observation of the state box.

Engine bases (:class:`~robocritic.envs.base.mujoco_env.MujocoEnv`,
:class:`~robocritic.envs.base.pybullet_env.PyBulletEnv`) add the simulator; a concrete env
implements the override surface ``step``, ``reset_model`` and ``_get_obs``.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import gymnasium as gym
import numpy as np
from robocritic.envs.base.randomization import DomainRandomization, EpisodePhysics

from robocritic.dynamics import DynamicsModel
from robocritic.utils.validation import as_vector


class RobocriticEnv(gym.Env[np.ndarray, np.ndarray]):
    """Base of all robocritic envs. ``dynamics`` is the shared model; its limits are the
    action bounds and the safety constraints reported in ``info``."""

    metadata: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": 20}

    def __init__(
        self,
        dynamics: DynamicsModel,
        randomization: DomainRandomization | dict[str, Any] | None = None,
        render_mode: str | None = None,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be one of {self.metadata['render_modes']} or None; got {render_mode!r}"
            )
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

    # ---- override surface (shared by every engine) ----------------------------------------
    def reset_model(self, options: dict[str, Any] | None) -> np.ndarray:
        """Set the initial state (honouring ``options``) and return the true observation."""
        raise NotImplementedError(f"{type(self).__name__} must implement reset_model")

    def _get_obs(self) -> np.ndarray:
        """The true (noise-free) observation of the current state."""
        raise NotImplementedError(f"{type(self).__name__} must implement _get_obs")

    # ---- helpers for concrete envs -------------------------------------------------------
    def _begin_episode(self) -> None:
        """Draw this episode's physics and reset delay line and counters (call in ``reset``)."""
        self.episode_physics = EpisodePhysics.sample(self.randomization, self.np_random)
        neutral = self.dynamics.u_eq.copy()
        self._delay_line = deque([neutral] * self.episode_physics.actuator_delay)
        self.action_saturation_count = 0

    def _prepare_action(self, action: Any) -> np.ndarray:
        """Validate and saturate ``action``, pass it through the delay line; return the input
        the actuator applies this step, shape ``(n_u,)``."""
        # A float64 array of the right shape is saturated on Python floats (a few entries, where
        # each numpy call costs more than the loop); anything else, or a NaN or inf (a non-finite
        # sum), takes as_vector, which converts it or names the problem.
        values = None
        if type(action) is np.ndarray and action.dtype == np.float64 and action.shape == self._u_shape:
            values = action.tolist()
            if not math.isfinite(sum(values)):
                values = None
        if values is None:
            values = as_vector("action", action, self.dynamics.n_u).tolist()
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
        """Add the configured sensor noise to the true observation."""
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

    def _initial_state(self, options: dict[str, Any] | None, sample: Any) -> np.ndarray:
        """``options["state"]`` if given (validated), else ``sample()``."""
        if options and "state" in options:
            return as_vector("options['state']", options["state"], self.dynamics.n_x)
        if options:
            unknown = sorted(set(options) - {"state"})
            if unknown:
                raise ValueError(f"reset options: unknown key(s) {unknown}; known: ['state']")
        return np.asarray(sample(), dtype=np.float64)


def check_frame_skip(frame_skip: int) -> None:
    """Engine bases take ``frame_skip`` physics steps per control step; it must be a whole >= 1."""
    if int(frame_skip) != frame_skip or frame_skip < 1:
        raise ValueError(f"frame_skip must be a positive integer; got {frame_skip!r}")
