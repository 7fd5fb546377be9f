"""NavDP shards on disk: one ``.npz`` per world, plain arrays only, checked on load.

A shard is a zip of ``.npy`` arrays (``numpy.load(path, allow_pickle=False)`` reads it) holding
the arrays of :data:`~robocritic.navdp.dataset.SAMPLE_FIELDS` with exactly those dtypes and
shapes, plus ``metadata``: a 1-D uint8 array of UTF-8 JSON::

    {"format": "robocritic.navdp.shard", "version": SHARD_VERSION, "world_seeds": [seed],
     "samples": S, "paths": P, "dims": {"T", "H", "W", "N", "M"},
     "generator": SampleConfig.to_dict()}

Optional further entries (readers ignore them): ``rollout`` marks a shard of the planner's own
closed-loop states (:mod:`robocritic.navdp.rollouts`: the model's SHA-256, the rollout settings
and the episodes' outcomes); its arrays have the same names, dtypes, shapes and meaning.

Writing is deterministic (fixed member order, zip timestamps and compression): the same samples
give the same bytes. A shard is written to a temporary file in the same folder, fsynced and
renamed over its name (:func:`robocritic.utils.atomic.atomic_write`), so an interrupted writer
leaves the old file or the whole new one, never a torn shard. :func:`load_shard` refuses, with
:class:`ShardError` naming the file and the field: a missing or unknown array, a pickled
(object) array, another dtype or shape, non-finite floats, an unknown format or version, or an
unreadable (e.g. truncated) file. Docs: ``docs/navdp.md``.
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from robocritic.navdp.dataset import SAMPLE_FIELDS, SampleConfig, SampleSet
from robocritic.utils.atomic import atomic_write, atomic_write_json

__all__ = [
    "SHARD_FORMAT",
    "SHARD_GLOB",
    "SHARD_VERSION",
    "TRAINING_FIELDS",
    "ShardDataset",
    "ShardError",
    "list_shards",
    "load_shard",
    "prepare_run_folder",
    "read_metadata",
    "save_shard",
    "shard_bytes",
    "shard_name",
]

SHARD_FORMAT = "robocritic.navdp.shard"
SHARD_VERSION = 1
"""Version of the shard layout; bump on any change of names, dtypes, shapes or meaning."""
SHARD_GLOB = "world_*.npz"
#: The arrays a training batch needs (the fields of :class:`~robocritic.navdp.model.NavDPBatch`).
TRAINING_FIELDS = ("depth", "goal", "actions", "critic_actions", "critic_labels")
_METADATA = "metadata"
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_DIMS = ("T", "H", "W", "N", "M")


class ShardError(ValueError):
    """A shard is unreadable, of another format or version, or an array is missing or wrong."""


def prepare_run_folder(out: Path, run_file: str, record: dict[str, Any], stale: re.Pattern[str], what: str,
                       hint: str = "use another --out", section: str | None = None) -> None:
    """Create ``out``, record a writer's settings in ``out/run_file`` (or check them against the
    recorded ones: a ValueError says the folder holds ``what`` and names the differing keys, of
    ``record[section]`` only when ``section`` is given), and remove the temporary files of writers
    killed mid-write (names matching ``stale``)."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / run_file
    if path.is_file():
        try:
            old = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON ({exc}); remove it or use another folder") from exc
        old = old if isinstance(old, dict) else {}
        new = record
        if section is not None:
            old, new = old.get(section, {}), record[section]
            old = old if isinstance(old, dict) else {}
        diff = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        if diff:
            raise ValueError(f"{path}: this folder holds {what} (differing: {diff}); {hint}")
    else:
        atomic_write_json(path, record)
    for name in out.iterdir():
        if stale.match(name.name):
            name.unlink(missing_ok=True)


def shard_name(world_seed: int) -> str:
    """File name of the shard of one world: ``world_000042.npz``."""
    return f"world_{int(world_seed):06d}.npz"


def _metadata(samples: SampleSet, config: SampleConfig, world_seeds: Sequence[int],
              extra: dict[str, Any] | None = None) -> dict[str, Any]:
    dims = {"T": config.history, "H": config.depth.height, "W": config.depth.width, "N": config.n_waypoints,
            "M": config.n_critic}
    meta = {"format": SHARD_FORMAT, "version": SHARD_VERSION, "world_seeds": [int(s) for s in world_seeds],
            "samples": len(samples), "paths": int(samples.n_paths), "dims": dims,
            "generator": config.to_dict()}
    clash = sorted(set(extra or {}) & set(meta))
    if clash:
        raise ValueError(f"extra: metadata keys {clash} are the shard format's own")
    return {**meta, **(extra or {})}


