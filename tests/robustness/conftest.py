"""Loads the bad-input suite's harness (:mod:`harness`: hypothesis profiles, :func:`harness.expect_clear`,
the per-category counts) and writes the counts at the end of the session."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests here do ``from harness import expect_clear``

import harness  # noqa: E402 - after the path above


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    harness.write_counts()
