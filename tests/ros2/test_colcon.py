"""`colcon build` of robocritic (ament_python: package.xml, setup.cfg, setup.py) with colcon-ros,
plain and ``--symlink-install``, and the result used from the Jazzy venv through the workspace's
``install/setup.bash``: the package imports from the install, ``$(find-pkg-share robocritic)`` and
the node executables resolve there, and an installed executable runs.

colcon lives in .venv-colcon (made by scripts/build_ros_msgs.sh: colcon needs setuptools<80).
tests/packaging/test_ament.py checks the same packaging files where colcon is absent.
"""

from __future__ import annotations

import json
import os
import subprocess
import tomllib
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).parents[2]
COLCON = ROOT / ".venv-colcon" / "bin" / "colcon"
JAZZY_PYTHON = ROOT / ".venv-jazzy" / "bin" / "python"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
EXECUTABLES = sorted(PYPROJECT["project"]["scripts"])

# Run in the Jazzy venv after sourcing the workspace: where robocritic, its share and executables are.
PROBE = """
import json, robocritic
from robocritic.ros.launcher import find_package_share, load_launch_file
from robocritic.ros.launcher.packages import find_executable
share = find_package_share("robocritic")
plan = load_launch_file(share / "launch" / "pendulum_sim.launch.yaml", check_executables=True)
print(json.dumps({"module": robocritic.__file__, "share": str(share), "files": sorted(map(str, plan.files)),
                  "sim_bridge": find_executable("robocritic", "sim_bridge")}))
"""


def _clean_env() -> dict[str, str]:
    """This environment without the ROS/Python paths of the running venv (the workspace sets its own)."""
    drop = {"PYTHONPATH", "AMENT_PREFIX_PATH", "CMAKE_PREFIX_PATH", "COLCON_PREFIX_PATH", "PYTHONHOME"}
    return {k: v for k, v in os.environ.items() if k not in drop}


def _colcon_build(ws: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    if not COLCON.exists():
        pytest.fail(f"{COLCON} is missing: run scripts/build_ros_msgs.sh .venv-jazzy")
    return subprocess.run(
        [str(COLCON), "--log-base", "log", "build", "--paths", str(ROOT), "--build-base", "build",
         "--install-base", "install", *extra],
        cwd=ws, capture_output=True, text=True, timeout=240, env=_clean_env(), check=False,
    )  # fmt: skip


def _in_workspace(ws: Path, command: str) -> subprocess.CompletedProcess[str]:
    """``command`` in bash after ``source install/setup.bash`` (what a ROS user does)."""
    return subprocess.run(
        ["bash", "-c", f"source install/setup.bash && {command}"],
        cwd=ws, capture_output=True, text=True, timeout=120, env=_clean_env(), check=False,
    )  # fmt: skip


@pytest.mark.parametrize("mode", ["copy", "symlink"])
def test_colcon_build_installs_robocritic_for_ros(mode, tmp_path):
    built = _colcon_build(tmp_path, *(["--symlink-install"] if mode == "symlink" else []))
    assert built.returncode == 0, (built.stdout + built.stderr)[-4000:]
    assert "Finished <<< robocritic" in built.stdout
    prefix = tmp_path / "install" / "robocritic"

    lib = prefix / "lib" / "robocritic"
    assert sorted(p.name for p in lib.iterdir()) == EXECUTABLES
    assert all(os.access(p, os.X_OK) for p in lib.iterdir())
    share = prefix / "share" / "robocritic"
    assert (prefix / "share" / "ament_index" / "resource_index" / "packages" / "robocritic").is_file()
    for source in ["package.xml", *[p.relative_to(ROOT) for p in ROOT.glob("launch/**/*.yaml")],
                   *[p.relative_to(ROOT) for p in ROOT.glob("hardware/*.yaml")]]:  # fmt: skip
        installed = share / source
        assert installed.is_file(), installed
        assert installed.read_bytes() == (ROOT / source).read_bytes(), installed

    probe = _in_workspace(tmp_path, f"{JAZZY_PYTHON} -c '{PROBE}'")
    assert probe.returncode == 0, probe.stderr[-4000:]
    found = json.loads(probe.stdout.strip().splitlines()[-1])
    # the copy install holds the package; the symlink install links the build folder to the sources
    assert Path(found["module"]).is_relative_to(tmp_path), found["module"]
    assert Path(found["share"]) == share
    assert found["sim_bridge"] == [str(lib / "sim_bridge")]
    assert str(share / "launch" / "params" / "sim_bridge.yaml") in found["files"]

    # colcon writes the scripts for its own interpreter; ros2 run would use the system one.
    ran = _in_workspace(tmp_path, f"{JAZZY_PYTHON} {lib / 'sim_bridge'} --help")
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert "usage" in ran.stdout.lower()
