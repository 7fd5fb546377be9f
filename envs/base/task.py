"""What a task mixin needs from its engine.

A task (the pendulum's, the arm's, ...) is written once and combined with an engine base
(:class:`~robocritic.envs.base.mujoco_env.MujocoEnv`, :class:`~robocritic.envs.base.pybullet_env.PyBulletEnv`)
in a concrete env class. The task implements ``step``, ``reset_model`` and ``_get_obs`` on top of
the three hooks below, which the concrete env implements for its engine; a concrete env that
forgets one cannot be instantiated.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


class EngineHooks(ABC):
    """The engine side of a task mixin. The engine base also supplies ``dynamics``, ``dt``,
    ``np_random``, ``_initial_state``, ``_prepare_action``, ``_observe`` and ``_cost_info``
    (all from :class:`~robocritic.envs.base.robocritic_env.RobocriticEnv`)."""

    @abstractmethod
    def _true_state(self) -> np.ndarray:
        """The simulator's state in the model's coordinates, shape ``(n_x,)``."""

    @abstractmethod
    def _set_true_state(self, x: np.ndarray) -> None:
        """Put the simulator in state ``x`` (model coordinates, shape ``(n_x,)``)."""

    @abstractmethod
    def _simulate(self, u: np.ndarray) -> None:
        """Advance the simulator one control step under input ``u``, shape ``(n_u,)``."""
