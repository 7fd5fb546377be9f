"""Fixtures shared by the ROS tests."""

from __future__ import annotations

import os
import random

import pytest

from robocritic.ros.transport.dds import LOOPBACK_CONFIG, check_domain_id


@pytest.fixture(scope="module")
def domain_id():
    """A random DDS domain for the module (ROS_DOMAIN_ID), loopback-only Cyclone configuration.

    Not seeded on purpose: two concurrent test runs must not share a domain. ``ROS_DISTRO`` is
    cleared so a sourced ROS install does not change the ros_discovery_info layout under test.
    """
    domain = check_domain_id(random.SystemRandom().randint(100, 200))
    saved = {k: os.environ.get(k) for k in ("ROS_DOMAIN_ID", "CYCLONEDDS_URI", "ROS_DISTRO")}
    os.environ["ROS_DOMAIN_ID"] = str(domain)
    os.environ["CYCLONEDDS_URI"] = LOOPBACK_CONFIG
    os.environ.pop("ROS_DISTRO", None)
    yield domain
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
