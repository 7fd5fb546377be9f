"""Explicit MPC: a stored piecewise-affine law and the controller that evaluates it.

An explicit MPC law is the solution of the MPC's multi-parametric QP in the parameter
``x = x0 - x_eq`` (deviation units)::

    u0(x) = K_i x + r_i    for x in CR_i = {x : E_i x <= f_i},   i = 0..p-1

continuous across shared facets. :class:`ExplicitLaw` is that solution as a small versioned
artefact: one ``.npz`` of plain arrays (metadata as a JSON string) with a SHA-256 digest per field,
so a controller or a ROS node loads it without pickle, without PPOPT, with every size bounded
before reading and every value checked (:meth:`ExplicitLaw.load`,
:mod:`~robocritic.utils.npz_archive`). :mod:`robocritic.yann.mpqp` computes it.

:class:`ExplicitMPC` evaluates the law (``Controller``: ``reset``/``act``) by vectorised point
location in "gather form" (every region padded to the same number of facet rows, so one dense
max-then-argmin covers all regions at once): with every facet row normalised to
``||e_ij|| = 1``, the signed margin of region ``i`` is ``g_i(x) = max_j (e_ij x - f_ij)``
(``<= 0`` inside, and for a point outside it a lower bound on its Euclidean distance to the
region), the region used is ``argmin_i g_i(x)`` and ``margin(x) = min_i g_i(x)`` is the signed
infeasibility margin: ``<= feasibility_tol`` means the MPC QP is feasible at ``x``.

Fallback outside the feasible set (``margin > feasibility_tol``), never a silent zero: apply the
law of the *nearest region by margin* (the same argmin, extrapolated), then clip to the input
box. Near the feasible set this is the continuous extension of the MPC law; far from it the
affine law saturates at an input bound. Every such call sets :attr:`ExplicitMPC.last_infeasible`,
counts in :attr:`ExplicitMPC.n_infeasible` and logs a warning at the onset of a run of them.

Speed: :meth:`ExplicitMPC.evaluate` is vectorised numpy (cache-sized chunks). At batch 1 numpy's
per-call overhead over a dozen small array operations dominates, so where
`numba <https://numba.pydata.org>`_ is installed (it comes with the ``explicit`` extra, as PPOPT's
point location uses it) :meth:`ExplicitMPC.act` runs the same full scan -- every region's margin,
``argmin`` with the lowest index winning ties, law, clip -- as one compiled call (BENCHMARKS.md,
section explicit_eval, times both paths against PPOPT's compiled point location). It is compiled
once per process when the first controller is built (or loaded from numba's on-disk cache where a
cache folder is writable), never inside ``act``, so a control loop never waits for the compiler;
``ROBOCRITIC_NUMBA=0`` in the environment turns it off. Both paths compute the same quantities;
they may differ in the last bit of the margin (summation order), never in the rule.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from robocritic.utils.npz_archive import MAX_LAW_BYTES, field_digest, read_npz, write_npz

from robocritic.utils.atomic import atomic_write
from robocritic.utils.fields import check_real, is_int
from robocritic.utils.validation import as_array, as_vector, readonly_array

__all__ = ["FORMAT_VERSION", "LEGACY_VERSIONS", "ExplicitEvaluation", "ExplicitLaw", "ExplicitMPC",
           "UncheckedArtefactWarning"]

logger = logging.getLogger(__name__)

FORMAT_VERSION = 2
"""Version of the ``.npz`` layout written by :meth:`ExplicitLaw.save`; bump on any change.
Version 2 added the ``digest`` member; version 1 (no digest) is still read, with a warning."""

LEGACY_VERSIONS = (1,)
"""Older layouts :meth:`ExplicitLaw.load` still reads: they carry no digest, so they load unchecked
and with an :class:`UncheckedArtefactWarning`; ``ExplicitLaw.load(p).save(p)`` adds one."""


class UncheckedArtefactWarning(UserWarning):
    """A law artefact was loaded without an integrity check (a format written before the digest)."""


# float64 arrays of the artefact, in file order, with their shapes in the law's sizes: n_x states,
# n_u inputs, p regions, q facet rows in all, d domain rows.
_SHAPES = {
    "E": ("q", "n_x"), "f": ("q",), "K": ("p", "n_u", "n_x"), "r": ("p", "n_u"),
    "domain_A": ("d", "n_x"), "domain_b": ("d",), "domain_low": ("n_x",), "domain_high": ("n_x",),
    "x_eq": ("n_x",), "u_eq": ("n_u",), "u_low": ("n_u",), "u_high": ("n_u",),
}
# The field each size is read from; every other field is checked against it.
_SIZE_FROM = {"n_x": "x_eq", "n_u": "u_eq", "p": "region_ptr", "q": "f", "d": "domain_A"}
_FLOAT_FIELDS = tuple(_SHAPES)
_ALL_FIELDS = (
    "format_version", *_FLOAT_FIELDS, "region_ptr", "dt", "state_names", "input_names", "metadata",
)


@dataclass(frozen=True, eq=False)  # eq on arrays is ambiguous; compare fields explicitly
class ExplicitLaw:
    """A piecewise-affine explicit MPC law over polyhedral regions (deviation units throughout).

    Region ``i`` owns the rows ``E[region_ptr[i]:region_ptr[i+1]]`` (and the same slice of ``f``)
    and the law ``u0 = K[i] x + r[i]`` with ``x = state - x_eq``, ``u0 = input - u_eq``.
    Arrays are validated on creation (shapes, finiteness, consistency); an error names the field.

    Attributes:
        E: ``(q, n_x)`` stacked region facets (``q`` rows in total, any row scaling).
        f: ``(q,)`` right-hand sides: region ``i`` is ``{x : E_i x <= f_i}``.
        region_ptr: ``(p + 1,)`` int64 row offsets, ``0 = ptr[0] < ptr[1] < ... < ptr[p] = q``.
        K: ``(p, n_u, n_x)`` feedback gains of the first input.
        r: ``(p, n_u)`` offsets of the first input.
        domain_A, domain_b: ``(d, n_x)``, ``(d,)``: the parameter domain ``{x : A x <= b}`` the
            mpQP was solved on (the regions cover its feasible part).
        domain_low, domain_high: ``(n_x,)`` a finite box containing the domain (big-M bounds).
        x_eq: ``(n_x,)`` operating state; u_eq: ``(n_u,)`` operating input (absolute units).
        u_low, u_high: ``(n_u,)`` input box in deviation units (the fallback clips to it).
        dt: sample time, seconds.
        state_names, input_names: optional names (empty, or one per state / input).
        metadata: JSON-serialisable facts about the law (horizon, Q, R, source, ...).
        format_version: layout version (:data:`FORMAT_VERSION`).
    """

    E: np.ndarray
    f: np.ndarray
    region_ptr: np.ndarray
    K: np.ndarray
    r: np.ndarray
    domain_A: np.ndarray
    domain_b: np.ndarray
    domain_low: np.ndarray
    domain_high: np.ndarray
    x_eq: np.ndarray
    u_eq: np.ndarray
    u_low: np.ndarray
    u_high: np.ndarray
    dt: float
    state_names: tuple[str, ...] = ()
    input_names: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        set_ = functools.partial(object.__setattr__, self)  # frozen dataclass
        fv = self.format_version
        if not is_int(fv) or fv != FORMAT_VERSION:
            raise ValueError(
                f"ExplicitLaw.format_version must be {FORMAT_VERSION} (this robocritic's layout); got {fv!r}"
            )
        set_("format_version", int(fv))

        # The float fields as finite float64 arrays of the right number of axes; sizes come next.
        a = {name: as_array(f"ExplicitLaw.{name}", getattr(self, name), len(dims))
             for name, dims in _SHAPES.items()}
        ptr = np.asarray(self.region_ptr)
        if ptr.dtype.kind not in "iu" or ptr.ndim != 1 or ptr.size < 2:
            raise ValueError(
                "ExplicitLaw.region_ptr must be a 1-D integer array of p + 1 >= 2 offsets; got dtype "
                f"{ptr.dtype}, shape {ptr.shape}"
            )
        ptr = ptr.astype(np.int64)
        size = {"n_x": a["x_eq"].size, "n_u": a["u_eq"].size, "p": ptr.size - 1, "q": a["f"].size,
                "d": a["domain_A"].shape[0]}
        if 0 in (size["n_x"], size["n_u"], size["q"]):
            raise ValueError(
                "ExplicitLaw needs at least one state (x_eq), input (u_eq) and facet row (f); "
                f"got {size['n_x']}, {size['n_u']}, {size['q']}"
            )
        if size["d"] == 0:
            raise ValueError("ExplicitLaw.domain_A must have at least one row (a bounded domain)")
        for name, dims in _SHAPES.items():
            shape = tuple(size[dim] for dim in dims)
            if a[name].shape != shape:
                # Say where each size came from, so a wrong defining field is still named.
                what = ", ".join(dims) + ("," if len(dims) == 1 else "")
                source = ", ".join(f"{dim} from {_SIZE_FROM[dim]}" for dim in dims if _SIZE_FROM[dim] != name)
                raise ValueError(
                    f"ExplicitLaw.{name} must have shape ({what}) [{source}] = {shape}; got {a[name].shape}"
                )
        if ptr[0] != 0 or ptr[-1] != size["q"] or np.any(np.diff(ptr) < 1):
            raise ValueError(
                f"ExplicitLaw.region_ptr must rise strictly from 0 to q={size['q']} (>= 1 row per region); "
                f"got {ptr.tolist()}"
            )
        zero_rows = np.flatnonzero(np.linalg.norm(a["E"], axis=1) == 0.0)
        if zero_rows.size:
            raise ValueError(f"ExplicitLaw.E has all-zero rows {zero_rows.tolist()}")
        for low, high in (("domain_low", "domain_high"), ("u_low", "u_high")):
            if np.any(a[low] > a[high]):
                raise ValueError(f"ExplicitLaw.{low} must be <= {high}; got {a[low]} and {a[high]}")

        check_real("ExplicitLaw", "dt", self.dt, low=0.0, low_open=True)
        set_("dt", float(self.dt))
        for name, n in (("state_names", size["n_x"]), ("input_names", size["n_u"])):
            names = getattr(self, name)
            if isinstance(names, str) or not all(isinstance(s, str) for s in names):
                raise ValueError(f"ExplicitLaw.{name} must be a sequence of strings; got {names!r}")
            names = tuple(names)
            if len(names) not in (0, n):
                raise ValueError(f"ExplicitLaw.{name} must be empty or have {n} entries; got {len(names)}")
            set_(name, names)

        if not isinstance(self.metadata, Mapping):
            raise ValueError(f"ExplicitLaw.metadata must be a mapping; got {type(self.metadata).__name__}")
        try:
            set_("metadata", json.loads(json.dumps(dict(self.metadata), allow_nan=False)))
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"ExplicitLaw.metadata must be JSON-serialisable (finite numbers): {exc}"
            ) from exc

        for name, value in a.items():
            set_(name, readonly_array(value))
        set_("region_ptr", readonly_array(ptr, np.int64))

    # -- sizes -------------------------------------------------------------------------------

    @property
    def n_regions(self) -> int:
        """Number of critical regions ``p``."""
        return int(self.K.shape[0])

    @property
    def n_x(self) -> int:
        return int(self.K.shape[2])

    @property
    def n_u(self) -> int:
        return int(self.K.shape[1])

    @property
    def n_rows(self) -> int:
        """Total number of facet rows ``q`` over all regions."""
        return int(self.E.shape[0])

    def region(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """``(E_i, f_i)`` of region ``i``: ``(q_i, n_x)`` and ``(q_i,)``."""
        if not 0 <= i < self.n_regions:
            raise IndexError(f"region index {i} out of range [0, {self.n_regions})")
        s = slice(int(self.region_ptr[i]), int(self.region_ptr[i + 1]))
        return self.E[s], self.f[s]

    # -- derived forms -----------------------------------------------------------------------

    def normalized(self) -> tuple[np.ndarray, np.ndarray]:
        """``(E, f)`` with every row scaled to ``||e_j|| = 1``: margins become distances.

        Returns:
            ``(q, n_x)`` and ``(q,)`` float64 copies; region ``i`` is unchanged as a set.
        """
        norms = np.linalg.norm(self.E, axis=1)
        return self.E / norms[:, None], self.f / norms

    def padded(self) -> tuple[np.ndarray, np.ndarray]:
        """Normalised facets padded to ``q_max = max_i q_i`` rows per region (gather form).

        Padding repeats a region's first row, which leaves ``max_j (e_ij x - f_ij)`` unchanged,
        so a dense ``(p, q_max)`` max-then-argmin is exact without masks.

        Returns:
            ``E_pad (p, q_max, n_x)`` and ``f_pad (p, q_max)``.
        """
        En, fn = self.normalized()
        ptr = self.region_ptr
        counts = np.diff(ptr)
        q_max = int(counts.max())
        # Row index for each (region, slot): own rows first, then the region's first row again.
        slot = np.arange(q_max)[None, :]
        idx = np.where(slot < counts[:, None], ptr[:-1, None] + slot, ptr[:-1, None])
        return En[idx], fn[idx]

    def law_bounds(self) -> np.ndarray:
        """``(p, n_u)`` upper bound of ``|K_ik x + r_ik|`` over the domain box.

        With box centre ``c`` and half-width ``h`` the supremum of an affine function over the box
        is ``|K c + r| + |K| h`` (attained at a vertex), the tight big-M of a YANN.
        """
        c = 0.5 * (self.domain_low + self.domain_high)
        h = 0.5 * (self.domain_high - self.domain_low)
        return np.abs(self.K @ c + self.r) + np.abs(self.K) @ h

    # -- artefact I/O ------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the law to one ``.npz`` atomically (temporary file in the same folder, fsync,
        ``os.replace``), so a reader never sees a half-written artefact.

        Only plain numeric / unicode arrays are written (readable with ``allow_pickle=False``);
        metadata goes in as a JSON string, and ``digest`` holds the SHA-256 of every other field
        (:func:`~robocritic.utils.npz_archive.field_digest`), checked by :meth:`load`. The
        bytes depend on the law only (fixed zip timestamps), so equal laws give equal files.
        Returns the path written.
        """
        path = Path(path)
        arrays = self._arrays()
        digests = {name: field_digest(a) for name, a in arrays.items()}
        arrays["digest"] = np.array(json.dumps({"sha256": digests}, sort_keys=True), dtype=np.str_)
        atomic_write(path, lambda fh: write_npz(fh, arrays))
        return path

    def _arrays(self) -> dict[str, np.ndarray]:
        """Every field as the plain array :meth:`save` writes, in :data:`_ALL_FIELDS` order."""
        arrays: dict[str, np.ndarray] = {"format_version": np.array(self.format_version, dtype=np.int64)}
        arrays.update({name: getattr(self, name) for name in _FLOAT_FIELDS})
        arrays["region_ptr"] = self.region_ptr
        arrays["dt"] = np.array(self.dt, dtype=np.float64)
        # An explicit dtype keeps an empty name list a unicode (not object) array.
        arrays["state_names"] = np.array(self.state_names, dtype=np.str_)
        arrays["input_names"] = np.array(self.input_names, dtype=np.str_)
        arrays["metadata"] = np.array(json.dumps(self.metadata, sort_keys=True), dtype=np.str_)
        return arrays

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, max_bytes: int = MAX_LAW_BYTES) -> ExplicitLaw:
        """Read an artefact written by :meth:`save`; never unpickles, never calls ``np.load``.

        Reading is bounded (:mod:`~robocritic.utils.npz_archive`): the file, each field's
        declared uncompressed size and their total are held to ``max_bytes`` before anything is
        inflated, and each array's declared shape to the bytes it has. Every field's SHA-256 is
        checked against the stored ``digest``, so an edited value is refused, not used. A
        format-1 artefact (written before the digest) loads unchecked with an
        :class:`UncheckedArtefactWarning`.

        Raises:
            ValueError: not an ``.npz`` of plain arrays, truncated or corrupted, over the size
                bound, a missing field, a field holding a pickled object array, a digest mismatch,
                an unsupported ``format_version``, or a field of the wrong shape / dtype / value;
                the message names the file and the field.
        """
        path = Path(path)
        raw = read_npz(path, (*_ALL_FIELDS, "digest"), max_bytes=max_bytes)
        missing = [name for name in _ALL_FIELDS if name not in raw]
        if missing:
            raise ValueError(f"{path}: field(s) {missing} missing from the explicit-law artefact")
        version = _scalar(path, raw, "format_version", "iu")
        if version == FORMAT_VERSION:
            _check_digest(path, raw)
        elif version in LEGACY_VERSIONS:
            warnings.warn(f"{path}: explicit-law artefact of format {version} has no integrity digest and was "
                          "loaded unchecked; re-save it (ExplicitLaw.load(p).save(p)) to add one",
                          UncheckedArtefactWarning, stacklevel=2)
        else:
            raise ValueError(f"{path}: field 'format_version' is {version}; this robocritic reads version "
                             f"{FORMAT_VERSION} (and {', '.join(map(str, LEGACY_VERSIONS))} without a digest)")
        try:
            return cls(**_fields(path, raw), format_version=FORMAT_VERSION)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from exc

    @classmethod
    def from_regions(
        cls,
        regions: Sequence[tuple[np.ndarray, np.ndarray]],
        K: np.ndarray,
        r: np.ndarray,
        **kwargs: Any,
    ) -> ExplicitLaw:
        """Build from per-region ``(E_i (q_i, n_x), f_i (q_i,))`` pairs plus ``K (p, n_u, n_x)``,
        ``r (p, n_u)``; the other fields as keyword arguments of the constructor."""
        if len(regions) == 0:
            raise ValueError("ExplicitLaw.from_regions needs at least one region")
        Es = [np.atleast_2d(np.asarray(E, dtype=np.float64)) for E, _ in regions]
        fs = [np.asarray(f, dtype=np.float64).reshape(-1) for _, f in regions]
        ptr = np.concatenate([[0], np.cumsum([E.shape[0] for E in Es])]).astype(np.int64)
        return cls(E=np.vstack(Es), f=np.concatenate(fs), region_ptr=ptr, K=K, r=r, **kwargs)

