"""Before/after the controller-node shell split: the node path of two checkouts, interleaved in one
run, in the three places it runs.

    .venv/bin/python benchmarks/node_shell_ab.py --before 20fea17 [--repeats 4] [--states 20000] \\
        [--loop-seconds 10] [--graph-steps 5000] [--no-write]

Both checkouts are copies of this working tree made at start; ``before`` then has the node
package, the profile loader and the shipped profiles of ``--before`` (everything the split
changed), so the two differ in that code only, not in whatever else has changed since. Each
repeat runs, alternating which checkout goes first:

- ``node_shell``: benchmarks/node_shell.py in a fresh process per checkout (and once more for
  the checkout after the split with a pass-through safety filter): the per-state path in process;
- ``ros_loop``: benchmarks/ros_loop.py's ``shell`` row (plant and controller processes at 1 kHz
  over DDS, every state through ControllerLogic), default scheduling and SCHED_FIFO 50 +
  mlockall + cpu_dma_latency 0, plus its ``node`` row (no shell) as the reference;
- ``node_graph``: benchmarks/node_graph.py's run (sim_bridge + mpc_controller processes, 1 kHz
  lockstep, bag recorded), default scheduling and the nodes' real-time parameters.

The figures go into the node_graph and ros_loop sections of BENCHMARKS.md, each as a subsection
of its own (the rest of the section is left as it is).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np
from common import RESULTS, ROOT, command, machine, stats

HERE = Path(__file__).resolve().parent
CHANGED = ("robocritic/nodes", "robocritic/profiles.py", "hardware", "robocritic/ros/msgs/convert.py")
"""What the split changed: ``before`` takes these from ``--before``."""
KEEP = ("robocritic/nodes/yann_controller.py",)
"""Changed by other work meanwhile, and working with both: kept from the working tree in both."""
LOOP_PRIORITIES = ("normal", "rt")
GRAPH_SETTINGS = {
    "default scheduling": (),
    "real-time parameters": (("realtime_priority", 50), ("lock_memory", True), ("cpu_dma_latency_us", 0)),
}


# --- checkouts ----------------------------------------------------------------------------------


def make_checkouts(rev: str, out: Path) -> dict[str, Path]:
    """``{"before": ..., "after": ...}``: copies of the working tree, ``before`` with ``CHANGED`` at ``rev``."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, check=True, capture_output=True,
    ).stdout.decode().split("\0")  # fmt: skip
    after = out / "after"
    for name in filter(None, listed):
        src = ROOT / name
        if src.is_file():
            (after / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, after / name)
    before = out / "before"
    shutil.copytree(after, before, symlinks=True)
    for path in CHANGED:
        target = before / path
        if target.is_dir():
            kept = {k: (before / k).read_bytes() for k in KEEP if k.startswith(path + "/")}
            shutil.rmtree(target)
        else:
            kept = {}
            target.unlink(missing_ok=True)
        archive = subprocess.run(["git", "archive", rev, "--", path], cwd=ROOT, check=True, capture_output=True)
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(before, filter="data")
        for name, data in kept.items():
            (before / name).write_bytes(data)
    for tree in (before, after):
        # robocritic.envs/.controllers/.hardware live outside robocritic/ (package-dir in
        # pyproject.toml); links make the copy importable from PYTHONPATH alone.
        for package in ("envs", "controllers", "hardware"):
            (tree / "robocritic" / package).symlink_to(Path("..") / package)
    return {"before": before, "after": after}


def _env(tree: Path) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(tree))


# --- the three measurements -------------------------------------------------------------------


