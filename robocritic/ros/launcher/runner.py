"""Start a :class:`~robocritic.ros.launcher.description.LaunchPlan`'s nodes as processes and supervise them.

robocritic's one process supervisor. ``robocritic launch`` runs a launch file with
:meth:`LaunchRunner.run`; a program that drives a node graph itself builds
:class:`~robocritic.ros.launcher.description.NodeSpec` objects and uses the parts: ``with
runner:`` (start without blocking, shut down on exit), :meth:`~LaunchRunner.wait_until` and
:meth:`~LaunchRunner.stop` (in the order it needs).

Like ``ros2 launch``:

- each node is a process: its executable with ``--ros-args -r __node:=NAME -r __ns:=/NS -p k:=v
  --params-file FILE -r from:=to``, in the launcher's environment plus ``ROS_DOMAIN_ID``, the DDS
  transport (``ROBOCRITIC_TRANSPORT``, ``CYCLONEDDS_URI`` loopback unless set) and the node's ``env``;
- output lines are prefixed with the node's name (``output: screen``); ``log`` sends stdout to a
  per-node file in the log directory and only stderr to the screen; ``both`` does both;
- a node that exits non-zero is reported and the others are shut down; nodes that exit 0 just
  end; the launch ends when every node has ended;
- Ctrl-C / SIGTERM (or ``duration_s`` elapsing) shuts down: SIGINT to every node, SIGTERM after
  ``sigterm_timeout_s``, SIGKILL after ``sigkill_timeout_s`` more; a second Ctrl-C skips ahead.

Each node runs in its own process group, so a terminal's Ctrl-C reaches only the launcher, which
then signals every node exactly once (a Python node that gets SIGINT twice may die mid-cleanup).
Nodes die with the launcher on every exit path: the runner stops them itself on the ones it sees
(nodes ending, a failure, the duration, SIGINT/SIGTERM, an exception), and on Linux every node
also gets SIGTERM from the kernel when the launcher process ends without it (``kill -9``, a crash;
see :mod:`.spawn`).
"""

from __future__ import annotations

import math
import numbers
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self, TextIO

from ..transport.dds import LOOPBACK_CONFIG, check_domain_id
from .description import LaunchPlan, NodeSpec
from .errors import LaunchError
from .spawn import spawn_node

PROCESS_TRANSPORTS = ("dds", "rclpy", "auto")
"""``ROBOCRITIC_TRANSPORT`` values that connect separate processes: robocritic.ros.transport's
``TRANSPORTS`` without ``inprocess``, whose bus ends at the process boundary."""
_POLL_S = 0.05
_WAIT_POLL_S = 0.01  # wait_until: a job's lockstep condition is checked at this period [s]
_PUMP_JOIN_S = 2.0  # how long an ended node's last output may take to reach its sinks [s]


@dataclass
class NodeProcess:
    """A started node.

    Attributes:
        spec: what was launched.
        label: unique output prefix.
        popen: the process.
        returncode: exit status once ended (negative: killed by that signal).
        log_path: per-node log file (``output: log`` or ``both``).
        stop_requested: :meth:`LaunchRunner.stop` signalled it, so its exit is not a failure.
    """

    spec: NodeSpec
    label: str
    popen: subprocess.Popen[bytes]
    returncode: int | None = None
    log_path: Path | None = None
    threads: list[threading.Thread] = field(default_factory=list)
    log_file: IO[str] | None = None
    stop_requested: bool = False

    @property
    def pid(self) -> int:
        return self.popen.pid

    def join_output(self, timeout_s: float = _PUMP_JOIN_S) -> None:
        """Wait until the output pumps have passed on everything the process wrote (its pipes closed)."""
        end = time.monotonic() + timeout_s
        for thread in self.threads:
            thread.join(timeout=max(0.0, end - time.monotonic()))


def describe_exit(returncode: int) -> str:
    """``"code 3"`` or ``"signal SIGINT"``."""
    if returncode < 0:
        try:
            return f"signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"signal {-returncode}"
    return f"code {returncode}"


def default_log_dir(environ: Mapping[str, str]) -> Path:
    """Where ``output: log`` goes: ``$ROS_LOG_DIR``, else ``$ROS_HOME/log``, else ``~/.ros/log``, per run."""
    base = environ.get("ROS_LOG_DIR") or (
        str(Path(environ["ROS_HOME"]) / "log")
        if environ.get("ROS_HOME")
        else str(Path.home() / ".ros" / "log")
    )
    return Path(base) / f"robocritic_launch_{datetime.now():%Y-%m-%d-%H-%M-%S}_{os.getpid()}"


