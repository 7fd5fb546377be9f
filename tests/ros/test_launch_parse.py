"""The launch-file reader: substitutions, arguments, groups and namespaces, includes, parameters,
remaps, and unsupported features rejected with file, line and entity in the message."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from robocritic.ros.launcher import (
    LaunchError,
    Parameter,
    ParameterFile,
    find_executable,
    find_package_share,
    format_parameter_value,
    load_launch_file,
    parse_launch_arguments,
)
from robocritic.ros.launcher.substitutions import SubstitutionContext, parse_template, substitute

ROOT = Path(__file__).parents[2]
PROBE = Path(__file__).with_name("launch_probe.py")


@pytest.fixture
def probe_prefix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``AMENT_PREFIX_PATH`` with package ``probe_pkg``: ``lib/probe_pkg/probe`` and a share dir."""
    prefix = tmp_path / "prefix"
    (prefix / "lib" / "probe_pkg").mkdir(parents=True)
    (prefix / "share" / "probe_pkg" / "launch").mkdir(parents=True)
    index = prefix / "share" / "ament_index" / "resource_index" / "packages"
    index.mkdir(parents=True)
    (index / "probe_pkg").touch()
    script = prefix / "lib" / "probe_pkg" / "probe"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{PROBE}" "$@"\n')
    script.chmod(0o755)
    monkeypatch.setenv("AMENT_PREFIX_PATH", str(prefix))
    return prefix


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture(autouse=True)
def _params_file(tmp_path):
    write(tmp_path / "p.yaml", "/**:\n  ros__parameters:\n    k: 1\n")


def load(tmp_path: Path, text: str, args: dict[str, str] | None = None, **kw):
    return load_launch_file(write(tmp_path / "t.launch.yaml", text), args, **kw)


# --- substitutions ------------------------------------------------------------------------------


def ctx(**variables: str) -> SubstitutionContext:
    return SubstitutionContext(
        variables=dict(variables), environ={"HOME_X": "/h", "EMPTY": ""},
        find_package_share=lambda pkg: f"/share/{pkg}", dirname="/d",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain text", "plain text"),
        ("$(var a)", "1"),
        ("x$(var a)y$(var b)z", "x1ybz"),
        ("$(env HOME_X)/cfg", "/h/cfg"),
        ("$(env NOPE fallback)", "fallback"),
        ("$(env NOPE 'with space')", "with space"),
        ("$(env EMPTY default)", ""),
        ("$(find-pkg-share $(var pkg))/launch", "/share/robocritic/launch"),
        ("$(dirname)/x.yaml", "/d/x.yaml"),
        (r"cost \$(var a)", "cost $(var a)"),
        ("$ and ( alone", "$ and ( alone"),
    ],
)
def test_substitutions(text, expected):
    assert substitute(text, ctx(a="1", b="b", pkg="robocritic")) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("$(var missing)", "launch argument 'missing' is not set"),
        ("$(env NOPE)", "environment variable 'NOPE' is not set"),
        ("$(var a", "unterminated or malformed substitution"),
        ("$(eval 1 + 1)", "unsupported substitution '$(eval ...)'"),
        ("$(var $(anon x))", "unsupported substitution '$(anon ...)'"),
        ("$(var a b)", "$(var) takes 1 argument(s); got 2"),
        ("$(env 'unterminated)", "unterminated ' quote"),
    ],
)
def test_substitution_errors(text, message):
    with pytest.raises(LaunchError) as info:
        substitute(text, ctx(a="1"), where="f.launch.yaml:3: launch[0].node.name")
    assert message in str(info.value)
    assert str(info.value).startswith("f.launch.yaml:3: launch[0].node.name: ")


def test_unsupported_substitution_is_rejected_even_when_never_evaluated(tmp_path):
    with pytest.raises(
        LaunchError, match=r"t.launch.yaml:4: launch\[0\].arg.default: unsupported substitution"
    ):
        load(tmp_path, """\
            launch:
            - arg:
                name: x
                default: "$(command ls)"
            """, {"x": "given"})  # fmt: skip


def test_parse_template_structure():
    (sub,) = parse_template("$(find-pkg-share $(var p))")
    assert sub.name == "find-pkg-share" and sub.args[0][0].name == "var"


# --- arguments ----------------------------------------------------------------------------------


ARGS = """\
    launch:
    - arg: {name: mode, default: "lockstep", choice: [{value: lockstep}, {value: free_running}]}
    - arg: {name: rate, default: "$(var mode)_x", description: "d"}
    """


def test_arguments_defaults_and_overrides(tmp_path):
    plan = load(tmp_path, ARGS)
    assert plan.configuration == {"mode": "lockstep", "rate": "lockstep_x"}
    assert [a.name for a in plan.arguments] == ["mode", "rate"]
    assert plan.arguments[0].choices == ("lockstep", "free_running")
    plan = load(tmp_path, ARGS, {"mode": "free_running", "typo": "1"})
    assert plan.configuration["mode"] == "free_running" and plan.configuration["rate"] == "free_running_x"
    assert plan.unused_arguments == ("typo",)


