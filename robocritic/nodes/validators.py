"""Parameter validators for :meth:`~robocritic.ros.transport.base.Node.declare_parameter`.

Each returns ``None`` for a valid value, else the reason, which the transport turns into a
``ParameterError`` naming the parameter and its value.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any


def positive(value: float) -> str | None:
    """Validator: a finite number > 0."""
    return None if math.isfinite(value) and value > 0 else "must be a finite number > 0"


def non_negative(value: float) -> str | None:
    """Validator: a finite number >= 0."""
    return None if math.isfinite(value) and value >= 0 else "must be a finite number >= 0"


def one_of(*choices: str) -> Callable[[str], str | None]:
    """Validator: one of ``choices``."""

    def check(value: str) -> str | None:
        return None if value in choices else f"must be one of {list(choices)}"

    return check


def at_least(low: int) -> Callable[[int], str | None]:
    """Validator: an integer >= ``low``."""

    def check(value: int) -> str | None:
        return None if value >= low else f"must be >= {low}"

    return check


def finite_list(values: list[Any]) -> str | None:
    """Validator: a (possibly empty) list of finite numbers, int or float."""
    ok = all(_number(v) and math.isfinite(v) for v in values)
    return None if ok else "must be a list of finite numbers"


def finite_floats(*, minimum: float, strict: bool) -> Callable[[list[Any]], str | None]:
    """Validator: a non-empty list of finite floats ``>= minimum`` (``> minimum`` when ``strict``)."""
    bound = f"{'>' if strict else '>='} {minimum:g}"

    def check(values: list[Any]) -> str | None:
        ok = bool(values) and all(
            isinstance(v, float) and math.isfinite(v) and (v > minimum if strict else v >= minimum)
            for v in values
        )
        return None if ok else f"must be a non-empty list of finite floats {bound}"

    return check


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


__all__ = ["at_least", "finite_floats", "finite_list", "non_negative", "one_of", "positive"]
