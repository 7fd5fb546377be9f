"""NodeLogger throttling, shared by every transport's logger: one record per call site (or key) per
period, and the rclpy logger (run here over a stand-in for rclpy's logger) throttles the same way."""

from __future__ import annotations

import logging

import pytest

from robocritic.ros.transport.base import NodeLogger
from robocritic.ros.transport.rclpy_adapter import _RclpyLogger


class FakeRosLogger:
    """Records what an rclpy logger would have been asked to log."""

    def __init__(self) -> None:
        self.records: list[tuple[str, str]] = []
        self.level: int | None = None

    def set_level(self, level: int) -> None:
        self.level = level

    def __getattr__(self, severity: str):
        if severity not in ("debug", "info", "warning", "error", "fatal"):
            raise AttributeError(severity)
        return lambda msg: self.records.append((severity, msg))


def _spam(log: NodeLogger, times: int, **kw) -> None:
    for i in range(times):
        log.warning(f"tick {i}", throttle_s=60.0, **kw)  # one call site, a different text each time


def test_throttling_is_per_call_site_or_key(caplog):
    log = NodeLogger("/probe")
    with caplog.at_level(logging.INFO, logger="robocritic.ros.probe"):
        _spam(log, 5)
        log.warning("another site", throttle_s=60.0)
        _spam(log, 3, key="k")
        log.info("not throttled")
        log.info("not throttled")
    assert [r.getMessage() for r in caplog.records] == [
        "[/probe] tick 0", "[/probe] another site", "[/probe] tick 0",
        "[/probe] not throttled", "[/probe] not throttled",
    ]  # fmt: skip


def test_a_disabled_level_does_not_use_up_the_throttle(caplog):
    log = NodeLogger("/quiet")
    with caplog.at_level(logging.ERROR, logger="robocritic.ros.quiet"):
        log.warning("hidden", throttle_s=60.0, key="k")
    with caplog.at_level(logging.WARNING, logger="robocritic.ros.quiet"):
        log.warning("shown", throttle_s=60.0, key="k")
    assert [r.getMessage() for r in caplog.records] == ["[/quiet] shown"]


def test_rclpy_logger_throttles_per_call_site_and_maps_every_severity():
    ros = FakeRosLogger()
    log = _RclpyLogger("/r", ros)
    _spam(log, 4)  # different texts from one call site: one record, as on the other transports
    log.debug("d")
    log.info("i")
    log.error("e")
    log.fatal("f")
    log.set_level(logging.DEBUG)
    assert ros.records == [
        ("warning", "tick 0"), ("debug", "d"), ("info", "i"), ("error", "e"), ("fatal", "f"),
    ]  # fmt: skip
    assert ros.level == logging.DEBUG


@pytest.mark.parametrize("exc_info", [True, False])
def test_rclpy_logger_appends_the_traceback_on_request(exc_info):
    ros = FakeRosLogger()
    log = _RclpyLogger("/r", ros)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        log.error("failed", exc_info=exc_info)
    ((severity, text),) = ros.records
    assert severity == "error" and text.startswith("failed")
    assert ("RuntimeError: boom" in text) is exc_info
