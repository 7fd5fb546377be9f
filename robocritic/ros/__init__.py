"""ROS 2 runtime: message types, QoS profiles and one node interface over three transports.

- :mod:`robocritic.ros.msgs`: ROS 2 message types as DDS (cyclonedds IDL) structs with the ROS 2
  wire names, a registry by ROS name, and msg <-> numpy helpers.
- :mod:`robocritic.ros.qos`: transport-neutral QoS profiles (sensor data, commands, clock, ...).
- :mod:`robocritic.ros.transport`: the :class:`~robocritic.ros.transport.Node` interface and
  :func:`~robocritic.ros.transport.make_node`, which picks rclpy (ROS 2 installed), the ROS 2
  wire-compatible DDS transport (the embedded default) or the deterministic in-process bus.
- :mod:`robocritic.ros.launcher`: ROS 2 YAML launch files and the process supervisor.
- :mod:`robocritic.ros.bag`, :mod:`robocritic.ros.realtime`: rosbag2 (MCAP) recording, real-time
  process settings.

The runtime imports nothing else of robocritic (nodes and jobs sit on top of it, never the other
way round), so it can run and be tested on its own; modules inside it import each other relatively.
"""