# -- artefact fields --------------------------------------------------------------------------------


def _scalar(path: Path, raw: Mapping[str, np.ndarray], name: str, kinds: str) -> Any:
    a = raw[name]
    if a.shape != () or a.dtype.kind not in kinds:
        raise ValueError(f"{path}: field '{name}' must be a scalar of kind {kinds!r}; got {a.dtype} {a.shape}")
    return a.item()


def _check_digest(path: Path, raw: Mapping[str, np.ndarray]) -> None:
    """Every field's SHA-256 must equal the one stored at save time (an edit or corruption the zip
    CRC does not catch, e.g. a rewritten member, is refused and the field named)."""
    if "digest" not in raw:
        raise ValueError(f"{path}: field 'digest' missing (format {FORMAT_VERSION} artefacts carry one)")
    try:
        stored = json.loads(_scalar(path, raw, "digest", "U"))["sha256"]
        expected = {name: stored[name] for name in _ALL_FIELDS}
    except (json.JSONDecodeError, RecursionError, TypeError, KeyError) as exc:
        raise ValueError(f"{path}: field 'digest' is not a JSON object with a 'sha256' entry per field") from exc
    for name in _ALL_FIELDS:
        if expected[name] != field_digest(raw[name]):
            raise ValueError(f"{path}: field '{name}' does not match its SHA-256 in 'digest': the artefact was "
                             "modified or corrupted after it was saved")


