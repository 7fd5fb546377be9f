"""Shim for colcon's ament_python build, which runs setup.py.

pyproject.toml is the one source of the distribution's metadata, packages and entry points; this
file only adds the ROS 2 data files, installed under ``<prefix>/share`` by colcon and by pip alike:

- ``share/ament_index/resource_index/packages/robocritic``: the ament index marker
  (``ros2 pkg`` and ``$(find-pkg-share robocritic)`` find the package through it);
- ``share/robocritic/package.xml``, ``launch/*.launch.yaml``, ``launch/params/*.yaml`` and
  ``hardware/*.yaml``;

and makes ``colcon build --symlink-install`` work (``_BuildSpaceDevelop``).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

from setuptools import setup
from setuptools.dist import Distribution

HERE = Path(__file__).resolve().parent
# `colcon build --symlink-install` runs `setup.py develop` in its build directory, through a symlink
# to this file; every other front end (pip, build, plain `colcon build`) runs us here.
IN_COLCON_BUILD_SPACE = Path.cwd().resolve() != HERE


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


def _link_import_tree(target: Path, sources: dict[str, Path]) -> None:
    """Make ``target`` an import root, of symlinks, for the packages ``sources`` maps (name -> source
    folder): a package with a subpackage from another folder becomes a real directory of links to
    its entries and to that subpackage; any other top-level or moved package is one link."""
    moved = {
        name for name, source in sources.items()
        if "." in name and source != sources[name.rpartition(".")[0]] / name.rpartition(".")[2]
    }  # fmt: skip
    hosts = {name.rsplit(".", depth)[0] for name in moved for depth in range(1, name.count(".") + 1)}
    for name in sorted(sources):  # parents first
        path = target.joinpath(*name.split("."))
        if "." not in name and path.is_symlink():
            path.unlink()  # colcon's link to the source folder
        elif "." not in name and path.is_dir():
            shutil.rmtree(path)  # an earlier develop's tree: links (and __pycache__) only
        if name in hosts:
            path.mkdir()
            children = {n.rpartition(".")[2] for n in moved | hosts if n.rpartition(".")[0] == name}
            for entry in sources[name].iterdir():
                if entry.name not in children and entry.name != "__pycache__":
                    (path / entry.name).symlink_to(entry)
        elif "." not in name or name in moved:
            path.symlink_to(sources[name], target_is_directory=True)


CMDCLASS: dict[str, type] = {}
if IN_COLCON_BUILD_SPACE:
    # Imported here only: colcon pins setuptools < 80; later setuptools are phasing `develop` out.
    from setuptools.command.develop import develop

    class _BuildSpaceDevelop(develop):
        """``setup.py develop`` as ``colcon build --symlink-install`` runs it.

        colcon runs it in its build directory, links setup.py, setup.cfg, the data files and each
        top-level package's source folder there, and puts that directory on the workspace's
        PYTHONPATH. That cannot hold pyproject's subpackages from other folders (``envs/`` ->
        ``robocritic.envs``, ``controllers/``, ``hardware/``): ``robocritic`` there links to
        ``robocritic/`` alone. So first replace that link with the installed layout made of
        symlinks to the sources. Edits to existing files and anything new inside a subpackage
        folder show without a rebuild; a new module directly in ``robocritic/`` needs one.
        """

        def run(self) -> None:
            if not self.uninstall:
                build_py = self.get_finalized_command("build_py")
                sources = {name: Path(build_py.get_package_dir(name)) for name in self.distribution.packages}
                _link_import_tree(Path.cwd(), sources)
                # Then find the packages in that tree: the egg-info written here lists them relative
                # to it, not as absolute paths, which a later plain `colcon build` reads back and rejects.
                self.distribution.src_root = None
                self.distribution.package_dir = {}
                self.reinitialize_command("build_py")
            super().run()

    CMDCLASS["develop"] = _BuildSpaceDevelop


setup(
    data_files=DATA_FILES,
    distclass=_ColconReadableDistribution if "--dry-run" in sys.argv[1:] else Distribution,
    cmdclass=CMDCLASS,
    # colcon's build directory has no pyproject.toml, README.md or envs/: read the project from here.
    src_root=str(HERE) if IN_COLCON_BUILD_SPACE else None,
)
