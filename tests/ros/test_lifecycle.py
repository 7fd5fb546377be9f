"""The managed-node state machine the local transports keep in Python (rclpy keeps its own)."""

from __future__ import annotations

from robocritic.ros.transport.base import Lifecycle


def _machine(allow_activate: bool = True) -> tuple[Lifecycle, list[str]]:
    calls: list[str] = []

    def on_activate() -> bool:
        calls.append("activate")
        return allow_activate

    lifecycle = Lifecycle(on_activate, lambda: calls.append("deactivate"), lambda: calls.append("shutdown"))
    return lifecycle, calls


def test_activate_configures_first_and_deactivate_returns_to_inactive():
    lifecycle, calls = _machine()
    assert lifecycle.state == "unconfigured"
    assert lifecycle.activate() is True and lifecycle.state == "active"
    assert lifecycle.activate() is True and calls == ["activate"]  # already active: no second call
    lifecycle.deactivate()
    lifecycle.deactivate()
    assert lifecycle.state == "inactive" and calls == ["activate", "deactivate"]


def test_a_refused_activation_leaves_the_node_inactive():
    lifecycle, calls = _machine(allow_activate=False)
    assert lifecycle.activate() is False
    assert lifecycle.state == "inactive" and calls == ["activate"]
    lifecycle.deactivate()  # nothing to deactivate
    assert calls == ["activate"]


def test_shutdown_finalizes_once_from_any_state():
    lifecycle, calls = _machine()
    lifecycle.activate()
    lifecycle.shutdown()
    lifecycle.shutdown()
    assert lifecycle.state == "finalized" and calls.count("shutdown") == 1
    assert lifecycle.activate() is False and lifecycle.state == "finalized"
