"""Per-robot-kind message I/O of the nodes: messages in, model-order numpy arrays out, and back.

The safety shell (:mod:`robocritic.nodes.shell`) works on arrays only; what a robot kind's
messages look like, and how their values map to model order and units, lives here.

==========  ========================================================================================
module      contents
==========  ========================================================================================
``joint``   JointState -> ``[q, dq]``, efforts <-> Float64MultiArray, through the profile's
            :class:`~robocritic.profiles.JointMap`; the plausibility range of joint readings
``arm``     the wrist wrench and its freshness, effort commands and SafetyVerdicts of an arm
``diffdrive``  depth images, odometry and goals in; cmd_vel and paths out (a diff-drive base)
==========  ========================================================================================
"""
