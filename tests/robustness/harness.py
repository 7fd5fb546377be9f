"""The bad-input suite's harness: seeded hypothesis profiles, the one rule every case is held to,
and the per-category counts.

Every case is a call on malformed input wrapped in :func:`expect_clear`: it must either raise one
of the documented error types with a message that names what is wrong (the file, the field or the
parameter) and stays short, or be accepted when the case says acceptance is the documented safe
behaviour. A traceback-type exception (``TypeError``, ``KeyError``, ``IndexError``,
``AttributeError``, ``RecursionError``, ``ZeroDivisionError``, ``OverflowError``, a library's own
error, ...) fails the case, as does silent acceptance of what must be refused.

Profiles (environment variable ``HYPOTHESIS_PROFILE``): ``robocritic`` (default; derandomized, so a
run is seeded and repeatable, a few dozen examples per property) and ``long`` (derandomized, ten
times the examples; ``scripts/robustness.sh``). ``ROBOCRITIC_ROBUSTNESS_REPORT=FILE`` writes the
counts per category (cases, clear errors, accepted) as JSON at the end of the session.
"""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

_COMMON = {"derandomize": True, "deadline": None, "print_blob": True,
           "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.function_scoped_fixture]}
settings.register_profile("robocritic", max_examples=40, **_COMMON)
settings.register_profile("long", max_examples=400, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "robocritic"))

#: cases per category: {"category": {"cases": n, "errors": n, "accepted": n}}
COUNTS: dict[str, Counter[str]] = defaultdict(Counter)

#: Longest accepted error message (a message that grows with the input is itself a failure).
MAX_MESSAGE = 2000


class UnclearError(AssertionError):
    """A case ended in a traceback-type exception, an unbounded message, or no mention of the culprit."""


def expect_clear(category: str, call: Callable[[], Any], *, errors: tuple[type[BaseException], ...] = (ValueError,),
                 mentions: str | Iterable[str] | None = None, accept: bool = False) -> BaseException | None:
    """Run ``call`` on a bad input and hold it to the suite's rule (module docstring).

    Args:
        category: the count this case goes to (``"specs"``, ``"profiles"``, ...).
        errors: the documented error types (subclasses count).
        mentions: the error message must contain this (or one of these; case-insensitive).
        accept: acceptance is a documented safe behaviour for this case (otherwise it must raise).

    Returns:
        The raised error, or ``None`` when the call was accepted.
    """
    COUNTS[category]["cases"] += 1
    try:
        call()
    except errors as exc:
        message = str(exc)
        if len(message) > MAX_MESSAGE:
            raise UnclearError(f"{category}: {type(exc).__name__} message of {len(message)} characters "
                               f"(> {MAX_MESSAGE}): {message[:300]}...") from exc
        wanted = [mentions] if isinstance(mentions, str) else list(mentions or [])
        if wanted and not any(w.lower() in message.lower() for w in wanted):
            raise UnclearError(f"{category}: the error does not name any of {wanted}: {message[:500]}") from exc
        COUNTS[category]["errors"] += 1
        return exc
    except BaseException as exc:
        if isinstance(exc, (KeyboardInterrupt, pytest.fail.Exception)):
            raise
        raise UnclearError(f"{category}: {type(exc).__name__} instead of a clear error: {str(exc)[:500]}") from exc
    if not accept:
        raise UnclearError(f"{category}: accepted silently")
    COUNTS[category]["accepted"] += 1
    return None


def write_counts() -> None:
    """Write :data:`COUNTS` to ``$ROBOCRITIC_ROBUSTNESS_REPORT`` (if set)."""
    path = os.environ.get("ROBOCRITIC_ROBUSTNESS_REPORT")
    if path and COUNTS:
        Path(path).write_text(json.dumps({k: dict(v) for k, v in sorted(COUNTS.items())}, indent=1) + "\n")


def bounded(call: Callable[[], Any], *, memory_mb: int = 1024, seconds: float = 30.0) -> Callable[[], Any]:
    """``call`` run in a forked child limited to ``memory_mb`` of address space on top of what the
    parent already maps, and ``seconds`` of wall time; the returned callable re-raises the child's
    exception here as the same type with the same message (for :func:`expect_clear`). A child that
    runs out of memory or time fails the case (``MemoryError`` / ``TimeoutError``: not documented
    errors, so :func:`expect_clear` reports them)."""
    import multiprocessing as mp
    import resource

    def child(conn: Any) -> None:
        soft = _mapped_bytes() + memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (soft, soft))
        try:
            call()
            conn.send(None)
        except BaseException as exc:  # sent back by type and message
            conn.send((type(exc), str(exc)[:MAX_MESSAGE + 1]))

    def run() -> None:
        ctx = mp.get_context("fork")
        here, there = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=child, args=(there,))
        proc.start()
        ready = here.poll(seconds)
        outcome = here.recv() if ready else None
        proc.join(1.0)
        if proc.is_alive():
            proc.kill()
            proc.join()
        if not ready:
            raise TimeoutError(f"no result within {seconds:g} s (a hang)")
        if outcome is not None:
            kind, message = outcome
            try:
                raise kind(message)
            except TypeError:  # an exception class with another signature
                raise RuntimeError(f"{kind.__name__}: {message}") from None

    return run


def _mapped_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
