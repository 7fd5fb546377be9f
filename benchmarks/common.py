"""Shared pieces of the benchmark scripts: machine description, robust statistics, and writing a
section of BENCHMARKS.md (each script owns one section between marker comments)."""

from __future__ import annotations

import os
import platform
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "BENCHMARKS.md"


def machine() -> str:
    """One line: CPU model, cores, Python, OS."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def stats(samples: np.ndarray) -> tuple[float, float, float]:
    """Median and the interquartile spread (p25, p75) of repeated measurements."""
    p25, p50, p75 = np.percentile(samples, [25, 50, 75])
    return float(p50), float(p25), float(p75)


def command() -> str:
    """The command line that ran this script, from the repository root (a project venv by its path)."""
    python = Path(sys.executable)
    shown = os.path.relpath(python, ROOT) if ROOT in python.parents else "python"
    return " ".join([shown, os.path.relpath(sys.argv[0], ROOT), *sys.argv[1:]])


def write_section(name: str, body: str, path: Path = RESULTS) -> None:
    """Replace (or append) the section ``name`` of the results file (BENCHMARKS.md) with ``body``."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{body.rstrip()}\n{end}"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _m: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)