class LaunchRunner:
    """Runs one plan's nodes until they end, one fails, a signal arrives or the duration elapses.

    :meth:`run` is the whole launch (blocking); :meth:`start`, :meth:`wait_until`, :meth:`stop`
    and :meth:`shutdown` are its parts, for a caller that supervises the nodes itself (``with
    runner:`` starts them and shuts every one down on exit, also on an exception).

    Args:
        plan: the resolved launch file, or the nodes to start in order (executables resolved).
        environ: base environment of the nodes (default ``os.environ``).
        domain_id: ``ROS_DOMAIN_ID`` for the nodes (default: keep the environment's).
        transport: ``ROBOCRITIC_TRANSPORT`` for the nodes (default: the environment's, else ``dds``).
        sigterm_timeout_s: seconds between SIGINT and SIGTERM at shutdown.
        sigkill_timeout_s: seconds between SIGTERM and SIGKILL.
        log_dir: directory for ``output: log``/``both`` files (default :func:`default_log_dir`).
        stdout: where node stdout lines go (default ``sys.stdout``).
        stderr: where node stderr lines and the launcher's own messages go (default ``sys.stderr``).
    """

    def __init__(
        self,
        plan: LaunchPlan | Sequence[NodeSpec],
        *,
        environ: Mapping[str, str] | None = None,
        domain_id: int | None = None,
        transport: str | None = None,
        sigterm_timeout_s: float = 5.0,
        sigkill_timeout_s: float = 5.0,
        log_dir: str | os.PathLike[str] | None = None,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
    ) -> None:
        self.plan = plan if isinstance(plan, LaunchPlan) else None
        self.nodes: tuple[NodeSpec, ...] = tuple(plan.nodes if isinstance(plan, LaunchPlan) else plan)
        self.environ = dict(os.environ if environ is None else environ)
        try:
            self.domain_id = None if domain_id is None else check_domain_id(domain_id)
        except ValueError as exc:
            raise LaunchError(str(exc)) from None
        transport = transport or self.environ.get("ROBOCRITIC_TRANSPORT", "").strip() or "dds"
        if transport not in PROCESS_TRANSPORTS:
            raise LaunchError(
                f"transport {transport!r} cannot connect node processes; "
                f"use one of {list(PROCESS_TRANSPORTS)}"
            )
        self.transport = transport
        timeouts = (("sigterm_timeout_s", sigterm_timeout_s), ("sigkill_timeout_s", sigkill_timeout_s))
        for name, value in timeouts:
            # NaN would compare false against every deadline: a shutdown that never escalates.
            if not _is_real(value) or not math.isfinite(value) or value < 0:
                raise LaunchError(f"{name} must be a finite number of seconds >= 0; got {value!r}")
        self.sigterm_timeout_s = sigterm_timeout_s
        self.sigkill_timeout_s = sigkill_timeout_s
        self._log_dir = Path(log_dir) if log_dir is not None else None
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.processes: list[NodeProcess] = []
        self.failed: list[NodeProcess] = []
        self._lock = threading.Lock()  # one writer at a time: lines never interleave mid-line
        # Set from signal handlers: plain attributes only (taking a lock there can deadlock).
        self._stop_reason: str | None = None
        self._escalations = 0
        for spec in self.nodes:
            if not spec.command:
                raise LaunchError(f"executable {spec.package}/{spec.executable} was not resolved", spec.where)

    # --- environment and output -------------------------------------------------------------

    def environment(self, spec: NodeSpec) -> dict[str, str]:
        """The environment ``spec``'s process gets."""
        env = dict(self.environ)
        env.setdefault("CYCLONEDDS_URI", LOOPBACK_CONFIG)
        if self.domain_id is not None:
            env["ROS_DOMAIN_ID"] = str(self.domain_id)
        env["ROBOCRITIC_TRANSPORT"] = self.transport
        env.setdefault("PYTHONUNBUFFERED", "1")  # lines reach the launcher as they are printed
        env.update(dict(spec.env))
        return env

    @property
    def log_dir(self) -> Path:
        """Directory of the per-node log files (created on first use)."""
        if self._log_dir is None:
            self._log_dir = default_log_dir(self.environ)
        self._log_dir.mkdir(parents=True, exist_ok=True)
        return self._log_dir

    def say(self, message: str) -> None:
        """A launcher message, ``[launch] ...`` on the launcher's stderr."""
        self._write(self.stderr, f"[launch] {message}\n")

    def _write(self, sink: TextIO | IO[str], text: str) -> None:
        with self._lock:
            try:
                sink.write(text)
                sink.flush()
            except (OSError, ValueError):  # closed pipe or file: output is best effort
                pass

    def _pump(self, pipe: IO[bytes], label: str, sinks: list[TextIO | IO[str]], prefixed: list[bool]) -> None:
        for raw in iter(pipe.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            for sink, prefix in zip(sinks, prefixed):
                self._write(sink, f"[{label}] {line}\n" if prefix else line + "\n")
        pipe.close()

    # --- lifecycle --------------------------------------------------------------------------

    def _labels(self) -> list[str]:
        counts: dict[str, int] = {}
        labels = []
        for spec in self.nodes:
            counts[spec.label] = counts.get(spec.label, 0) + 1
            labels.append(spec.label if counts[spec.label] == 1 else f"{spec.label}-{counts[spec.label]}")
        return labels

    def start(self) -> None:
        """Start every node in launch order (``OSError`` if one cannot be started)."""
        for spec, label in zip(self.nodes, self._labels()):
            argv = spec.argv()
            # spawn_node: the node also gets SIGTERM if this process dies without stopping it.
            popen = spawn_node(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                env=self.environment(spec), process_group=0,
            )  # fmt: skip
            proc = NodeProcess(spec, label, popen)
            self.processes.append(proc)
            out_sinks: list[TextIO | IO[str]] = []
            err_sinks: list[TextIO | IO[str]] = [self.stderr]
            if spec.output in ("log", "both"):
                proc.log_path = self.log_dir / f"{label}.log"
                proc.log_file = open(proc.log_path, "w", encoding="utf-8")
                out_sinks.append(proc.log_file)
                err_sinks.append(proc.log_file)
            if spec.output in ("screen", "both"):
                out_sinks.insert(0, self.stdout)
            for pipe, sinks in ((popen.stdout, out_sinks), (popen.stderr, err_sinks)):
                prefixed = [sink is self.stdout or sink is self.stderr for sink in sinks]
                thread = threading.Thread(
                    target=self._pump,
                    args=(pipe, label, sinks, prefixed),
                    name=f"launch-{label}",
                    daemon=True,
                )
                thread.start()
                proc.threads.append(thread)
            shown = shlex.join([spec.executable, *spec.arguments, *spec.ros_arguments()])
            where = f" (log: {proc.log_path})" if proc.log_path else ""
            self.say(f"started {label} [pid {popen.pid}]: {shown}{where}")

    def request_shutdown(self, reason: str) -> None:
        """Begin shutting down (thread- and signal-safe); a further request skips to the next signal."""
        if self._stop_reason is None:
            self._stop_reason = reason
        else:
            self._escalations += 1

    def _on_signal(self, signum: int, _frame: Any) -> None:
        self.request_shutdown(f"{signal.Signals(signum).name} received")

    def _reap(self) -> None:
        for proc in self.processes:
            if proc.returncode is not None:
                continue
            code = proc.popen.poll()
            if code is None:
                continue
            proc.returncode = code
            if self._stop_reason is not None or proc.stop_requested:
                self.say(f"{proc.label} [pid {proc.pid}] ended with {describe_exit(code)}")
            elif code == 0:
                self.say(f"{proc.label} [pid {proc.pid}] finished cleanly")
            else:
                self.failed.append(proc)
                self.say(
                    f"{proc.label} [pid {proc.pid}] died with {describe_exit(code)}; shutting down the launch"
                )
                self.request_shutdown(f"{proc.label} died")

    def _alive(self) -> list[NodeProcess]:
        self._reap()
        return [p for p in self.processes if p.returncode is None]

    def _signal(self, processes: list[NodeProcess], sig: signal.Signals) -> None:
        for proc in processes:
            try:
                os.killpg(proc.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass

    def _wait_ended(self, processes: list[NodeProcess], timeout_s: float) -> bool:
        """Wait until ``processes`` have ended (True), or ``timeout_s`` passes or escalation comes (False)."""
        end = time.monotonic() + timeout_s
        escalations = self._escalations
        while True:
            self._reap()
            if all(p.returncode is not None for p in processes):
                return True
            if time.monotonic() >= end or self._escalations != escalations:
                return False
            time.sleep(_POLL_S / 2)

    def process(self, label: str) -> NodeProcess:
        """The started node with output prefix ``label`` (``KeyError`` if none)."""
        for proc in self.processes:
            if proc.label == label:
                return proc
        raise KeyError(f"no started node {label!r}; started: {[p.label for p in self.processes]}")

    def exit_codes(self) -> dict[str, int | None]:
        """Exit status of every started node by label (``None``: still running)."""
        self._reap()
        return {proc.label: proc.returncode for proc in self.processes}

    def wait_until(
        self, condition: Callable[[], bool], timeout_s: float, what: str = "the condition"
    ) -> None:
        """Block until ``condition()`` is true while every node keeps running.

        Args:
            condition: checked every 10 ms in the calling thread.
            timeout_s: wall time allowed [s].
            what: what is waited for, for the error message.

        Raises:
            LaunchError: a node ended first (the message names it and its exit; its output has
                reached its log by then), a shutdown was requested, or ``timeout_s`` passed.
        """
        end = time.monotonic() + timeout_s
        while not condition():
            self._reap()
            for proc in self.processes:
                if proc.returncode is not None:
                    proc.join_output()
                    raise LaunchError(
                        f"{proc.label} [pid {proc.pid}] exited with {describe_exit(proc.returncode)} "
                        f"while waiting for {what}"
                    )
            if self._stop_reason is not None:
                raise LaunchError(f"shutting down ({self._stop_reason}) while waiting for {what}")
            if time.monotonic() > end:
                raise LaunchError(f"timed out after {timeout_s:g} s waiting for {what}")
            time.sleep(_WAIT_POLL_S)

    def stop(self, labels: Collection[str] | None = None) -> dict[str, int | None]:
        """SIGINT the live nodes named (default: all), then SIGTERM and SIGKILL after the timeouts.

        Their exits are expected, not failures. Returns :meth:`exit_codes`.
        """
        chosen = [p for p in self.processes if labels is None or p.label in labels]
        unknown = set(labels or ()) - {p.label for p in chosen}
        if unknown:
            raise KeyError(f"no started node {sorted(unknown)}; started: {[p.label for p in self.processes]}")
        for proc in chosen:
            proc.stop_requested = True
        for sig, timeout in (
            (signal.SIGINT, self.sigterm_timeout_s),
            (signal.SIGTERM, self.sigkill_timeout_s),
            (signal.SIGKILL, 5.0),
        ):
            self._reap()
            alive = [p for p in chosen if p.returncode is None]
            if not alive:
                break
            if sig is not signal.SIGINT:
                self.say(f"{sig.name} to {', '.join(p.label for p in alive)} (still running)")
            self._signal(alive, sig)
            if self._wait_ended(alive, timeout):
                break
        return self.exit_codes()

    def shutdown(self) -> None:
        """Stop every live node (:meth:`stop`) and wait for their output to be passed on."""
        self.stop()
        self._finish()

    def _finish(self) -> None:
        for proc in self.processes:
            proc.join_output()
            if proc.log_file is not None:
                with self._lock:
                    proc.log_file.close()

    def __enter__(self) -> Self:
        """:meth:`start` the nodes; if one cannot be started, the others are shut down and
        :class:`LaunchError` says which."""
        try:
            self.start()
        except OSError as exc:
            self.shutdown()
            raise LaunchError(f"could not start a node: {exc}") from exc
        except BaseException:
            self.shutdown()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.shutdown()

    def run(self, duration_s: float | None = None, *, handle_signals: bool = True) -> int:
        """Start the nodes and supervise them until the launch ends.

        Args:
            duration_s: shut down after this many seconds (None: run until the nodes end or a signal).
            handle_signals: install SIGINT/SIGTERM handlers (main thread only).

        Returns:
            0 if no node failed, 1 if one exited non-zero (or could not be started).
        """
        if duration_s is not None and (
            not _is_real(duration_s) or not math.isfinite(duration_s) or duration_s <= 0
        ):
            # NaN passed "<= 0" and never elapsed: a launch that could not end by itself.
            raise LaunchError(f"duration must be a finite number of seconds > 0; got {duration_s!r}")
        previous: dict[int, Any] = {}
        if handle_signals and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                previous[sig] = signal.signal(sig, self._on_signal)
        try:
            try:
                self.start()
            except OSError as exc:
                self.say(f"could not start a node: {exc}; shutting down")
                self.request_shutdown("start failed")
                self.shutdown()
                return 1
            if not self.processes:
                self.say("the launch file starts no node")
                return 0
            end = None if duration_s is None else time.monotonic() + duration_s
            while self._stop_reason is None:
                if not self._alive():
                    break
                if end is not None and time.monotonic() >= end:
                    self.request_shutdown(f"duration of {duration_s:g} s elapsed")
                    break
                time.sleep(_POLL_S)
            if self._stop_reason is not None:
                self.say(f"shutting down: {self._stop_reason}")
            self.shutdown()
        except BaseException as exc:
            # KeyboardInterrupt without our handlers (handle_signals=False), an error in a sink:
            # the nodes must not outlive the launch.
            self.request_shutdown(f"{type(exc).__name__} in the launcher")
            self.say(f"shutting down: {self._stop_reason}")
            self.shutdown()
            raise
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if self.failed:
            self.say(
                "failed: " + ", ".join(f"{p.label} ({describe_exit(p.returncode or 0)})" for p in self.failed)
            )
            return 1
        return 0


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def run_launch(plan: LaunchPlan, duration_s: float | None = None, **options: Any) -> int:
    """Run ``plan`` with :class:`LaunchRunner` (``options`` as its keyword arguments); exit status."""
    return LaunchRunner(plan, **options).run(duration_s)


__all__ = [
    "PROCESS_TRANSPORTS",
    "LaunchRunner",
    "NodeProcess",
    "default_log_dir",
    "describe_exit",
    "run_launch",
]
