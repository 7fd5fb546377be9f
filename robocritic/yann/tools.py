"""What ``robocritic explicit build|eval`` do, as functions (the CLI only parses arguments).

``build``: YAML spec -> PPOPT mpQP -> :class:`~robocritic.controllers.explicit_mpc.ExplicitLaw`
artefact (.npz), verified against the online QP (DAQP) on random feasible states.
``eval``: artefact + states (.npy, shape (N, n_x), absolute units) -> inputs and feasibility from
the explicit law and from its YANN (5-layer and fast forms, float64), written to one .npz.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from robocritic.controllers.explicit_mpc import ExplicitLaw, ExplicitMPC
from robocritic.utils.atomic import atomic_write


def build_explicit(spec_path: str | Path, out_path: str | Path, *, verify_states: int = 1000,
                   seed: int = 0) -> dict[str, Any]:
    """Solve the spec's mpQP, save the law atomically, and check it against online DAQP.

    Returns a summary: regions, solve time, max |du| and feasibility mismatches on
    ``verify_states`` random states of the x0 domain.
    """
    from robocritic.yann.mpqp import compare_with_online, compute_explicit_mpc, sample_domain
    from robocritic.yann.spec import load_spec

    spec = load_spec(spec_path)
    result = compute_explicit_mpc(spec.model, spec.config, domain=spec.domain)
    law = result.law
    saved = law.save(out_path)
    summary: dict[str, Any] = {"name": spec.name, "artefact": str(saved), "regions": law.n_regions,
                               "solve_time_s": result.solve_time_s}
    if verify_states > 0:
        states = sample_domain(law, verify_states, np.random.default_rng(seed))
        agreement = compare_with_online(law, result.mpc, states)
        summary["verification"] = {
            "states": agreement.n_states, "feasible": agreement.n_feasible,
            "feasibility_mismatches": int(agreement.feasibility_mismatch.size),
            "max_abs_du_vs_daqp": float(agreement.max_abs_du),
        }
    return summary


def _load_states(path: str | Path, n_x: int) -> np.ndarray:
    try:
        states = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ValueError(f"--states {path}: cannot read a numeric .npy array: {exc}") from exc
    states = np.asarray(states, dtype=np.float64)
    if states.ndim == 1 and states.size == n_x:
        states = states.reshape(1, n_x)
    if states.ndim != 2 or states.shape[1] != n_x:
        raise ValueError(f"--states {path}: must have shape (N, {n_x}); got {states.shape}")
    if not np.all(np.isfinite(states)):
        raise ValueError(f"--states {path}: must be finite (found NaN or inf)")
    return states


def evaluate_explicit(artefact: str | Path, states_path: str | Path, out_path: str | Path,
                      *, with_yann: bool = True) -> dict[str, Any]:
    """Evaluate the law (and its YANN) at every state; write ``u``, ``feasible``, ``region``,
    ``margin`` (and ``u_yann``, ``feasible_yann``, ``u_yann_fast``) to ``out_path`` (.npz)."""
    law = ExplicitLaw.load(artefact)
    states = _load_states(states_path, law.n_x)
    ev = ExplicitMPC(law).evaluate(states)
    out: dict[str, np.ndarray] = {"states": states, "u": ev.u, "feasible": ev.feasible,
                                  "region": ev.region, "margin": ev.margin}
    summary: dict[str, Any] = {"states": len(states), "feasible": int(ev.feasible.sum())}
    if with_yann:
        import torch

        from robocritic.yann.network import YANN, YANNFast

        x = torch.from_numpy(states)
        with torch.no_grad():
            dense = YANN(law)(x)
            fast = YANNFast(law)(x)
        out["u_yann"] = dense.u.numpy()
        out["feasible_yann"] = dense.feasible.numpy()
        out["u_yann_fast"] = fast.u.numpy()
        feasible = ev.feasible
        if feasible.any():
            summary["max_abs_du_yann"] = float(np.max(np.abs(out["u_yann"][feasible] - ev.u[feasible])))
            summary["max_abs_du_yann_fast"] = float(np.max(np.abs(out["u_yann_fast"][feasible] - ev.u[feasible])))
        summary["feasibility_mismatches_yann"] = int(np.sum(out["feasible_yann"] != feasible))
    out_path = atomic_write(out_path, lambda fh: np.savez(fh, **out))
    summary["output"] = str(out_path)
    return summary