def write_arrays(fh: IO[bytes], arrays: dict[str, np.ndarray]) -> None:
    """``arrays`` as deflated ``NAME.npy`` members in a fixed order with fixed timestamps: the same
    arrays give the same bytes (``np.load`` reads them)."""
    with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
        for name, arr in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            with zf.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.ascontiguousarray(arr), allow_pickle=False)


def shard_bytes(samples: SampleSet, config: SampleConfig, world_seeds: Sequence[int],
                extra: dict[str, Any] | None = None) -> bytes:
    """The bytes of the shard of ``samples`` (made with ``config`` from ``world_seeds``); ``extra``:
    further JSON-safe metadata entries (e.g. ``rollout``, :mod:`robocritic.navdp.rollouts`)."""
    meta = json.dumps(_metadata(samples, config, world_seeds, extra), sort_keys=True).encode()
    arrays = {name: np.asarray(arr, dtype=SAMPLE_FIELDS[name][0]) for name, arr in samples.arrays().items()}
    arrays[_METADATA] = np.frombuffer(meta, dtype=np.uint8)
    buf = io.BytesIO()
    write_arrays(buf, arrays)
    return buf.getvalue()


def save_shard(path: str | os.PathLike[str], samples: SampleSet, config: SampleConfig,
               world_seeds: Sequence[int], extra: dict[str, Any] | None = None) -> Path:
    """Write a shard atomically (module docstring; ``extra`` as in :func:`shard_bytes`). Returns ``path``."""
    data = shard_bytes(samples, config, world_seeds, extra)
    return atomic_write(path, lambda fh: fh.write(data))


def _check_metadata(path: Path, raw: np.ndarray) -> dict[str, Any]:
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise ShardError(f"{path}: field 'metadata': expected 1-D uint8 (UTF-8 JSON), "
                         f"got {raw.dtype} {raw.shape}")
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ShardError(f"{path}: field 'metadata': not UTF-8 JSON ({exc})") from exc
    if not isinstance(meta, dict) or meta.get("format") != SHARD_FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else meta
        raise ShardError(f"{path}: field 'metadata': format {found!r}, expected {SHARD_FORMAT!r}")
    if meta.get("version") != SHARD_VERSION:
        raise ShardError(f"{path}: field 'metadata': version {meta.get('version')!r}; this robocritic reads "
                         f"version {SHARD_VERSION}")
    dims = meta.get("dims")
    if not isinstance(dims, dict) or any(not isinstance(dims.get(d), int) or dims[d] < 1 for d in _DIMS):
        raise ShardError(f"{path}: field 'metadata': dims must give integers >= 1 for {list(_DIMS)}; "
                         f"got {dims!r}")
    for key in ("samples", "paths"):
        if not isinstance(meta.get(key), int) or meta[key] < 0:
            raise ShardError(f"{path}: field 'metadata': {key!r} must be an integer >= 0; "
                             f"got {meta.get(key)!r}")
    if not isinstance(meta.get("generator"), dict) or not isinstance(meta.get("world_seeds"), list):
        raise ShardError(f"{path}: field 'metadata': needs 'generator' (dict) and 'world_seeds' (list)")
    return meta


def open_npz(path: Path, error: type[ValueError] = ShardError, what: str = "shard") -> tuple[Any, list[str]]:
    """An open ``np.load`` archive of plain arrays and its member names; ``error`` (naming
    ``path``) for a missing, unreadable or non-``.npz`` file. ``what`` names the kind of file."""
    try:
        z = np.load(path, allow_pickle=False)
    except FileNotFoundError as exc:
        raise error(f"{path}: missing") from exc
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as exc:
        raise error(f"{path}: not a readable {what} (.npz): {exc}") from exc
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise error(f"{path}: not a {what}: a single .npy array, not an .npz archive")
    return z, list(z.files)


