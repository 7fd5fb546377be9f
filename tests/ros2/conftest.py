"""The ROS 2 suite: real rclpy (PyPI's Jazzy wheels) beside robocritic's transports.

Run inside the Jazzy venv, in a private network namespace (default-configured ROS 2 nodes use
multicast discovery on every interface they find)::

    scripts/netns.sh .venv-jazzy/bin/python -m pytest -m "not slow" -q tests/ros2

In an interpreter without rclpy (the project's main ``.venv``) this folder collects nothing; in
one with rclpy it refuses to run outside an isolated namespace.
"""

from __future__ import annotations

import importlib.util
import os
import random
import socket
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
# Test folders are not packages (importlib mode): the helper modules here (node_processes,
# rclpy_peer, rclpy_msgs, bad_input_publisher) are imported by plain name from this folder.
sys.path.insert(0, str(Path(__file__).parent))
HAVE_RCLPY = importlib.util.find_spec("rclpy") is not None

if not HAVE_RCLPY:
    collect_ignore_glob = ["*"]


def network_is_isolated() -> bool:
    """Whether this process sees no network interface but loopback (a private namespace)."""
    return [name for _, name in socket.if_nameindex()] == ["lo"]


def pytest_configure(config: pytest.Config) -> None:
    if HAVE_RCLPY and not network_is_isolated():
        pytest.exit(
            "tests/ros2 starts default-configured ROS 2 nodes; run it in a private network namespace: "
            "scripts/netns.sh .venv-jazzy/bin/python -m pytest tests/ros2",
            returncode=2,
        )


def venv_python(distro: str) -> Path:
    """The interpreter of the project's ROS 2 venv for ``distro`` (made by scripts/setup.sh --test)."""
    path = ROOT / f".venv-{distro}" / "bin" / "python"
    if not path.exists():
        pytest.fail(f"{path} is missing: run scripts/setup.sh --ros {distro}")
    return path


@pytest.fixture
def ros_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A random ROS_DOMAIN_ID for this test, set here and returned as the environment for child processes.

    Not seeded on purpose: two concurrent test runs must not share a domain. Cyclone's
    configuration is left to robocritic's default; ROS 2 processes get their distro defaults.
    """
    domain = random.SystemRandom().randint(1, 100)
    monkeypatch.setenv("ROS_DOMAIN_ID", str(domain))
    monkeypatch.delenv("CYCLONEDDS_URI", raising=False)
    monkeypatch.delenv("ROS_AUTOMATIC_DISCOVERY_RANGE", raising=False)
    monkeypatch.delenv("ROS_LOCALHOST_ONLY", raising=False)
    monkeypatch.delenv("ROBOCRITIC_TRANSPORT", raising=False)
    monkeypatch.setenv("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp")
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


@pytest.fixture
def rclpy_context(ros_env: dict[str, str]):
    """An initialised rclpy context on the test's domain; shut down afterwards."""
    import rclpy
    from rclpy.context import Context

    context = Context()
    rclpy.init(context=context, domain_id=int(ros_env["ROS_DOMAIN_ID"]))
    yield context
    if context.ok():
        rclpy.shutdown(context=context)
