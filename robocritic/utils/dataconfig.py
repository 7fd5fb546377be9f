"""Config dataclasses <-> plain dicts and YAML.

A config is a frozen dataclass (nested dataclasses for sections, tuples for sequences) that
validates itself in ``__post_init__``. :func:`config_to_dict` gives its JSON/YAML-safe form;
:func:`merge_config` applies a nested mapping of overrides to a default config, rejecting any
unknown key by its dotted path; :func:`read_yaml_mapping` reads a file with the bounded YAML reader.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["config_to_dict", "merge_config", "read_yaml_mapping"]

C = TypeVar("C")


def config_to_dict(config: Any) -> dict[str, Any]:
    """Plain nested dict (lists, numbers, strings) of a config dataclass; JSON/YAML-safe."""

    def plain(v: Any) -> Any:
        if dataclasses.is_dataclass(v):
            return {f.name: plain(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, tuple):
            return [plain(a) for a in v]
        return v

    return plain(config)


def _to_tuples(v: Any) -> Any:
    return tuple(_to_tuples(a) for a in v) if isinstance(v, list) else v


def merge_config(base: C, data: Any, *, label: str, path: str = "") -> C:
    """``base`` (a config dataclass) with the entries of ``data`` replaced, recursively.

    Args:
        base: the defaults.
        data: a mapping of overrides; nested mappings override nested dataclass sections and
            lists become tuples.
        label: what the config is, for messages ("unknown key 'x' in the <label>").
        path: dotted path of ``base`` inside the whole config ("" at the top).

    Raises:
        ValueError: ``data`` is not a mapping, holds an unknown key (named with its dotted path
            and the allowed keys), or a value fails the dataclass's own validation (prefixed with
            the section's path).
    """
    where = _short(path or "config")
    if not isinstance(data, dict):
        raise ValueError(f"{where} must be a mapping of keys to values; got {type(data).__name__}")
    names = [f.name for f in dataclasses.fields(base)]
    for key in data:
        if key not in names:
            raise ValueError(
                f"unknown key '{_short(f'{path}.{key}' if path else str(key))}' in the {label}; "
                f"allowed keys{' of ' + _short(path) if path else ''}: {names}"
            )
    changes: dict[str, Any] = {}
    for key, value in data.items():
        current = getattr(base, key)
        sub = f"{path}.{key}" if path else key
        if dataclasses.is_dataclass(current):
            changes[key] = merge_config(current, value, label=label, path=sub)
        else:
            changes[key] = _to_tuples(value)
    try:
        return dataclasses.replace(base, **changes)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {_short(str(exc), 1000)}") from exc


def _short(text: str, limit: int = 200) -> str:
    # Keys and validation messages quote what a file holds, which can be arbitrarily long.
    from robocritic.utils.safe_yaml import shorten

    return shorten(text, limit)


def read_yaml_mapping(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The mapping in a YAML file (read with :func:`robocritic.utils.safe_yaml.load_yaml`; an
    empty file is ``{}``).

    Raises:
        ValueError: the file cannot be read (missing, a directory, not UTF-8), is not valid YAML,
            exceeds the reader's limits, or holds something other than a mapping (the message
            names the file).
    """
    from robocritic.utils.safe_yaml import load_yaml

    path = Path(path)
    data = load_yaml(path)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: must hold a mapping of keys to values; got {type(data).__name__}")
    return data
