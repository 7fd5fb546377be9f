"""Files that ship with NavDP: ``navdp_small.pt``, a small NavDP model trained on CPU (a weights-only
model file, :func:`robocritic.navdp.checkpoint.load_model`; rebuilt by ``scripts/train_navdp.sh``,
its sanity numbers in ``docs/navdp.md``)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["SMALL_MODEL", "small_model_path"]

#: File name of the shipped model.
SMALL_MODEL = "navdp_small.pt"


def small_model_path() -> Path:
    """Path of the shipped model file (inside the installed package)."""
    return Path(str(files(__name__) / SMALL_MODEL))
