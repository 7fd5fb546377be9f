"""Files that ship with NavDP: ``navdp_small.pt``, a small NavDP model trained on CPU (0.28 M
parameters, 8000 steps of batch 16 on the samples of worlds 0-399; a weights-only model file,
:func:`robocritic.navdp.checkpoint.load_model`; rebuilt by ``scripts/train_navdp.sh`` in about
25 min on 2 cores, its sanity and closed-loop numbers in ``docs/navdp.md`` and ``BENCHMARKS.md``)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["SMALL_MODEL", "small_model_path"]

#: File name of the shipped model.
SMALL_MODEL = "navdp_small.pt"


def small_model_path() -> Path:
    """Path of the shipped model file (inside the installed package)."""
    return Path(str(files(__name__) / SMALL_MODEL))
