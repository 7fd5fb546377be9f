"""Figures written by the command-line jobs (matplotlib, headless Agg backend)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from robocritic.testing import Trajectory


def plot_demo(
    trajectories: dict[str, Trajectory], title: str, compute_times: dict[str, np.ndarray], path: Path
) -> None:
    """One row per state, one for the input, and one for per-step compute time (log scale).

    Constraint limits are drawn as dashed lines so a violation is visible at a glance.
    """
    any_traj = next(iter(trajectories.values()))
    n_x, n_u = any_traj.states.shape[1], any_traj.actions.shape[1]
    fig, axes = plt.subplots(n_x + n_u + 1, 1, figsize=(8, 2.2 * (n_x + n_u + 1)), constrained_layout=True)
    for name, traj in trajectories.items():
        for i in range(n_x):
            axes[i].plot(traj.times, traj.states[:, i], label=name)
        for j in range(n_u):
            axes[n_x + j].step(traj.times[:-1], traj.actions[:, j], where="post", label=name)
    for i in range(n_x):
        _limits(axes[i], any_traj.state_box.low[i], any_traj.state_box.high[i], any_traj.states[:, i])
        axes[i].set_ylabel(any_traj.state_names[i])
    for j in range(n_u):
        _limits(axes[n_x + j], any_traj.input_box.low[j], any_traj.input_box.high[j], any_traj.actions[:, j])
        axes[n_x + j].set_ylabel(any_traj.input_names[j])
    axes[n_x + n_u - 1].set_xlabel("time (s)")
    axes[0].set_title(f"Clipped pendulum in MuJoCo, {title}")
    axes[0].legend(fontsize=7, loc="upper right")
    ax = axes[-1]
    names = list(compute_times)
    ax.boxplot([compute_times[n] * 1e3 for n in names], orientation="horizontal", whis=(1, 99), showfliers=False)
    ax.set_yticks(range(1, len(names) + 1), names, fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel("compute time per step (ms), whiskers p1-p99")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _limits(ax: plt.Axes, low: float, high: float, data: np.ndarray) -> None:
    """Draw finite limits as dashed lines, keeping the data readable if limits are far away."""
    span = max(np.ptp(data), 1e-6)
    for limit in (low, high):
        if np.isfinite(limit) and abs(limit - np.clip(limit, data.min(), data.max())) < 3 * span:
            ax.axhline(limit, color="k", linestyle="--", linewidth=0.8)
