"""Config dataclasses <-> dicts and YAML (robocritic.utils.dataconfig): a round trip, lists become
tuples, unknown keys are rejected by their dotted path, validation errors keep the section path."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from robocritic.utils.dataconfig import config_to_dict, merge_config, read_yaml_mapping


@dataclass(frozen=True)
class Inner:
    width: int = 4
    sizes: tuple[int, ...] = (8, 8)

    def __post_init__(self) -> None:
        if self.width < 1:
            raise ValueError(f"Inner.width must be >= 1; got {self.width}")


@dataclass(frozen=True)
class Outer:
    name: str = "x"
    matrix: tuple[tuple[float, ...], ...] = ((1.0, 0.0), (0.0, 1.0))
    inner: Inner = field(default_factory=Inner)


def test_round_trip_through_json():
    cfg = Outer(name="y", matrix=((2.0,),), inner=Inner(width=2, sizes=(3,)))
    data = json.loads(json.dumps(config_to_dict(cfg)))
    assert data == {"name": "y", "matrix": [[2.0]], "inner": {"width": 2, "sizes": [3]}}
    assert merge_config(Outer(), data, label="test config") == cfg


def test_lists_become_tuples_at_every_depth():
    cfg = merge_config(Outer(), {"matrix": [[1.0, 2.0], [3.0, 4.0]], "inner": {"sizes": [5, 6]}}, label="t")
    assert cfg.matrix == ((1.0, 2.0), (3.0, 4.0)) and isinstance(cfg.matrix[0], tuple)
    assert cfg.inner.sizes == (5, 6) and cfg.inner.width == 4  # untouched keys keep the defaults


def test_unknown_keys_are_rejected_by_dotted_path():
    with pytest.raises(ValueError, match=r"unknown key 'nme' in the test config; allowed keys: \['name'"):
        merge_config(Outer(), {"nme": "z"}, label="test config")
    with pytest.raises(ValueError, match=r"unknown key 'inner\.depth' in the test config; allowed keys of inner"):
        merge_config(Outer(), {"inner": {"depth": 3}}, label="test config")
    with pytest.raises(ValueError, match="inner must be a mapping"):
        merge_config(Outer(), {"inner": 3}, label="test config")


def test_validation_errors_carry_the_section_path():
    with pytest.raises(ValueError, match=r"^inner: Inner\.width must be >= 1; got 0$"):
        merge_config(Outer(), {"inner": {"width": 0}}, label="t")


def test_read_yaml_mapping(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("name: z\ninner:\n  sizes: [1, 2]\n")
    assert read_yaml_mapping(path) == {"name": "z", "inner": {"sizes": [1, 2]}}
    (tmp_path / "empty.yaml").write_text("")
    assert read_yaml_mapping(tmp_path / "empty.yaml") == {}
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ValueError, match="list.yaml: must hold a mapping"):
        read_yaml_mapping(tmp_path / "list.yaml")
