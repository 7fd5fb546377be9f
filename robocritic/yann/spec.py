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
Sizes are bounded (:data:`LIMITS`): an explicit law is only practical for small problems, and a
spec past these sizes would exhaust memory or time inside the mpQP solver instead of failing
here. Whether a valid spec can be built at all (feasibility, conditioning) is checked by
:func:`robocritic.yann.buildable.check_buildable`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from robocritic.controllers import MPCConfig
from robocritic.dynamics import Box, LinearModel
from robocritic.utils.safe_yaml import YamlError, load_yaml

FIELDS = {
    "name", "dt", "A", "B", "Q", "R", "horizon", "terminal_cost", "state_bounds", "input_bounds",
    "x0_domain", "terminal_set", "output_constraint", "x_eq", "u_eq",
}

LIMITS = {
    "states": 20,  # n_x, rows of A
    "inputs": 10,  # n_u, columns of B
    "horizon": 100,
    "decisions": 200,  # horizon * n_u: the mpQP's decision variables
    "constraint_rows": 200,  # rows of terminal_set.T and of output_constraint.C
    "magnitude": 1e9,  # largest |entry| of any matrix, bound or operating point
    "name": 200,  # characters
}
"""Largest sizes a spec may have (see the module docstring)."""


class SpecError(ValueError):
    """The explicit-MPC spec is malformed; the message names the field."""


@dataclass(frozen=True)
class ExplicitSpec:
    """A validated spec: the model, the MPC config and the parameter domain (deviation box)."""

    name: str
    model: LinearModel
    config: MPCConfig
    domain: Box


def _as_float(value: Any, name: str, what: str) -> np.ndarray:
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError) as exc:
        raise SpecError(f"{name} must be {what}; got {_short(value)}") from exc


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _check_magnitude(name: str, a: np.ndarray) -> None:
    finite = a[np.isfinite(a)]
    if finite.size and np.max(np.abs(finite)) > LIMITS["magnitude"]:
        raise SpecError(f"{name} has an entry of magnitude {np.max(np.abs(finite)):.3g}, over "
                        f"{LIMITS['magnitude']:.0e}: rescale the units")


def _matrix(data: dict[str, Any], key: str, shape: tuple[int | None, int | None], origin: str = "") -> np.ndarray:
    """A finite 2-D matrix of ``shape`` (``None``: any size); ``origin`` says where a fixed size
    comes from, so an error caused by another field still names it."""
    if key not in data:
        raise SpecError(f"{key} is required")
    m = np.atleast_2d(_as_float(data[key], key, "a numeric matrix"))
    if m.ndim != 2 or any(want is not None and got != want for got, want in zip(m.shape, shape)):
        want = ", ".join("n" if w is None else str(w) for w in shape)
        raise SpecError(f"{key} must have shape ({want}){origin}; got {m.shape}")
    if not np.all(np.isfinite(m)):
        raise SpecError(f"{key} must be finite")
    _check_magnitude(key, m)
    return m


def _vector(value: Any, name: str, size: int, finite: bool = True, origin: str = "") -> np.ndarray:
    v = _as_float(value, name, f"a list of {size} numbers").reshape(-1)
    if v.size != size:
        raise SpecError(f"{name} must have {size} entries{origin}; got {v.size}")
    if np.any(np.isnan(v)) or (finite and not np.all(np.isfinite(v))):
        raise SpecError(f"{name} must be {'finite' if finite else 'free of NaN'}; got {_short(v.tolist())}")
    _check_magnitude(name, v)
    return v


def _box(data: dict[str, Any], key: str, size: int, origin: str) -> Box:
    section = data.get(key)
    if not isinstance(section, dict) or set(section) != {"low", "high"}:
        raise SpecError(f"{key} must be a mapping with exactly 'low' and 'high'; got {_short(section)}")
    low = _vector(section["low"], f"{key}.low", size, finite=False, origin=origin)
    high = _vector(section["high"], f"{key}.high", size, finite=False, origin=origin)
    if np.any(low >= high):
        raise SpecError(f"{key} is empty: needs low < high in every entry; got low={_short(low.tolist())}, "
                        f"high={_short(high.tolist())}")
    return Box(low, high)


