"""robocritic environments, registered with Gymnasium on import as ``robocritic/<Name>-v0``.

| id | engine | system |
|---|---|---|
| ``robocritic/ClippedPendulum-v0`` | MuJoCo | upright pendulum, saturated torque |
| ``robocritic/ClippedPendulumBullet-v0`` | PyBullet (extra ``pybullet``) | the same task |
| ``robocritic/ClippedPendulum-v1`` | MuJoCo | the same task with theta_dot clipped at 8 rad/s as in Gymnasium's Pendulum-v1; optional Gym observation |
| ``robocritic/SafetyCSTR-v0`` | scipy ODE | runaway-prone reactor, T < 480 K |
| ``robocritic/ArmPressWipe-v0`` | MuJoCo, 1 kHz | planar 3-link torque arm: press 5-20 N and wipe, filtered force < 30 N |
| ``robocritic/ArmPressWipe-v1`` | MuJoCo, 1 kHz | the same task with a 0.8 s approach window (room for a guarded move) |
| ``robocritic/ArmPressWipeBullet-v0`` | PyBullet (extra ``pybullet``), 1 kHz | the same task |
| ``robocritic/Arm7PressWipe-v0`` | MuJoCo, 1 kHz | 7-DoF torque arm (Panda kinematics and limits): the same task in 3-D |
| ``robocritic/Arm7PressWipe-v1`` | MuJoCo, 1 kHz | the 7-DoF task with a 0.8 s approach window |
| ``robocritic/ArmPegInHole-v0`` | MuJoCo, 1 kHz | the planar arm inserts a peg (1 mm clearance), filtered lateral force < 10 N |
| ``robocritic/ArmGroove-v0`` | MuJoCo, 1 kHz | the planar arm follows a groove past a moving obstacle, filtered wall (lateral) force < 12 N |
| ``robocritic/NavPointGoal-v0`` | MuJoCo ray casting, 10 Hz | differential-drive robot reaches a point goal in a generated cluttered world from depth + odometry; collision unsafe |
| ``robocritic/NavExplore-v0`` | MuJoCo ray casting, 10 Hz | the same robot and worlds without a goal: travel and cover area; collision unsafe |
"""

from __future__ import annotations

import os
import warnings

# Headless by default: EGL needs no display. Set here, before any env module imports mujoco
# (MuJoCo reads MUJOCO_GL once, at import). A user's own MUJOCO_GL (glfw, osmesa) wins.
os.environ.setdefault("MUJOCO_GL", "egl")

import gymnasium as gym
from robocritic.envs.base.errors import SimulationDiverged
from robocritic.envs.base.randomization import DomainRandomization

__all__ = ["ENV_IDS", "DomainRandomization", "SimulationDiverged"]

_SPECS = {
    "robocritic/ClippedPendulum-v0": ("robocritic.envs.pendulum.clipped_pendulum_v0:ClippedPendulumEnv", 200),
    "robocritic/ClippedPendulumBullet-v0": (
        "robocritic.envs.pendulum.clipped_pendulum_bullet_v0:ClippedPendulumBulletEnv",
        200,
    ),
    "robocritic/ClippedPendulum-v1": ("robocritic.envs.pendulum.clipped_pendulum_v1:ClippedPendulumV1Env", 200),
    "robocritic/SafetyCSTR-v0": ("robocritic.envs.cstr.safety_cstr_v0:SafetyCSTREnv", 120),
    "robocritic/ArmPressWipe-v0": ("robocritic.envs.arm.press_wipe_v0:ArmPressWipeEnv", 2000),
    "robocritic/ArmPressWipe-v1": ("robocritic.envs.arm.press_wipe_v1:ArmPressWipeV1Env", 2500),
    "robocritic/ArmPressWipeBullet-v0": (
        "robocritic.envs.arm.press_wipe_bullet_v0:ArmPressWipeBulletEnv",
        2000,
    ),
    "robocritic/Arm7PressWipe-v0": ("robocritic.envs.arm.press_wipe7_v0:Arm7PressWipeEnv", 2000),
    "robocritic/Arm7PressWipe-v1": ("robocritic.envs.arm.press_wipe7_v1:Arm7PressWipeV1Env", 2500),
    "robocritic/ArmPegInHole-v0": ("robocritic.envs.arm.peg_in_hole_v0:ArmPegInHoleEnv", 2000),
    "robocritic/ArmGroove-v0": ("robocritic.envs.arm.groove_v0:ArmGrooveEnv", 2000),
    "robocritic/NavPointGoal-v0": ("robocritic.envs.nav.point_goal_v0:NavPointGoalEnv", 600),
    "robocritic/NavExplore-v0": ("robocritic.envs.nav.explore_v0:NavExploreEnv", 600),
}
ENV_IDS: tuple[str, ...] = tuple(_SPECS)

# Gymnasium warns on every make of an id whose newer version is registered. robocritic's v0 ids stay
# documented, first-class tasks (each v1 changes the task, not a fix of v0), so not for them.
warnings.filterwarnings("ignore", message=r".*The environment robocritic/\S+ is out of date", category=DeprecationWarning)

for _id, (_entry, _steps) in _SPECS.items():
    if _id not in gym.registry:
        gym.register(id=_id, entry_point=_entry, max_episode_steps=_steps)
