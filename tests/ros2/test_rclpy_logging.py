"""The rclpy transport's logger: one NodeLogger logs every severity without rclpy refusing it.

rclpy binds a severity to each call site on first use; a logger that funnels all severities
through one line of code raised ``ValueError`` on the first warning after an info.
"""

from __future__ import annotations

from robocritic.ros.transport import make_node


def test_one_logger_logs_every_severity_in_any_order(ros_env, capfd):
    node = make_node("logging_probe", transport="rclpy")
    try:
        log = node.get_logger()
        for _ in range(2):
            log.info("info line")
            log.warning("warning line")
            log.error("error line")
            log.fatal("fatal line")
            log.debug("debug line")
            log.warning("throttled warning", throttle_s=10.0)
    finally:
        node.destroy()
    err = capfd.readouterr().err
    for text in ("info line", "warning line", "error line", "fatal line"):
        assert text in err
    assert err.count("throttled warning") == 1


def test_a_failing_callback_is_logged_and_counted_not_fatal(ros_env):
    node = make_node("callback_probe", transport="rclpy")
    try:
        node.get_logger().info("before")
        def fail() -> None:
            raise RuntimeError("boom")
        for _ in range(3):
            assert node._invoke("probe", fail) is False
        assert node.stats.callback_errors["probe"] == 3
    finally:
        node.destroy()