def _fields(path: Path, raw: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """The constructor's keyword arguments (but ``format_version``) from the raw fields, with
    the dtype checks that need the file's own types."""
    for name in _FLOAT_FIELDS:
        if raw[name].dtype.kind not in "fiu":
            raise ValueError(f"{path}: field '{name}' must be numeric; got dtype {raw[name].dtype}")
    for name in ("state_names", "input_names"):
        if raw[name].dtype.kind != "U" or raw[name].ndim != 1:
            raise ValueError(f"{path}: field '{name}' must be a 1-D string array; "
                             f"got {raw[name].dtype} {raw[name].shape}")
    try:
        metadata = json.loads(_scalar(path, raw, "metadata", "U"))
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"{path}: field 'metadata' is not valid JSON (or nested too deeply): {exc}") from exc
    if not isinstance(metadata, dict):
        raise ValueError(f"{path}: field 'metadata' must hold a JSON object")
    return {
        **{name: raw[name] for name in _FLOAT_FIELDS},
        "region_ptr": raw["region_ptr"],
        "dt": _scalar(path, raw, "dt", "f"),
        "state_names": tuple(str(s) for s in raw["state_names"]),
        "input_names": tuple(str(s) for s in raw["input_names"]),
        "metadata": metadata,
    }


# -- compiled batch-1 path ------------------------------------------------------------------------


