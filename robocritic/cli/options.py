"""argparse ``type=`` checks shared by the command groups: a bad value ends in argparse's own
``error: argument --episodes: ...`` line (exit 2) before any work starts, never in a traceback
from deep inside a job.

``int()`` and ``float()`` alone accept what makes no sense as an option: negative counts, "nan"
and "inf", numbers so large that an array or a process pool of that size cannot exist, and an
empty string as a path. The maxima are far above any real run; they only turn a typo into a clear
error.
"""

from __future__ import annotations

import argparse
import itertools
import math
import re
import stat
from collections.abc import Callable
from pathlib import Path

__all__ = ["SEED_MAX", "count", "in_dir", "in_file", "number", "out_dir", "out_file", "seed", "seed_ranges"]

SEED_MAX = 2**32 - 1
"""Largest seed (numpy's legacy seeding and many env wrappers take 32-bit seeds)."""
_RANGE = re.compile(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?")


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 60 else repr(text[:57]) + "..."


def count(minimum: int = 1, maximum: int = 10**9) -> Callable[[str], int]:
    """An integer in ``[minimum, maximum]``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer; got {_shown(text)}") from None
        if not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(f"must be an integer in [{minimum}, {maximum}]; got {_shown(text)}")
        return value

    return parse


def seed(text: str) -> int:
    """A seed: an integer in ``[0, SEED_MAX]``."""
    return count(0, SEED_MAX)(text)


def number(minimum: float = -math.inf, maximum: float = math.inf, *, low_open: bool = False,
           high_open: bool = False) -> Callable[[str], float]:
    """A finite float in the interval from ``minimum`` to ``maximum`` (ends open where asked)."""
    interval = f"{'(' if low_open else '['}{minimum:g}, {maximum:g}{')' if high_open else ']'}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number; got {_shown(text)}") from None
        inside = (value > minimum if low_open else value >= minimum) and (
            value < maximum if high_open else value <= maximum)
        if not math.isfinite(value) or not inside:
            raise argparse.ArgumentTypeError(f"must be a finite number in {interval}; got {_shown(text)}")
        return value

    return parse


def seed_ranges(*, distinct: bool = False, max_count: int = 10**6) -> Callable[[str], str]:
    """Seeds written ``0-199``, ``3,5,8`` or a mix: each part ``N`` or ``LOW-HIGH`` (inclusive,
    ``LOW <= HIGH``), every seed in ``[0, SEED_MAX]``, at most ``max_count`` in all. Returns the
    text unchanged: the command's own parser (``parse_seeds``, ``parse_worlds``) reads it, so its
    order and de-duplication rules stay what they are."""

    def parse(text: str) -> str:
        total, seen = 0, []
        for part in text.split(","):
            m = _RANGE.fullmatch(part)
            if m is None:
                raise argparse.ArgumentTypeError(
                    f"expected seeds like 0-199 or 3,5,8 (integers >= 0); got {_shown(text)}")
            low, high = int(m.group(1)), int(m.group(2) or m.group(1))
            if high < low:
                raise argparse.ArgumentTypeError(f"range {_shown(part.strip())} runs backwards (LOW-HIGH)")
            if high > SEED_MAX:
                raise argparse.ArgumentTypeError(f"seeds must be at most {SEED_MAX}; got {_shown(part.strip())}")
            total += high - low + 1
            if total > max_count:
                raise argparse.ArgumentTypeError(f"more than {max_count} seeds in {_shown(text)}")
            seen.append((low, high))
        if distinct and _overlap(seen):
            raise argparse.ArgumentTypeError(f"seeds must be distinct; {_shown(text)} repeats some")
        return text

    return parse


def _overlap(ranges: list[tuple[int, int]]) -> bool:
    ordered = sorted(ranges)
    return any(b[0] <= a[1] for a, b in itertools.pairwise(ordered))


def _path(text: str) -> tuple[Path, str | None]:
    """``text`` as a path and what is there: ``"file"``, ``"folder"``, ``"other"`` or ``None``."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a path; got an empty string")
    if "\0" in text:
        raise argparse.ArgumentTypeError(f"a path cannot hold a NUL character; got {_shown(text)}")
    path = Path(text)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return path, None
    except OSError as exc:  # a name too long, a file used as a folder, no permission
        raise argparse.ArgumentTypeError(f"cannot use {_shown(text)}: {exc.strerror}") from None
    return path, "folder" if stat.S_ISDIR(mode) else "file" if stat.S_ISREG(mode) else "other"


def in_file(text: str) -> str:
    """An existing file (not a folder)."""
    kind = _path(text)[1]
    if kind is None:
        raise argparse.ArgumentTypeError(f"no such file: {_shown(text)}")
    if kind == "folder":
        raise argparse.ArgumentTypeError(f"{_shown(text)} is a folder; expected a file")
    return text


def in_dir(text: str) -> str:
    """An existing folder."""
    kind = _path(text)[1]
    if kind is None:
        raise argparse.ArgumentTypeError(f"no such folder: {_shown(text)}")
    if kind != "folder":
        raise argparse.ArgumentTypeError(f"{_shown(text)} is not a folder")
    return text


def out_file(text: str) -> str:
    """A file to write: not empty, not an existing folder."""
    if _path(text)[1] == "folder":
        raise argparse.ArgumentTypeError(f"{_shown(text)} is a folder; expected a file to write")
    return text


def out_dir(text: str) -> str:
    """A folder to write into: not empty, not an existing file."""
    if _path(text)[1] not in (None, "folder"):
        raise argparse.ArgumentTypeError(f"{_shown(text)} exists and is not a folder")
    return text
