"""Per-state evaluation time of an explicit MPC law in every form robocritic has, against PPOPT
and against re-solving the QP online, side by side in one run (issue 3, "Speed").

    .venv/bin/python benchmarks/explicit_eval.py [--repeats 5] [--problems pendulum_n2 ...]
                                                 [--results BENCHMARKS.md] [--quick]

For each reference problem (7/9/51/115/193 regions, ``robocritic.yann.mpqp.reference_problem``)
the law is computed once with PPOPT and then evaluated at the same seeded states, all strictly
inside the feasible set (margin <= -1e-6, so every method has a defined answer and the online QP
is feasible), by:

- PPOPT ``Solution.evaluate`` (pure Python) and ``ppopt.upop.point_location.PointLocation``
  (numba-compiled point location, then the region's affine law), each as shipped (PPOPT marks
  every mpQP solution ``is_overlapping=True``) and with that flag fixed (strictly convex QP);
- ``ExplicitMPC.act`` (batch 1; the compiled path, and the numpy path it falls back to without
  numba) and ``ExplicitMPC.evaluate`` (batched numpy);
- the fast (gather) and the faithful 5-layer YANN, in torch (float64 and float32) and exported
  to ONNX Runtime, at batch 1 and batched;
- ``LinearMPC.act`` re-solving the QP online with cvxpy, OSQP and DAQP (batch 1).

Each repeat runs every method once in turn (interleaved), so machine noise hits all alike.
Batch-1 methods are timed per call (``time.perf_counter`` around each call) and a repeat's value
is the median call; batched methods are timed per call of the whole batch, divided by the batch
size. Tables give the median over repeats with [p25, p75] of the repeats; ratios are medians
against PPOPT's compiled point location (overlap flag fixed) and against cvxpy. ``torch`` runs
with one thread (house rule); ONNX Runtime with one intra-op thread.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import gc
import logging
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from common import RESULTS, command, machine, stats, write_section

from robocritic.controllers.explicit_mpc import ExplicitMPC
from robocritic.controllers.mpc import LinearMPC
from robocritic.yann.mpqp import compute_explicit_mpc, reference_problem, sample_domain
from robocritic.yann.network import YANN, YANNFast

PROBLEMS = ("cstr_paper_n2", "pendulum_n2", "pendulum_n5", "double_integrator", "pendulum_n10")
DTYPES = {"f64": torch.float64, "f32": torch.float32}
INSIDE = -1e-6  # margin of the states used: strictly inside a region


@dataclass
class Method:
    """One timed way of evaluating the law.

    ``run`` evaluates the method's whole workload once and returns the per-state seconds of that
    repeat (batch 1: the median call; batched: one batch call / batch size). ``outputs`` returns
    the inputs ``u (k, n_u)`` it computes for ``ref_rows`` (indices into the state set), compared
    with ``ExplicitMPC.evaluate`` for the max |du| column.
    """

    name: str
    batch: int
    run: Callable[[], tuple[float, np.ndarray]]
    outputs: Callable[[], np.ndarray]
    ref_rows: np.ndarray
    times: list[float] = dataclasses.field(default_factory=list)
    du: float = float("nan")


def per_call(fn: Callable[[object], object], items: Sequence[object]) -> tuple[float, np.ndarray]:
    """Median and all per-call seconds of ``fn(item)`` over ``items``."""
    t = np.empty(len(items))
    clock = time.perf_counter
    for k, item in enumerate(items):
        start = clock()
        fn(item)
        t[k] = clock() - start
    return float(np.median(t)), t


def per_batch(
    fn: Callable[[object], object], batch: object, size: int, inner: int
) -> tuple[float, np.ndarray]:
    """Median over ``inner`` calls of ``fn(batch)``, per state."""
    t = np.empty(inner)
    for k in range(inner):
        start = time.perf_counter()
        fn(batch)
        t[k] = (time.perf_counter() - start) / size
    return float(np.median(t)), t


def feasible_states(ctrl: ExplicitMPC, n: int, seed: int) -> np.ndarray:
    """``(n, n_x)`` seeded states with margin <= INSIDE (cycled if the feasible set is thin)."""
    rng = np.random.default_rng(seed)
    found: list[np.ndarray] = []
    total = 0
    for _ in range(200):
        X = sample_domain(ctrl.law, max(4 * n, 1000), rng)
        X = X[ctrl.evaluate(X).margin <= INSIDE]
        found.append(X)
        total += len(X)
        if total >= n:
            break
    X = np.vstack(found)
    if len(X) == 0:
        raise RuntimeError(f"no strictly feasible state found for {ctrl.law.n_regions} regions")
    return np.resize(X, (n, X.shape[1])) if len(X) < n else X[:n]


def build_methods(name: str, args: argparse.Namespace, tmp: Path) -> tuple[list[Method], dict[str, object]]:
    """Set up every method for reference problem ``name`` (the law is computed here)."""
    problem = reference_problem(name)
    res = compute_explicit_mpc(problem.model, problem.config)
    law = res.law
    ctrl = ExplicitMPC(law)
    ctrl_np = ExplicitMPC(law)
    ctrl_np._kernel = None  # the numpy path: what act runs without numba (ROBOCRITIC_NUMBA=0)
    B, n1, n_slow = args.batch, args.states, min(args.states, args.slow_states)
    X = feasible_states(ctrl, max(B, n1), seed=0)
    XB, X1, X_slow = X[:B], X[:n1], X[:n_slow]
    rows1, rows_slow, rowsB = np.arange(n1), np.arange(n_slow), np.arange(B)
    dX1 = [(x - law.x_eq).reshape(-1, 1) for x in X1]  # PPOPT's theta: a column, deviation units
    dX_slow = dX1[:n_slow]
    methods: list[Method] = []

    def add(label: str, batch: int, run: Callable[[], tuple[float, np.ndarray]],
            outputs: Callable[[], np.ndarray], rows: np.ndarray) -> None:
        methods.append(Method(label, batch, run, outputs, rows))

    # -- PPOPT -----------------------------------------------------------------------------------
    from ppopt.upop.point_location import PointLocation

    fixed = res.solution  # compute_explicit_mpc already cleared the flag (strictly convex QP)
    assert fixed.is_overlapping is False
    shipped = copy.copy(fixed)
    shipped.is_overlapping = True  # what solve_mpqp returns for every mpQP
    n_u = law.n_u

    def ppopt_u(evaluate: Callable[[np.ndarray], np.ndarray | None], thetas: list[np.ndarray]) -> np.ndarray:
        out = []
        for th in thetas:
            U = evaluate(th)
            out.append(np.full(n_u, np.nan) if U is None else law.u_eq + np.asarray(U).reshape(-1)[:n_u])
        return np.array(out)

    for tag, sol in (("as shipped", shipped), ("overlap flag fixed", fixed)):
        add(f"PPOPT Solution.evaluate (Python), {tag}", 1,
            lambda sol=sol: per_call(sol.evaluate, dX_slow),
            lambda sol=sol: ppopt_u(sol.evaluate, dX_slow), rows_slow)
    for tag, sol in (("as shipped", shipped), ("overlap flag fixed", fixed)):
        pl = PointLocation(sol)
        pl.evaluate(dX1[0])  # numba compiles here, not in the timed loop
        add(f"PPOPT PointLocation.evaluate (numba), {tag}", 1,
            lambda pl=pl: per_call(pl.evaluate, dX1), lambda pl=pl: ppopt_u(pl.evaluate, dX1), rows1)

    # -- robocritic's explicit controller -----------------------------------------------------------
    compiled = "compiled" if ctrl._kernel is not None else "numpy: numba missing"
    add(f"ExplicitMPC.act ({compiled})", 1, lambda: per_call(ctrl.act, X1),
        lambda: np.array([ctrl.act(x) for x in X1]), rows1)
    add("ExplicitMPC.act (numpy path)", 1, lambda: per_call(ctrl_np.act, X1),
        lambda: np.array([ctrl_np.act(x) for x in X1]), rows1)
    add("ExplicitMPC.evaluate (numpy)", B, lambda: per_batch(ctrl.evaluate, XB, B, args.inner),
        lambda: ctrl.evaluate(XB).u, rowsB)

    # -- YANN in torch ------------------------------------------------------------------------------
    for form_name, form in (("YANN fast", YANNFast), ("YANN 5-layer", YANN)):
        for dname, dtype in DTYPES.items():
            net = form(law, dtype=dtype).eval()
            TB = torch.from_numpy(XB).to(dtype)
            T1 = [torch.from_numpy(x[None, :]).to(dtype) for x in X1]

            def run1(net: torch.nn.Module = net, T1: list[torch.Tensor] = T1) -> tuple[float, np.ndarray]:
                with torch.inference_mode():
                    return per_call(net, T1)

            def runB(net: torch.nn.Module = net, TB: torch.Tensor = TB) -> tuple[float, np.ndarray]:
                with torch.inference_mode():
                    return per_batch(net, TB, B, args.inner)

            def out1(net: torch.nn.Module = net, T1: list[torch.Tensor] = T1) -> np.ndarray:
                with torch.inference_mode():
                    return np.vstack([net(t).u.double().numpy() for t in T1])

            def outB(net: torch.nn.Module = net, TB: torch.Tensor = TB) -> np.ndarray:
                with torch.inference_mode():
                    return net(TB).u.double().numpy()

            add(f"{form_name}, torch {dname}", 1, run1, out1, rows1)
            add(f"{form_name}, torch {dname}", B, runB, outB, rowsB)

    # -- YANN in ONNX Runtime -----------------------------------------------------------------------
    if not args.no_onnx:
        from robocritic.yann.export import export_onnx, onnx_session, run_onnx

        for form_name, form in (("YANN fast", YANNFast), ("YANN 5-layer", YANN))[: 1 if args.quick else 2]:
            for dname in args.onnx_dtypes:
                dtype = DTYPES[dname]
                path = export_onnx(form(law, dtype=dtype), tmp / f"{name}_{form.__name__}_{dname}.onnx")
                sess = onnx_session(path)
                inp = sess.get_inputs()[0].name
                np_dtype = np.float64 if dtype == torch.float64 else np.float32
                O1 = [{inp: x[None, :].astype(np_dtype)} for x in X1]
                OB = XB.astype(np_dtype)

                def orun1(sess: object = sess, O1: list[dict] = O1) -> tuple[float, np.ndarray]:
                    return per_call(lambda feed: sess.run(None, feed), O1)

                def orunB(sess: object = sess, OB: np.ndarray = OB) -> tuple[float, np.ndarray]:
                    return per_batch(lambda X: run_onnx(sess, X), OB, B, args.inner)

                def oout1(sess: object = sess, O1: list[dict] = O1) -> np.ndarray:
                    return np.vstack([sess.run(None, feed)[0].astype(np.float64) for feed in O1])

                def ooutB(sess: object = sess, OB: np.ndarray = OB) -> np.ndarray:
                    return run_onnx(sess, OB)["u"].astype(np.float64)

                add(f"{form_name}, ONNX Runtime {dname}", 1, orun1, oout1, rows1)
                add(f"{form_name}, ONNX Runtime {dname}", B, orunB, ooutB, rowsB)

    # -- online QP ----------------------------------------------------------------------------------
    for solver in ("cvxpy", "osqp", "daqp"):
        mpc = LinearMPC(problem.model, dataclasses.replace(problem.config, solver=solver))
        states = X_slow if solver == "cvxpy" else X1
        rows = rows_slow if solver == "cvxpy" else rows1
        for x in states[:5]:
            mpc.act(x)  # set-up, caches, warm starts
        add(f"LinearMPC.act, online QP ({solver})", 1,
            lambda mpc=mpc, states=states: per_call(mpc.act, states),
            lambda mpc=mpc, states=states: np.array([mpc.act(x) for x in states]), rows)

    info = {"regions": law.n_regions, "rows": law.n_rows, "n_x": law.n_x, "ref": ctrl.evaluate(X).u}
    return methods, info


def run_problem(name: str, args: argparse.Namespace, tmp: Path) -> tuple[list[Method], dict[str, object]]:
    methods, info = build_methods(name, args, tmp)
    for m in methods:  # warm-up: first calls pay for lazy set-up
        m.run()
    gc_was_enabled = gc.isenabled()
    gc.disable()  # as timeit does: a collection inside one call is noise, not the method's cost
    try:
        for _ in range(args.repeats):
            for m in methods:
                value, _ = m.run()
                m.times.append(value)
    finally:
        if gc_was_enabled:
            gc.enable()
    ref = info["ref"]
    for m in methods:
        u = m.outputs()
        m.du = float(np.max(np.abs(u - ref[m.ref_rows]))) if np.all(np.isfinite(u)) else float("nan")
    return methods, info


def fmt_us(seconds: float) -> str:
    us = seconds * 1e6
    return f"{us:,.0f}" if us >= 100 else f"{us:,.2f}" if us < 10 else f"{us:,.1f}"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--problems", nargs="+", choices=PROBLEMS, default=None,
                        help=f"reference problems (default: all: {' '.join(PROBLEMS)})")
    parser.add_argument("--repeats", type=int, default=None, help="interleaved repeats (default 5; quick 1)")
    parser.add_argument("--states", type=int, default=None, help="states per batch-1 repeat (default 300)")
    parser.add_argument("--slow-states", type=int, default=None,
                        help="states per repeat for cvxpy and PPOPT's Python evaluate (default 40)")
    parser.add_argument("--batch", type=int, default=None,
                        help="batch size of the batched rows (default 4096)")
    parser.add_argument("--inner", type=int, default=None, help="batch calls per repeat (default 5)")
    parser.add_argument("--no-onnx", action="store_true", help="skip the ONNX Runtime rows")
    parser.add_argument("--results", type=Path, default=RESULTS, help="file to write (default BENCHMARKS.md)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny budget for the smoke test: pendulum_n2 only, 1 repeat, few states, "
                             "batch 64, ONNX only for the fast form in float64 (numbers are not meaningful)")
    args = parser.parse_args(argv)
    quick = args.quick
    defaults = {"problems": ["pendulum_n2"] if quick else list(PROBLEMS), "repeats": 1 if quick else 5,
                "states": 12 if quick else 300, "slow_states": 3 if quick else 40,
                "batch": 64 if quick else 4096, "inner": 1 if quick else 5}
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    for key in ("repeats", "states", "slow_states", "batch", "inner"):
        if getattr(args, key) < 1:
            parser.error(f"--{key.replace('_', '-')} must be >= 1")
    args.onnx_dtypes = ("f64",) if quick else ("f64", "f32")
    torch.set_num_threads(1)  # house rule for benchmark processes
    logging.getLogger("robocritic").setLevel(logging.ERROR)  # PPOPT/solver chatter is not the point

    results: dict[str, tuple[list[Method], dict[str, object]]] = {}
    args.load_before = os.getloadavg()[0]
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.problems:
            t0 = time.perf_counter()
            results[name] = run_problem(name, args, Path(tmp))
            regions = results[name][1]["regions"]
            print(f"{name}: {regions} regions, {time.perf_counter() - t0:.1f} s", flush=True)
    body = report(results, args, time.perf_counter() - t_start)
    print(body)
    write_section("explicit_eval", body, args.results)


def report(results: dict[str, tuple[list[Method], dict[str, object]]], args: argparse.Namespace,
           elapsed: float) -> str:
    names = list(results)
    regions = {n: results[n][1]["regions"] for n in names}
    med = {n: {(m.name, m.batch): stats(np.array(m.times)) for m in results[n][0]} for n in names}
    PL = ("PPOPT PointLocation.evaluate (numba), overlap flag fixed", 1)
    CVX = ("LinearMPC.act, online QP (cvxpy)", 1)
    lines = [
        "## Explicit MPC and YANN evaluation time per state",
        "",
        f"Machine: {machine()}. Command: `{command()}` ({elapsed:.0f} s; load average "
        f"{args.load_before:.1f} before, {os.getloadavg()[0]:.1f} after: other jobs shared the cores).",
        f"{args.repeats} interleaved repeats per problem; batch-1 rows: {args.states} states per repeat "
        f"({args.slow_states} for cvxpy and PPOPT's Python `Solution.evaluate`), timed per call, a repeat's "
        f"value is its median call; batched rows: batch {args.batch}, {args.inner} calls per repeat, "
        "time per call / batch. All states are seeded, strictly inside the feasible set (margin <= -1e-6). "
        "torch: 1 thread, `inference_mode`; ONNX Runtime: 1 intra-op thread, batch 1 through "
        "`session.run`, batched through `run_onnx` (chunks of 1024 rows). PPOPT 'as shipped' is the "
        "solution as `solve_mpqp` returns it (`is_overlapping=True`); 'fixed' clears that flag, as "
        "`robocritic.yann.mpqp` does for a strictly convex QP; with the flag fixed PPOPT stops at the "
        "first region containing the state, so its time depends on PPOPT's region order, which can differ "
        "between runs. `ExplicitMPC.act (compiled)` is its numba path, `(numpy path)` what it runs "
        "without numba. Values: microseconds per state, median over repeats [p25, p75 of the repeats].",
        "",
    ]
    header = "| method | batch | " + " | ".join(f"{n} ({regions[n]} regions)" for n in names) + " |"
    lines += [header, "|---|---|" + "---|" * len(names)]
    for m in results[names[0]][0]:
        key = (m.name, m.batch)
        cells = []
        for n in names:
            p50, p25, p75 = med[n][key]
            cells.append(f"{fmt_us(p50)} [{fmt_us(p25)}, {fmt_us(p75)}]")
        lines.append(f"| {m.name} | {m.batch} | " + " | ".join(cells) + " |")

    lines += ["", "Speed-up per state: PPOPT compiled point location (flag fixed) median / method median, "
              "and cvxpy re-solve median / method median (> 1: the method is faster). max abs du: "
              "largest difference of u from `ExplicitMPC.evaluate` (float64) on the timed states.", ""]
    lines += ["| method | batch | " + " | ".join(f"{regions[n]} reg.: vs PPOPT PL / vs cvxpy / max abs du"
                                               for n in names) + " |",
              "|---|---|" + "---|" * len(names)]
    for m in results[names[0]][0]:
        key = (m.name, m.batch)
        cells = []
        for n in names:
            mm = next(x for x in results[n][0] if (x.name, x.batch) == key)
            p50 = med[n][key][0]
            cells.append(f"{med[n][PL][0] / p50:,.2f}x / {med[n][CVX][0] / p50:,.0f}x / {mm.du:.1e}")
        lines.append(f"| {m.name} | {m.batch} | " + " | ".join(cells) + " |")

    # Targets of issue 3.
    act_key = next(k for k in med[names[0]]
                   if k[0].startswith("ExplicitMPC.act (") and "numpy path" not in k[0])
    ship_key = ("PPOPT PointLocation.evaluate (numba), as shipped", 1)
    B = args.batch
    yann_keys = [(f"YANN fast, torch {d}", B) for d in DTYPES] + [
        (f"YANN fast, ONNX Runtime {d}", B) for d in args.onnx_dtypes if not args.no_onnx]
    lines += ["", "Targets (issue 3), per problem:", "",
              "| target | " + " | ".join(f"{regions[n]} regions" for n in names) + " |",
              "|---|" + "---|" * len(names)]

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    row = []
    for n in names:
        a, pl, sh = med[n][act_key][0], med[n][PL][0], med[n][ship_key][0]
        row.append(f"{verdict(a <= pl)}: {fmt_us(a)} vs {fmt_us(pl)} us (as shipped {fmt_us(sh)})")
    lines.append("| `ExplicitMPC.act` (batch 1) no slower than PPOPT's compiled point location "
                 "(flag fixed) | " + " | ".join(row) + " |")
    for key in yann_keys:
        row = [f"{verdict(med[n][key][0] < 1e-6)}: {fmt_us(med[n][key][0])} us" for n in names]
        lines.append(f"| {key[0]} (batch {B}) under 1 us per state | " + " | ".join(row) + " |")
    for key in [act_key, ("ExplicitMPC.evaluate (numpy)", B), *yann_keys]:
        row = [f"{verdict(med[n][CVX][0] / med[n][key][0] >= 100)}: {med[n][CVX][0] / med[n][key][0]:,.0f}x"
               for n in names]
        lines.append(f"| {key[0]} (batch {key[1]}) >= 100x faster than cvxpy | " + " | ".join(row) + " |")
    if args.quick:
        lines += ["", "(quick mode: a smoke-test budget; the numbers are not meaningful)"]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
