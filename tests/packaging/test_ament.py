"""colcon / ament_python packaging, checked without ROS 2 or colcon: package.xml against the format-3
structure, setup.cfg's script directories, the ament index marker, and the data files (package.xml,
marker, launch files, params, hardware profiles) in the wheel and at ``$(find-pkg-share robocritic)``
of an installed copy. The real ``colcon build`` of robocritic and of robocritic_msgs runs in the ROS 2
suite (tests/ros2/test_colcon.py, tests/ros2/test_robocritic_msgs.py)."""

from __future__ import annotations

import ast
import configparser
import json
import re
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

# REP 149 (package format 3): name, version, description first and in this order; then any of these.
FORMAT3_ELEMENTS = {
    "maintainer", "license", "url", "author", "build_depend", "build_export_depend", "buildtool_depend",
    "buildtool_export_depend", "exec_depend", "depend", "doc_depend", "test_depend", "conflict", "replace",
    "group_depend", "member_of_group", "export",
}  # fmt: skip
DEPEND_TAGS = {tag for tag in FORMAT3_ELEMENTS if tag.endswith("depend")}
PACKAGE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")  # REP 144
DEP_NAME = re.compile(r"^[a-z0-9][a-z0-9_.+-]*$")


@pytest.fixture(scope="module")
def manifest() -> ET.Element:
    return ET.parse(ROOT / "package.xml").getroot()


def test_package_xml_follows_format_3(manifest):
    assert manifest.tag == "package" and manifest.get("format") == "3"
    children = list(manifest)
    assert [c.tag for c in children[:3]] == ["name", "version", "description"]
    assert {c.tag for c in children[3:]} <= FORMAT3_ELEMENTS, {c.tag for c in children[3:]} - FORMAT3_ELEMENTS
    name, version, description = (c.text.strip() for c in children[:3])
    assert name == PYPROJECT["project"]["name"] and PACKAGE_NAME.match(name)
    assert version == PYPROJECT["project"]["version"] and re.match(r"^\d+\.\d+\.\d+$", version)
    assert description
    maintainers = manifest.findall("maintainer")
    assert maintainers and all(m.get("email") and (m.text or "").strip() for m in maintainers)
    assert [lic.text for lic in manifest.findall("license")] == [PYPROJECT["project"]["license"]["text"]]
    for tag in ("name", "version", "description", "export"):
        assert len(manifest.findall(tag)) == 1, tag


def test_package_xml_is_ament_python_with_its_runtime_dependencies(manifest):
    assert [b.text for b in manifest.findall("export/build_type")] == ["ament_python"]
    deps: dict[str, set[str]] = {}
    for element in manifest:
        if element.tag in DEPEND_TAGS:
            assert DEP_NAME.match(element.text or ""), element.text
            deps.setdefault(element.tag, set()).add(element.text)
    assert sum(map(len, deps.values())) == len(set().union(*deps.values())), "a dependency is listed twice"
    # Every ROS message package robocritic's messages come from (robocritic_msgs is built apart).
    from robocritic.ros.msgs import message_types

    msg_packages = {name.split("/")[0] for name in message_types()} - {"robocritic_msgs"}
    assert msg_packages <= deps["exec_depend"], msg_packages - deps["exec_depend"]
    assert {"rclpy", "ros2launch", "launch_yaml", "python3-numpy", "python3-yaml"} <= deps["exec_depend"]


def test_setup_cfg_installs_scripts_where_ros2_run_looks():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    assert cfg["develop"]["script_dir"] == "$base/lib/robocritic"
    assert cfg["install"]["install_scripts"] == "$base/lib/robocritic"


def test_resource_marker_is_an_empty_file():
    marker = ROOT / "resource" / "robocritic"
    assert marker.is_file() and marker.stat().st_size == 0


