"""End-to-end jobs the CLI starts (each writes a run folder): the pendulum demo, its ROS 2 graph
run, the sim-to-sim check and their plots."""
