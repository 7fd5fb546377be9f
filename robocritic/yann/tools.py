"""What ``robocritic explicit build|eval`` do, as functions (the CLI only parses arguments).

``build``: YAML spec -> PPOPT mpQP -> :class:`~robocritic.controllers.explicit_mpc.ExplicitLaw`
artefact (.npz), verified against the online QP (DAQP) on random feasible states.
``eval``: artefact + states (.npy, shape (N, n_x), absolute units) -> inputs and feasibility from
the explicit law and from its YANN (5-layer and fast forms, float64), written to one .npz.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from robocritic.controllers.explicit_mpc import ExplicitLaw, ExplicitMPC
from robocritic.utils.atomic import atomic_write
from robocritic.utils.npz_archive import read_npy_header


def build_explicit(spec_path: str | Path, out_path: str | Path, *, verify_states: int = 1000,
                   seed: int = 0) -> dict[str, Any]:
    """Solve the spec's mpQP, save the law atomically, and check it against online DAQP.

    The spec is checked first (:func:`~robocritic.yann.buildable.check_buildable`: non-empty,
    full-dimensional constraint sets, a well-conditioned QP), and a failure inside PPOPT/DAQP that
    remains is reported the same way. The law's bytes depend on the spec only (regions in a
    canonical order), not on ``PYTHONHASHSEED``.

    Returns a summary: regions, solve time, max |du| and feasibility mismatches on
    ``verify_states`` random states of the x0 domain.

    Raises:
        SpecError: the spec is malformed, infeasible, degenerate, too large or badly scaled, or
            the solver failed on it; the message starts with the spec's path.
    """
    from robocritic.yann.buildable import check_buildable
    from robocritic.yann.mpqp import compare_with_online, compute_explicit_mpc, sample_domain
    from robocritic.yann.spec import SpecError, load_spec

    spec = load_spec(spec_path)
    try:
        check_buildable(spec)
        result = compute_explicit_mpc(spec.model, spec.config, domain=spec.domain)
    except ValueError as exc:  # SpecError included
        raise SpecError(f"{spec_path}: {exc}") from exc
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


MAX_STATES_BYTES = 256 * 2**20
"""Largest states array ``explicit eval`` reads (bytes of data, as declared in the .npy header)."""


def _load_states(path: str | Path, n_x: int, *, max_bytes: int = MAX_STATES_BYTES) -> np.ndarray:
    """A finite ``(N, n_x)`` float64 array from a plain ``.npy`` file (one state ``(n_x,)`` too).

    The header is read first and its shape held to the file's actual size and ``max_bytes``, so a
    truncated file or a huge declared shape is refused before any allocation; pickled, object,
    structured and complex arrays are refused. Every error is a ``ValueError`` naming the file.
    """
    where = f"--states {path}"
    try:
        with open(path, "rb") as fh:
            shape, fortran, dtype = _npy_header(fh, where)
            count = _check_states_size(fh, where, shape, dtype, max_bytes)
            flat = np.fromfile(fh, dtype=dtype, count=count)
    except OSError as exc:
        raise ValueError(f"{where}: cannot read: {exc}") from exc
    if flat.size != count:
        raise ValueError(f"{where}: truncated: the header declares {count} values, the file holds {flat.size}")
    states = flat.reshape(shape, order="F" if fortran else "C").astype(np.float64)
    return _check_states(where, states, n_x)


def _npy_header(fh: Any, where: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    try:
        shape, fortran, dtype = read_npy_header(fh)
    except (ValueError, EOFError, RecursionError, SyntaxError) as exc:
        raise ValueError(f"{where}: not a plain .npy array (truncated or another format?): {exc}") from exc
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None or dtype.kind not in "biuf":
        raise ValueError(f"{where}: must hold real numbers; got dtype {dtype} (object/pickled data is refused)")
    if any(d < 0 for d in shape):
        raise ValueError(f"{where}: the header declares a negative dimension in shape {shape}")
    return shape, fortran, dtype


def _check_states_size(fh: Any, where: str, shape: tuple[int, ...], dtype: np.dtype, max_bytes: int) -> int:
    count = math.prod(shape)
    declared = count * dtype.itemsize
    if declared > max_bytes:
        raise ValueError(f"{where}: the header declares shape {shape} of {dtype} ({declared} bytes), over the "
                         f"bound of {max_bytes} bytes")
    available = os.fstat(fh.fileno()).st_size - fh.tell()
    if declared != available:
        raise ValueError(f"{where}: the header declares shape {shape} of {dtype} ({declared} bytes); the file "
                         f"holds {available} bytes of data (truncated or padded)")
    return count


def _check_states(where: str, states: np.ndarray, n_x: int) -> np.ndarray:
    if states.ndim == 1 and states.size == n_x:
        states = states.reshape(1, n_x)
    if states.ndim != 2 or states.shape[1] != n_x:
        raise ValueError(f"{where}: must have shape (N, {n_x}) for this law; got {states.shape}")
    if states.shape[0] == 0:
        raise ValueError(f"{where}: holds no states (shape {states.shape})")
    if not np.all(np.isfinite(states)):
        raise ValueError(f"{where}: must be finite (found NaN or inf)")
    return states


def evaluate_explicit(artefact: str | Path, states_path: str | Path, out_path: str | Path,
                      *, with_yann: bool = True) -> dict[str, Any]:
    """Evaluate the law (and its YANN) at every state; write ``u``, ``feasible``, ``region``,
    ``margin`` (and ``u_yann``, ``feasible_yann``, ``u_yann_fast``) to ``out_path`` (.npz)."""
    law = ExplicitLaw.load(artefact)
    states = _load_states(states_path, law.n_x)
    try:
        controller = ExplicitMPC(law)
    except ValueError as exc:
        raise ValueError(f"{artefact}: {exc}") from exc
    ev = controller.evaluate(states)
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