def _setup_data_files() -> dict[str, list[str]]:
    # run_setup(stop_after="init") executes setup.py and returns the Distribution without building;
    # it must run in the project directory, as colcon and pip run it.
    code = (
        "import json; from distutils.core import run_setup;"
        "d = run_setup('setup.py', stop_after='init');"
        "print(json.dumps({k: v for k, v in d.data_files}))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


EXPECTED_SHARE = {
    "share/ament_index/resource_index/packages": ["resource/robocritic"],
    "share/robocritic": ["package.xml"],
    "share/robocritic/launch": sorted(p.relative_to(ROOT).as_posix() for p in ROOT.glob("launch/*.launch.yaml")),
    "share/robocritic/launch/params": sorted(p.relative_to(ROOT).as_posix() for p in ROOT.glob("launch/params/*.yaml")),
    "share/robocritic/hardware": sorted(p.relative_to(ROOT).as_posix() for p in ROOT.glob("hardware/*.yaml")),
}  # fmt: skip


def test_setup_py_data_files_cover_launch_params_and_hardware():
    data_files = _setup_data_files()
    assert data_files == EXPECTED_SHARE
    assert EXPECTED_SHARE["share/robocritic/launch"] and EXPECTED_SHARE["share/robocritic/launch/params"]
    assert "hardware/pendulum_sim.yaml" in EXPECTED_SHARE["share/robocritic/hardware"]


def test_setup_py_keeps_pyproject_authoritative():
    # The shim passes data files and build plumbing only; name, version, packages, package-dir and
    # entry points come from pyproject. (Its --symlink-install step reads the package folders.)
    text = (ROOT / "setup.py").read_text()
    for key in ("name=", "version=", "packages=", "entry_points", "install_requires"):
        assert key not in text, key
    calls = [
        node for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setup"
    ]  # fmt: skip
    assert len(calls) == 1 and not calls[0].args
    assert {kw.arg for kw in calls[0].keywords} <= {"data_files", "distclass", "cmdclass", "src_root"}


def test_package_dir_is_one_colcon_symlink_install_accepts():
    # `colcon build --symlink-install` (colcon-core, PythonBuildTask._symlinks_in_build) fails on a
    # top-level package whose package-dir folder is itself a package-dir key or a package name, as
    # with "robocritic" = "robocritic". tests/ros2/test_colcon.py runs the real build.
    package_dir = PYPROJECT["tool"]["setuptools"]["package-dir"]
    packages = PYPROJECT["tool"]["setuptools"]["packages"]
    for package in packages:
        if "." not in package and package in package_dir:
            assert package_dir[package] not in package_dir and package_dir[package] not in packages, package


def test_colcon_can_read_the_setup_data_back():
    # colcon (colcon-python-setup-py) runs setup.py with --dry-run up to the config stage, prints
    # repr() of the Distribution's attributes and parses that with ast.literal_eval; a value whose
    # repr is no literal (pyproject's requires-python as a SpecifierSet) makes `colcon build` fail.
    code = (
        "import ast; from distutils.core import run_setup;"
        "d = run_setup('setup.py', script_args=('--dry-run',), stop_after='config');"
        "skip = ('cmdclass', 'distclass', 'ext_modules', 'metadata');"
        "data = {k: v for k, v in d.__dict__.items() if not k.startswith('_') and not callable(v)"
        " and k not in skip and k not in d.display_option_names};"
        "data['metadata'] = {k: v for k, v in d.metadata.__dict__.items()"
        " if k not in ('license_files', 'provides_extras')};"
        "back = ast.literal_eval(repr(data));"
        "print(back['metadata']['name'], back['python_requires'], back['command_options']['install'])"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[:2] == ["robocritic", PYPROJECT["project"]["requires-python"]]
    assert "$base/lib/robocritic" in out.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ament_wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
        check=True, capture_output=True,
    )  # fmt: skip
    return next(out.glob("robocritic-*.whl"))


def test_wheel_carries_the_ros_data_files(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    data = f"robocritic-{PYPROJECT['project']['version']}.data/data/"
    for target, sources in EXPECTED_SHARE.items():
        for source in sources:
            assert f"{data}{target}/{Path(source).name}" in names, (target, source)
    # pip writes console scripts itself: setup.cfg's lib/robocritic must not leak into the wheel.
    assert not any("/lib/robocritic" in n or n.startswith(f"{data}scripts") for n in names)


def test_installed_copy_finds_its_share_and_runs_the_launch_file_parser(wheel, tmp_path):
    prefix = tmp_path / "prefix"
    # --ignore-installed: without it pip removes the editable robocritic from this environment first.
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--ignore-installed", "-q", "--prefix",
                    str(prefix), str(wheel)], check=True, capture_output=True)  # fmt: skip
    site = next(prefix.glob("lib/python*/site-packages"))
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from robocritic.ros.launcher import find_package_share, load_launch_file;"
        "share = find_package_share('robocritic'); print(share);"
        "plan = load_launch_file(share / 'launch' / 'pendulum_sim.launch.yaml', check_executables=False);"
        "print(sorted(str(p) for p in plan.files))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(site)], capture_output=True, text=True, cwd="/", check=False
    )
    assert proc.returncode == 0, proc.stderr
    share = prefix / "share" / "robocritic"
    assert proc.stdout.splitlines()[0] == str(share)
    for name in ("package.xml", "launch/params/sim_bridge.yaml", "hardware/pendulum_sim.yaml"):
        assert (share / name).is_file(), name
    assert (prefix / "share" / "ament_index" / "resource_index" / "packages" / "robocritic").is_file()
    assert str(share / "launch" / "params" / "mpc_controller.yaml") in proc.stdout


