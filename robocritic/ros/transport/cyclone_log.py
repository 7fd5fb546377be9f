"""Cyclone DDS's own log lines: samples it dropped are counted, everything else is rate limited."""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator

# "<time> [<domain>] <thread>: data(application, ...): <guid> #<seq>: deserialization <topic>/<type>
#  failed (<why>)" (one line)
_DESERIALIZATION_FAILED = re.compile(
    r"\[(?P<domain>\d+)\].*: deserialization (?P<topic>\S+)/(?P<type>[^/\s]+) failed \((?P<why>.*)\)\s*$"
)
LOG_WINDOW_S = 10.0
"""Cyclone log lines are passed to stderr at most :data:`LOG_BURST` per window of this length [s]."""
LOG_BURST = 20


class CycloneLog:
    """Cyclone's per-domain warnings, read from a pipe: undecodable samples count, the rest is rate limited.

    Cyclone drops a sample it cannot deserialise (for instance a sequence length beyond the
    payload) inside its receive thread and prints one warning per sample to the C ``stderr``; no
    API reports it, and cyclonedds 11 exports no log-sink hook. A domain takes its log stream from
    the C ``stderr`` when it is created, so :meth:`capture` points that at a pipe for the duration
    of the creation. A reader thread then counts each ``deserialization ... failed`` line as a
    dropped sample (the DDS transport counts it as a receive error of every subscription on that
    domain and topic) and passes other lines to stderr, at most :data:`LOG_BURST` per
    :data:`LOG_WINDOW_S`. The pipe is non-blocking, so a stalled reader loses lines instead of
    stalling Cyclone. Without glibc's ``stderr`` symbol nothing is captured.

    Args:
        on_dropped_sample: called as ``(domain_id, dds_topic, why)`` for each sample Cyclone could
            not deserialise; returns whether some subscription counted it (else the line is logged).
    """

    def __init__(self, on_dropped_sample: Callable[[int, str, str], bool]) -> None:
        self._on_dropped_sample = on_dropped_sample
        self._lock = threading.Lock()
        self._file: int | None = None  # FILE* Cyclone writes to; lives as long as the process
        self._window_end = 0.0
        self._passed = 0
        self._suppressed = 0
        self.dropped_samples = 0  # deserialization failures seen, all domains and topics

    @contextlib.contextmanager
    def capture(self) -> Iterator[None]:
        """Within this block, a newly created Cyclone domain sends its warnings here."""
        c_stderr = self._c_stderr()
        if c_stderr is None or not self._open():
            yield
            return
        saved = c_stderr.value
        c_stderr.value = self._file
        try:
            yield
        finally:
            c_stderr.value = saved

    @staticmethod
    def _c_stderr() -> ctypes.c_void_p | None:
        try:
            return ctypes.c_void_p.in_dll(ctypes.CDLL(None), "stderr")
        except (OSError, ValueError):  # not glibc: leave Cyclone's logging alone
            return None

    def _open(self) -> bool:
        with self._lock:
            if self._file is None:
                libc = ctypes.CDLL(None)
                libc.fdopen.restype = ctypes.c_void_p
                read_fd, write_fd = os.pipe()
                os.set_blocking(write_fd, False)
                self._file = libc.fdopen(write_fd, b"w")
                if not self._file:
                    os.close(read_fd)
                    os.close(write_fd)
                    return False
                libc.setvbuf(ctypes.c_void_p(self._file), None, 2, 0)  # _IONBF: one write per line
                threading.Thread(target=self._read, args=(read_fd,), name="cyclone-log", daemon=True).start()
            return True

    def _read(self, read_fd: int) -> None:
        with os.fdopen(read_fd, "r", errors="replace") as lines:
            for line in lines:
                try:
                    self.handle(line)
                except Exception as exc:  # noqa: BLE001 - this thread must outlive any one line
                    sys.stderr.write(f"robocritic: {exc!r} on a Cyclone DDS log line:\n{line}")

    def handle(self, line: str) -> None:
        """Count a deserialization failure against its subscriptions, or pass the line on."""
        match = _DESERIALIZATION_FAILED.search(line)
        if match is not None:
            self.dropped_samples += 1
            counted = self._on_dropped_sample(int(match["domain"]), match["topic"], match["why"])
            if counted:
                return
        self._pass_on(line)

    def _pass_on(self, line: str) -> None:
        now = time.monotonic()
        with self._lock:
            if now >= self._window_end:
                if self._suppressed:
                    line = f"robocritic: suppressed {self._suppressed} Cyclone DDS log lines\n{line}"
                self._window_end, self._passed, self._suppressed = now + LOG_WINDOW_S, 0, 0
            if self._passed >= LOG_BURST:
                self._suppressed += 1
                return
            self._passed += 1
        sys.stderr.write(line)
        sys.stderr.flush()


__all__ = ["LOG_BURST", "LOG_WINDOW_S", "CycloneLog"]