def _psd(name: str, M: np.ndarray, definite: bool) -> None:
    if not np.allclose(M, M.T, atol=1e-12):
        raise SpecError(f"{name} must be symmetric")
    w = np.linalg.eigvalsh(M)
    if w.min() < (1e-12 if definite else -1e-12):
        raise SpecError(f"{name} must be positive {'definite' if definite else 'semidefinite'}; "
                        f"smallest eigenvalue {w.min():.3g}")


def _count(name: str, n: int, limit: str, what: str) -> None:
    if n < 1:
        raise SpecError(f"{name} must have at least one {what}")
    if n > LIMITS[limit]:
        raise SpecError(f"{name} has {n} {what}s; explicit MPC supports at most {LIMITS[limit]}")


def _model_matrices(data: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, str, str]:
    """``A``, ``B`` and the origin notes of ``n_x`` and ``n_u`` for later shape errors."""
    if "A" in data:  # size before content: a huge A is refused before it is converted
        rows = data["A"]
        if isinstance(rows, list) and len(rows) > LIMITS["states"]:
            raise SpecError(f"A has {len(rows)} rows (states); explicit MPC supports at most {LIMITS['states']}")
    A = _matrix(data, "A", (None, None))
    n_x = A.shape[0]
    if A.shape != (n_x, n_x):
        raise SpecError(f"A must be square; got {A.shape}")
    _count("A", n_x, "states", "state")
    x_origin = f" ({n_x} states, from A)"
    B = _matrix(data, "B", (n_x, None), x_origin)
    _count("B", B.shape[1], "inputs", "input column")
    return A, B, x_origin, f" ({B.shape[1]} inputs, from B)"


def _horizon(data: dict[str, Any], n_u: int) -> int:
    horizon = data.get("horizon")
    if not isinstance(horizon, int) or isinstance(horizon, bool) or horizon < 1:
        raise SpecError(f"horizon must be an integer >= 1; got {_short(horizon)}")
    if horizon > LIMITS["horizon"]:
        raise SpecError(f"horizon is {horizon}; explicit MPC supports at most {LIMITS['horizon']}")
    if horizon * n_u > LIMITS["decisions"]:
        raise SpecError(f"horizon * inputs = {horizon * n_u} decision variables; explicit MPC supports at most "
                        f"{LIMITS['decisions']} (shorten horizon)")
    return horizon


def _dt(data: dict[str, Any]) -> float:
    dt = data.get("dt", 1.0)
    number = isinstance(dt, (int, float)) and not isinstance(dt, bool)
    try:
        ok = number and math.isfinite(dt) and dt > 0
    except OverflowError:  # an int past the float range
        ok = False
    if not ok:
        raise SpecError(f"dt must be a positive number of seconds (finite); got {_short(dt)}")
    return float(dt)


def _name(data: dict[str, Any]) -> str:
    name = data.get("name", "explicit_mpc")
    if not isinstance(name, str) or len(name) > LIMITS["name"]:
        raise SpecError(f"name must be a string of at most {LIMITS['name']} characters; got {_short(name)}")
    return name


def _terminal_set(data: dict[str, Any], n_x: int, origin: str) -> tuple[np.ndarray, np.ndarray] | None:
    if "terminal_set" not in data:
        return None
    ts = data["terminal_set"]
    if not isinstance(ts, dict) or set(ts) != {"T", "t"}:
        raise SpecError(f"terminal_set must be a mapping with 'T' and 't'; got {_short(ts)}")
    T = _matrix({"terminal_set.T": ts["T"]}, "terminal_set.T", (None, n_x), origin)
    _count("terminal_set.T", T.shape[0], "constraint_rows", "row")
    return T, _vector(ts["t"], "terminal_set.t", T.shape[0], origin=" (rows of terminal_set.T)")


