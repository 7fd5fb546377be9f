"""Demo part: YANN-DDPG on the pendulum starts the N=2 explicit MPC loses.

On ``robocritic/ClippedPendulum-v1`` (the paper protocol, docs/yann.md), from easy and MPC-losing
test starts of the protocol's config, three controllers run one episode each: the N=2 explicit
MPC (``mpc2``), the energy-pumping swing-up with the MPC as catch (``swingup``), and a trained
YANN-DDPG policy (by default the shipped one, :data:`SHIPPED_POLICY`, produced by
``scripts/train_yann_v1.sh``). Written into the run directory:

* ``yann/summary.json`` -- per controller and group (easy, MPC-losing): starts, starts lost, mean
  and per-episode cost, plus the starts and the policy's folder;
* ``yann/hard_starts.png`` -- theta(t) of every controller from the first MPC-losing start, and
  the mean cost per group and controller.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["SHIPPED_POLICY", "format_yann_summary", "run_yann_demo"]

SHIPPED_POLICY = Path(__file__).resolve().parent.parent / "yann" / "assets" / "yann_ddpg_v1"
"""The shipped YANN-DDPG run folder (``actor.json``, ``actor.pt``, ``law.npz``)."""


def _episode(policy: Any, make_env: Any, x0: np.ndarray, seed: int) -> tuple[float, np.ndarray]:
    """Total cost and ``(T + 1, n_x)`` observations of one episode."""
    from robocritic.learning.rollout import Transition, run_episode

    obs: list[np.ndarray] = []

    def on_reset(o: np.ndarray, _info: dict[str, Any]) -> None:
        obs.append(np.asarray(o, dtype=np.float64))

    def on_step(t: Transition) -> None:
        obs.append(np.asarray(t.next_obs, dtype=np.float64))

    if hasattr(policy, "reset"):
        policy.reset()
    env = make_env()
    try:
        result = run_episode(env, policy.act, x0, seed=seed, on_reset=on_reset, on_step=on_step)
    finally:
        env.close()
    return float(result.cost), np.array(obs)


def _spread(indices: np.ndarray, n: int) -> np.ndarray:
    """``n`` of ``indices`` evenly spaced over the list (first and last included when n >= 2)."""
    if n == 0:
        return indices[:0]
    return indices[np.unique(np.round(np.linspace(0, len(indices) - 1, n)).astype(int))]


def run_yann_demo(
    out_dir: str | Path, *, n_easy: int = 3, n_hard: int = 3, policy_dir: str | Path = SHIPPED_POLICY
) -> dict[str, Any]:
    """Run the part (module docstring) on ``n_easy`` easy and ``n_hard`` MPC-losing test starts of
    the policy's config (evenly spaced over each group's list, so the easy ones include starts from
    the hard box, not only those near upright); returns the record written to
    ``out_dir/summary.json``.

    Raises:
        ValueError: ``n_easy`` / ``n_hard`` not >= 0 or both 0, or the config has too few starts
            of a group.
    """
    import logging

    from robocritic.utils.atomic import atomic_write_json
    from robocritic.yann.policy_io import load_policy
    from robocritic.yann.references import build_reference
    from robocritic.yann.starts import default_criterion

    for name, n in (("n_easy", n_easy), ("n_hard", n_hard)):
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"{name} must be an integer >= 0; got {n!r}")
    if n_easy + n_hard == 0:
        raise ValueError("n_easy and n_hard are both 0: nothing to run")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    loaded = load_policy(policy_dir)
    config = loaded.config
    logging.getLogger("robocritic.controllers.explicit_mpc").setLevel(logging.ERROR)
    refs = {name: build_reference(name, config) for name in ("mpc2", "swingup")}
    make_env, x_eq = refs["mpc2"].make_env, refs["mpc2"].x_eq
    criterion = default_criterion(config.env_id)
    states = config.test_state_array()
    # The split: the N=2 MPC's own episodes (what classify_starts does), kept for its row.
    mpc_runs = [_episode(refs["mpc2"].policy, make_env, x0, i) for i, x0 in enumerate(states)]
    finals = np.array([traj[-1] for _, traj in mpc_runs])
    lost = criterion.lost(finals, x_eq, np.zeros(len(states), dtype=bool))
    easy_all, hard_all = np.flatnonzero(~lost), np.flatnonzero(lost)
    if len(easy_all) < n_easy or len(hard_all) < n_hard:
        raise ValueError(f"the config's test states hold {int((~lost).sum())} easy and {int(lost.sum())} "
                         f"MPC-losing starts; asked for {n_easy} and {n_hard}")
    easy_idx, hard_idx = _spread(easy_all, n_easy), _spread(hard_all, n_hard)
    policies = {"mpc2": refs["mpc2"].policy, "swingup": refs["swingup"].policy, "yann_ddpg": loaded.policy}
    record: dict[str, Any] = {"env_id": config.env_id, "policy_dir": str(policy_dir), "controllers": {}}
    trajectories: dict[str, np.ndarray] = {}
    for name, policy in policies.items():
        groups: dict[str, Any] = {}
        for group, idx in (("easy", easy_idx), ("mpc_losing", hard_idx)):
            costs, kept = [], []
            for i in idx:
                cost, traj = mpc_runs[i] if name == "mpc2" else _episode(policy, make_env, states[i], int(i))
                costs.append(cost)
                kept.append(not bool(criterion.lost(traj[-1:], x_eq, np.zeros(1, dtype=bool))[0]))
                if group == "mpc_losing" and i == hard_idx[0]:
                    trajectories[name] = traj
            groups[group] = {"starts": [states[i].tolist() for i in idx], "costs": costs,
                             "mean_cost": float(np.mean(costs)) if costs else None,
                             "lost": int(len(kept) - sum(kept))}
        record["controllers"][name] = groups
    record["files"] = {"summary": str(out / "summary.json"), "plot": str(out / "hard_starts.png")}
    _plot(record, trajectories, config.env_id, out / "hard_starts.png")
    atomic_write_json(out / "summary.json", json.loads(json.dumps(record)))
    return record


def _plot(record: dict[str, Any], trajectories: dict[str, np.ndarray], title: str, path: Path) -> None:
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from robocritic.utils.atomic import atomic_write

    fig, (ax_t, ax_c) = plt.subplots(1, 2, figsize=(11, 4))
    for name, traj in trajectories.items():
        ax_t.plot(np.arange(len(traj)) * 0.05, traj[:, 0], label=name)
    ax_t.set_xlabel("time (s)")
    ax_t.set_ylabel("theta (rad, wrapped; 0 = upright)")
    ax_t.set_title("first MPC-losing start")
    ax_t.grid(True, alpha=0.3)
    ax_t.legend(fontsize=8)
    names = list(record["controllers"])
    for k, group in enumerate(("easy", "mpc_losing")):
        vals = [record["controllers"][n][group]["mean_cost"] or 0.0 for n in names]
        ax_c.bar(np.arange(len(names)) + 0.4 * k, vals, width=0.4, label=group)
    ax_c.set_xticks(np.arange(len(names)) + 0.2, names)
    ax_c.set_yscale("log")
    ax_c.set_ylabel("mean episode cost")
    ax_c.legend(fontsize=8)
    ax_c.grid(True, axis="y", alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    atomic_write(path, lambda fh: fh.write(buf.getvalue()))


def format_yann_summary(record: dict[str, Any]) -> str:
    """The printed table: mean cost and starts lost per controller, easy and MPC-losing separately."""
    lines = [f"YANN-DDPG on {record['env_id']} (policy {record['policy_dir']}): mean episode cost, starts lost",
             f"{'controller':<12} {'easy':>22} {'MPC-losing':>22}"]
    for name, groups in record["controllers"].items():
        cells = []
        for group in ("easy", "mpc_losing"):
            g = groups[group]
            cells.append("-" if g["mean_cost"] is None else f"{g['mean_cost']:.4g} ({g['lost']}/{len(g['costs'])} lost)")
        lines.append(f"{name:<12} {cells[0]:>22} {cells[1]:>22}")
    return "\n".join(lines)
