"""The YANN-RL study: YANN-DDPG, DDPG, TD3, SAC and the explicit MPC on the clipped pendulum and
the safety-critical CSTR, over seeds (the comparison of the YANN-RL paper); writes results.json,
learning-curve PNGs and the table in BENCHMARKS.md (section ``yann_rl``).

    .venv/bin/python benchmarks/yann_rl_study.py [--out results/yann_rl] [--seeds 0 1 2 3 4]

``--protocol paper`` runs the paper protocol instead (``robocritic/ClippedPendulum-v1``: hard
training starts, easy and MPC-losing test starts; docs/yann.md, "The paper protocol") and writes
section ``yann_paper_protocol`` with the split of every run into easy and MPC-losing starts:

    .venv/bin/python benchmarks/yann_rl_study.py --protocol paper --algorithms yann_ddpg --seeds 0 1 2

Runs are resumable and finished runs are read back, so the grid can be split over several
processes (``--envs``/``--algorithms`` subsets with ``--results none``) and then aggregated by
one full invocation, which trains nothing new.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import torch
from common import RESULTS, command, machine, write_section

from robocritic.yann.comparison import format_split_table, format_table, run_comparison
from robocritic.yann.config import ALGORITHMS, PAPER_PENDULUM, load_config

ENVS = ("robocritic/ClippedPendulum-v0", "robocritic/SafetyCSTR-v0")
PROTOCOLS = {
    # protocol: (default envs, default out folder, BENCHMARKS.md section, summary folder or None)
    # The paper protocol's run folders stay local (runs/ is git-ignored); results.json and the
    # curves are copied to the summary folder, which is kept.
    "default": (ENVS, Path("results/yann_rl"), "yann_rl", None),
    "paper": ((PAPER_PENDULUM,), Path("runs/yann_paper_protocol"), "yann_paper_protocol",
              Path("results/yann_paper_protocol")),
}


def _references(results: dict, names: list[str], out: Path) -> list[str]:
    """Markdown rows of the references ``names`` on the paper protocol's test states (cached as
    ``out/reference_<name>.json``; the N=2 MPC's own split labels the starts)."""
    import json
    import logging

    import numpy as np

    from robocritic.yann.config import config_from_record
    from robocritic.yann.references import build_reference
    from robocritic.yann.starts import default_criterion, run_starts

    logging.getLogger("robocritic.controllers.explicit_mpc").setLevel(logging.ERROR)
    rows = []
    for env_id, env_res in results["envs"].items():
        if "mpc_losing" not in env_res:
            continue
        config = config_from_record(env_res["config"])
        hard = np.array(env_res["mpc_losing"], dtype=bool)
        mpc_hard = float(np.mean(np.array(env_res["explicit_mpc"]["costs"])[hard]))
        for name in names:
            cache = out / f"reference_{name}.json"
            if cache.is_file():
                rec = json.loads(cache.read_text())
            else:
                ref = build_reference(name, config)
                t0 = time.perf_counter()
                o = run_starts(ref.policy, ref.make_env, config.test_state_array(), ref.x_eq,
                               default_criterion(env_id), progress=True, desc=name)
                rec = {"costs": o.costs.tolist(), "lost": o.lost.tolist(),
                       "wall_s_per_episode": (time.perf_counter() - t0) / len(o.costs)}
                cache.parent.mkdir(parents=True, exist_ok=True)
                cache.write_text(json.dumps(rec))
            c, lost = np.array(rec["costs"]), np.array(rec["lost"], dtype=bool)
            extra = f" ({rec['wall_s_per_episode']:.0f} s)" if name == "nmpc" else ""
            rows.append(f"| {name}{extra} | {c[~hard].mean():.4g} ({int(lost[~hard].sum())}/{int((~hard).sum())}) | "
                        f"{c[hard].mean():.4g} ({int(lost[hard].sum())}/{int(hard.sum())}) | "
                        f"{c[hard].mean() / mpc_hard:.3f} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--protocol", choices=sorted(PROTOCOLS), default="default")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--envs", nargs="+", default=None)
    parser.add_argument("--algorithms", nargs="+", default=list(ALGORITHMS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--config", type=Path, default=None,
                        help="YAML config overriding the defaults of its env_id (one env)")
    parser.add_argument("--references", nargs="*", default=[],
                        help="paper protocol: also run these references on the test states (mpc20 swingup nmpc); "
                             "their summaries are cached in the out folder")
    parser.add_argument("--results", default=str(RESULTS), help="BENCHMARKS.md to write, or 'none'")
    args = parser.parse_args()
    torch.set_num_threads(1)
    envs, out, section, summary = PROTOCOLS[args.protocol]
    envs = args.envs or list(envs)
    out = args.out or out
    configs = None
    if args.config is not None:
        cfg = load_config(args.config)
        configs = {cfg.env_id: cfg}
        envs = [cfg.env_id]
    start = time.perf_counter()
    results = run_comparison(out, env_ids=envs, algorithms=args.algorithms, seeds=args.seeds, configs=configs)
    ref_rows = _references(results, args.references, out) if args.protocol == "paper" else []
    if summary is not None and args.out is None:
        summary.mkdir(parents=True, exist_ok=True)
        for f in [out / "results.json", *out.glob("curves_*.png")]:
            shutil.copyfile(f, summary / f.name)
        out = summary
    episodes = sorted({r["config"]["episodes"] for r in results["envs"].values()})
    n_test = sorted({len(r["config"]["test_states"]) for r in results["envs"].values()})
    title = "## YANN-RL study" if args.protocol == "default" else "## YANN-RL on the paper protocol (hard starts)"
    lines = [
        title,
        "",
        f"Machine: {machine()}. Command: `{command()}` (wall {time.perf_counter() - start:.0f} s; "
        "finished runs are read back, so this is the aggregation time when runs already exist).",
        f"Seeds {args.seeds}; mean cost of the {'/'.join(map(str, n_test))} fixed test episodes before and "
        f"after {'/'.join(map(str, episodes))} training episodes (mean +- std over seeds), and training "
        f"episodes with a safety violation. Full per-seed numbers: `{out}/results.json`; learning curves: "
        f"`{out}/curves_*.png`.",
        "",
        format_table(results),
    ]
    if any("mpc_losing" in r for r in results["envs"].values()) and args.protocol == "paper":
        lines += [
            "",
            "Easy and MPC-losing test starts separately (a start is MPC-losing when the N=2 explicit MPC's "
            "episode does not end upright at rest); mean cost of the final policy (validation-selected), the "
            "last iterate in brackets, and the ratio to the explicit MPC on the same starts. Targets: "
            "MPC-losing / MPC <= 0.5 and easy / MPC <= 1.01 in every seed.",
            "",
            format_split_table(results),
        ]
        if ref_rows:
            lines += [
                "",
                "References on the same test starts (one episode each; `nmpc`: CasADi/IPOPT, 80-step horizon, "
                "true dynamics, wall time per episode in brackets): mean cost and starts lost.",
                "",
                "| reference | easy: mean cost (lost) | MPC-losing: mean cost (lost) | ratio to the N=2 MPC, MPC-losing |",
                "|---|---|---|---|",
                *ref_rows,
            ]
    body = "\n".join(lines)
    print(body)
    if args.results != "none":
        write_section(section, body, Path(args.results))


if __name__ == "__main__":
    main()