def _act_kernel(
    x: np.ndarray, packed: np.ndarray, u: np.ndarray, work: np.ndarray, p: int, q_max: int
) -> tuple[int, float]:  # pragma: no cover - runs compiled (numba); the numpy path is the reference
    """One explicit-MPC step (the computation of :meth:`ExplicitMPC.act`), for numba.

    ``packed`` holds, contiguous: ``x_eq (n_x) | Et (n_x, m) | -f (m) | [K | r] (p, n_u, n_x + 1) |
    u_eq (n_u) | u_low (n_u) | u_high (n_u)`` with ``m = q_max p`` padded facet columns in
    slot-major order (column ``j p + i`` is slot ``j`` of region ``i``, as ``ExplicitMPC._Et``).
    Writes the absolute input into ``u``; returns ``(region, margin)``, or ``(-1, nan)`` if ``x``
    is not finite. ``work`` is scratch of ``n_x + m`` elements. The loops are written so LLVM
    vectorises the facet products and the per-slot maxima.
    """
    n_x = x.shape[0]
    n_u = u.shape[0]
    for k in range(n_x):
        if not np.isfinite(x[k]):
            return -1, np.nan
    m = p * q_max
    o = 0
    x_eq = packed[o : o + n_x]
    o += n_x
    Et = packed[o : o + n_x * m]
    o += n_x * m
    nf = packed[o : o + m]
    o += m
    L = packed[o : o + p * n_u * (n_x + 1)]
    o += p * n_u * (n_x + 1)
    u_eq = packed[o : o + n_u]
    u_low = packed[o + n_u : o + 2 * n_u]
    u_high = packed[o + 2 * n_u : o + 3 * n_u]
    dx = work[:n_x]
    S = work[n_x : n_x + m]
    for k in range(n_x):
        dx[k] = x[k] - x_eq[k]
    for c in range(m):
        S[c] = nf[c]
    for k in range(n_x):
        d = dx[k]
        row = Et[k * m : (k + 1) * m]
        for c in range(m):
            S[c] += row[c] * d
    # g_i = max over region i's slots, accumulated in slot 0's block.
    g = S[:p]
    for j in range(1, q_max):
        Sj = S[j * p : (j + 1) * p]
        for i in range(p):
            if Sj[i] > g[i]:
                g[i] = Sj[i]
    best_i = 0
    best = g[0]
    for i in range(1, p):
        if g[i] < best:  # strict: the lowest index wins a tie, as np.argmin
            best = g[i]
            best_i = i
    base = best_i * n_u * (n_x + 1)
    for a in range(n_u):
        row0 = base + a * (n_x + 1)
        s = 0.0
        for k in range(n_x):
            s += L[row0 + k] * dx[k]
        v = u_eq[a] + (s + L[row0 + n_x])
        if not np.isfinite(v):  # K x overflowed (inf - inf = NaN): see _scaled_law
            scale = 0.0
            for k in range(n_x):
                scale = max(scale, abs(dx[k]))
            s = 0.0
            for k in range(n_x):
                s += L[row0 + k] * (dx[k] / scale)
            v = u_eq[a] + (s * scale + L[row0 + n_x])
        u[a] = min(max(v, u_low[a]), u_high[a])
    return best_i, best


