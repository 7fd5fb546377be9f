"""Import direction of ARCHITECTURE.md, checked on the source (an import-linter in one file).

Base layer (interfaces, dynamics, utils) imports nothing above it; envs and controllers import
only the base layer; controllers never import torch; nothing imports cli or ros.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
BASE = ("robocritic.interfaces", "robocritic.dynamics", "robocritic.utils")

# room -> (its source folder, module prefixes it may import from robocritic)
RULES = {
    "base": ([ROOT / "robocritic" / "interfaces.py", ROOT / "robocritic" / "dynamics", ROOT / "robocritic" / "utils"], BASE),
    "envs": ([ROOT / "envs"], (*BASE, "robocritic.envs")),
    "controllers": ([ROOT / "controllers"], (*BASE, "robocritic.controllers")),
}
FORBIDDEN_THIRD_PARTY = {"controllers": ("torch",), "base": ("torch", "mujoco", "pybullet", "cvxpy")}


def _files(paths: list[Path]) -> list[Path]:
    return [f for p in paths for f in ([p] if p.is_file() else sorted(p.rglob("*.py")))]


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


@pytest.mark.parametrize("room", list(RULES))
def test_room_imports_only_what_it_may(room):
    paths, allowed = RULES[room]
    bad = []
    for f in _files(paths):
        for name in _imports(f):
            if name.startswith("robocritic") and not name.startswith(allowed):
                bad.append(f"{f.relative_to(ROOT)} imports {name}")
            if name.split(".")[0] in FORBIDDEN_THIRD_PARTY.get(room, ()):
                bad.append(f"{f.relative_to(ROOT)} imports {name}")
    assert not bad, "\n".join(bad)


def test_nothing_imports_the_top_layer():
    bad = []
    for f in _files([ROOT / "robocritic", ROOT / "envs", ROOT / "controllers"]):
        if f.name == "cli.py" or "ros" in f.relative_to(ROOT).parts:
            continue
        for name in _imports(f):
            if name.startswith(("robocritic.cli", "robocritic.ros")):
                bad.append(f"{f.relative_to(ROOT)} imports {name}")
    assert not bad, "\n".join(bad)
