"""ROS 2 runtime: message types, QoS profiles and one node interface over three transports.

- :mod:`robocritic.ros.msgs`: ROS 2 message types as DDS (cyclonedds IDL) structs with the ROS 2
  wire names, a registry by ROS name, and msg <-> numpy helpers.
- :mod:`robocritic.ros.qos`: transport-neutral QoS profiles (sensor data, commands, clock, ...).
- :mod:`robocritic.ros.transport`: the :class:`~robocritic.ros.transport.Node` interface and
  :func:`~robocritic.ros.transport.make_node`, which picks rclpy (ROS 2 installed), the ROS 2
  wire-compatible DDS transport (the embedded default) or the deterministic in-process bus.

Nothing outside this package imports it (see ARCHITECTURE.md, "Import direction"); modules inside
it import each other relatively.
"""
