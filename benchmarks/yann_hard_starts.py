"""YANN-RL's pendulum beyond its start box: where the N=2 explicit MPC loses the pole, and what the
references do on the same starts (section ``yann_hard_starts`` of BENCHMARKS.md).

Start sets (robocritic.yann.starts): the grid ``|theta| <= 1.2`` rad, ``|theta_dot| <= 3`` rad/s at
spacing (0.1 rad, 0.5 rad/s), and uniform draws of 60 starts from the boxes +-0.3, +-0.4, +-0.5 (both
states), all from the same seed (the same uniform samples scaled to each box, so the boxes differ
by their size alone). Each start runs one 200-step episode of the default pendulum config per
reference (robocritic.yann.references): ``mpc2`` (the explicit MPC, which also splits the starts
into easy and MPC-losing), ``mpc20`` (online linear MPC, N=20) and ``swingup`` (energy pumping
with ``mpc2`` as the catch controller). Writes the start sets, labels and per-reference summaries
to ``--out`` and the tables to BENCHMARKS.md.

    .venv/bin/python benchmarks/yann_hard_starts.py [--out results/yann_hard_starts] [--results none]
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from common import RESULTS, command, machine, write_section

from robocritic.yann.config import default_config
from robocritic.yann.factory import build_law
from robocritic.yann.references import REFERENCES, SWING_UP, build_reference, catch_lyapunov, env_of
from robocritic.yann.starts import (
    StartOutcomes,
    default_criterion,
    grid_starts,
    run_starts,
    save_labels,
    save_states,
    summarize,
    uniform_starts,
)

ENV = "robocritic/ClippedPendulum-v0"
GRID = ((1.2, 3.0), (0.1, 0.5))
BOXES = (0.3, 0.4, 0.5)
N_DRAW = 60
SEED = 1


def start_sets() -> dict[str, tuple[str, np.ndarray]]:
    """The benchmark's start sets: table name -> (file tag, states)."""
    sets = {"grid +-1.2 rad x +-3 rad/s": ("grid", grid_starts(*GRID))}
    for h in BOXES:
        sets[f"uniform +-{h}"] = (f"box{h}", uniform_starts([h, h], N_DRAW, SEED))
    return sets


def _cell(group: dict[str, Any]) -> str:
    if group["starts"] == 0:
        return "-"
    return f"{group['cost_median']:.4g} [{group['cost_p25']:.4g}, {group['cost_p75']:.4g}]"