def _scaled_law(K: np.ndarray, dx: np.ndarray) -> np.ndarray:
    """``K @ dx`` without NaN: ``(K @ (dx / s)) * s``, ``s = max |dx|`` along the last axis.

    For a finite state near the float range ``K dx`` overflows, and opposite-signed terms give
    inf - inf = NaN, which the clip would pass to the actuator. Scaled, the product is finite or
    +-inf in the right direction, and the clip saturates it. ``K``: ``(..., n_u, n_x)``,
    ``dx``: ``(..., n_x)``.
    """
    s = np.max(np.abs(dx), axis=-1, keepdims=True)
    s = np.where(s > 0.0, s, 1.0)
    with np.errstate(over="ignore"):
        return np.einsum("...un,...n->...u", K, dx / s) * s


_KERNEL_STATE: dict[str, Any] = {}


def _compiled_act_kernel() -> Any:
    """The numba-compiled :func:`_act_kernel`, built once per process; ``None`` without numba or
    with ``ROBOCRITIC_NUMBA=0`` (then ``act`` uses numpy)."""
    if "kernel" in _KERNEL_STATE:
        return _KERNEL_STATE["kernel"]
    kernel = None
    if os.environ.get("ROBOCRITIC_NUMBA", "1").strip().lower() not in ("0", "false", "no", "off"):
        try:
            import numba
        except ImportError:
            numba = None
        if numba is not None:
            # One explicit signature: compiled eagerly (or loaded from numba's cache) right here,
            # and a call with other array types fails instead of compiling inside a control loop.
            sig = ("Tuple((int64, float64))"
                   "(float64[::1], float64[::1], float64[::1], float64[::1], int64, int64)")
            for cache in (True, False):
                try:
                    kernel = numba.njit(sig, cache=cache, nogil=True)(_act_kernel)
                    break
                except Exception as exc:  # no writable cache folder, or a numba/LLVM problem
                    logger.debug("numba kernel for ExplicitMPC.act (cache=%s) failed: %s", cache, exc)
    _KERNEL_STATE["kernel"] = kernel
    return kernel


