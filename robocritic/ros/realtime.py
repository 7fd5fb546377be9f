"""Process set-up for hard-rate control loops (1 kHz arms): what a real-time ROS 2 node does at start.

A Python control process misses deadlines for four reasons that the OS can remove:

- other processes preempt it: :attr:`RealtimeSettings.priority` puts every thread of the process
  (the spin thread and the DDS library's receive threads) under ``SCHED_FIFO``;
- page faults on first touch: :attr:`~RealtimeSettings.lock_memory` calls ``mlockall``;
- wake-up latency from deep CPU idle states (on virtual machines: a halted vCPU's exit to the
  host): :attr:`~RealtimeSettings.cpu_dma_latency_us` holds a PM QoS request on
  ``/dev/cpu_dma_latency`` for the life of the process, as ``cyclictest`` does;
- the garbage collector walking every object from start-up: :func:`apply_realtime` always calls
  ``gc.freeze()`` once set-up is done, so later collections only look at new objects.

Priority, memory locking and the PM QoS request need root or ``CAP_SYS_NICE`` / ``CAP_IPC_LOCK``;
what the process is not allowed to do is reported (and logged by the node runtime), never fatal,
so the same launch file runs on a laptop and on the robot.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import gc
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

MAX_FIFO_PRIORITY = 98  # 99 is the kernel's own watchdog/migration threads' level
CPU_DMA_LATENCY = Path("/dev/cpu_dma_latency")
_MCL_CURRENT, _MCL_FUTURE = 1, 2
_held_latency_fds: list[int] = []  # the PM QoS request lasts while the file stays open


@dataclass(frozen=True)
class RealtimeSettings:
    """What to ask of the OS.

    Attributes:
        priority: ``SCHED_FIFO`` priority 1..98 for all threads of the process; 0 keeps the
            default scheduler.
        lock_memory: lock current and future pages in RAM (``mlockall``).
        cpu_dma_latency_us: hold a CPU wake-up latency request [us] (0: never enter an idle state
            slower than polling); ``None`` leaves power management alone. System-wide while held.
    """

    priority: int = 0
    lock_memory: bool = False
    cpu_dma_latency_us: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.priority, bool) or not isinstance(self.priority, int):
            raise TypeError(f"priority must be an int; got {self.priority!r}")
        if not 0 <= self.priority <= MAX_FIFO_PRIORITY:
            raise ValueError(
                f"priority must be 0 (default scheduling) or 1..{MAX_FIFO_PRIORITY}; got {self.priority}"
            )
        latency = self.cpu_dma_latency_us
        if latency is not None and (isinstance(latency, bool) or not isinstance(latency, int)):
            raise TypeError(f"cpu_dma_latency_us must be None or an int; got {latency!r}")
        if latency is not None and latency < 0:
            raise ValueError(f"cpu_dma_latency_us must be >= 0 [us]; got {latency}")

    @property
    def requested(self) -> bool:
        """Whether anything beyond the garbage-collector freeze is asked for."""
        return self.priority > 0 or self.lock_memory or self.cpu_dma_latency_us is not None


@dataclass
class RealtimeReport:
    """What :func:`apply_realtime` did: ``applied`` settings and ``failed`` ones with the reason."""

    applied: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        parts = [f"applied: {', '.join(self.applied) or 'nothing'}"]
        if self.failed:
            parts.append(f"not applied: {'; '.join(self.failed)}")
        return "; ".join(parts)


def apply_realtime(settings: RealtimeSettings) -> RealtimeReport:
    """Apply ``settings`` to this process (all its threads); freeze the GC; report the outcome.

    Call it when set-up is done (node, publishers, subscriptions built), right before spinning:
    threads started later inherit the scheduling of the thread that starts them.
    """
    report = RealtimeReport()
    if settings.priority > 0:
        _try(report, f"SCHED_FIFO {settings.priority}", lambda: _set_fifo_all_threads(settings.priority))
    if settings.lock_memory:
        _try(report, "mlockall", _lock_memory)
    latency = settings.cpu_dma_latency_us
    if latency is not None:
        _try(report, f"cpu_dma_latency {latency} us", lambda: _hold_cpu_dma_latency(latency))
    gc.collect()
    gc.freeze()
    report.applied.append("gc.freeze")
    return report


def _try(report: RealtimeReport, what: str, action: Callable[[], None]) -> None:
    try:
        action()
    except OSError as exc:
        report.failed.append(f"{what}: {exc.strerror or exc}")
    else:
        report.applied.append(what)


def _set_fifo_all_threads(priority: int) -> None:
    """Put every thread of this process (Linux task ids) under SCHED_FIFO ``priority``."""
    if not hasattr(os, "sched_setscheduler"):
        raise OSError(errno.ENOSYS, "SCHED_FIFO is not available on this platform")
    for tid in (int(t) for t in os.listdir("/proc/self/task")):
        try:
            os.sched_setscheduler(tid, os.SCHED_FIFO, os.sched_param(priority))
        except ProcessLookupError:  # the thread ended meanwhile
            continue


def _lock_memory() -> None:
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    if libc.mlockall(_MCL_CURRENT | _MCL_FUTURE) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))


def _hold_cpu_dma_latency(microseconds: int) -> None:
    fd = os.open(CPU_DMA_LATENCY, os.O_WRONLY)
    try:
        os.write(fd, struct.pack("i", microseconds))
    except OSError:
        os.close(fd)
        raise
    _held_latency_fds.append(fd)


__all__ = ["CPU_DMA_LATENCY", "MAX_FIFO_PRIORITY", "RealtimeReport", "RealtimeSettings", "apply_realtime"]
