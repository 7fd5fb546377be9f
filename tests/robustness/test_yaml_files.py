"""Bad YAML files: hardware profiles, launch and parameter files, configs.

Every file is read by robocritic.utils.safe_yaml, so each must end in the reader's documented
error (``ProfileError``, ``LaunchError``, ``ValueError`` for configs) naming the file: alias bombs
("billion laughs"), recursive aliases, deep nesting, files over the size limit, non-UTF-8 bytes,
tagged scalars PyYAML cannot build (``!!int abc``), missing files and folders. Cases that could
exhaust memory or hang run in a child bounded by :func:`harness.bounded`. Hypothesis mutates valid
files byte by byte (insertions of YAML syntax, deletions, truncations): a mutation is either
still a valid file or a clear error.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from harness import bounded, expect_clear
from hypothesis import given
from hypothesis import strategies as st

from robocritic.profiles import ProfileError, load_profile
from robocritic.ros.launcher import LaunchError, format_parameter_value, load_launch_file
from robocritic.utils.dataconfig import read_yaml_mapping
from robocritic.utils.safe_yaml import MAX_BYTES, MAX_DEPTH, MAX_NODES, YamlError, load_yaml
from robocritic.yann.config import load_config

ROOT = Path(__file__).parents[2]
PROFILE = (ROOT / "hardware" / "pendulum_sim.yaml").read_text()
CONFIG = ("env_id: robocritic/ClippedPendulum-v0\nepisodes: 7\n"
          "yann_ddpg:\n  actor_lr: 3.0e-5\n  actor_hidden: [4, 4]\n")
PARAMS = "/**:\n  ros__parameters:\n    k: 1\n    gains: [1.0, 2.0]\n"
LAUNCH = textwrap.dedent("""\
    launch:
    - arg: {name: rate, default: "20.0", description: "control rate"}
    - arg: {name: scoped, default: "true"}
    - group:
        scoped: "$(var scoped)"
        children:
        - push-ros-namespace: {namespace: robot}
        - node:
            pkg: demo_pkg
            exec: talker
            name: talker
            output: screen
            param:
            - {name: rate, value: "$(var rate)"}
            - {name: gains, value: [1.0, 2.0]}
            - {name: label, value: "4.0"}
            - {from: params.yaml}
            remap:
            - {from: /in, to: /out}
            env:
            - {name: MODE, value: sim}
    """)

#: Memory and time a single bad file may take (the bomb of the finding took hundreds of MB).
MEMORY_MB, SECONDS = 200, 10.0


def bomb(levels: int = 9, width: int = 9, key: str = "lol") -> str:
    """The "billion laughs" in block style: ``width ** levels`` leaves in ``~ 5 * width * levels``
    bytes (9 x 9: about 400 bytes, 387 million leaves)."""
    lines = [f"{key}0: &{key}0 [" + ", ".join(["lol"] * width) + "]"]
    lines += [f"{key}{i}: &{key}{i} [" + ", ".join([f"*{key}{i - 1}"] * width) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def flow_bomb(levels: int = 9, width: int = 9) -> str:
    """The same bomb as one flow value (what a launch argument can carry)."""
    items = ["&b0 [" + ", ".join(["lol"] * width) + "]"]
    items += [f"&b{i} [" + ", ".join([f"*b{i - 1}"] * width) + "]" for i in range(1, levels)]
    return "[" + ", ".join(items) + "]"


def nested(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


def write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(content)
    return path


def check(category: str, call: Callable[[], Any], errors: tuple[type[BaseException], ...], mentions: str,
          why: str | None = None, accept: bool = False) -> BaseException | None:
    """``expect_clear`` in a bounded child; the error names the file (``mentions``) and ``why``."""
    exc = expect_clear(category, bounded(call, memory_mb=MEMORY_MB, seconds=SECONDS), errors=errors,
                       mentions=mentions, accept=accept)
    if exc is not None and why is not None:
        assert why.lower() in str(exc).lower(), str(exc)
    return exc


# --- the reader itself ---------------------------------------------------------------------------

READER_CASES = {
    "alias bomb": (bomb(), "aliases expanded"),
    "alias bomb in flow style": (flow_bomb(), "aliases expanded"),
    "wide bomb, few levels": (bomb(levels=3, width=60), "aliases expanded"),
    "recursive alias": ("&a [*a]", "recursive alias"),
    "recursive alias in a mapping": ("a: &a {b: *a}", "recursive alias"),
    "recursive merge key": ("a: &a {<<: *a}", "recursive alias"),
    "undefined alias": ("a: *nope", "undefined alias"),
    "duplicate anchor": ("- &a 1\n- &a 2\n", "duplicate anchor"),
    "deep flow nesting": (nested(MAX_DEPTH + 1), "nesting deeper"),
    "very deep flow nesting": (nested(20_000), "nesting deeper"),
    "deep block nesting": ("".join(f"{'  ' * i}k{i}:\n" for i in range(MAX_DEPTH + 2)) + "  " * (MAX_DEPTH + 2) + "1\n",
                           "nesting deeper"),
    "!!int abc": ("a: !!int abc", "int"),
    "!!float abc": ("a: !!float abc", "float"),
    "!!timestamp abc": ("a: !!timestamp abc", "timestamp"),
    "a date that is not one": ("a: 2024-13-45", "timestamp"),
    "!!binary that is not base64": ("a: !!binary 'a'", "base64"),
    "an integer of 5000 digits": ("a: " + "9" * 5000, "int"),
    "unhashable key": ("? [1, 2]\n: x\n", "unhashable"),
    "python tag": ("!!python/object/apply:os.system [echo hi]", "constructor"),
    "two documents": ("a: 1\n---\nb: 2\n", "single document"),
    "NUL character": ("a: \x00", "special characters"),
    "not UTF-8": (b"a: \xff\xfe", "UTF-8"),
    "UTF-16": ("a: 1\n".encode("utf-16"), "UTF-8"),
    "over the size limit": ("a: 1\n# " + "x" * MAX_BYTES, "larger than"),
    "a long anchor name": ("a: *" + "n" * 100_000, "undefined alias"),
}


@pytest.mark.parametrize("name", list(READER_CASES))
def test_the_reader_refuses_by_name(tmp_path, name):
    content, why = READER_CASES[name]
    path = write(tmp_path / "bad.yaml", content)
    check("yaml", lambda: load_yaml(path), (YamlError,), "bad.yaml", why)


def test_the_reader_names_a_text_source_and_keeps_messages_short():
    exc = check("yaml", lambda: load_yaml("a: *" + "q" * 50_000, source="from the command line"), (YamlError,),
                "from the command line", "undefined alias")
    assert len(str(exc)) < 1000


def test_the_limits_leave_real_files_alone():
    # a document just inside every limit reads, and aliases below the node limit are fine
    assert load_yaml(nested(MAX_DEPTH - 1)) == eval(nested(MAX_DEPTH - 1))
    assert load_yaml(bomb(levels=3, width=9))["lol2"][0][0][0] == "lol"
    assert load_yaml("a: [" + ", ".join(["1"] * 10_000) + "]")["a"][-1] == 1
    assert load_yaml("\ufeffa: 1".encode()) == {"a": 1}


# --- hardware profiles ---------------------------------------------------------------------------

PROFILE_CASES = {
    "alias bomb in a field": (bomb() + PROFILE.replace("description: Rod", "description: *lol8\n# Rod"),
                              "aliases expanded"),
    "recursive alias": (PROFILE.replace("rates:", "limits: &a {x: *a}\nrates:"), "recursive alias"),
    "!!int abc": (PROFILE.replace("control_hz: 20.0", "control_hz: !!int abc"), "int"),
    "huge integer": (PROFILE.replace("control_hz: 20.0", f"control_hz: {10 ** 400}"), "control_hz"),
    "5000-digit integer": (PROFILE.replace("control_hz: 20.0", "control_hz: 1" + "0" * 5000), "int"),
    "1e400 (a string in YAML 1.1)": (PROFILE.replace("control_hz: 20.0", "control_hz: 1e400"), "control_hz"),
    "1.0e400 (inf)": (PROFILE.replace("control_hz: 20.0", "control_hz: 1.0e400"), "control_hz"),
    "deep nesting": (PROFILE.replace("description: Rod", f"description: {nested(500)}\n# Rod"), "nesting"),
    "not UTF-8": (PROFILE.encode().replace(b"Rod pendulum", b"Rod \xe9 pendulum"), "UTF-8"),
    "Latin-1": (PROFILE.replace("Rod pendulum", "Rod pendulüm").encode("latin-1"), "UTF-8"),
    "NUL byte": (PROFILE.replace("Rod", "Rod\x00"), "special characters"),
    "over the size limit": (PROFILE + "#" + "x" * MAX_BYTES, "larger than"),
    "empty": ("", "mapping"),
    "a list": ("- 1\n- 2\n", "mapping"),
    "a long value in a field": (PROFILE.replace("description: Rod", "description: [" + "1, " * 20_000 + "1]\n# Rod"),
                                "description"),
    "keys of mixed types": (PROFILE.replace("rates:", "1: x\n2.5: y\nrates:"), "unknown field"),
}


@pytest.mark.parametrize("name", list(PROFILE_CASES))
def test_bad_profiles_raise_profile_error_naming_the_file(tmp_path, name):
    content, why = PROFILE_CASES[name]
    path = write(tmp_path / "bad_robot.yaml", content)
    exc = check("profiles", lambda: load_profile(path), (ProfileError,), "bad_robot.yaml", why)
    assert len(str(exc)) < 2000


def test_profiles_that_are_not_files(tmp_path):
    check("profiles", lambda: load_profile(tmp_path / "missing.yaml"), (ProfileError,), "missing.yaml",
          "no such file")
    (tmp_path / "folder.yaml").mkdir()
    check("profiles", lambda: load_profile(tmp_path / "folder.yaml"), (ProfileError,), "folder.yaml", "directory")
    (tmp_path / "plain_folder").mkdir()
    check("profiles", lambda: load_profile(tmp_path / "plain_folder"), (ProfileError,), "plain_folder",
          "directory")
    check("profiles", lambda: load_profile("no/such/robot"), (ProfileError,), "no/such/robot",
          "no hardware profile")
    check("profiles", lambda: load_profile("nul\x00name"), (ProfileError,), "nul", "no hardware profile")
    check("profiles", lambda: load_profile("a" * 5000), (ProfileError,), "aaaa", "too long")
    check("profiles", lambda: load_profile("not_shipped"), (ProfileError,), "not_shipped", "shipped")


# --- launch files and parameter files ------------------------------------------------------------

def _launch(folder: Path, text: str | bytes, params: str | bytes = PARAMS,
            arguments: dict[str, str] | None = None) -> Callable[[], Any]:
    write(folder / "params.yaml", params)
    path = write(folder / "t.launch.yaml", text)
    return lambda: load_launch_file(path, arguments, environ={}, check_executables=False)


LAUNCH_CASES = {
    "alias bomb": (bomb() + LAUNCH, "aliases expanded"),
    "alias bomb as a parameter value": (LAUNCH.replace("[1.0, 2.0]", flow_bomb()), "aliases expanded"),
    "recursive alias": ("launch: &a [*a]\n", "recursive alias"),
    "recursive alias in a node": (LAUNCH.replace("name: talker", "name: &n {a: *n}"), "recursive alias"),
    "!!int abc as a parameter": (LAUNCH.replace('value: "4.0"', "value: !!int abc"), "int"),
    "!!timestamp as an entity key": (LAUNCH.replace("- arg: {name: scoped", "- !!timestamp x: {name: scoped"),
                                     "timestamp"),
    "!!float abc as the node name": (LAUNCH.replace("name: talker", "name: !!float abc"), "float"),
    "not UTF-8": (LAUNCH.encode().replace(b"control rate", b"control \xff rate"), "UTF-8"),
    "deeply nested groups": ("launch:\n" + "".join(f"{'  ' * i}- group:\n" for i in range(MAX_DEPTH)), "nesting"),
    "deep flow nesting": ("launch: " + nested(5000) + "\n", "nesting"),
    "over the size limit": (LAUNCH + "#" + "x" * MAX_BYTES, "larger than"),
    "a list as an entity type": (LAUNCH.replace("- arg: {name: scoped", "- ? [1]\n  : x\n- arg: {name: scoped"),
                                 "unsupported entity"),
    "a mapping as a key": (LAUNCH.replace("output: screen", "{a: 1}: screen"), "keys must be strings"),
    "a very long unsupported key": (LAUNCH.replace("output: screen", "? " + "o" * 200_000 + "\n        : screen"),
                                    "unsupported key"),
    "a very long value": (LAUNCH.replace("output: screen", "output: " + "o" * 200_000), "output"),
}


@pytest.mark.parametrize("name", list(LAUNCH_CASES))
def test_bad_launch_files_raise_launch_error_naming_the_file(tmp_path, name):
    content, why = LAUNCH_CASES[name]
    check("launch", _launch(tmp_path, content), (LaunchError,), "t.launch.yaml", why)


PARAMS_CASES = {
    "alias bomb": (bomb() + PARAMS, "aliases expanded"),
    "recursive alias": ("/**: &a {ros__parameters: *a}\n", "recursive alias"),
    "!!int abc": (PARAMS.replace("k: 1", "k: !!int abc"), "int"),
    "not UTF-8": (PARAMS.encode().replace(b"k: 1", b"k: \xc3"), "UTF-8"),
    "deep nesting": (PARAMS.replace("k: 1", "k: " + nested(MAX_DEPTH + 5)), "nesting"),
    "over the size limit": (PARAMS + "#" + "x" * MAX_BYTES, "larger than"),
}


@pytest.mark.parametrize("name", list(PARAMS_CASES))
def test_bad_parameter_files_raise_launch_error_naming_both_files(tmp_path, name):
    content, why = PARAMS_CASES[name]
    exc = check("launch", _launch(tmp_path, LAUNCH, params=content), (LaunchError,), "params.yaml", why)
    assert "t.launch.yaml" in str(exc)


def test_launch_files_that_are_not_files(tmp_path):
    missing = tmp_path / "missing.launch.yaml"
    check("launch", lambda: load_launch_file(missing, check_executables=False), (LaunchError,),
          "missing.launch.yaml", "cannot read launch file")
    (tmp_path / "folder.launch.yaml").mkdir()
    check("launch", lambda: load_launch_file(tmp_path / "folder.launch.yaml", check_executables=False),
          (LaunchError,), "folder.launch.yaml", "directory")
    (tmp_path / "params.yaml").mkdir()
    path = write(tmp_path / "t.launch.yaml", LAUNCH)
    check("launch", lambda: load_launch_file(path, environ={}, check_executables=False), (LaunchError,),
          "params.yaml", "directory")


@pytest.mark.parametrize("name, arguments, why", [
    ("a bomb as a typed parameter", {"rate": flow_bomb()}, "aliases expanded"),
    ("a recursive alias as a flag", {"scoped": "&a [*a]"}, "recursive alias"),
    ("!!int abc as a parameter", {"rate": "!!int abc"}, "int"),
    ("deep nesting as a flag", {"scoped": nested(10_000)}, "nesting"),
    ("a long text that is not YAML", {"rate": "[" + "x" * 100_000}, "not a YAML value"),
])
def test_launch_arguments_go_through_the_same_reader(tmp_path, name, arguments, why):
    check("launch", _launch(tmp_path, LAUNCH, arguments=arguments), (LaunchError,), "t.launch.yaml", why)


def test_formatting_a_parameter_value_never_loads_a_bomb():
    for text in (flow_bomb(), "&a [*a]", "!!int abc", nested(5000)):
        out = expect_clear("launch", bounded(lambda t=text: format_parameter_value(t), memory_mb=MEMORY_MB,
                                             seconds=SECONDS), accept=True)
        assert out is None
        assert format_parameter_value(text).startswith("'")  # not plain YAML: quoted


# --- configs -------------------------------------------------------------------------------------

CONFIG_CASES = {
    "alias bomb": (bomb() + CONFIG, "aliases expanded"),
    "alias bomb as a field": (CONFIG.replace("actor_hidden: [4, 4]", "actor_hidden: " + flow_bomb()),
                              "aliases expanded"),
    "recursive alias": (CONFIG.replace("episodes: 7", "episodes: &e [*e]"), "recursive alias"),
    "!!int abc": (CONFIG.replace("episodes: 7", "episodes: !!int abc"), "int"),
    "not UTF-8": (CONFIG.encode().replace(b"episodes", b"\xffepisodes"), "UTF-8"),
    "deep nesting": (CONFIG.replace("episodes: 7", "episodes: " + nested(1000)), "nesting"),
    "over the size limit": (CONFIG + "#" + "x" * MAX_BYTES, "larger than"),
    "a list": ("- 1\n", "mapping"),
    "a very long unknown key": (CONFIG + "? " + "k" * 100_000 + "\n: 1\n", "unknown key"),
}


@pytest.mark.parametrize("reader", [read_yaml_mapping, load_config], ids=["read_yaml_mapping", "load_config"])
@pytest.mark.parametrize("name", list(CONFIG_CASES))
def test_bad_configs_raise_value_error_naming_the_file(tmp_path, name, reader):
    content, why = CONFIG_CASES[name]
    if reader is read_yaml_mapping and why == "unknown key":
        return  # a mapping with an unknown key is what read_yaml_mapping returns; load_config refuses it
    path = write(tmp_path / "cfg.yaml", content)
    exc = check("yaml", lambda: reader(path), (ValueError,), "cfg.yaml", why)
    assert len(str(exc)) < 2000


def test_configs_that_are_not_files(tmp_path):
    check("yaml", lambda: load_config(tmp_path / "missing.yaml"), (ValueError,), "missing.yaml", "no such file")
    (tmp_path / "dir.yaml").mkdir()
    check("yaml", lambda: load_config(tmp_path / "dir.yaml"), (ValueError,), "dir.yaml", "directory")


# --- properties: mutated files -------------------------------------------------------------------

SYNTAX = [b"&a ", b"*a", b"&a [*a]", b"!!int ", b"!!float ", b"!!timestamp ", b"!!binary ", b"!!str ",
          b"!!python/name:os.system ", b"[", b"]", b"{", b"}", b": ", b"- ", b"? ", b", ", b"\t", b"\n", b"\n  ",
          b"'", b'"', b"#", b"|\n", b">\n", b"---\n", b"...\n", b"%YAML 1.1\n", b"<<: *a\n", b"\x00", b"\xff",
          b"\xc3", b"\xef\xbb\xbf", b"9" * 400, b"1e400", b"-.inf", b".nan", b"~", b"null", b"true", b"0x1F",
          b"$(var rate)", b"$(env X)", b"$(", b")", flow_bomb(levels=7, width=6).encode()]


@st.composite
def mutated(draw: st.DrawFn, base: bytes) -> bytes:
    """``base`` with one to four edits: YAML syntax or random bytes inserted, a span deleted or
    replaced, or the file truncated."""
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 4))):
        edit = draw(st.sampled_from(["insert", "insert", "delete", "replace", "truncate"]))
        at = draw(st.integers(0, len(data)))
        if edit == "insert":
            data[at:at] = draw(st.sampled_from(SYNTAX) | st.binary(min_size=1, max_size=6))
        elif edit == "delete":
            del data[at:at + draw(st.integers(1, 12))]
        elif edit == "replace":
            data[at:at + 1] = draw(st.sampled_from(SYNTAX) | st.binary(min_size=1, max_size=2))
        else:
            del data[at:]
    return bytes(data)


@given(content=mutated(PROFILE.encode()))
def test_mutated_profiles_load_or_fail_clearly(tmp_path_factory, content):
    path = write(tmp_path_factory.mktemp("profile") / "robot.yaml", content)
    check("profiles", lambda: load_profile(path), (ProfileError,), "robot.yaml", accept=True)


@given(content=mutated(LAUNCH.encode()), params=mutated(PARAMS.encode()) | st.just(PARAMS.encode()))
def test_mutated_launch_files_load_or_fail_clearly(tmp_path_factory, content, params):
    call = _launch(tmp_path_factory.mktemp("launch"), content, params=params)
    check("launch", call, (LaunchError,), ["t.launch.yaml", "params.yaml"], accept=True)


@given(content=mutated(CONFIG.encode()))
def test_mutated_configs_load_or_fail_clearly(tmp_path_factory, content):
    path = write(tmp_path_factory.mktemp("config") / "cfg.yaml", content)
    check("yaml", lambda: load_config(path), (ValueError,), "cfg.yaml", accept=True)


def _bomb_sizes(levels: int, width: int) -> tuple[int, int]:
    """Nodes of :func:`bomb` with every alias expanded (the top mapping, a key and a list per
    level), and of its last list alone."""
    size, total = 1 + width, 1
    for _ in range(levels):
        total += 1 + size
        last, size = size, 1 + width * size
    return total, last


@given(levels=st.integers(2, 14), width=st.integers(2, 40), field=st.booleans())
def test_generated_bombs_are_refused_while_reading(tmp_path_factory, levels, width, field):
    """Any bomb whose expansion exceeds the node limit is refused, whatever its shape; a small one reads."""
    text = bomb(levels, width)
    total, last = _bomb_sizes(levels, width)
    if field:  # the largest list used once more, inside a real file (a few hundred nodes of its own)
        text += PROFILE.replace("description: Rod", f"description: *lol{levels - 1}\n# Rod")
        total += last
    path = write(tmp_path_factory.mktemp("bomb") / "bomb.yaml", text)
    exc = check("yaml", lambda: load_yaml(path), (YamlError,), "bomb.yaml", accept=total <= MAX_NODES)
    if total + 500 <= MAX_NODES:
        assert exc is None
    assert exc is None or "aliases expanded" in str(exc)