@dataclass(frozen=True, eq=False)
class ExplicitEvaluation:
    """Result of :meth:`ExplicitMPC.evaluate` on a batch of ``B`` states.

    Attributes:
        u: ``(B, n_u)`` inputs, absolute units, within the input box (fallback applied where
            infeasible).
        feasible: ``(B,)`` bool, ``margin <= feasibility_tol`` (the MPC QP has a solution).
        region: ``(B,)`` int64 region whose law was applied (the nearest one where infeasible).
        margin: ``(B,)`` signed infeasibility margin in deviation-state units: ``<= 0`` inside the
            feasible set, else a lower bound on the distance to the nearest region.
    """

    u: np.ndarray
    feasible: np.ndarray
    region: np.ndarray
    margin: np.ndarray


class ExplicitMPC:
    """Explicit MPC controller (``Controller``): point location plus an affine law, no solver.

    Args:
        law: the :class:`ExplicitLaw` (e.g. ``ExplicitLaw.load(path)``).
        feasibility_tol: margin (deviation-state units, ``>= 0``) up to which a state counts as
            feasible; absorbs the rounding of the mpQP solution at shared and outer facets.

    Attributes:
        law: the law evaluated.
        last_infeasible: whether the latest :meth:`act` used the fallback.
        last_margin, last_region: margin and region of the latest :meth:`act`.
        n_calls, n_infeasible: ``act`` calls and fallbacks since construction (statistics; kept by
            :meth:`reset`).
    """

    # Work-array elements per chunk in evaluate(): ~0.5 MB stays in cache and avoids the page
    # faults of a fresh multi-MB array per call (measured 2-4x faster at batch 4096).
    _CHUNK_ELEMS = 1 << 16
    # The gather form pads every region to the largest one's row count: one huge region among
    # many small ones (a degenerate or crafted artefact) would need p * q_max * n_x floats.
    _MAX_GATHER_BYTES = 1 << 30

    def __init__(self, law: ExplicitLaw, *, feasibility_tol: float = 1e-8) -> None:
        if not isinstance(law, ExplicitLaw):
            raise ValueError(f"law must be an ExplicitLaw; got {type(law).__name__}")
        check_real("ExplicitMPC", "feasibility_tol", feasibility_tol, low=0.0)
        q_max = int(np.diff(law.region_ptr).max())
        gather = law.n_regions * q_max * (law.n_x + 1) * 8
        if gather > self._MAX_GATHER_BYTES:
            raise ValueError(
                f"law: its padded facet table ({law.n_regions} regions x {q_max} rows, the largest region's) "
                f"would need {gather} bytes, over {self._MAX_GATHER_BYTES}; the law is too unbalanced to evaluate"
            )
        self.law = law
        self.feasibility_tol = float(feasibility_tol)
        # Padded facets in slot-major order: row (j, i) is slot j of region i, so the per-region
        # max is an elementwise np.maximum over q_max contiguous (B, p) slices -- several times
        # faster than np.maximum.reduceat over ragged segments.
        E_pad, f_pad = law.padded()
        self._p, self._q_max = E_pad.shape[0], E_pad.shape[1]
        self._Et = np.ascontiguousarray(E_pad.transpose(1, 0, 2).reshape(-1, law.n_x).T)  # (n_x, q_max p)
        self._f = np.ascontiguousarray(f_pad.T.reshape(-1))  # (q_max p,)
        self._K, self._r = law.K, law.r
        self._x_eq, self._u_eq = law.x_eq, law.u_eq
        self._u_low = law.u_eq + law.u_low
        self._u_high = law.u_eq + law.u_high
        self._x_shape = (law.n_x,)
        # Compiled batch-1 path (module docstring): the law packed into one array, a scratch
        # buffer, and a smoke call so a broken numba install falls back to numpy here, not in act.
        L = np.concatenate([law.K, law.r[:, :, None]], axis=2)
        self._packed = np.ascontiguousarray(np.concatenate([
            self._x_eq, self._Et.ravel(), -self._f, L.ravel(), self._u_eq, self._u_low, self._u_high,
        ]))
        self._work = np.empty(law.n_x + self._Et.shape[1])
        self._kernel = _compiled_act_kernel()
        if self._kernel is not None:
            try:
                i, _ = self._kernel(self._x_eq.copy(), self._packed, np.empty(law.n_u), self._work,
                                    self._p, self._q_max)
                if not 0 <= i < self._p:
                    raise RuntimeError(f"region {i} out of range")
            except Exception as exc:  # pragma: no cover - depends on the numba install
                logger.warning("ExplicitMPC: compiled act path disabled (%s); using numpy", exc)
                self._kernel = None
        self.last_infeasible = False
        self.last_margin = float("nan")
        self.last_region = -1
        self.n_calls = 0
        self.n_infeasible = 0

    def __getstate__(self) -> dict[str, Any]:
        # The compiled kernel is a per-process object: pickle whether it was in use, not it.
        state = self.__dict__.copy()
        state["_kernel"] = state.get("_kernel") is not None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        use_kernel = state.pop("_kernel", False)
        self.__dict__.update(state)
        self._kernel = _compiled_act_kernel() if use_kernel else None

    def reset(self) -> None:
        """Clear the per-episode flags (the law is stateless; counters are kept)."""
        self.last_infeasible = False
        self.last_margin = float("nan")
        self.last_region = -1

    def locate(self, dx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Point location in deviation units.

        Args:
            dx: ``(B, n_x)`` deviation states ``x - x_eq``, or one state ``(n_x,)``.

        Returns:
            ``region`` (``argmin_i g_i``, int64) and ``margin`` (``min_i g_i``), with
            ``g_i(x) = max_j (e_ij x - f_ij)`` over region ``i``'s normalised rows: ``(B,)`` arrays,
            or numpy scalars for one state.
        """
        S = dx @ self._Et
        S -= self._f
        if dx.ndim == 1:  # one state (act's numpy path): one reduction over the slots costs least
            g = S.reshape(self._q_max, self._p).max(axis=0)
            i = g.argmin()
            return i, g[i]
        # A batch: q_max elementwise maxima of (B, p) slices, several times faster than a reduction
        # over the middle axis when p is small.
        S = S.reshape(dx.shape[0], self._q_max, self._p)
        g = S[:, 0].copy()
        for j in range(1, self._q_max):
            np.maximum(g, S[:, j], out=g)
        region = g.argmin(axis=1)
        return region, np.take_along_axis(g, region[:, None], axis=1)[:, 0]

    def evaluate(self, states: np.ndarray) -> ExplicitEvaluation:
        """Evaluate the law on a batch without touching the controller's flags or counters.

        Args:
            states: ``(B, n_x)`` absolute states (a single ``(n_x,)`` state is read as ``B = 1``).

        Raises:
            ValueError: wrong shape or non-finite entries.
        """
        X = np.asarray(states, dtype=np.float64)
        if X.ndim == 1:
            X = X[None, :]
        n_x = self.law.n_x
        if X.ndim != 2 or X.shape[1] != n_x:
            raise ValueError(f"states must have shape (B, {n_x}); got {np.shape(states)}")
        if not np.all(np.isfinite(X)):
            raise ValueError("states must be finite; got NaN or inf")
        B = X.shape[0]
        dX = X - self._x_eq
        region = np.empty(B, dtype=np.int64)
        margin = np.empty(B)
        chunk = max(1, self._CHUNK_ELEMS // (self._p * self._q_max))
        for s in range(0, B, chunk):
            region[s : s + chunk], margin[s : s + chunk] = self.locate(dX[s : s + chunk])
        K = self._K[region]
        with np.errstate(over="ignore", invalid="ignore"):
            u = np.einsum("bun,bn->bu", K, dX)
        bad = ~np.all(np.isfinite(u), axis=1)
        if bad.any():
            u[bad] = _scaled_law(K[bad], dX[bad])
        u = np.clip(self._u_eq + u + self._r[region], self._u_low, self._u_high)
        return ExplicitEvaluation(u=u, feasible=margin <= self.feasibility_tol, region=region, margin=margin)

    def feasible(self, x: np.ndarray) -> bool:
        """Whether the MPC QP is feasible at absolute state ``x`` ``(n_x,)`` (law's regions)."""
        x = np.array(as_vector("x", x, self.law.n_x))  # own, contiguous, writable copy
        if self._kernel is not None:
            u = np.empty(self.law.n_u)
            _, margin = self._kernel(x, self._packed, u, self._work, self._p, self._q_max)
            return bool(margin <= self.feasibility_tol)
        _, margin = self.locate(x - self._x_eq)
        return bool(margin <= self.feasibility_tol)

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Explicit MPC input ``(n_u,)`` (absolute units) at the absolute state ``obs`` ``(n_x,)``.

        Outside the feasible set the nearest region's law is applied and clipped (see the module
        docstring); :attr:`last_infeasible` says so.

        Raises:
            ValueError: ``obs`` has the wrong shape or holds NaN/inf.
        """
        kernel = self._kernel
        if kernel is not None:
            # Lean path: one copy (own, C-contiguous, writable: the kernel's one signature), the
            # shape check, then one compiled call that also refuses NaN/inf.
            try:
                x = np.array(obs, dtype=np.float64)
            except (TypeError, ValueError):
                x = None
            if x is None or x.shape != self._x_shape:
                x = np.array(as_vector("obs", obs, self.law.n_x))  # accepted shapes, or the error
            u = np.empty(self._u_eq.shape[0])
            i, margin = kernel(x, self._packed, u, self._work, self._p, self._q_max)
            if i < 0:
                as_vector("obs", x, self.law.n_x)  # raises, naming the non-finite entries
                raise ValueError("obs must be finite")  # pragma: no cover - as_vector raised
        else:
            x = as_vector("obs", obs, self.law.n_x)
            dx = x - self._x_eq
            region, margin = self.locate(dx)
            i, margin = int(region), float(margin)
            with np.errstate(over="ignore", invalid="ignore"):
                Kx = self._K[i] @ dx
            if not np.all(np.isfinite(Kx)):
                Kx = _scaled_law(self._K[i], dx)
            u = self._u_eq + (Kx + self._r[i])
            u = np.minimum(np.maximum(u, self._u_low), self._u_high)
        self.n_calls += 1
        infeasible = margin > self.feasibility_tol
        if infeasible:
            self.n_infeasible += 1
            # Warn at the onset of a run of infeasible states only: a 1 kHz loop stuck outside the
            # feasible set must not flood the log, but the transition must be visible.
            level = logging.DEBUG if self.last_infeasible else logging.WARNING
            logger.log(
                level, "ExplicitMPC: state %s outside the feasible set (margin %.3g); applied the "
                "clipped law of the nearest region %d", x.tolist(), margin, i,
            )
        self.last_infeasible = infeasible
        self.last_margin = margin
        self.last_region = i
        return u