def _output_constraint(data: dict[str, Any], n_x: int, origin: str) -> tuple[np.ndarray, ...] | None:
    if "output_constraint" not in data:
        return None
    oc = data["output_constraint"]
    if not isinstance(oc, dict) or set(oc) != {"C", "low", "high"}:
        raise SpecError(f"output_constraint must be a mapping with 'C', 'low', 'high'; got {_short(oc)}")
    C = _matrix({"output_constraint.C": oc["C"]}, "output_constraint.C", (None, n_x), origin)
    _count("output_constraint.C", C.shape[0], "constraint_rows", "row")
    rows = " (rows of output_constraint.C)"
    low = _vector(oc["low"], "output_constraint.low", C.shape[0], finite=False, origin=rows)
    high = _vector(oc["high"], "output_constraint.high", C.shape[0], finite=False, origin=rows)
    if np.any(low >= high):
        raise SpecError("output_constraint is empty: needs low < high")
    return C, low, high


def parse_spec(data: Any) -> ExplicitSpec:
    """Validate a spec mapping (as loaded from YAML)."""
    if not isinstance(data, dict):
        raise SpecError(f"the spec must be a mapping; got {type(data).__name__}")
    unknown = sorted(repr(k) if not isinstance(k, str) else k for k in set(data) - FIELDS)
    if unknown:
        raise SpecError(f"unknown field(s) {_short(unknown)}; known: {sorted(FIELDS)}")
    A, B, x_origin, u_origin = _model_matrices(data)
    n_x, n_u = B.shape
    Q = _matrix(data, "Q", (n_x, n_x), x_origin)
    _psd("Q", Q, definite=False)
    R = _matrix(data, "R", (n_u, n_u), u_origin)
    _psd("R", R, definite=True)
    dt = _dt(data)
    horizon = _horizon(data, n_u)
    terminal: Any = data.get("terminal_cost", "riccati")
    if not (isinstance(terminal, str) and terminal == "riccati"):
        terminal = _matrix(data, "terminal_cost", (n_x, n_x), x_origin)
        _psd("terminal_cost", terminal, definite=False)
    state_box = _box(data, "state_bounds", n_x, x_origin)
    input_box = _box(data, "input_bounds", n_u, u_origin)
    if not np.all(np.isfinite(input_box.low)) or not np.all(np.isfinite(input_box.high)):
        raise SpecError("input_bounds must be finite (explicit MPC needs a bounded input set)")
    domain = _box(data, "x0_domain", n_x, x_origin) if "x0_domain" in data else state_box
    if not (np.all(np.isfinite(domain.low)) and np.all(np.isfinite(domain.high))):
        raise SpecError("x0_domain must be finite (give it explicitly if state_bounds are open)")
    terminal_set = _terminal_set(data, n_x, x_origin)
    output = _output_constraint(data, n_x, x_origin)
    x_eq = _vector(data.get("x_eq", np.zeros(n_x)), "x_eq", n_x, origin=x_origin)
    u_eq = _vector(data.get("u_eq", np.zeros(n_u)), "u_eq", n_u, origin=u_origin)
    try:
        model = LinearModel(A=A, B=B, dt=dt, x_eq=x_eq, u_eq=u_eq, state_box=state_box, input_box=input_box)
        config = MPCConfig(horizon=horizon, Q=Q, R=R, terminal_cost=terminal, terminal_set=terminal_set,
                           output_constraint=output)
    except ValueError as exc:
        raise SpecError(str(exc)) from exc
    return ExplicitSpec(name=_name(data), model=model, config=config, domain=domain)


def load_spec(path: str | Path) -> ExplicitSpec:
    """Read and validate a YAML spec file; errors start with the file name."""
    path = Path(path)
    try:
        data = load_yaml(path)  # bounded: size, alias expansion, depth
    except YamlError as exc:
        raise SpecError(str(exc)) from None
    try:
        return parse_spec(data)
    except SpecError as exc:
        raise SpecError(f"{path}: {exc}") from exc