def test_argument_choice_violation(tmp_path):
    with pytest.raises(
        LaunchError,
        match=r"t.launch.yaml:2: launch\[0\].arg: launch argument 'mode' = 'fast' "
        r"is not one of \['lockstep', 'free_running'\]",
    ):
        load(tmp_path, ARGS, {"mode": "fast"})


def test_required_argument(tmp_path):
    text = "launch:\n- arg: {name: robot}\n"
    with pytest.raises(LaunchError, match="required launch argument 'robot' was not given"):
        load(tmp_path, text)
    assert load(tmp_path, text, {"robot": "r1"}).configuration == {"robot": "r1"}


def test_argument_default_must_be_a_string_as_in_ros2_launch(tmp_path):
    with pytest.raises(
        LaunchError, match=r"launch\[0\].arg.default: must be a string; got float 1.0 \(quote it"
    ):
        load(tmp_path, "launch:\n- arg: {name: x, default: 1.0}\n")


def test_parse_launch_arguments():
    assert parse_launch_arguments(["a:=1", "b:=x:=y", "c:="]) == {"a": "1", "b": "x:=y", "c": ""}
    with pytest.raises(LaunchError, match="name:=value"):
        parse_launch_arguments(["a=1"])


# --- nodes, namespaces, groups, includes --------------------------------------------------------


def test_node_fields_and_ros_arguments(tmp_path, probe_prefix):
    plan = load(tmp_path, """\
        launch:
        - node:
            pkg: probe_pkg
            exec: probe
            name: ctl
            namespace: robot
            output: screen
            args: "--verbose  --x 1"
            env: [{name: A, value: "1"}]
            param:
            - {name: gain, value: 4.0}
            - from: "$(dirname)/p.yaml"
            - {name: tag, value: "4.0", type: str}
            remap: [{from: cmd, to: /robot/cmd}]
        """)  # fmt: skip
    (node,) = plan.nodes
    assert node.command == (str(probe_prefix / "lib" / "probe_pkg" / "probe"),)
    assert node.name == "ctl" and node.namespace == "/robot" and node.output == "screen"
    assert node.arguments == ("--verbose", "--x", "1") and node.env == (("A", "1"),)
    assert node.parameters == (
        Parameter("gain", 4.0),
        ParameterFile(tmp_path / "p.yaml"),
        Parameter("tag", "4.0"),
    )
    assert node.ros_arguments() == [
        "--ros-args", "-r", "__node:=ctl", "-r", "__ns:=/robot", "-p", "gain:=4.0",
        "--params-file", str(tmp_path / "p.yaml"), "-p", "tag:='4.0'", "-r", "cmd:=/robot/cmd",
    ]  # fmt: skip
    assert node.argv()[:4] == [*node.command, "--verbose", "--x", "1"]


def test_namespaces_groups_and_scoping(tmp_path, probe_prefix):
    plan = load(tmp_path, """\
        launch:
        - arg: {name: ns, default: "robot"}
        - group:
          - push-ros-namespace: {namespace: "$(var ns)"}
          - arg: {name: inner, default: "1"}
          - node: {pkg: probe_pkg, exec: probe, name: a}
          - node: {pkg: probe_pkg, exec: probe, name: b, namespace: arm}
          - node: {pkg: probe_pkg, exec: probe, name: c, namespace: /abs}
          - group:
              scoped: false
              children:
              - push_ros_namespace: {namespace: sub}
          - node: {pkg: probe_pkg, exec: probe, name: d}
        - node: {pkg: probe_pkg, exec: probe, name: e}
        """)  # fmt: skip
    assert [(n.name, n.namespace) for n in plan.nodes] == [
        ("a", "/robot"),
        ("b", "/robot/arm"),
        ("c", "/abs"),
        ("d", "/robot/sub"),
        ("e", None),
    ]
    assert "inner" not in plan.configuration  # scoped group: configurations stay inside


def test_group_forwarding_false_hides_configurations(tmp_path, probe_prefix):
    with pytest.raises(LaunchError, match=r"launch\[1\].group\[0\].node.name: .*'x' is not set"):
        load(tmp_path, """\
            launch:
            - arg: {name: x, default: "n"}
            - group:
                forwarding: false
                children:
                - node: {pkg: probe_pkg, exec: probe, name: "$(var x)"}
            """)  # fmt: skip


