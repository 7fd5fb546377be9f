"""The harness holds cases to its rule: a clear error passes, a traceback-type error, an unbounded
message, an unnamed culprit or a silent acceptance fails."""

from __future__ import annotations

import pytest
from harness import COUNTS, UnclearError, expect_clear
from hypothesis import given, strategies as st


def _raise(exc: BaseException):
    def call():
        raise exc
    return call


def test_clear_errors_pass_and_are_counted():
    before = COUNTS["harness"]["errors"]
    exc = expect_clear("harness", _raise(ValueError("spec.yaml: horizon must be >= 1; got 0")), mentions="horizon")
    assert isinstance(exc, ValueError) and COUNTS["harness"]["errors"] == before + 1
    assert expect_clear("harness", lambda: None, accept=True) is None


@pytest.mark.parametrize("call, match", [
    (_raise(KeyError("x")), "KeyError instead of a clear error"),
    (_raise(ValueError("x" * 5000)), "message of 5000 characters"),
    (_raise(ValueError("something is wrong")), "does not name any of"),
    (lambda: None, "accepted silently"),
])
def test_unclear_outcomes_fail(call, match):
    with pytest.raises(UnclearError, match=match):
        expect_clear("harness", call, mentions="horizon")


@given(st.integers())
def test_profiles_are_derandomized(n):
    from hypothesis import settings

    assert settings.default.derandomize


def test_bounded_runs_in_a_child_and_reports_memory_and_time():
    from harness import bounded

    assert isinstance(expect_clear("harness", bounded(_raise(ValueError("horizon < 1"))), mentions="horizon"),
                      ValueError)
    with pytest.raises(UnclearError, match="MemoryError"):
        expect_clear("harness", bounded(lambda: bytearray(2**31), memory_mb=256))
    with pytest.raises(UnclearError, match="TimeoutError"):
        import time

        expect_clear("harness", bounded(lambda: time.sleep(5), seconds=0.5))
