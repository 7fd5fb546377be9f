"""Navigation worlds for NavDP-style point-goal navigation: procedural MuJoCo worlds
(:mod:`.world`), their privileged grids and shortest paths (:mod:`.grid`), a differential-drive
robot (:mod:`.robot`), ray-cast depth and scan (:mod:`.sensors`) and the Gymnasium envs
``robocritic/NavPointGoal-v0`` (:mod:`.point_goal_v0`) and ``robocritic/NavExplore-v0``
(:mod:`.explore_v0`), built from the task mixin :mod:`.task` and the MuJoCo side
:mod:`.mujoco_nav`.

Frames everywhere: world x, y (m), yaw (rad) counter-clockwise from +x; robot frame x forward,
y left; ``+omega`` turns left.
"""

from robocritic.envs.nav.grid import GridMap, cost_to_go, descend, esdf, inflate
from robocritic.envs.nav.robot import RobotSpec, UnicycleModel
from robocritic.envs.nav.sensors import DepthConfig, RayCaster, ScanConfig
from robocritic.envs.nav.world import PRESETS, Obstacle, World, WorldSpec, generate_world

__all__ = [
    "PRESETS",
    "DepthConfig",
    "GridMap",
    "Obstacle",
    "RayCaster",
    "RobotSpec",
    "ScanConfig",
    "UnicycleModel",
    "World",
    "WorldSpec",
    "cost_to_go",
    "descend",
    "esdf",
    "generate_world",
    "inflate",
]
