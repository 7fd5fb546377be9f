"""Names of joints, actuators and bodies in the shipped assets. Ids are resolved from these
names at load time, never hard-coded."""

PENDULUM_MJCF = "clipped_pendulum.xml"
PENDULUM_URDF = "clipped_pendulum.urdf"
PENDULUM_JOINT = "hinge"
PENDULUM_ACTUATOR = "torque"
PENDULUM_BODY = "pole"