def _lost(group: dict[str, Any]) -> str:
    return f"{group['lost']} / {group['starts']}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("results/yann_hard_starts"))
    parser.add_argument("--results", default=str(RESULTS), help="BENCHMARKS.md to write, or 'none'")
    args = parser.parse_args()
    torch.set_num_threads(1)
    # The MPCs warn at the onset of every run of infeasible states; the tables count the outcomes.
    logging.getLogger("robocritic.controllers").setLevel(logging.ERROR)
    start = time.perf_counter()
    config = default_config(ENV)
    parts = env_of(config)
    law = build_law(config, parts.model)
    criterion = default_criterion(ENV)
    args.out.mkdir(parents=True, exist_ok=True)

    rows, set_rows, record = [], [], {}
    gap = None
    for k, (name, (tag, states)) in enumerate(start_sets().items()):
        outcomes: dict[str, StartOutcomes] = {}
        fallbacks = ""
        for ref_name in REFERENCES:
            ref = build_reference(ref_name, config, law=law)
            t0 = time.perf_counter()
            outcomes[ref_name] = run_starts(ref.policy, ref.make_env, states, ref.x_eq, criterion,
                                            progress=True, desc=f"{name}: {ref_name}")
            print(f"{name}: {ref_name} {time.perf_counter() - t0:.1f} s", flush=True)
            if ref_name == "mpc20":
                fallbacks = f"{ref.policy.n_fallbacks / max(ref.policy.n_solves, 1):.0%}"
        mpc_lost = outcomes["mpc2"].lost
        save_states(args.out / f"{tag}_states.npy", states)
        save_labels(args.out / f"{tag}_mpc_lost.npy", mpc_lost)
        summaries = {r: summarize(o, mpc_lost) for r, o in outcomes.items()}
        record[name] = {"files": [f"{tag}_states.npy", f"{tag}_mpc_lost.npy"], "summaries": summaries}
        set_rows.append(f"| {name} | {len(states)} | {int(mpc_lost.sum())} | {fallbacks} |")
        for r, s in summaries.items():
            viol = int(np.count_nonzero(outcomes[r].violation_steps))
            rows.append(f"| {name} | {r} | {_lost(s['all'])} | {_lost(s['easy'])} | {_lost(s['mpc_losing'])} "
                        f"| {_cell(s['easy'])} | {_cell(s['mpc_losing'])} | {viol} |")
        if k == 0:
            gap = _gap(outcomes["mpc2"], catch_lyapunov(config, parts.model))
    wall = time.perf_counter() - start
    if gap is None:  # pragma: no cover - the grid is the first set
        raise RuntimeError("the grid set did not run")
    (args.out / "summary.json").write_text(json.dumps({"gap_on_grid": gap, "sets": record}, indent=1) + "\n")
    body = "\n".join([
        "## YANN-RL: hard starts (where the N=2 MPC fails)",
        "",
        f"Machine: {machine()}, shared with other processes (timings are not comparable). "
        f"Command: `{command()}` (wall {wall:.0f} s).",
        "Default pendulum config (|u| <= 2 N m, Q = I, R = 1e-3, 200 steps of 0.05 s, MuJoCo); one "
        f"episode per start. Sets: the grid at spacing {GRID[1]} (rad, rad/s), and {N_DRAW} uniform starts "
        f"per box (seed {SEED}, `robocritic.yann.starts.uniform_starts`; the configs' test states are "
        "such a draw from +-0.3). A start is *MPC-losing* when the N=2 explicit MPC's episode is lost: "
        f"it ends with |theta| > {criterion.tolerance[0]} rad or |theta_dot| > {criterion.tolerance[1]} "
        "rad/s (wrapped; not upright at rest). References: `mpc2` the N=2 explicit MPC, `mpc20` the online "
        "linear MPC with N=20 (same Q, R, Riccati terminal cost, state box |theta| <= 2, |theta_dot| <= 8; "
        "where its QP is infeasible it applies its saturated-LQR fallback), `swingup` energy pumping "
        f"(gain {SWING_UP.gain}) with `mpc2` caught inside dx'P dx <= {SWING_UP.catch_level} "
        f"(released above {SWING_UP.release_level}; P the DARE solution), |u| <= 2 N m throughout. "
        "Start sets and labels: `results/yann_hard_starts/*.npy` (reusable with "
        "`robocritic yann eval --states ... --labels ...`).",
        "",
        "| start set | starts | MPC-losing (N=2) | mpc20 steps on its fallback |",
        "|---|---|---|---|",
        *set_rows,
        "",
        "Starts lost (of all / easy / MPC-losing starts), total episode cost median [p25, p75] on the easy "
        "and on the MPC-losing starts, and episodes that left the env's safety box (|theta| <= 2 rad, "
        "|theta_dot| <= 8 rad/s; the env reports it, nothing terminates):",
        "",
        "| start set | reference | lost | lost, easy | lost, MPC-losing | cost, easy | cost, MPC-losing "
        "| episodes leaving the safety box |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"The split is clear-cut on the grid: the MPC's kept starts end within {gap['easy_final_max'][0]:.1e} "
        f"rad and {gap['easy_final_max'][1]:.1e} rad/s of upright with cost <= {gap['easy_cost_max']:.3g}; "
        f"its lost starts end with |theta| >= {gap['lost_final_theta_min']:.2f} rad and cost >= "
        f"{gap['lost_cost_min']:.4g}, so any tolerance in between gives the same split. The smallest "
        f"dx'P dx of a lost grid start is {gap['lost_level_min']:.3g}, above the swing-up's catch and "
        "release levels.",
        "",
        "Reading the rows: `swingup` pumps energy whenever it is outside its small catch ellipse, also from "
        "starts the MPC would have caught, so on easy starts its cost is no bound (there `mpc2` is the "
        "reference); on MPC-losing starts it shows what |u| <= 2 N m can recover, at the price of swinging "
        "through the bottom (outside the safety box). `mpc20` is the N=20 MPC only where its QP is "
        "feasible; from most MPC-losing starts the state box cannot be kept for 20 steps and it runs its "
        "saturated-LQR fallback instead (first table).",
    ])
    print(body)
    if args.results != "none":
        write_section("yann_hard_starts", body, Path(args.results))


def _gap(mpc: StartOutcomes, P: np.ndarray) -> dict[str, Any]:
    """How far apart the MPC's kept and lost starts end (the loss criterion's margin)."""
    easy, lost = ~mpc.lost, mpc.lost
    levels = np.einsum("ni,ij,nj->n", mpc.states, P, mpc.states)  # grid angles are inside (-pi, pi)
    return {
        "easy_final_max": np.abs(mpc.final[easy]).max(axis=0).tolist(),
        "easy_cost_max": float(mpc.costs[easy].max()),
        "lost_final_theta_min": float(np.abs(mpc.final[lost, 0]).min()),
        "lost_cost_min": float(mpc.costs[lost].min()),
        "lost_level_min": float(levels[lost].min()),
    }


if __name__ == "__main__":
    main()
