"""Optional dependencies: import one, or fail with the extra that installs it."""

from __future__ import annotations

import importlib
from types import ModuleType


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module`` (dotted name); ``ImportError`` naming the extra to install if it is missing.

    Args:
        module: what to import, e.g. ``"ppopt"`` or ``"torch.utils.tensorboard"``.
        extra: the robocritic extra that brings it, e.g. ``"explicit"``.
        purpose: what needs it, completing "``purpose`` needs ...", e.g. ``"computing an explicit MPC law"``.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"{purpose} needs {module.split('.')[0]}: pip install 'robocritic[{extra}]'"
        ) from exc


__all__ = ["require"]
