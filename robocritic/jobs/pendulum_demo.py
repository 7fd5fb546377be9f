"""The main job: the clipped pendulum under linear MPC in MuJoCo, headless.

Runs the same seeded start states under every controller variant (online MPC on DAQP, OSQP and
cvxpy; the explicit MPC of the same problem and its YANN in PyTorch; saturated LQR as the
unconstrained reference), then writes into a run directory:

* ``summary.json`` -- configuration, versions and per-controller metrics (cost, constraint
  violations, fallbacks, exactness against online DAQP, per-step compute time) plus every
  episode's numbers;
* ``pendulum_mpc.png`` -- state and torque trajectories of the hardest episode and the
  per-step compute-time distribution of each controller.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from robocritic.controllers import LinearMPC, LQRController, MPCConfig
from robocritic.dynamics import PendulumModel
from robocritic.envs.pendulum.task import INPUT_WEIGHT, STATE_WEIGHT
from robocritic.interfaces import Controller
from robocritic.jobs.pendulum_scenario import ENV_ID, new_record, percentiles_ms, start_states, write_record
from robocritic.testing import Trajectory, run_closed_loop

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True)
class DemoConfig:
    """Settings of ``robocritic demo``.

    Attributes:
        episodes: number of seeded start states, each run under every controller.
        steps: control steps per episode (0.05 s each).
        horizon: MPC prediction horizon N.
        seed: base seed; episode ``i`` resets the env with ``seed + i``.
        out_dir: run directory; created if missing.
    """

    episodes: int = 8
    steps: int = 200
    horizon: int = 10
    seed: int = 0
    out_dir: str = "runs/demo"

    def __post_init__(self) -> None:
        for name in ("episodes", "steps", "horizon"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"DemoConfig.{name} must be a positive integer; got {value!r}")
        if self.steps > 10_000:
            raise ValueError(f"DemoConfig.steps must be <= 10000; got {self.steps}")


class TorchPolicy:
    """Runs a torch module that maps ``(B, n_x)`` states to ``.u (B, n_u)`` as a Controller."""

    def __init__(self, module: nn.Module) -> None:
        import torch

        torch.set_num_threads(1)  # real-time rule: one thread per control process
        self._torch = torch
        self.module = module.eval()

    def reset(self) -> None:
        """Stateless."""

    def act(self, obs: np.ndarray) -> np.ndarray:
        """``(n_u,)`` action for one ``(n_x,)`` observation."""
        with self._torch.no_grad():
            x = self._torch.as_tensor(np.asarray(obs, dtype=np.float64).reshape(1, -1))
            return self.module(x).u[0].numpy().copy()


def build_explicit_controllers(
    model: PendulumModel, horizon: int
) -> tuple[dict[str, Controller], dict[str, Any]]:
    """Explicit MPC of the demo's MPC problem (PPOPT) and its YANN; ``({}, {"unavailable": why})``
    when the ``explicit`` extra is missing."""
    try:
        from robocritic.yann.mpqp import compute_explicit_mpc
    except ImportError as exc:  # pragma: no cover - the set-up installs every extra
        return {}, {"unavailable": f"explicit MPC needs the 'explicit' extra: {exc}"}
    from robocritic.controllers.explicit_mpc import ExplicitMPC
    from robocritic.yann.network import YANNFast

    config = MPCConfig(horizon=horizon, Q=STATE_WEIGHT, R=INPUT_WEIGHT)
    result = compute_explicit_mpc(model.linearize(), config)
    law = result.law
    info = {"regions": law.n_regions, "mpqp_solve_time_s": result.solve_time_s}
    return {
        f"explicit MPC ({law.n_regions} regions)": ExplicitMPC(law),
        "YANN fast form (torch)": TorchPolicy(YANNFast(law)),
    }, info


def build_controllers(model: PendulumModel, horizon: int) -> dict[str, Controller]:
    """The online-MPC and LQR controllers compared by the demo, keyed by display name."""
    lin = model.linearize()
    # OSQP polishing is off here: OSQP 1.1 prints a line to stdout on every polished solve with
    # no active constraint (osqp/osqp#785), which would drown the demo's table.
    mpc = {
        f"MPC N={horizon} ({solver})": LinearMPC(
            lin,
            MPCConfig(horizon=horizon, Q=STATE_WEIGHT, R=INPUT_WEIGHT, solver=solver, polish=False),
        )
        for solver in ("daqp", "osqp", "cvxpy")
    }
    return {**mpc, "LQR (saturated)": LQRController(lin, STATE_WEIGHT, INPUT_WEIGHT)}


def _max_deviation(traj: Trajectory, reference: LinearMPC) -> float:
    """Largest |u - u_ref| over the run, with ``reference`` (online DAQP) evaluated at the same
    observations the controller saw: the exactness of an explicit law or YANN along the loop."""
    u_ref = np.array([reference.act(x) for x in traj.observations[:-1]])
    return float(np.max(np.abs(traj.actions - u_ref)))


def _episode_metrics(traj: Trajectory, fallbacks: int, deviation: float) -> dict[str, Any]:
    return {
        "max_abs_du_vs_daqp": deviation,
        "cost": traj.total_cost,
        "steps": int(traj.actions.shape[0]),
        "violating_states": traj.n_violations,
        "max_violation": float(traj.violations.max()),
        "final_state": traj.states[-1].tolist(),
        "fallbacks": fallbacks,
        "compute_time_s": traj.compute_times.tolist(),
    }


def _summarise(episodes: list[dict[str, Any]]) -> dict[str, Any]:
    costs = np.array([e["cost"] for e in episodes])
    p50, p99, worst = percentiles_ms(np.concatenate([e["compute_time_s"] for e in episodes]))
    return {
        "cost_mean": float(costs.mean()),
        "cost_std": float(costs.std()),
        "violating_states": int(sum(e["violating_states"] for e in episodes)),
        "fallbacks": int(sum(e["fallbacks"] for e in episodes)),
        "max_abs_du_vs_daqp": float(max(e["max_abs_du_vs_daqp"] for e in episodes)),
        "compute_ms_p50": p50,
        "compute_ms_p99": p99,
        "compute_ms_max": worst,
    }


def run_demo(config: DemoConfig, progress: bool = True) -> dict[str, Any]:
    """Run the demo, write its files, and return the JSON record (also on disk)."""
    from tqdm import tqdm

    from robocritic.jobs.plots import plot_demo

    out = Path(config.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = PendulumModel()
    controllers = build_controllers(model, config.horizon)
    explicit, explicit_info = build_explicit_controllers(model, config.horizon)
    controllers.update(explicit)
    reference = LinearMPC(
        model.linearize(), MPCConfig(horizon=config.horizon, Q=STATE_WEIGHT, R=INPUT_WEIGHT)
    )
    starts = start_states(config.episodes, config.seed)

    # Plot the hardest start: the one heading furthest from upright (|theta + 0.25 theta_dot|).
    shown = int(np.argmax(np.abs(starts[:, 0] + 0.25 * starts[:, 1])))
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in controllers}
    plotted: dict[str, Trajectory] = {}
    started = time.perf_counter()
    with tqdm(total=len(controllers) * config.episodes, desc="demo", unit="episode",
              disable=not progress) as bar:
        for name, controller in controllers.items():
            for i, x0 in enumerate(starts):
                fallbacks_before = getattr(controller, "n_fallbacks", 0)
                traj = run_closed_loop(controller, ENV_ID, x0=x0, steps=config.steps, seed=config.seed + i)
                fallbacks = getattr(controller, "n_fallbacks", 0) - fallbacks_before
                results[name].append(_episode_metrics(traj, fallbacks, _max_deviation(traj, reference)))
                if i == shown:
                    plotted[name] = traj
                bar.set_postfix_str(name)
                bar.update()

    record = {
        **new_record("robocritic demo", config, starts),
        "cost": "sum over the episode of x'Qx + u'Ru, Q=I, R=0.001",
        "explicit_mpc": explicit_info,
        "wall_time_s": time.perf_counter() - started,
        "summary": {name: _summarise(eps) for name, eps in results.items()},
        "episodes": results,
    }
    plot_path = out / "pendulum_mpc.png"
    compute_times = {name: np.concatenate([e["compute_time_s"] for e in eps])
                     for name, eps in results.items()}
    title = f"episode {shown}, x0 = {np.round(starts[shown], 3).tolist()}"
    plot_demo(plotted, title, compute_times, plot_path)
    record["files"] = {"plot": str(plot_path), "record": str(out / "summary.json")}
    write_record(out / "summary.json", record)
    return record


def format_summary(record: dict[str, Any]) -> str:
    """The table ``robocritic demo`` prints."""
    rows = [("controller", "cost mean +- std", "violations", "fallbacks", "max|du| vs DAQP", "step ms p50",
             "p99", "max")]
    for name, s in record["summary"].items():
        rows.append((
            name, f"{s['cost_mean']:.3f} +- {s['cost_std']:.3f}", str(s["violating_states"]),
            str(s["fallbacks"]), f"{s['max_abs_du_vs_daqp']:.1e}", f"{s['compute_ms_p50']:.3f}",
            f"{s['compute_ms_p99']:.3f}",
            f"{s['compute_ms_max']:.3f}",
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
             for r in rows]
    lines.insert(1, "-" * len(lines[0]))
    cfg = record["config"]
    header = (f"{record['env']}: {cfg['episodes']} episodes x {cfg['steps']} steps (dt 0.05 s), "
              f"seeded start states |theta|,|theta_dot| <= 0.3")
    return "\n".join([header, *lines])