def test_include_passes_arguments_and_resolves_relative_paths(tmp_path, probe_prefix):
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub" / "child.launch.yaml", """\
        launch:
        - arg: {name: who, default: "nobody"}
        - push-ros-namespace: {namespace: child}
        - node: {pkg: probe_pkg, exec: probe, name: "$(var who)", param: [{from: "$(dirname)/../p.yaml"}]}
        """)  # fmt: skip
    plan = load(tmp_path, """\
        launch:
        - group:
          - include: {file: "sub/child.launch.yaml", arg: [{name: who, value: alice}]}
          - node: {pkg: probe_pkg, exec: probe, name: after}
        - include: {file: "$(dirname)/sub/child.launch.yaml"}
        - node: {pkg: probe_pkg, exec: probe, name: last}
        """)  # fmt: skip
    assert [(n.name, n.namespace) for n in plan.nodes] == [
        # an include is not scoped in ros2 launch: its pushed namespace stays for "after"
        ("alice", "/child"),
        ("after", "/child"),
        ("nobody", "/child"),
        ("last", "/child"),
    ]
    assert (tmp_path / "sub" / "child.launch.yaml").resolve() in plan.files
    assert plan.nodes[0].parameters == (ParameterFile(tmp_path / "sub" / ".." / "p.yaml"),)


def test_include_cycle_and_non_yaml_include(tmp_path):
    write(tmp_path / "loop.launch.yaml", "launch:\n- include: {file: loop.launch.yaml}\n")
    with pytest.raises(LaunchError, match="include cycle"):
        load_launch_file(tmp_path / "loop.launch.yaml")
    with pytest.raises(LaunchError, match="only YAML launch files"):
        load(tmp_path, "launch:\n- include: {file: other.launch.py}\n")


def test_find_package_share(probe_prefix):
    assert find_package_share("probe_pkg") == probe_prefix / "share" / "probe_pkg"
    assert find_package_share("robocritic") == ROOT  # source checkout: package.xml, launch/, hardware/
    with pytest.raises(LaunchError, match="package 'turtlesim' not found"):
        find_package_share("turtlesim")


def test_find_executable_for_robocritic_console_scripts(monkeypatch, tmp_path):
    command = find_executable("robocritic", "robocritic")
    assert Path(command[0]).name == "robocritic"
    # Without the script beside the interpreter: python -c on the entry point.
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python3"))
    command = find_executable("robocritic", "robocritic")
    assert command[:2] == [str(tmp_path / "python3"), "-c"] and "'robocritic.cli'" in command[2]
    with pytest.raises(
        LaunchError, match="package 'robocritic' has no executable 'nope'; its console scripts"
    ):
        find_executable("robocritic", "nope")
    with pytest.raises(LaunchError, match="other packages' only where a ROS 2 installation provides them"):
        find_executable("turtlesim", "turtlesim_node")


# --- parameters -----------------------------------------------------------------------------------


def test_parameter_typing_follows_launch_ros(tmp_path, probe_prefix):
    # Checked against launch_ros (Humble) on the same file: native YAML values keep their type,
    # substituted strings are read as YAML, plain quoted strings stay strings.
    plan = load(tmp_path, """\
        launch:
        - arg: {name: h, default: "10"}
        - arg: {name: flag, default: "true"}
        - arg: {name: l, default: "[1, 2]"}
        - node:
            pkg: probe_pkg
            exec: probe
            param:
            - {name: plain_b, value: "true"}
            - {name: plain_f, value: "4.0"}
            - {name: plain_l, value: "[1, 2]"}
            - {name: s, value: "daqp"}
            - {name: e, value: ""}
            - {name: sub_i, value: "$(var h)"}
            - {name: sub_b, value: "$(var flag)"}
            - {name: sub_f, value: "$(var h).5"}
            - {name: sub_s, value: "x$(var h)"}
            - {name: sub_l, value: "$(var l)"}
            - {name: native_f, value: 4.0}
            - {name: native_i, value: 4}
            - {name: native_b, value: false}
            - {name: lst, value: [1.0, 2.5]}
            - {name: lst_sub, value: ["$(var h)", "$(var h)"]}
            - {name: typed_f, value: "$(var h)", type: float}
            - {name: typed_s, value: "$(var h)", type: str}
            - {name: typed_ls, value: [a, b], type: list_of_str}
            - name: outer
              param:
              - {name: inner, value: "x"}
        """)  # fmt: skip
    values = {p.name: p.value for p in plan.nodes[0].parameters}
    assert values == {
        "plain_b": "true", "plain_f": "4.0", "plain_l": "[1, 2]", "s": "daqp", "e": "",
        "sub_i": 10, "sub_b": True, "sub_f": 10.5, "sub_s": "x10", "sub_l": [1, 2],
        "native_f": 4.0, "native_i": 4, "native_b": False, "lst": [1.0, 2.5], "lst_sub": [10, 10],
        "typed_f": 10.0, "typed_s": "10", "typed_ls": ["a", "b"], "outer.inner": "x",
    }  # fmt: skip
    assert type(values["sub_i"]) is int and type(values["typed_f"]) is float


@pytest.mark.parametrize(
    ("param", "message"),
    [
        ('{name: m, value: [1, "a"]}', "list items must all have one type"),
        ("{name: m, value: 4, type: float}", "4 is not a float"),
        ('{name: m, value: "x", type: bool}', "'x' is a string, not a bool"),
        ('{name: m, value: "3", type: float}', "'3' is a string, not a float: write the YAML value unquoted"),
        ('{name: m, value: "$(env NOPE x)", type: int}', "'x' is not a int"),
        ('{name: m, value: [1.0, "2.5"]}', "list items must all have one type"),
        ("{name: m, value: {a: 1}}", "must be a scalar or a list of scalars"),
        ("{name: m, value: \"$(env NOPE 'a: 1')\"}", "reads as dict"),
        ("{name: m, valu: 1}", "unsupported key 'valu'"),
        ("{name: m, value: 1, type: complex}", "unknown type 'complex'"),
        ("{from: missing.yaml}", "cannot read parameter file"),
        ("{from: bad.yaml}", "needs a 'ros__parameters' mapping"),
        ("{from: p.yaml, allow_substs: true}", "unsupported key 'allow_substs'"),
    ],
)
def test_parameter_errors(tmp_path, probe_prefix, param, message):
    write(tmp_path / "bad.yaml", "gain: 1\n")
    with pytest.raises(LaunchError, match=r"t.launch.yaml:\d+: launch\[0\].node.param\[0\]") as info:
        load(tmp_path, f"launch:\n- node:\n    pkg: probe_pkg\n    exec: probe\n    param:\n    - {param}\n")
    assert message in str(info.value)


@pytest.mark.parametrize(
    "value", [True, False, 0, -3, 4.0, 1e20, -2.5e-7, float("inf"), "daqp", "4.0", "true", "", "a: b",
              "it's", " pad", "null", [1.0, 2.0], ["a", "4", "x,y"], [True]],
)  # fmt: skip
def test_format_parameter_value_round_trips_through_yaml(value):
    text = format_parameter_value(value)
    loaded = yaml.safe_load(text)
    assert loaded == value and type(loaded) is type(value), text


# --- structure errors name file, line and entity --------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "launch:\n- node: {pkg: probe_pkg, exec: probe, respawn: true}\n",
            r"t.launch.yaml:2: launch\[0\].node.respawn: unsupported key 'respawn' \(robocritic launch supports: ",
        ),
        (
            "launch:\n- arg: {name: a}\n- let: {name: x, value: y}\n",  # found before 'a' is missed
            r"t.launch.yaml:3: launch\[1\]: unsupported entity 'let' \(robocritic launch supports: arg, node, group",
        ),
        ("launch:\n- executable: {cmd: ls}\n", r"unsupported entity 'executable'"),
        ("launch:\n- node: {exec: probe}\n", r"launch\[0\].node: missing required key 'pkg'"),
        ("launch:\n- group: {scoped: true}\n", r"launch\[0\].group: missing required key 'children'"),
        ("launch:\n- group:\n    children: []\n    keep: []\n", r"unsupported key 'keep'"),
        ("launch:\n- node: {pkg: probe_pkg, exec: probe, output: own_log}\n", r"must be one of \['screen'"),
        (
            "launch:\n- node: {pkg: probe_pkg, exec: probe, name: 'bad-name'}\n",
            r"node.name: invalid node name",
        ),
        (
            "launch:\n- node: {pkg: probe_pkg, exec: probe, namespace: '1x'}\n",
            r"node.namespace: invalid namespace",
        ),
        (
            "launch:\n- node: {pkg: probe_pkg, exec: missing}\n",
            r"no executable 'missing' of package 'probe_pkg'",
        ),
        ("launch:\n- node: {pkg: turtlesim, exec: turtlesim_node}\n", r"no executable 'turtlesim_node'"),
        (
            "launch:\n- node: {pkg: probe_pkg, exec: probe, exec: probe}\n",
            r"t.launch.yaml:2: .*duplicate key 'exec'",
        ),
        ("launch:\n- {node: {pkg: a, exec: b}, arg: {name: x}}\n", "exactly one key"),
        ("nodes: []\n", "exactly one top-level key, 'launch'"),
        ("launch: {node: {}}\n", "must be a list of entities"),
        ("", "empty launch file"),
        ("launch: [\n", "invalid YAML"),
    ],
)
def test_structure_errors(tmp_path, probe_prefix, text, message):
    with pytest.raises(LaunchError, match=message):
        load(tmp_path, text)


def test_missing_launch_file(tmp_path):
    with pytest.raises(LaunchError, match="cannot read launch file"):
        load_launch_file(tmp_path / "nope.launch.yaml")
