"""Names of joints, actuators, bodies, sites, sensors and geoms in the 7-DoF arm asset
(``arm7_panda.xml``), following :mod:`robocritic.envs.arm.constants`. Ids are resolved from these
names when the model loads, never hard-coded. Joint names are those of
``hardware/arm7_torque.yaml``."""

ARM7_MJCF = "arm7_panda.xml"
#: Joints, base to flange; qpos, qvel and the action follow this order.
ARM7_JOINTS = tuple(f"panda_joint{i}" for i in range(1, 8))
#: Torque motors, one per joint, in :data:`ARM7_JOINTS` order.
ARM7_ACTUATORS = tuple(f"panda_motor{i}" for i in range(1, 8))
#: Link bodies, base to flange (each turns about its own joint's z axis).
ARM7_LINKS = tuple(f"panda_link{i}" for i in range(1, 8))
#: The welded tool body: child of ``panda_link7`` at the flange (the DH frame "link8"), no joint;
#: it carries the F/T site.
ARM7_TOOL_BODY = "tool"
#: Wrist force/torque site (the flange between ``panda_link7`` and the tool).
ARM7_FT_SITE = "ft_site"
#: Tool centre point: the centre of the fingertip sphere.
ARM7_TCP_SITE = "tcp"
#: MuJoCo ``force`` and ``torque`` sensors on :data:`ARM7_FT_SITE`.
ARM7_FT_FORCE_SENSOR = "ft_force"
ARM7_FT_TORQUE_SENSOR = "ft_torque"
#: The fingertip sphere, the arm's only colliding geom.
ARM7_TIP_GEOM = "tip_sphere"
#: The table box whose top face is the work surface.
ARM7_SURFACE_GEOM = "surface"
