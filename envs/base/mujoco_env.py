"""MuJoCo engine base: model loading from package assets, stepping, state setting, the
physical side of domain randomisation, and off-screen rendering."""

from __future__ import annotations

from typing import Any

import mujoco
import numpy as np
from robocritic.envs.base.assets import asset_path
from robocritic.envs.base.randomization import DomainRandomization
from robocritic.envs.base.robocritic_env import RobocriticEnv, check_frame_skip, names_env_errors

from robocritic.dynamics import DynamicsModel

#: MuJoCo warnings on which ``mj_step`` resets the data to the model's default state (a NaN or
#: huge position, velocity or acceleration): a step that raised one must not pass as normal.
_BADQPOS, _BADQVEL, _BADQACC = ENGINE_RESET_WARNINGS = tuple(int(w) for w in (
    mujoco.mjtWarning.mjWARN_BADQPOS, mujoco.mjtWarning.mjWARN_BADQVEL, mujoco.mjtWarning.mjWARN_BADQACC))


class MujocoEnv(RobocriticEnv):
    """Base for MuJoCo envs. One control step is ``frame_skip`` physics steps of the model's
    ``timestep``; :attr:`dt` is the control period in seconds.

    Override surface (shared with :class:`~robocritic.envs.base.pybullet_env.PyBulletEnv`):
    ``step``, ``reset_model``, ``_get_obs``; use ``do_simulation``, ``set_state`` and
    ``push_body`` (the body pushes act on) from them.
    """

    push_body: str = ""  # name of the body that random pushes act on ("" = no pushes)
    render_camera: str | int = -1  # camera name for render(); -1 is MuJoCo's free camera

    def __init__(
        self,
        asset: str,
        frame_skip: int,
        dynamics: DynamicsModel,
        randomization: DomainRandomization | dict[str, Any] | None = None,
        render_mode: str | None = None,
        width: int = 480,
        height: int = 480,
    ) -> None:
        super().__init__(dynamics, randomization, render_mode)
        check_frame_skip(frame_skip)
        self.frame_skip = int(frame_skip)
        self.model = mujoco.MjModel.from_xml_path(asset_path(asset))
        self.data = mujoco.MjData(self.model)
        self._nominal = {
            "body_mass": self.model.body_mass.copy(),
            "body_inertia": self.model.body_inertia.copy(),
            "geom_friction": self.model.geom_friction.copy(),
            "dof_damping": self.model.dof_damping.copy(),
        }
        self._push_body_id = (
            mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_BODY, self.push_body) if self.push_body else -1
        )
        if self.push_body and self._push_body_id < 0:
            raise ValueError(f"push_body {self.push_body!r} is not a body of {asset}")
        self._width, self._height = width, height
        self._renderer: mujoco.Renderer | None = None
        # A view: the counts MuJoCo raises in place (and mj_resetData zeroes at every reset).
        self._warning_counts = self.data.warning.number

    @property
    def dt(self) -> float:
        """Control period in seconds."""
        return float(self.model.opt.timestep) * self.frame_skip

    def _apply_episode_physics(self) -> None:
        """Write this episode's randomised parameters into the model (from nominal values)."""
        p = self.episode_physics
        self.model.body_mass[:] = self._nominal["body_mass"] * p.mass_scale
        self.model.body_inertia[:] = self._nominal["body_inertia"] * p.mass_scale
        self.model.geom_friction[:, 0] = self._nominal["geom_friction"][:, 0] * p.friction_scale
        self.model.dof_damping[:] = self._nominal["dof_damping"] + p.joint_damping

    @names_env_errors
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self._begin_episode()
        self._apply_episode_physics()
        mujoco.mj_resetData(self.model, self.data)
        obs = self.reset_model(options)
        return self._observe(obs), {"state": self.state_vector(), "episode_physics": self.episode_physics}

    def set_state(self, qpos: np.ndarray, qvel: np.ndarray) -> None:
        self.data.qpos[:] = qpos
        self.data.qvel[:] = qvel
        mujoco.mj_forward(self.model, self.data)

    def state_vector(self) -> np.ndarray:
        return np.concatenate([self.data.qpos, self.data.qvel])

    def do_simulation(self, ctrl: np.ndarray) -> None:
        """Apply ``ctrl`` (and a random push, if one is drawn) for one control step."""
        self.data.ctrl[:] = ctrl
        push = self._sample_push() if self._push_body_id >= 0 else None
        self.data.xfrc_applied[:] = 0.0
        if push is not None:
            self.data.xfrc_applied[self._push_body_id, :3] = push
        mujoco.mj_step(self.model, self.data, nstep=self.frame_skip)
        self.data.xfrc_applied[:] = 0.0
        self._check_engine_reset()

    def _check_engine_reset(self) -> None:
        """Raise :class:`~robocritic.envs.base.errors.SimulationDiverged` if MuJoCo reset the
        simulation during the last step (call after every ``mj_step``)."""
        counts = self._warning_counts
        if counts[_BADQPOS] or counts[_BADQVEL] or counts[_BADQACC]:  # unrolled: runs every step
            hit = [i for i in ENGINE_RESET_WARNINGS if counts[i]]
            names = ", ".join(mujoco.mjtWarning(i).name for i in hit)
            raise self._diverged_error(f"MuJoCo reset the simulation to its default state after {names}")

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array":
            return None
        if self._renderer is None:
            self._renderer = mujoco.Renderer(self.model, self._height, self._width)
        self._renderer.update_scene(self.data, camera=self.render_camera)
        return self._renderer.render()

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