def read_field(path: Path, z: Any, name: str, error: type[ValueError] = ShardError) -> np.ndarray:
    """Member ``name`` of an :func:`open_npz` archive; ``error`` naming the file and the field for
    pickled objects (refused) or a truncated or corrupt member."""
    try:
        return z[name]
    except ValueError as exc:  # object arrays need pickle, which is refused
        if "pickle" in str(exc):
            raise error(f"{path}: field {name!r}: holds pickled objects (refused; only plain arrays are "
                        "read)") from None
        raise error(f"{path}: field {name!r}: unreadable ({exc})") from exc
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise error(f"{path}: field {name!r}: unreadable (truncated or corrupt file): {exc}") from exc


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The checked ``metadata`` of a shard (the arrays are not read)."""
    path = Path(path)
    z, files = open_npz(path)
    with z:
        if _METADATA not in files:
            raise ShardError(f"{path}: field 'metadata' is missing")
        return _check_metadata(path, read_field(path, z, _METADATA))


def load_shard(path: str | os.PathLike[str]) -> tuple[SampleSet, dict[str, Any]]:
    """Read and check a shard (module docstring).

    Returns:
        ``(samples, metadata)``.

    Raises:
        ShardError: naming ``path`` (and the field), for anything that does not match the format.
    """
    path = Path(path)
    z, files = open_npz(path)
    with z:
        expected = [*SAMPLE_FIELDS, _METADATA]
        missing = [k for k in expected if k not in files]
        unknown = sorted(set(files) - set(expected))
        if missing:
            raise ShardError(f"{path}: field {missing[0]!r} is missing (missing: {missing})")
        if unknown:
            raise ShardError(f"{path}: unknown field {unknown[0]!r} (unknown: {unknown})")
        meta = _check_metadata(path, read_field(path, z, _METADATA))
        arrays = {name: read_field(path, z, name) for name in SAMPLE_FIELDS}
    dims = {**meta["dims"], "3": 3}
    s = meta["samples"]
    for name, (dtype, shape) in SAMPLE_FIELDS.items():
        arr = arrays[name]
        want = (s, *(dims[d] for d in shape))
        if arr.dtype != dtype:
            raise ShardError(f"{path}: field {name!r}: dtype {arr.dtype}, expected {dtype}")
        if arr.shape != want:
            raise ShardError(f"{path}: field {name!r}: shape {arr.shape}, expected {want} "
                             f"(S, {', '.join(shape)}) with {meta['dims']}")
        if dtype.kind == "f" and not np.isfinite(arr).all():
            raise ShardError(f"{path}: field {name!r}: holds non-finite values")
    return SampleSet(**arrays, n_paths=meta["paths"]), meta


def list_shards(folder: str | os.PathLike[str]) -> list[Path]:
    """The shards of a folder (``world_*.npz``; temporary files of interrupted writes are not),
    sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ShardError(f"{folder}: not a folder of shards")
    return sorted(folder.glob(SHARD_GLOB))


class ShardDataset:
    """The samples of some shards, held in memory (a map-style dataset: ``len``, ``[i]``, and
    :meth:`batch` for index arrays; works with ``torch.utils.data.DataLoader``).

    Args:
        shards: shard files, or one folder (all its shards).

    Raises:
        ShardError: naming the file, if a shard is bad, or if shards disagree on the generator
            settings or the array sizes (``dims``).

    Attributes:
        paths: the shard files. metadata: each one's metadata. samples: all samples, concatenated.
        shard_of: ``(S,)`` int32, index into ``paths`` of each sample's shard.
    """

    def __init__(self, shards: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> None:
        if isinstance(shards, (str, os.PathLike)) and Path(shards).is_dir():
            paths = list_shards(shards)
        elif isinstance(shards, (str, os.PathLike)):
            paths = [Path(shards)]
        else:
            paths = [Path(p) for p in shards]
        if not paths:
            raise ShardError(f"{shards}: no shards ({SHARD_GLOB})")
        parts, metas = [], []
        for p in paths:
            samples, meta = load_shard(p)
            if metas and (meta["dims"] != metas[0]["dims"] or meta["generator"] != metas[0]["generator"]):
                raise ShardError(f"{p}: field 'metadata': generator settings or dims differ from "
                                 f"{paths[0]}'s")
            parts.append(samples)
            metas.append(meta)
        self.paths, self.metadata = paths, metas
        self.config = SampleConfig.from_dict(metas[0]["generator"])
        self.samples = SampleSet.concat(parts, self.config)
        self.shard_of = np.repeat(np.arange(len(parts), dtype=np.int32), [len(p) for p in parts])

    @property
    def dims(self) -> dict[str, int]:
        """``T, H, W, N, M`` of the samples."""
        return dict(self.metadata[0]["dims"])

    @property
    def n_paths(self) -> int:
        """Expert paths (trajectories) the samples come from."""
        return int(self.samples.n_paths)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        return {name: getattr(self.samples, name)[index] for name in TRAINING_FIELDS}

    def batch(self, indices: np.ndarray, fields: Sequence[str] = TRAINING_FIELDS) -> dict[str, np.ndarray]:
        """Arrays of ``fields`` at ``indices`` ``(B,)``, each ``(B, ...)``."""
        idx = np.asarray(indices, dtype=np.int64)
        return {name: getattr(self.samples, name)[idx] for name in fields}