def test_robocritic_msgs_is_a_rosidl_interface_package_of_every_msg_file():
    """robocritic_msgs/ (ament_cmake): format 3, rosidl generators, every .msg file generated, and
    every message package the .msg files use declared both in package.xml and in CMakeLists.txt."""
    folder = ROOT / "robocritic_msgs"
    manifest = ET.parse(folder / "package.xml").getroot()  # also rejects "--" inside XML comments
    assert manifest.tag == "package" and manifest.get("format") == "3"
    assert [c.tag for c in list(manifest)[:3]] == ["name", "version", "description"]
    assert manifest.findtext("name") == "robocritic_msgs"
    assert manifest.findtext("version") == PYPROJECT["project"]["version"]
    assert [b.text for b in manifest.findall("export/build_type")] == ["ament_cmake"]
    assert [g.text for g in manifest.findall("member_of_group")] == ["rosidl_interface_packages"]
    buildtools = {e.text for e in manifest.findall("buildtool_depend")}
    assert {"ament_cmake", "rosidl_default_generators"} <= buildtools
    assert "rosidl_default_runtime" in {e.text for e in manifest.findall("exec_depend")}
    msg_files = sorted(p.name for p in (folder / "msg").glob("*.msg"))
    assert msg_files == ["JointImpedanceCommand.msg", "SafetyVerdict.msg"]
    used = set()
    for name in msg_files:
        for line in (folder / "msg" / name).read_text().splitlines():
            field_type = line.split("#", 1)[0].split()[:1]
            if field_type and "/" in field_type[0]:
                used.add(field_type[0].split("/")[0])
    assert used == {"std_msgs"}
    assert used <= {e.text for e in manifest.findall("depend")}
    cmake = (folder / "CMakeLists.txt").read_text()
    call = re.search(r"rosidl_generate_interfaces\(\$\{PROJECT_NAME\}(.*?)\)", cmake, re.DOTALL)
    assert call is not None
    listed = re.findall(r'"msg/([A-Za-z0-9]+\.msg)"', call.group(1))
    assert sorted(listed) == msg_files
    deps = re.search(r"DEPENDENCIES\s+([^)]*)", call.group(1))
    assert deps is not None and set(deps.group(1).split()) == used
    for package in used | {"ament_cmake", "rosidl_default_generators"}:
        assert f"find_package({package} REQUIRED)" in cmake


def test_build_ros_msgs_script_is_wired_into_setup():
    """scripts/build_ros_msgs.sh (robocritic_msgs from the Jazzy wheels) parses, is executable, and
    setup.sh runs it for the Jazzy venv."""
    script = ROOT / "scripts" / "build_ros_msgs.sh"
    assert script.is_file() and script.stat().st_mode & 0o111, "scripts/build_ros_msgs.sh must be executable"
    subprocess.run(["bash", "-n", str(script)], check=True)
    assert 'scripts/build_ros_msgs.sh "$venv"' in (ROOT / "scripts" / "setup.sh").read_text()
    assert "robocritic_msgs/msg/*.msg" in script.read_text()  # an edited .msg file triggers a rebuild
