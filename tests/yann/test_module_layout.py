"""Module layout of YANN-RL on the learning core: no import cycle among robocritic.yann and
robocritic.learning (the runner <-> baselines circle is gone), the learning core imports no method,
and the modules a deployed policy loads import no training code, env or simulator."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).parents[2]
PACKAGES = ("robocritic.yann", "robocritic.learning")


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _imports(path: Path, *, top_level_only: bool) -> set[str]:
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
    return names


def _graph(*, top_level_only: bool) -> dict[str, set[str]]:
    files = {_module(p): p for pkg in PACKAGES for p in (ROOT / Path(*pkg.split("."))).glob("*.py")}
    return {
        mod: {n for n in _imports(path, top_level_only=top_level_only) if n in files and n != mod}
        for mod, path in files.items()
    }


def test_no_import_cycle_in_yann_and_learning():
    graph = _graph(top_level_only=False)  # lazy imports inside functions count too
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(mod: str, stack: list[str]) -> None:
        state[mod] = 1
        for dep in sorted(graph[mod]):
            if state.get(dep) == 1:
                cycles.append([*stack[stack.index(dep):], dep])
            elif dep not in state:
                visit(dep, [*stack, dep])
        state[mod] = 2

    for mod in sorted(graph):
        if mod not in state:
            visit(mod, [mod])
    assert not cycles, cycles
    assert "robocritic.yann.runner" not in graph["robocritic.yann.baselines"]


def test_what_a_deployment_loads_imports_no_training_code():
    graph = _graph(top_level_only=True)
    training = {"robocritic.yann.runner", "robocritic.yann.trainer", "robocritic.yann.baselines",
                "robocritic.yann.factory", "robocritic.yann.ddpg", "robocritic.yann.critic"}  # fmt: skip
    for mod in ("robocritic.yann.policy_io", "robocritic.yann.actor", "robocritic.yann.config"):
        assert not graph[mod] & training, (mod, graph[mod] & training)
    node = _imports(ROOT / "robocritic" / "nodes" / "yann_controller.py", top_level_only=False)
    assert not {n for n in node if n.startswith(("robocritic.envs", *training))}, node
