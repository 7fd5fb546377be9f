#!/usr/bin/env bash
# Run a command in a private network namespace that has only a loopback interface (up), so
# default-configured ROS 2 nodes (Fast DDS multicast discovery) never reach a real network.
#   scripts/netns.sh .venv-jazzy/bin/python -m pytest tests/ros2
# Needs root or unprivileged user namespaces (then it maps the caller to root inside).
set -euo pipefail
[[ $# -ge 1 ]] || { echo "usage: scripts/netns.sh COMMAND [ARG...]" >&2; exit 2; }
inner='ip link set lo up && exec "$@"'
if [[ $(id -u) -eq 0 ]]; then
  exec unshare --net -- bash -c "$inner" netns "$@"
fi
exec unshare --net --map-root-user -- bash -c "$inner" netns "$@"
