#!/usr/bin/env bash
# Create (or update) the project's virtual environments.
#   scripts/setup.sh                  .venv: runtime + every extra (PyBullet, explicit MPC, ONNX export, RL)
#   scripts/setup.sh --test           the same plus the test tools and the nmpc extra (CasADi), and both ROS 2 venvs below
#   scripts/setup.sh --ros DISTRO     also a ROS 2 venv: jazzy -> .venv-jazzy, kilted -> .venv-kilted, all
# A ROS 2 venv holds rclpy and the message packages from PyPI's ROS 2 wheels plus robocritic
# (editable, with the test tools), so its nodes run on the rclpy transport. One venv per distro:
# both ship a module named rclpy. Versions come from constraints.txt (torch pinned to the CPU build).
set -euo pipefail
cd "$(dirname "$0")/.."

extras="all"
distros=()
while (($#)); do
  case "$1" in
    --test) extras="all,test,nmpc"; distros=(jazzy kilted) ;;
    --ros)
      [[ $# -ge 2 ]] || { echo "setup.sh: --ros needs a distro (jazzy, kilted or all)" >&2; exit 2; }
      case "$2" in
        jazzy|kilted) distros+=("$2") ;;
        all) distros+=(jazzy kilted) ;;
        *) echo "setup.sh: unknown ROS 2 distro '$2' (jazzy, kilted or all; no wheels exist for humble)" >&2; exit 2 ;;
      esac
      shift ;;
    *) echo "setup.sh: unknown option '$1' (--test, --ros DISTRO)" >&2; exit 2 ;;
  esac
  shift
done

python="${PYTHON:-python3}"
pip_install() { "$1/bin/python" -m pip install --quiet --disable-pip-version-check -c constraints.txt "${@:2}"; }

[[ -x .venv/bin/python ]] || "$python" -m venv .venv
pip_install .venv -e ".[${extras}]"
echo "robocritic installed in .venv ($(.venv/bin/python -c 'import robocritic; print(robocritic.__version__)'))"

# ROS 2 wheels per distro: rclpy, the message packages robocritic maps and Fast DDS (the default
# rmw). For Jazzy, scripts/build_ros_msgs.sh then adds the ament/rosidl build tools and builds
# robocritic_msgs (the Kilted wheels lack some of those tools).
ros_packages() {
  case "$1" in
    jazzy) echo ros-jazzy-rclpy==7.1.6 ros-jazzy-std-msgs ros-jazzy-sensor-msgs ros-jazzy-rosgraph-msgs \
      ros-jazzy-geometry-msgs ros-jazzy-nav-msgs ros-jazzy-rmw-fastrtps-cpp ;;
    kilted) echo ros-rclpy==9.1.2 ros-std-msgs ros-sensor-msgs ros-rosgraph-msgs ros-geometry-msgs \
      ros-nav-msgs ros-rmw-fastrtps-cpp ;;
  esac
}

for distro in $(printf '%s\n' "${distros[@]}" | sort -u); do
  venv=".venv-${distro}"
  [[ -x "$venv/bin/python" ]] || "$python" -m venv "$venv"
  # shellcheck disable=SC2046
  pip_install "$venv" $(ros_packages "$distro") -e ".[test]"
  [[ "$distro" != jazzy ]] || scripts/build_ros_msgs.sh "$venv"
  echo "ROS 2 ${distro} in ${venv} ($("$venv/bin/python" -c 'import rclpy; print(rclpy.__file__)'))"
done
