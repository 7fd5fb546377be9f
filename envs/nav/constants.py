"""Names of the robot's body, joints, geoms and sites in the generated MJCF. Ids are resolved
from these names when a world's model is built, never hard-coded."""

ROBOT_BODY = "robot"
#: Planar joints: slide along world x, slide along world y, hinge about +z (yaw).
ROBOT_JOINTS = ("robot_x", "robot_y", "robot_yaw")
#: The collidable base cylinder.
ROBOT_GEOM = "robot_base"
#: Top centre of the base (where the camera mast stands; for rendering).
CAMERA_SITE = "camera_mount"
FLOOR_GEOM = "floor"
#: The planner's grid keeps the robot centre this far beyond its radius from obstacles, m
#: (cells with ESDF < radius + margin are blocked); envs check reachability on the same graph.
SAFETY_MARGIN = 0.05
