"""Names of joints, actuators, bodies, sites, sensors and geoms in the shipped arm asset. Ids are
resolved from these names when the model loads, never hard-coded."""

ARM_MJCF = "arm3_planar.xml"
#: Joints, base to tip; qpos, qvel and the action follow this order.
ARM_JOINTS = ("joint1", "joint2", "joint3")
#: Torque motors, one per joint, in :data:`ARM_JOINTS` order.
ARM_ACTUATORS = ("motor1", "motor2", "motor3")
#: Link bodies, base to tip (each turns about its own joint).
ARM_LINKS = ("link1", "link2", "link3")
#: The welded fingertip (tool) body: child of ``link3`` with no joint; it carries the F/T site.
TOOL_BODY = "tip"
#: Wrist force/torque site (the flange between ``link3`` and the tool).
FT_SITE = "ft_site"
#: Tool centre point: the centre of the fingertip sphere.
TCP_SITE = "tcp"
#: MuJoCo ``force`` and ``torque`` sensors on :data:`FT_SITE`.
FT_FORCE_SENSOR = "ft_force"
FT_TORQUE_SENSOR = "ft_torque"
#: The fingertip sphere, the arm's only colliding geom.
TIP_GEOM = "tip_sphere"
#: The table box whose top face is the work surface.
SURFACE_GEOM = "surface"
