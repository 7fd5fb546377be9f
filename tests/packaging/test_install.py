"""The distribution: a wheel ships envs/controllers under robocritic and the env assets; the
bare names ``envs`` and ``controllers`` never import."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


def test_bare_room_names_do_not_import():
    for name in ("envs", "controllers", "hardware"):
        proc = subprocess.run([sys.executable, "-c", f"import {name}"], capture_output=True, cwd="/")
        assert proc.returncode != 0, f"'import {name}' must fail"


def test_launch_has_no_init_py():
    assert not (ROOT / "launch" / "__init__.py").exists()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
        check=True, capture_output=True,
    )
    return next(out.glob("robocritic-*.whl"))


def test_wheel_contents(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "robocritic/envs/__init__.py",
        "robocritic/envs/assets/clipped_pendulum.xml",
        "robocritic/envs/assets/clipped_pendulum.urdf",
        "robocritic/controllers/__init__.py",
        "robocritic/testing/plugin.py",
        "robocritic/hardware/pendulum_sim.yaml",
        "robocritic/hardware/arm7_torque.yaml",
        "robocritic/hardware/diffdrive_depth.yaml",
    ):
        assert required in names, required
    assert not any(n.startswith(("envs/", "controllers/", "hardware/", "tests/", "launch/")) for n in names)
    # Every source module ships: catches a package missing from pyproject's explicit list.
    rooms = {"robocritic": "robocritic", "envs": "robocritic/envs", "controllers": "robocritic/controllers",
             "hardware": "robocritic/hardware"}
    for room, installed in rooms.items():
        for source in (ROOT / room).rglob("*.py"):
            wheel_name = f"{installed}/{source.relative_to(ROOT / room).as_posix()}"
            assert wheel_name in names, f"{source.relative_to(ROOT)} is not in the wheel"


def test_wheel_install_imports_envs_and_finds_assets(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import gymnasium as gym, robocritic.envs;"
        "assert robocritic.envs.__file__.startswith(sys.argv[1]), robocritic.envs.__file__;"
        "env = gym.make('robocritic/ClippedPendulum-v0'); env.reset(seed=0); env.step([0.0]);"
        "from robocritic.profiles import load_profile; load_profile('arm7_torque'); print('ok')"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(target)], capture_output=True, text=True, cwd="/")
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stderr
