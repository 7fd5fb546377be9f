"""Real-time process set-up (robocritic.ros.realtime), run in child processes so pytest stays normal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from robocritic.ros.realtime import RealtimeSettings

CHILD = textwrap.dedent(
    """
    import gc, json, os, sys, threading
    from robocritic.ros.realtime import RealtimeSettings, apply_realtime
    started = threading.Event(); stop = threading.Event()
    worker = threading.Thread(target=lambda: (started.set(), stop.wait())); worker.start(); started.wait()
    report = apply_realtime(RealtimeSettings(**json.loads(sys.argv[1])))
    policies = {int(t): os.sched_getscheduler(int(t)) for t in os.listdir("/proc/self/task")}
    late = threading.Thread(target=lambda: None); policy_late = []
    late.run = lambda: policy_late.append(os.sched_getscheduler(0)); late.start(); late.join()
    stop.set(); worker.join()
    print(json.dumps({"applied": report.applied, "failed": report.failed, "policies": list(policies.values()),
                      "late": policy_late[0], "frozen": gc.get_freeze_count() > 0}))
    """
)


def _run_child(**settings) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, json.dumps(settings)], capture_output=True, text=True,
                         timeout=60, check=True)  # fmt: skip
    return json.loads(out.stdout)


def test_default_settings_only_freeze_the_gc():
    result = _run_child()
    assert result["applied"] == ["gc.freeze"] and result["failed"] == []
    assert result["frozen"]
    assert set(result["policies"]) == {os.SCHED_OTHER}


def test_fifo_reaches_every_thread_or_is_reported():
    result = _run_child(priority=10, lock_memory=True)
    if result["failed"]:  # not root / no CAP_SYS_NICE: reported, the process carries on
        assert all(("SCHED_FIFO" in f or "mlockall" in f) for f in result["failed"])
        pytest.skip(f"no real-time permissions here: {result['failed']}")
    assert result["applied"] == ["SCHED_FIFO 10", "mlockall", "gc.freeze"]
    assert len(result["policies"]) >= 2 and set(result["policies"]) == {os.SCHED_FIFO}
    assert result["late"] == os.SCHED_FIFO  # threads started afterwards inherit it


@pytest.mark.parametrize(
    ("settings", "field"),
    [({"priority": 99}, "priority"), ({"priority": -1}, "priority"), ({"priority": True}, "priority"),
     ({"cpu_dma_latency_us": -5}, "cpu_dma_latency_us"), ({"cpu_dma_latency_us": 1.5}, "cpu_dma_latency_us")],
)  # fmt: skip
def test_bad_settings_name_the_field(settings, field):
    with pytest.raises((TypeError, ValueError), match=field):
        RealtimeSettings(**settings)
