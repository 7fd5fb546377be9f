"""The import floors of docs/architecture.md, checked on the source (an import-linter in one file).

Every ``import`` and ``from ... import`` of every module is resolved to an absolute name (relative
imports included) and checked against the rooms that module's room may import:

* ground (interfaces, dynamics, utils, profiles, hardware data) -> ground only;
* envs, controllers -> ground; learning -> ground (method-agnostic);
* method packages (yann; later bresa, navdp) -> learning, envs, controllers, ground;
* testing -> learning, envs (registration), ground;
* ros -> nothing of robocritic but the bounded YAML reader ``robocritic.utils.safe_yaml`` (the ROS 2
  runtime stands alone; it reads launch and parameter files with the same limits as every other
  YAML file, and that module imports nothing of robocritic);
* nodes -> ros, ground, envs, controllers, learning and the method packages' policy modules,
  never a training module;
* jobs, cli -> anything below them; nothing imports jobs or cli.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
SOURCE_ROOTS = {"robocritic": ROOT / "robocritic", "robocritic.envs": ROOT / "envs",
                "robocritic.controllers": ROOT / "controllers"}

GROUND = ("robocritic.interfaces", "robocritic.dynamics", "robocritic.utils", "robocritic.profiles",
          "robocritic.hardware")
METHODS = ("robocritic.yann", "robocritic.bresa", "robocritic.navdp")
#: Modules of a method package that train; a node never imports them (weights load through
#: the method's policy I/O instead).
TRAINING_MODULES = ("runner", "trainer", "factory", "baselines", "comparison", "ddpg", "buffer")

# room -> (module prefixes of the room, prefixes it may import)
RULES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "ground": (GROUND, GROUND),
    "envs": (("robocritic.envs",), (*GROUND, "robocritic.envs")),
    "controllers": (("robocritic.controllers",), (*GROUND, "robocritic.controllers")),
    "learning": (("robocritic.learning",), (*GROUND, "robocritic.learning")),
    "methods": (METHODS, (*GROUND, *METHODS, "robocritic.learning", "robocritic.envs", "robocritic.controllers")),
    "testing": (("robocritic.testing",), (*GROUND, "robocritic.testing", "robocritic.learning", "robocritic.envs")),
    # The one arrow out of ros: launch and parameter files are read with the same size, alias and
    # nesting limits as every YAML file robocritic reads (one reader, not a copy inside ros).
    "ros": (("robocritic.ros",), ("robocritic.ros", "robocritic.utils.safe_yaml")),
    "nodes": (("robocritic.nodes",), (*GROUND, *METHODS, "robocritic.nodes", "robocritic.ros", "robocritic.envs",
                                      "robocritic.controllers", "robocritic.learning")),
    "jobs": (("robocritic.jobs",), ("robocritic",)),
    "cli": (("robocritic.cli",), ("robocritic",)),
}
FORBIDDEN_THIRD_PARTY = {
    "ground": ("torch", "mujoco", "pybullet", "cvxpy"),
    "controllers": ("torch", "mujoco", "pybullet"),
    "learning": ("mujoco", "pybullet"),
    "ros": ("torch", "mujoco", "pybullet"),
}


def _modules() -> dict[str, Path]:
    """Absolute module name -> file, for every module of the distribution."""
    found = {}
    for package, folder in SOURCE_ROOTS.items():
        for f in sorted(folder.rglob("*.py")):
            parts = list(f.relative_to(folder).with_suffix("").parts)
            if parts[0] in ("envs", "controllers") and package == "robocritic":
                continue  # not part of the package (robocritic.envs comes from envs/)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join([package, *parts])] = f
    return found


MODULES = _modules()


def _imports(module: str, path: Path) -> list[str]:
    """Absolute names ``module`` imports (relative imports resolved against its package)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                prefix = ".".join(base)
                if node.module:
                    names.append(f"{prefix}.{node.module}")
                else:
                    names += [f"{prefix}.{a.name}" for a in node.names]
            elif node.module:
                names.append(node.module)
    return names


def _room(module: str) -> str:
    # The longest matching prefix decides (robocritic.envs is not robocritic).
    best, room = -1, ""
    for name, (prefixes, _) in RULES.items():
        for prefix in prefixes:
            if _within(module, prefix) and len(prefix) > best:
                best, room = len(prefix), name
    return room


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def test_every_module_belongs_to_a_room():
    homeless = [m for m in MODULES if m != "robocritic" and not _room(m)]
    assert not homeless, homeless


@pytest.mark.parametrize("room", list(RULES))
def test_room_imports_only_what_it_may(room):
    allowed = RULES[room][1]
    bad = []
    for module, path in MODULES.items():
        if _room(module) != room:
            continue
        for name in _imports(module, path):
            if _within(name, "robocritic") and name != "robocritic" and not any(_within(name, a) for a in allowed):
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
            if name.split(".")[0] in FORBIDDEN_THIRD_PARTY.get(room, ()):
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not bad, "\n".join(bad)


def test_ros_does_not_even_import_the_top_package():
    bad = [f"{p.relative_to(ROOT)}" for m, p in MODULES.items()
           if _room(m) == "ros" and "robocritic" in _imports(m, p)]
    assert not bad, bad


def test_nodes_never_import_a_training_module():
    bad = []
    for module, path in MODULES.items():
        if _room(module) != "nodes":
            continue
        for name in _imports(module, path):
            if any(_within(name, m) for m in METHODS) and name.rpartition(".")[2] in TRAINING_MODULES:
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not bad, "\n".join(bad)


def test_nothing_imports_jobs_or_cli():
    bad = []
    for module, path in MODULES.items():
        if _room(module) in ("jobs", "cli"):
            continue
        for name in _imports(module, path):
            if _within(name, "robocritic.jobs") or _within(name, "robocritic.cli"):
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not bad, "\n".join(bad)


def test_the_checker_sees_relative_and_absolute_imports(tmp_path):
    """The linter itself: a relative import leaving ros/ is resolved and caught."""
    fake = tmp_path / "x.py"
    fake.write_text("from ...profiles import JointMap\nfrom .qos import CLOCK\nimport robocritic.yann.runner\n")
    assert _imports("robocritic.ros.launcher.x", fake) == [
        "robocritic.profiles", "robocritic.ros.launcher.qos", "robocritic.yann.runner"]
