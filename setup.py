"""Shim for colcon's ament_python build, which runs setup.py.

pyproject.toml is the one source of the distribution's metadata, packages and entry points; this
file only adds the ROS 2 data files, installed under ``<prefix>/share`` by colcon and by pip alike:

- ``share/ament_index/resource_index/packages/robocritic``: the ament index marker
  (``ros2 pkg`` and ``$(find-pkg-share robocritic)`` find the package through it);
- ``share/robocritic/package.xml``, ``launch/*.launch.yaml``, ``launch/params/*.yaml`` and
  ``hardware/*.yaml``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from setuptools import setup
from setuptools.dist import Distribution

HERE = Path(__file__).resolve().parent


def _files(pattern: str) -> list[str]:
    # data_files take paths relative to the project directory, where every build front end runs us.
    return sorted(p.relative_to(HERE).as_posix() for p in HERE.glob(pattern) if p.is_file())


DATA_FILES = [
    ("share/ament_index/resource_index/packages", ["resource/robocritic"]),
    ("share/robocritic", ["package.xml"]),
    ("share/robocritic/launch", _files("launch/*.launch.yaml")),
    ("share/robocritic/launch/params", _files("launch/params/*.yaml")),
    ("share/robocritic/hardware", _files("hardware/*.yaml")),
]


class _ColconReadableDistribution(Distribution):
    """For colcon's read-back of the setup data only (``setup.py --dry-run``, parsed with
    ``ast.literal_eval``): pyproject's ``requires-python`` arrives as a SpecifierSet whose repr is no
    literal, which makes ``colcon build`` fail; keep it as the string pyproject has."""

    def parse_config_files(self, *args: Any, **kwargs: Any) -> None:
        super().parse_config_files(*args, **kwargs)
        if self.python_requires is not None:
            self.python_requires = self.metadata.python_requires = str(self.python_requires)


setup(
    data_files=DATA_FILES,
    distclass=_ColconReadableDistribution if "--dry-run" in sys.argv[1:] else Distribution,
)
