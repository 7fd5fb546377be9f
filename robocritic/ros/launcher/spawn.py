"""Start node processes that die with their launcher, however it ends.

The runner stops its nodes itself on every exit it sees (a node's failure, the duration, SIGINT,
SIGTERM, an exception). What it cannot see is its own ``kill -9``, a crash or the OOM killer: the
nodes would run on, reparented to init, still talking on the DDS domain. On Linux each node
therefore gets the kernel's parent-death signal, SIGTERM -- the signal robocritic nodes turn into
a clean shutdown with a safe stop (:mod:`robocritic.nodes.runtime`) -- set between fork and exec.

Why an exec wrapper and not ``preexec_fn``: the launcher is multi-threaded (a thread pumps each
node's stdout and stderr while the next nodes start), and Python code run in the forked child of
a multi-threaded parent can deadlock on a lock another thread held at the fork (malloc's, the
import lock; ctypes allocates) -- the ``subprocess`` documentation warns against exactly this.
Instead the child execs a few lines of isolated Python (``-I -S``: no site, nothing of robocritic
imported, a few milliseconds) that call ``prctl(PR_SET_PDEATHSIG, SIGTERM)``, give up if the
launcher already died (``getppid()`` changed, so the signal would never come), then exec the node.
The pid, process group, argv and environment are the node's own, so the runner's signalling and
the node's view of itself are unchanged.

Why one long-lived spawning thread: Linux sends the parent-death signal when the *thread* that
forked the child ends, not the process. Every node is forked by one daemon thread that lives as
long as the process, so a ``with runner:`` in a short-lived thread does not kill its nodes when
that thread returns.

Limits: a node that ignores SIGTERM outlives its launcher's SIGKILL (nobody is left to escalate);
a node's own child processes get no parent-death signal (they share its process group, which the
runner signals on every exit it sees). Systems other than Linux have no parent-death signal; there
nodes are started directly.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from queue import SimpleQueue
from typing import Any

PDEATHSIG_SUPPORTED = sys.platform.startswith("linux")
"""Whether nodes get a parent-death signal here (Linux ``prctl(PR_SET_PDEATHSIG)``)."""

# argv after "-c": launcher pid, resolved executable, then the node's argv (argv[0] included).
# PR_SET_PDEATHSIG is 1 in <linux/prctl.h>. 143 = 128 + SIGTERM: what the signal would have done.
_GUARD = """\
import ctypes, os, signal, sys
if ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0) != 0:
    sys.stderr.write("warning: prctl(PR_SET_PDEATHSIG) failed (%s); this node will not stop if the "
                     "launcher is killed\\n" % os.strerror(ctypes.get_errno()))
if os.getppid() != int(sys.argv[1]):
    sys.exit(143)
try:
    os.execv(sys.argv[2], sys.argv[3:])
except OSError as exc:
    sys.stderr.write("cannot run %s: %s\\n" % (sys.argv[2], exc))
    sys.exit(127)
"""


def resolve_executable(program: str, environ: Mapping[str, str] | None) -> str:
    """Path of ``program`` as ``subprocess.Popen`` would find it (``PATH`` of ``environ``).

    Raises:
        FileNotFoundError: no such file (on ``PATH``).
        PermissionError: the file is not executable.
    """
    if os.sep in program:
        path = program
    else:
        search = (environ if environ is not None else os.environ).get("PATH", os.defpath)
        found = shutil.which(program, path=search)
        if found is None:
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), program)
        path = found
    if not os.path.isfile(path):
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)
    if not os.access(path, os.X_OK):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
    return path


class _Spawner:
    """Runs ``subprocess.Popen`` in one daemon thread that lives as long as the process."""

    def __init__(self) -> None:
        self._requests: SimpleQueue[tuple[list[str], dict[str, Any], Future[subprocess.Popen[bytes]]]]
        self._requests = SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def popen(self, argv: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        with self._lock:
            # Also after os.fork(): the child has the object but not the thread.
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._serve, name="launch-spawner", daemon=True)
                self._thread.start()
        future: Future[subprocess.Popen[bytes]] = Future()
        self._requests.put((argv, kwargs, future))
        return future.result()

    def _serve(self) -> None:
        while True:
            argv, kwargs, future = self._requests.get()
            try:
                future.set_result(subprocess.Popen(argv, **kwargs))
            except BaseException as exc:  # handed to the caller, whatever it is
                future.set_exception(exc)


_SPAWNER = _Spawner()


def spawn_node(
    argv: Sequence[str], *, env: Mapping[str, str] | None = None, **kwargs: Any
) -> subprocess.Popen[bytes]:
    """``subprocess.Popen(argv, env=env, **kwargs)`` for a node that must die with this process.

    On Linux the node gets SIGTERM when this process ends, however it ends (see the module
    docstring); elsewhere this is plain ``Popen``. A missing or non-executable program raises
    ``OSError`` here, as ``Popen`` does, not later in the child.
    """
    argv = [os.fspath(a) for a in argv]
    if not argv:
        raise ValueError("empty command")
    if not PDEATHSIG_SUPPORTED or not sys.executable:
        return subprocess.Popen(argv, env=None if env is None else dict(env), **kwargs)
    program = resolve_executable(argv[0], env)
    guarded = [sys.executable, "-I", "-S", "-c", _GUARD, str(os.getpid()), program, *argv]
    return _SPAWNER.popen(guarded, env=None if env is None else dict(env), **kwargs)


__all__ = ["PDEATHSIG_SUPPORTED", "resolve_executable", "spawn_node"]
