"""Locating the model files shipped as package data in ``robocritic.envs.assets``."""

from __future__ import annotations

from importlib import resources


def asset_path(name: str) -> str:
    """Absolute path of a file shipped in ``robocritic.envs.assets``."""
    path = resources.files("robocritic.envs.assets").joinpath(name)
    if not path.is_file():
        raise FileNotFoundError(f"robocritic asset {name!r} not found at {path}")
    return str(path)
