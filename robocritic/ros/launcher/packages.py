"""Where packages live: ``$(find-pkg-share pkg)`` and the executable behind ``pkg``/``exec``.

Look-up order for a package's share directory:

1. the ament index of every prefix in ``AMENT_PREFIX_PATH`` (a colcon install or a ROS 2
   distribution: ``<prefix>/share/ament_index/resource_index/packages/<pkg>`` marks
   ``<prefix>/share/<pkg>``);
2. for ``robocritic`` only: the source checkout the package is imported from (an editable
   install; the repository root holds package.xml, launch/ and hardware/), then the ``share/``
   of the Python installation (a wheel installs package.xml, launch/ and hardware/ there as
   data files, see setup.py).

Executables: ``<prefix>/lib/<pkg>/<exec>`` in ``AMENT_PREFIX_PATH`` (what ``ros2 launch`` runs);
for ``robocritic`` also its console scripts: the script beside the running interpreter (the
virtual environment's ``bin/``), else ``python -c`` on the entry point. Other packages need a ROS 2
installation that provides them; without one the look-up fails with a message that says so.
"""

from __future__ import annotations

import importlib.util
import os
import site
import sys
import tomllib
from collections.abc import Mapping
from functools import cache
from importlib import metadata
from pathlib import Path

from .errors import LaunchError

PACKAGE = "robocritic"
_INDEX = Path("share", "ament_index", "resource_index", "packages")


def ament_prefixes(environ: Mapping[str, str] | None = None) -> list[Path]:
    """Prefixes listed in ``AMENT_PREFIX_PATH``, in order."""
    raw = (os.environ if environ is None else environ).get("AMENT_PREFIX_PATH", "")
    return [Path(p) for p in raw.split(os.pathsep) if p]


def _ament_prefix_of(package: str, environ: Mapping[str, str] | None) -> Path | None:
    for prefix in ament_prefixes(environ):
        if (prefix / _INDEX / package).is_file():
            return prefix
    return None


def package_dir() -> Path | None:
    """Directory of the importable ``robocritic`` package, found without importing it (``None`` if absent).

    ``import robocritic`` would run its ``__init__`` (and what that imports) for a path look-up; the
    import system's spec gives the same location, and a package already imported answers from it.
    """
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).resolve().parent


def source_root() -> Path | None:
    """Repository root when robocritic is imported from a source checkout, else ``None``."""
    package = package_dir()
    if package is None:
        return None
    root = package.parent
    if (root / "package.xml").is_file() and (root / "launch").is_dir():
        return root
    return None


def installed_share_candidates() -> list[Path]:
    """``<prefix>/share/robocritic`` for the prefixes a wheel may have put its data files under.

    First the prefix robocritic is installed in (``<prefix>/lib/pythonX.Y/site-packages/robocritic``,
    as after ``pip install --prefix`` or a colcon install without a sourced workspace), then the
    interpreter's prefixes and the user base.
    """
    prefixes: list[Path] = []
    package = package_dir()
    site_dir = package.parent if package is not None else None
    if site_dir is not None and site_dir.name in ("site-packages", "dist-packages"):
        prefixes.append(site_dir.parent.parent.parent)
    prefixes += [Path(sys.prefix), Path(sys.exec_prefix), Path(site.getuserbase())]
    return list(dict.fromkeys(prefix / "share" / PACKAGE for prefix in prefixes))


def find_package_share(package: str, environ: Mapping[str, str] | None = None) -> Path:
    """Share directory of ``package`` (see the module docstring for the order).

    Raises:
        LaunchError: the package is not found; the message lists where it looked.
    """
    prefix = _ament_prefix_of(package, environ)
    if prefix is not None:
        return prefix / "share" / package
    if package == PACKAGE:
        root = source_root()
        if root is not None:
            return root
        for path in installed_share_candidates():
            if (path / "package.xml").is_file():
                return path
        looked = ", ".join(str(p) for p in installed_share_candidates())
        raise LaunchError(
            f"package {package!r} has no share directory: not in AMENT_PREFIX_PATH, not a source "
            f"checkout, and no package.xml under {looked}"
        )
    raise LaunchError(
        f"package {package!r} not found: it is not in the ament index of AMENT_PREFIX_PATH "
        f"({os.pathsep.join(map(str, ament_prefixes(environ))) or 'unset'}); robocritic launch "
        "finds other packages only where a ROS 2 installation provides them"
    )


@cache
def _installed_console_scripts() -> dict[str, str]:
    try:
        dist = metadata.distribution(PACKAGE)
    except metadata.PackageNotFoundError:
        return {}
    return {ep.name: ep.value for ep in dist.entry_points if ep.group == "console_scripts"}


def console_scripts() -> dict[str, str]:
    """robocritic's console scripts, name -> ``module:function``.

    Installed metadata, overlaid with ``[project.scripts]`` of the source checkout's
    pyproject.toml (so a script added since the last ``pip install -e`` is still found).
    """
    scripts = dict(_installed_console_scripts())
    root = source_root()
    if root is not None and (root / "pyproject.toml").is_file():
        project = tomllib.loads((root / "pyproject.toml").read_text()).get("project", {})
        scripts.update(project.get("scripts", {}))
    return scripts


_BOOTSTRAP = (
    "import importlib, sys; sys.argv[0] = {name!r}; f = importlib.import_module({module!r})\n"
    "for a in {attrs!r}: f = getattr(f, a)\n"
    "sys.exit(f())"
)


def find_executable(package: str, executable: str, environ: Mapping[str, str] | None = None) -> list[str]:
    """Command (argv prefix) that runs ``executable`` of ``package``.

    Raises:
        LaunchError: nothing runs it here; the message lists what exists.
    """
    if not executable or "/" in executable:
        raise LaunchError(f"executable name {executable!r} must be a plain file name")
    for prefix in ament_prefixes(environ):
        path = prefix / "lib" / package / executable
        if path.is_file() and os.access(path, os.X_OK):
            return [str(path)]
    if package != PACKAGE:
        prefix = _ament_prefix_of(package, environ)
        where = f"{prefix / 'lib' / package}" if prefix else "AMENT_PREFIX_PATH"
        raise LaunchError(
            f"no executable {executable!r} of package {package!r} in {where}; robocritic launch runs "
            "robocritic's executables, and other packages' only where a ROS 2 installation provides them"
        )
    scripts = console_scripts()
    target = scripts.get(executable)
    if target is None:
        raise LaunchError(
            f"package {PACKAGE!r} has no executable {executable!r}; its console scripts are: "
            + (", ".join(sorted(scripts)) or "none (is robocritic installed?)")
        )
    script = Path(sys.executable).parent / executable
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    module, _, attrs = target.partition(":")
    code = _BOOTSTRAP.format(name=executable, module=module.strip(), attrs=attrs.strip().split("."))
    return [sys.executable, "-c", code]


__all__ = [
    "PACKAGE",
    "ament_prefixes",
    "console_scripts",
    "find_executable",
    "find_package_share",
    "installed_share_candidates",
    "package_dir",
    "source_root",
]