def shell_run(tree: Path, states: int, with_filter: bool) -> dict:
    argv = [sys.executable, str(HERE / "node_shell.py"), "--states", str(states), *(["--filter"] if with_filter else [])]
    done = subprocess.run(argv, cwd=tree, env=_env(tree), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"node_shell.py in {tree} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def graph_run(tree: Path, steps: int, params: tuple, out_dir: Path) -> dict:
    code = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(HERE)!r})\n"
        "import robocritic, node_graph\n"
        f"assert robocritic.__file__.startswith({str(tree)!r}), robocritic.__file__\n"
        f"print(json.dumps(node_graph.one_run({steps}, 1000.0, {str(out_dir)!r}, {params!r})))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=tree, env=_env(tree), capture_output=True, text=True,
                          check=False)  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"node_graph run in {tree} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    record = json.loads(done.stdout.strip().splitlines()[-1])
    return record


# --- report -------------------------------------------------------------------------------------


def _cell(values: list[float], fmt: str = ".3g") -> str:
    med, low, high = stats(np.asarray(values, dtype=np.float64))
    return f"{med:{fmt}} [{low:{fmt}}, {high:{fmt}}]"


def put_subsection(section: str, name: str, body: str, path: Path = RESULTS) -> None:
    """Replace subsection ``name`` inside section ``section`` of BENCHMARKS.md (insert it at the
    section's end the first time); the rest of the section stays."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{body.rstrip()}\n{end}"
    text = path.read_text()
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _m: block, text)
    else:
        outer_end = f"<!-- {section}:end -->"
        if outer_end not in text:
            raise SystemExit(f"{path} has no section {section!r}")
        text = text.replace(outer_end, f"\n{block}\n{outer_end}")
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", required=True, help="git revision of the code before the split")
    parser.add_argument("--repeats", type=int, default=4, help="interleaved repeats (default 4)")
    parser.add_argument("--states", type=int, default=20_000, help="node_shell states per process (default 20000)")
    parser.add_argument("--loop-seconds", type=float, default=10.0, help="ros_loop seconds per block (default 10)")
    parser.add_argument("--graph-steps", type=int, default=5000, help="node_graph ticks per run (default 5000)")
    parser.add_argument("--no-write", action="store_true", help="print the subsections, do not write them")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    import ros_loop

    started, load0 = time.monotonic(), os.getloadavg()[0]
    domain_id = random.SystemRandom().randint(100, 200)
    shell: dict[str, list[dict]] = {"before": [], "after": [], "after + filter": []}
    loop: dict[tuple[str, str], list[dict]] = {}
    graph: dict[tuple[str, str], list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="node_shell_ab_") as tmp:
        trees = make_checkouts(args.before, Path(tmp))
        block = 0
        for r in range(args.repeats):
            order = ["before", "after"] if r % 2 == 0 else ["after", "before"]
            for name in order:
                shell[name].append(shell_run(trees[name], args.states, False))
                if name == "after":
                    shell["after + filter"].append(shell_run(trees[name], args.states, True))
            for priority in LOOP_PRIORITIES:
                for row, tree in [("node (no shell)", "after"), *((f"shell, {n}", n) for n in order)]:
                    impl = "node" if tree == "after" and row.startswith("node") else "shell"
                    result = ros_loop.run_block(impl, args.loop_seconds, 1000.0, domain_id, block, priority,
                                                pythonpath=str(trees[tree]))  # fmt: skip
                    block += 1
                    loop.setdefault((row, priority), []).append(result)
            for setting, params in GRAPH_SETTINGS.items():
                for name in order:
                    out = Path(tmp) / f"graph_{r}_{name}_{setting[:4]}"
                    graph.setdefault((name, setting), []).append(graph_run(trees[name], args.graph_steps, params, out))
            print(
                f"repeat {r + 1}/{args.repeats}: shell p50 before {shell['before'][-1]['p50_us']:.1f} us, after "
                f"{shell['after'][-1]['p50_us']:.1f} us; graph misses "
                + ", ".join(f"{k[0]}/{k[1][:4]} {v[-1]['miss_pct']:.2f} %" for k, v in graph.items()),
                flush=True,
            )
    wall = time.monotonic() - started
    load = f"load average {load0:.2f} at start, {os.getloadavg()[0]:.2f} at end"
    where = (
        f"Machine: {machine()}, shared with other work during the run ({load}). Command: `{command()}` "
        f"({wall:.0f} s). `before` = the node package, profile loader and profiles of {args.before}; `after` = "
        "the shell split; both copies of one working tree otherwise, interleaved in one run (alternating which "
        f"goes first), {args.repeats} repeats."
    )
    graph_body = "\n".join([
        "### Before/after the shell split (benchmarks/node_shell_ab.py)",
        "",
        where,
        "",
        (
            f"node_graph rows: as above, {args.graph_steps} lockstep ticks at 1000 Hz per run, a fresh run per "
            "checkout and repeat; median over repeats [p25, p75]."
        ),
        "",
        "| checkout | nodes | achieved ticks/s | latency p50 ms | p99 ms | max ms | misses % | MPC solve p50 ms |",
        "|---|---|---|---|---|---|---|---|",
        *(
            f"| {name} | {setting} | {_cell([r['rate_hz'] for r in runs], '.1f')} | "
            f"{_cell([r['p50_ms'] for r in runs])} | {_cell([r['p99_ms'] for r in runs])} | "
            f"{_cell([r['max_ms'] for r in runs])} | {_cell([r['miss_pct'] for r in runs])} | "
            f"{_cell([r['compute_p50_ms'] for r in runs])} |"
            for (name, setting), runs in sorted(graph.items(), key=lambda kv: (kv[0][1], kv[0][0]))
        ),
        "",
        (
            f"node_shell rows (benchmarks/node_shell.py, {args.states} JointStates per process, in process): one "
            "state through ControllerLogic (decode by the profile's JointMap, checks, watchdog, a fixed-gain law, "
            "clipping) and out as the command message; `after + filter` adds a pass-through safety filter at the "
            "control rate. Per-process p50/p99/mean, median over repeats [p25, p75]."
        ),
        "",
        "| checkout | per state p50 us | p99 us | mean us |",
        "|---|---|---|---|",
        *(
            f"| {name} | {_cell([r['p50_us'] for r in runs])} | {_cell([r['p99_us'] for r in runs])} | "
            f"{_cell([r['mean_us'] for r in runs])} |"
            for name, runs in shell.items()
        ),
    ])  # fmt: skip
    loop_rows = []
    for (row, priority), results in loop.items():
        s = ros_loop.summarize(results, 1000.0)
        blocks = ", ".join(f"{b:.0f}" for b in s["block_p50"])
        loop_rows.append(
            f"| {row} | {ros_loop.SCHEDULING[priority][0]} | {s['tick_rate']:,.1f} | {s['reply_rate']:,.1f} | "
            f"{s['rtt_p50']:.0f} ({blocks}) | {s['rtt_p99']:.0f} | {s['rtt_max']:,.0f} | "
            f"{100 * s['miss_rate']:.3f} % ({s['misses']} late + {s['skipped']} skipped of {s['ticks']:,}) | "
            f"{'met' if ros_loop._met(s, 1000.0) else 'NOT met'} |"
        )
    loop_body = "\n".join([
        "### Before/after the shell split (benchmarks/node_shell_ab.py)",
        "",
        where,
        "",
        (
            f"Rows: the `node + controller shell` loop of the table above with each checkout's ControllerLogic, and "
            f"the `node` loop (no shell) as the reference; {args.loop_seconds:g} s per block, one block per row and "
            "repeat, fresh processes. Round trip p50 pooled over blocks (per-block p50 in brackets)."
        ),
        "",
        "| row | scheduling | ticks/s | replies/s | round trip p50 us (per block) | p99 us | max us | deadline misses "
        "| 1 kHz, <= 1 % misses |",
        "|---|---|---|---|---|---|---|---|---|",
        *loop_rows,
    ])  # fmt: skip
    print("\n" + graph_body + "\n\n" + loop_body)
    if not args.no_write:
        put_subsection("node_graph", "node_graph_ab", graph_body)
        put_subsection("ros_loop", "ros_loop_ab", loop_body)


if __name__ == "__main__":
    main()
