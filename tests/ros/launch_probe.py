"""A tiny node stand-in for the launcher tests (tests/ros/test_launch_runner.py).

Prints one JSON line (pid, arguments, the environment the launcher sets), one stderr line, then
does what ``PROBE_MODE`` says:

    exit:N        exit with status N at once (default exit:0)
    sleep         run until SIGINT, print "SIGINT", exit 0
    fail_after:S  run S seconds, then exit with status 3
    stubborn      ignore SIGINT (only SIGTERM/SIGKILL end it)
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time

KEYS = ("ROS_DOMAIN_ID", "ROBOCRITIC_TRANSPORT", "CYCLONEDDS_URI", "PYTHONUNBUFFERED", "PROBE_TAG")


def main() -> int:
    mode = os.environ.get("PROBE_MODE", "exit:0")
    # Set SIGINT's disposition explicitly, before the report line (the tests signal as soon as
    # they read it): an ignored SIGINT is inherited across exec, e.g. when the test run itself
    # was started as a background job by a non-interactive shell.
    signal.signal(signal.SIGINT, signal.SIG_IGN if mode == "stubborn" else signal.default_int_handler)
    env = {key: os.environ.get(key) for key in KEYS}
    print(json.dumps({"pid": os.getpid(), "argv": sys.argv[1:], "env": env, "mode": mode}), flush=True)
    print(f"probe {os.getpid()} on stderr", file=sys.stderr, flush=True)
    if mode.startswith("exit:"):
        return int(mode.split(":", 1)[1])
    end = time.monotonic() + float(mode.split(":", 1)[1]) if mode.startswith("fail_after:") else None
    try:
        while end is None or time.monotonic() < end:
            time.sleep(0.02)
    except KeyboardInterrupt:
        print("SIGINT", flush=True)
        return 0
    return 3


if __name__ == "__main__":
    sys.exit(main())
