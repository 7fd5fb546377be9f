"""A user's own system in, explicit law out: the YAML spec read by ``robocritic explicit build``.

Spec (all matrices as nested lists; deviation variables around ``x_eq``/``u_eq``, default 0)::

    name: my_system            # optional label stored in the artefact
    dt: 0.05                   # s, sample time of A, B
    A: [[1.0, 1.0], [0.0, 1.0]]
    B: [[0.0], [1.0]]
    Q: [[1, 0], [0, 1]]        # PSD stage weight
    R: [[0.01]]                # PD input weight (a scalar is accepted for one input)
    horizon: 10
    terminal_cost: riccati     # or a PSD matrix
    state_bounds: {low: [-10, -10], high: [10, 10]}
    input_bounds: {low: [-1], high: [1]}
    x0_domain: {low: [-10, -10], high: [10, 10]}   # optional, default state_bounds
    terminal_set: {T: [[...]], t: [...]}           # optional polytope T x_N <= t
    output_constraint: {C: [[1, 2]], low: [-25], high: [25]}  # optional, k = 1..N
    x_eq: [0, 0]               # optional operating point (absolute units)
    u_eq: [0]

Every problem raises :class:`SpecError` naming the field (``A``, ``state_bounds.low``, ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from robocritic.controllers import MPCConfig
from robocritic.dynamics import Box, LinearModel

FIELDS = {
    "name", "dt", "A", "B", "Q", "R", "horizon", "terminal_cost", "state_bounds", "input_bounds",
    "x0_domain", "terminal_set", "output_constraint", "x_eq", "u_eq",
}


class SpecError(ValueError):
    """The explicit-MPC spec is malformed; the message names the field."""


@dataclass(frozen=True)
class ExplicitSpec:
    """A validated spec: the model, the MPC config and the parameter domain (deviation box)."""

    name: str
    model: LinearModel
    config: MPCConfig
    domain: Box


def _matrix(data: dict[str, Any], key: str, shape: tuple[int | None, int | None]) -> np.ndarray:
    if key not in data:
        raise SpecError(f"{key} is required")
    try:
        m = np.atleast_2d(np.asarray(data[key], dtype=np.float64))
    except (TypeError, ValueError) as exc:
        raise SpecError(f"{key} must be a numeric matrix; got {data[key]!r}") from exc
    if m.ndim != 2 or any(want is not None and got != want for got, want in zip(m.shape, shape)):
        want = ", ".join("n" if w is None else str(w) for w in shape)
        raise SpecError(f"{key} must have shape ({want}); got {m.shape}")
    if not np.all(np.isfinite(m)):
        raise SpecError(f"{key} must be finite")
    return m


def _vector(value: Any, name: str, size: int, finite: bool = True) -> np.ndarray:
    try:
        v = np.asarray(value, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise SpecError(f"{name} must be a list of {size} numbers; got {value!r}") from exc
    if v.size != size:
        raise SpecError(f"{name} must have {size} entries; got {v.size}")
    if np.any(np.isnan(v)) or (finite and not np.all(np.isfinite(v))):
        raise SpecError(f"{name} must be {'finite' if finite else 'free of NaN'}; got {v.tolist()}")
    return v


def _box(data: dict[str, Any], key: str, size: int) -> Box:
    section = data.get(key)
    if not isinstance(section, dict) or set(section) != {"low", "high"}:
        raise SpecError(f"{key} must be a mapping with exactly 'low' and 'high'; got {section!r}")
    low = _vector(section["low"], f"{key}.low", size, finite=False)
    high = _vector(section["high"], f"{key}.high", size, finite=False)
    if np.any(low >= high):
        raise SpecError(f"{key} is empty: needs low < high in every entry; got low={low.tolist()}, "
                        f"high={high.tolist()}")
    return Box(low, high)


def _psd(name: str, M: np.ndarray, definite: bool) -> None:
    if not np.allclose(M, M.T, atol=1e-12):
        raise SpecError(f"{name} must be symmetric")
    w = np.linalg.eigvalsh(M)
    if w.min() < (1e-12 if definite else -1e-12):
        raise SpecError(f"{name} must be positive {'definite' if definite else 'semidefinite'}; "
                        f"smallest eigenvalue {w.min():.3g}")


def parse_spec(data: Any) -> ExplicitSpec:
    """Validate a spec mapping (as loaded from YAML)."""
    if not isinstance(data, dict):
        raise SpecError(f"the spec must be a mapping; got {type(data).__name__}")
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        raise SpecError(f"unknown field(s) {unknown}; known: {sorted(FIELDS)}")
    A = _matrix(data, "A", (None, None))
    n_x = A.shape[0]
    if A.shape != (n_x, n_x):
        raise SpecError(f"A must be square; got {A.shape}")
    B = _matrix(data, "B", (n_x, None))
    n_u = B.shape[1]
    Q = _matrix(data, "Q", (n_x, n_x))
    _psd("Q", Q, definite=False)
    R = _matrix(data, "R", (n_u, n_u))
    _psd("R", R, definite=True)
    dt = data.get("dt", 1.0)
    if not isinstance(dt, (int, float)) or isinstance(dt, bool) or not dt > 0:
        raise SpecError(f"dt must be a positive number of seconds; got {dt!r}")
    horizon = data.get("horizon")
    if not isinstance(horizon, int) or isinstance(horizon, bool) or horizon < 1:
        raise SpecError(f"horizon must be an integer >= 1; got {horizon!r}")
    terminal: Any = data.get("terminal_cost", "riccati")
    if terminal != "riccati":
        terminal = _matrix(data, "terminal_cost", (n_x, n_x))
        _psd("terminal_cost", terminal, definite=False)
    state_box = _box(data, "state_bounds", n_x)
    input_box = _box(data, "input_bounds", n_u)
    if not np.all(np.isfinite(input_box.low)) or not np.all(np.isfinite(input_box.high)):
        raise SpecError("input_bounds must be finite (explicit MPC needs a bounded input set)")
    domain = _box(data, "x0_domain", n_x) if "x0_domain" in data else state_box
    if not (np.all(np.isfinite(domain.low)) and np.all(np.isfinite(domain.high))):
        raise SpecError("x0_domain must be finite (give it explicitly if state_bounds are open)")
    terminal_set = None
    if "terminal_set" in data:
        ts = data["terminal_set"]
        if not isinstance(ts, dict) or set(ts) != {"T", "t"}:
            raise SpecError(f"terminal_set must be a mapping with 'T' and 't'; got {ts!r}")
        T = _matrix({"terminal_set.T": ts["T"]}, "terminal_set.T", (None, n_x))
        terminal_set = (T, _vector(ts["t"], "terminal_set.t", T.shape[0]))
    output = None
    if "output_constraint" in data:
        oc = data["output_constraint"]
        if not isinstance(oc, dict) or set(oc) != {"C", "low", "high"}:
            raise SpecError(f"output_constraint must be a mapping with 'C', 'low', 'high'; got {oc!r}")
        C = _matrix({"output_constraint.C": oc["C"]}, "output_constraint.C", (None, n_x))
        low = _vector(oc["low"], "output_constraint.low", C.shape[0], finite=False)
        high = _vector(oc["high"], "output_constraint.high", C.shape[0], finite=False)
        if np.any(low >= high):
            raise SpecError("output_constraint is empty: needs low < high")
        output = (C, low, high)
    x_eq = _vector(data.get("x_eq", np.zeros(n_x)), "x_eq", n_x)
    u_eq = _vector(data.get("u_eq", np.zeros(n_u)), "u_eq", n_u)
    try:
        model = LinearModel(A=A, B=B, dt=float(dt), x_eq=x_eq, u_eq=u_eq, state_box=state_box,
                            input_box=input_box)
        config = MPCConfig(horizon=horizon, Q=Q, R=R, terminal_cost=terminal, terminal_set=terminal_set,
                           output_constraint=output)
    except ValueError as exc:
        raise SpecError(str(exc)) from exc
    return ExplicitSpec(name=str(data.get("name", "explicit_mpc")), model=model, config=config, domain=domain)


def load_spec(path: str | Path) -> ExplicitSpec:
    """Read and validate a YAML spec file; errors start with the file name."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise SpecError(f"{path}: cannot read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return parse_spec(data)
    except SpecError as exc:
        raise SpecError(f"{path}: {exc}") from exc
