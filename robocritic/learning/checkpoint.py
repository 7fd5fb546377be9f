"""Safe, resumable checkpoints: weights-only tensors, JSON sidecars, atomic writes, digests.

Nothing here pickles Python objects. Tensors (state dicts, optimiser states, RNG states) go
through ``torch.save`` and are read back with ``torch.load(..., weights_only=True)``, which
refuses arbitrary pickled objects; everything else is JSON (config, counters, metrics, numpy RNG
state) or a plain ``.npz`` read with ``allow_pickle=False`` (replay buffer). Files are written
with :mod:`robocritic.utils.atomic` (a crash leaves the old file or the new one, never half).

A checkpoint is indexed by a STEP: whatever unit of progress its trainer counts (training
episodes for DDPG, iterations for a supervised learner). It is a folder ``step_000000012/``
holding ``state.pt``, ``meta.json`` (with the step, SHA-256 digests of the other files and, from
format 3 on, ``meta_sha256``: the digest of its own content) and optionally ``replay.npz``; it is
assembled under a temporary name and renamed into place, then the pointer ``latest.json`` is
replaced. A reader follows the pointer and checks the digests, so a changed byte in any file of a
format-3 checkpoint is refused (formats 1 and 2 have no digest of ``meta.json``).

Safety rules of the store (one writer per store):

* Temporaries. A save assembles its folder as ``.step_000000012.<pid>.<random>.tmp``; replaced and
  pruned checkpoints are first renamed to ``.<name>.<pid>.<random>.del`` (one atomic step: a
  checkpoint folder is whole or gone, never half-deleted under its own name) and then deleted. An
  interrupted save or delete leaves such a temporary behind; the next save removes every one that
  is provably ours -- its name has that pattern (or the pid-less ``.tmp`` / ``.old`` names of
  earlier versions, or ``.latest.json.<random>.tmp`` of an interrupted pointer write) -- unless it
  belongs to a save in progress in this process or to another process still alive on this host.
  Readers never delete anything (a monitor may read beside the writer).
* Pointers. ``latest.json`` must name a checkpoint folder of this store (``step_NNNNNNNNN`` or
  ``ep_NNNNNN``, no path) with its step, and neither it nor the folder nor the files listed in
  ``meta.json`` may resolve outside the store (a symlink out is refused): a pointer elsewhere
  raises :class:`CheckpointError` naming the pointer file.
* Contents. A missing, truncated or bit-flipped file, a malformed ``meta.json`` or pointer, and a
  state dict that does not fit its network (:func:`load_module_state`,
  :func:`load_optimizer_state`: a missing or extra key, another shape or dtype) raise
  :class:`CheckpointError` naming the file and the key. There is no silent fallback to an older
  checkpoint: a damaged newest checkpoint is reported, never skipped.

Checkpoints of format 1 (folders ``ep_000012/``, ``"episode"`` in meta.json and pointer, written
by robocritic before the checkpoint store counted steps) are read as they are: their episode is
the step. A resumed run writes its next checkpoints in the current format next to them.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import torch
from torch import Tensor

from robocritic.utils.atomic import atomic_write, atomic_write_json, fsync_dir, umask

__all__ = [
    "CHECKPOINT_FORMAT",
    "Checkpoint",
    "CheckpointError",
    "CheckpointStore",
    "check_module_state",
    "check_rng_state",
    "file_sha256",
    "fitted_module",
    "load_module_state",
    "load_optimizer_state",
    "load_weights",
    "read_json",
    "require",
    "save_weights",
]

CHECKPOINT_FORMAT = 3
"""Version of the checkpoint layout; bump on any change (and keep reading the older ones).
3: ``meta.json`` holds ``meta_sha256`` (required); 2: steps; 1: episodes."""

# format -> (folder name pattern, meta.json / pointer key of the index)
_LAYOUTS = {1: ("ep_{:06d}", "episode"), 2: ("step_{:09d}", "step"), 3: ("step_{:09d}", "step")}
_META_DIGEST = "meta_sha256"
_FOLDER = re.compile(r"^(ep|step)_(\d+)$")
# What a save leaves behind when interrupted (module docstring): a checkpoint's temporary or trash
# folder (pid since this version; pid-less before) and an atomic_write temporary of the pointer.
_TEMPORARY = re.compile(r"^\.(?:ep|step)_\d+\.(?:(\d+)\.)?[a-z0-9_]+\.(?:tmp|old|del)$")
_POINTER_TEMPORARY = re.compile(r"^\.latest\.json\.[a-z0-9_]+\.tmp$")
# The files a checkpoint folder may list in meta.json (anything else is refused, not followed).
_FILES = ("state.pt", "replay.npz")
# Temporaries this process is writing right now (never removed as stale).
_IN_FLIGHT: set[Path] = set()
# Longest list of names quoted in an error (a message must not grow with the input).
_FEW = 6


class CheckpointError(ValueError):
    """A checkpoint is missing, corrupt, of an unknown format, or not weights-only."""


def read_json(path: str | os.PathLike[str]) -> Any:
    """Read a JSON file; :class:`CheckpointError` naming the file if it is missing or invalid."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise CheckpointError(f"{path}: missing") from exc
    except OSError as exc:
        raise CheckpointError(f"{path}: unreadable: {exc.strerror or exc}") from exc
    # ValueError covers bad JSON, bytes that are not UTF-8 and integers too long to convert;
    # RecursionError, arrays nested too deep to parse.
    except (ValueError, RecursionError) as exc:
        raise CheckpointError(f"{path}: not valid JSON: {str(exc)[:200]}") from exc


def save_weights(path: str | os.PathLike[str], state: dict[str, Any]) -> Path:
    """``torch.save`` a dict of tensors / state dicts / plain values atomically."""
    return atomic_write(path, lambda fh: torch.save(state, fh))


def load_weights(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``torch.load(path, weights_only=True, map_location="cpu")``.

    Raises:
        CheckpointError: the file is missing, or holds anything but tensors and plain containers
            (a pickled object is refused, never executed).
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: missing")
    try:
        state = torch.load(path, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as exc:
        raise CheckpointError(
            f"{path}: refused: not a weights-only checkpoint (pickled objects are not loaded): "
            f"{str(exc)[:300]}"
        ) from exc
    except MemoryError:
        raise
    except Exception as exc:  # a truncated or bit-flipped archive can fail anywhere in the reader
        raise CheckpointError(f"{path}: unreadable checkpoint: {type(exc).__name__}: {str(exc)[:300]}") from exc
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: expected a dict of state dicts; got {type(state).__name__}")
    return state


def _few(names: Iterable[Any]) -> str:
    """Up to :data:`_FEW` names, then how many more (keeps an error short)."""
    items = sorted(repr(n) for n in names)
    more = f" and {len(items) - _FEW} more" if len(items) > _FEW else ""
    return f"[{', '.join(items[:_FEW])}]{more}"


def require(mapping: Any, key: str, path: str | os.PathLike[str], kind: type | tuple[type, ...] = object) -> Any:
    """``mapping[key]`` of a loaded file; :class:`CheckpointError` naming ``path`` and ``key`` when
    ``mapping`` is no mapping, the key is missing, or its value is not a ``kind`` (a ``bool`` is no
    ``int`` here: JSON ``true`` is not a count)."""
    if not isinstance(mapping, Mapping):
        raise CheckpointError(f"{path}: expected a mapping holding '{key}'; got {type(mapping).__name__}")
    if key not in mapping:
        raise CheckpointError(f"{path}: missing key '{key}'")
    value = mapping[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds and int in kinds):
        names = "/".join(k.__name__ for k in kinds)
        raise CheckpointError(f"{path}: '{key}' must be {names}; got {type(value).__name__}")
    return value


def _check_state_dict(expected: Mapping[str, Tensor], got: Any, path: Path, key: str) -> None:
    """Same names, and for each a tensor of the same shape and dtype (load_state_dict would
    silently cast another dtype and report a shape only as a long RuntimeError)."""
    if not isinstance(got, Mapping):
        raise CheckpointError(f"{path}: '{key}' must be a state dict (names to tensors); got {type(got).__name__}")
    missing, extra = set(expected) - set(got), set(got) - set(expected)
    if missing or extra:
        raise CheckpointError(f"{path}: '{key}' does not fit the network: missing {_few(missing)}, "
                              f"unexpected {_few(extra)}")
    for name, want in expected.items():
        have = got[name]
        if not isinstance(have, Tensor):
            raise CheckpointError(f"{path}: '{key}.{name}' must be a tensor; got {type(have).__name__}")
        if have.shape != want.shape or have.dtype != want.dtype:
            raise CheckpointError(f"{path}: '{key}.{name}' is {have.dtype} {tuple(have.shape)}; the network "
                                  f"expects {want.dtype} {tuple(want.shape)}")


def check_module_state(module: torch.nn.Module, state: Any, path: str | os.PathLike[str], key: str) -> None:
    """Check, without loading, that ``state`` (entry ``key`` of ``path``) has exactly ``module``'s
    names, shapes and dtypes (for a module loaded through its owner's own method).

    Raises:
        CheckpointError: as :func:`load_module_state`.
    """
    _check_state_dict(module.state_dict(), state, Path(path), key)


def load_module_state(module: torch.nn.Module, state: Any, path: str | os.PathLike[str], key: str) -> None:
    """``module.load_state_dict(state, strict=True)`` after checking that ``state`` (the entry
    ``key`` of the file ``path``) has exactly the module's names, shapes and dtypes.

    Raises:
        CheckpointError: naming ``path``, ``key`` and the first name, shape or dtype that differs.
    """
    path = Path(path)
    _check_state_dict(module.state_dict(), state, path, key)
    try:
        module.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError, ValueError) as exc:  # what the checks above cannot foresee
        raise CheckpointError(f"{path}: '{key}' does not fit the network: {str(exc)[:300]}") from exc


def fitted_module(build: Callable[[], torch.nn.Module], state: Any, path: str | os.PathLike[str],
                  key: str) -> torch.nn.Module:
    """``build()`` holding ``state`` (entry ``key`` of ``path``). The module is first built on the
    meta device (shapes only, no memory) and checked against ``state``, so a recorded architecture
    that does not fit its weights -- even one far too large to allocate -- is refused before any
    memory is spent on it.

    Raises:
        CheckpointError: as :func:`load_module_state`.
    """
    with torch.device("meta"):
        shape_only = build()
    _check_state_dict(shape_only.state_dict(), state, Path(path), key)
    module = build()
    load_module_state(module, state, path, key)
    return module


def _param_map(optimizer: torch.optim.Optimizer, groups: Any, path: Path, key: str) -> dict[int, Tensor]:
    """The saved parameter ids of ``groups`` mapped to the optimiser's parameters (same layout)."""
    mine = optimizer.param_groups
    if not isinstance(groups, list) or len(groups) != len(mine):
        size = len(groups) if isinstance(groups, list) else type(groups).__name__
        raise CheckpointError(f"{path}: '{key}.param_groups': {size} groups; the optimiser has {len(mine)}")
    ids: dict[int, Tensor] = {}
    for i, (saved, group) in enumerate(zip(groups, mine, strict=True)):
        params = saved.get("params") if isinstance(saved, Mapping) else None
        if not isinstance(params, list) or not all(type(p) is int for p in params):
            raise CheckpointError(f"{path}: '{key}.param_groups[{i}].params' must be a list of parameter ids")
        if len(params) != len(group["params"]):
            raise CheckpointError(f"{path}: '{key}.param_groups[{i}]' has {len(params)} parameters; "
                                  f"the optimiser has {len(group['params'])}")
        ids.update(zip(params, group["params"], strict=True))
    return ids


def load_optimizer_state(optimizer: torch.optim.Optimizer, state: Any, path: str | os.PathLike[str],
                         key: str) -> None:
    """``optimizer.load_state_dict(state)`` after checking its layout: as many groups and
    parameters as the optimiser, and each per-parameter tensor (Adam's moments, a momentum buffer)
    of its parameter's shape -- a wrong one would only fail at the next step, mid-training.

    Raises:
        CheckpointError: naming ``path``, ``key`` and what differs.
    """
    path = Path(path)
    saved = require(state, "state", f"{path}: '{key}'", Mapping)
    ids = _param_map(optimizer, require(state, "param_groups", f"{path}: '{key}'", list), path, key)
    for pid, entry in saved.items():
        if pid not in ids or not isinstance(entry, Mapping):
            raise CheckpointError(f"{path}: '{key}.state' has an entry for unknown parameter {pid!r:.40}")
        for name, value in entry.items():
            if isinstance(value, Tensor) and value.ndim > 0 and value.shape != ids[pid].shape:
                raise CheckpointError(f"{path}: '{key}.state[{pid}].{name}' has shape {tuple(value.shape)}; "
                                      f"its parameter has {tuple(ids[pid].shape)}")
    try:
        optimizer.load_state_dict(state)
    except (RuntimeError, TypeError, ValueError, KeyError) as exc:  # what the checks cannot foresee
        raise CheckpointError(f"{path}: '{key}' does not fit the optimiser: {str(exc)[:300]}") from exc


def check_rng_state(state: Any, path: str | os.PathLike[str], key: str) -> Tensor:
    """The CPU generator state ``key`` of ``path`` if it has the shape and dtype of
    ``torch.get_rng_state()`` (``torch.set_rng_state`` fails obscurely, or not at all, otherwise).

    Raises:
        CheckpointError: naming ``path`` and ``key``.
    """
    want = torch.get_rng_state()
    if not isinstance(state, Tensor) or state.dtype != want.dtype or state.shape != want.shape:
        got = f"{state.dtype} {tuple(state.shape)}" if isinstance(state, Tensor) else type(state).__name__
        raise CheckpointError(f"{path}: '{key}' must be a torch RNG state ({want.dtype} {tuple(want.shape)}); "
                              f"got {got}")
    return state


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 hex digest of a file (read in chunks)."""
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _meta_digest(meta: dict[str, Any]) -> str:
    """SHA-256 of ``meta`` (without :data:`_META_DIGEST`) as canonical JSON: the same for the dict
    written and the dict read back (keys and tuples as JSON has them, sorted)."""
    plain = json.loads(json.dumps({k: v for k, v in meta.items() if k != _META_DIGEST}, allow_nan=False))
    return hashlib.sha256(json.dumps(plain, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _index(folder: Path) -> int | None:
    """The step in a checkpoint folder's name (either layout), ``None`` for other names."""
    match = _FOLDER.match(folder.name)
    return int(match.group(2)) if match else None


def _inside(path: Path, directory: Path) -> bool:
    """``path`` resolves (symlinks followed) to an entry directly or deeper inside ``directory``."""
    try:
        return path.resolve().is_relative_to(directory.resolve())
    except (OSError, RuntimeError):  # a symlink loop
        return False


def _complete(folder: Path) -> bool:
    """A checkpoint folder with its ``meta.json`` and ``state.pt`` (a folder of an interrupted
    delete of an earlier version may lack either)."""
    return folder.is_dir() and (folder / "meta.json").is_file() and (folder / "state.pt").is_file()


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this host (unknown: assumed alive, so nothing is removed)."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # no such process (or no such pid at all)
        return False
    except OSError:  # no permission to signal it: it exists
        return True
    return True


def _stale(entry: Path) -> bool:
    """A leftover of an interrupted save, prune or pointer write (module docstring)."""
    if _POINTER_TEMPORARY.match(entry.name):
        return entry.is_file() and not entry.is_symlink()
    match = _TEMPORARY.match(entry.name)
    if match is None or entry.is_symlink() or not entry.is_dir() or entry in _IN_FLIGHT:
        return False
    pid = int(match.group(1)) if match.group(1) else None
    return pid is None or pid == os.getpid() or not _alive(pid)


def _int_value(value: Any, where: str, what: str) -> int:
    """A JSON count: an ``int`` (not ``bool``) >= 0; :class:`CheckpointError` naming ``where``."""
    if type(value) is not int or value < 0:
        raise CheckpointError(f"{where}: '{what}' must be an integer >= 0; got {value!r:.60}")
    return value


@dataclass(frozen=True)
class Checkpoint:
    """A loaded resumable checkpoint.

    Attributes:
        path: its folder. step: the trainer's progress counter when it was written.
        state: the tensors (``state.pt``). meta: the JSON sidecar.
        replay_path: ``replay.npz`` if the checkpoint has one, else ``None``.
    """

    path: Path
    step: int
    state: dict[str, Any]
    meta: dict[str, Any]
    replay_path: Path | None

    def entry(self, key: str, kind: type | tuple[type, ...] = object) -> Any:
        """``state[key]``; :class:`CheckpointError` naming ``state.pt`` if missing or not a ``kind``."""
        return require(self.state, key, self.path / "state.pt", kind)

    def meta_entry(self, key: str, kind: type | tuple[type, ...] = object) -> Any:
        """``meta[key]``; :class:`CheckpointError` naming ``meta.json`` if missing or not a ``kind``."""
        return require(self.meta, key, self.path / "meta.json", kind)


class CheckpointStore:
    """Resumable checkpoints of one run in ``directory`` (module docstring).

    Args:
        directory: folder of the checkpoints (created on the first save).
        keep: newest checkpoints kept; older ones are deleted after a successful save.
    """

    POINTER = "latest.json"

    def __init__(self, directory: str | os.PathLike[str], keep: int = 2) -> None:
        if keep < 1:
            raise ValueError(f"keep must be >= 1; got {keep}")
        self.directory = Path(directory)
        self.keep = int(keep)

    @staticmethod
    def name(step: int, checkpoint_format: int = CHECKPOINT_FORMAT) -> str:
        """Folder name of checkpoint ``step`` in a layout (default: the current one)."""
        return _LAYOUTS[checkpoint_format][0].format(int(step))

    def _reserve(self, name: str, kind: str) -> Path:
        """A new empty folder ``.{name}.{pid}.{random}.{kind}`` (a temporary of this process)."""
        return Path(tempfile.mkdtemp(dir=self.directory, prefix=f".{name}.{os.getpid()}.", suffix=f".{kind}"))

    def _discard(self, folder: Path) -> None:
        """Rename ``folder`` to a trash name, then delete it: the rename is atomic, so an
        interruption leaves the checkpoint whole or a trash folder (removed by the next save),
        never a half-deleted folder under a checkpoint name."""
        if folder.is_symlink() or not folder.is_dir():  # not a folder of ours: only the name goes
            folder.unlink()
            return
        trash = self._reserve(folder.name, "del")
        os.replace(folder, trash)  # onto the empty reserved folder
        shutil.rmtree(trash, ignore_errors=True)

    def remove_stale(self) -> list[str]:
        """Remove the leftovers of interrupted saves and deletes (module docstring); returns their
        names. Called by :meth:`save`; a failure to remove one is left for the next save."""
        if not self.directory.is_dir():
            return []
        removed = []
        for entry in sorted(self.directory.iterdir()):
            if not _stale(entry):
                continue
            try:
                if entry.is_dir():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
            except OSError:
                continue
            removed.append(entry.name)
        return removed

    def save(
        self,
        step: int,
        state: dict[str, Any],
        meta: dict[str, Any],
        replay: Callable[[IO[bytes]], None] | None = None,
    ) -> Path:
        """Write checkpoint ``step``: ``state`` (tensors) to ``state.pt``, ``meta`` (JSON) plus
        format, step and digests to ``meta.json``, and ``replay(fh)`` to ``replay.npz``.

        A checkpoint of the same step already there (in either layout: written before a resume
        from an older one) is replaced. Leftovers of interrupted saves are removed first
        (:meth:`remove_stale`).

        Returns:
            The checkpoint folder.
        """
        if step < 0:
            raise ValueError(f"step must be >= 0; got {step}")
        self.directory.mkdir(parents=True, exist_ok=True)
        self.remove_stale()
        name = self.name(step)
        tmp = self._reserve(name, "tmp")
        _IN_FLIGHT.add(tmp)
        try:
            final = self._assemble(tmp, name, step, state, meta, replay)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        finally:
            _IN_FLIGHT.discard(tmp)
        fsync_dir(self.directory)
        atomic_write_json(self.directory / self.POINTER, {"checkpoint": name, "step": int(step)})
        self._prune(keep_name=name)
        return final

    def _assemble(self, tmp: Path, name: str, step: int, state: dict[str, Any], meta: dict[str, Any],
                  replay: Callable[[IO[bytes]], None] | None) -> Path:
        """Write the files into ``tmp``, then rename it to ``name`` (replacing that step's folder)."""
        os.chmod(tmp, 0o777 & ~umask())  # mkdtemp makes 0700 folders
        save_weights(tmp / "state.pt", state)
        files = {"state.pt": file_sha256(tmp / "state.pt")}
        if replay is not None:
            atomic_write(tmp / "replay.npz", replay)
            files["replay.npz"] = file_sha256(tmp / "replay.npz")
        record = {**meta, "format": CHECKPOINT_FORMAT, "step": int(step), "files": files}
        atomic_write_json(tmp / "meta.json", {**record, _META_DIGEST: _meta_digest(record)})
        for stale_name in sorted({self.name(step, layout) for layout in _LAYOUTS}):
            stale = self.directory / stale_name
            if stale.exists() or stale.is_symlink():
                self._discard(stale)
        final = self.directory / name
        os.replace(tmp, final)
        return final

    def folders(self) -> list[Path]:
        """Complete checkpoint folders (both layouts, with ``meta.json`` and ``state.pt``, not
        symlinks), oldest step first."""
        return [p for p in self._named() if _complete(p) and not p.is_symlink()]

    def _named(self) -> list[Path]:
        """Entries with a checkpoint folder's name, oldest step first."""
        if not self.directory.is_dir():
            return []
        found = [(i, p.name, p) for p in self.directory.iterdir() if (i := _index(p)) is not None]
        return [p for _, _, p in sorted(found)]

    def _prune(self, keep_name: str) -> None:
        """Discard all but the :attr:`keep` newest complete checkpoints (never ``keep_name``), and
        the incomplete folders older than the oldest kept one (an interrupted delete of an
        earlier version)."""
        done = self.folders()
        old = [p for p in done[: max(0, len(done) - self.keep)] if p.name != keep_name]
        kept = [p for p in done if p not in old]
        oldest = _index(kept[0]) if kept else None
        broken = [p for p in self._named() if not p.is_symlink() and p.is_dir() and not _complete(p)
                  and oldest is not None and (_index(p) or 0) < oldest]
        for folder in old + broken:
            try:
                self._discard(folder)
            except OSError:  # left for a later prune; the save itself succeeded
                continue

    def latest(self) -> Path | None:
        """Folder of the newest complete checkpoint (via ``latest.json``), or ``None``.

        Raises:
            CheckpointError: naming ``latest.json``, when it is not a valid pointer (module
                docstring), points outside the store or to a folder that does not exist.
        """
        pointer = self.directory / self.POINTER
        if not pointer.is_file() and not pointer.is_symlink():
            return None
        if not _inside(pointer, self.directory):
            raise CheckpointError(f"{pointer}: a symlink out of {self.directory}; refused")
        data = read_json(pointer)
        if not isinstance(data, dict):
            raise CheckpointError(f"{pointer}: expected a JSON object; got {type(data).__name__}")
        name = data.get("checkpoint")
        if not isinstance(name, str) or not _FOLDER.match(name):
            raise CheckpointError(f"{pointer}: 'checkpoint' must name a checkpoint folder of this store "
                                  f"(step_NNNNNNNNN or ep_NNNNNN, no path); got {name!r:.80}")
        path = self.directory / name
        if not path.is_dir():
            raise CheckpointError(f"{pointer}: points to {path}, which does not exist")
        if not _inside(path, self.directory):
            raise CheckpointError(f"{pointer}: points to {path}, a symlink out of {self.directory}; refused")
        key = "episode" if name.startswith("ep_") else "step"
        if _int_value(data.get(key), str(pointer), key) != _index(path):
            raise CheckpointError(f"{pointer}: '{key}' {data[key]} differs from the folder {name}")
        return path

    def load(self, path: str | os.PathLike[str] | None = None) -> Checkpoint:
        """Load ``path`` (default: :meth:`latest`), verifying format and file digests.

        Raises:
            CheckpointError: naming the file: no checkpoint, an unknown format, a malformed
                ``meta.json``, a digest mismatch (corrupt or mixed files), a listed file outside
                the folder, or a ``state.pt`` that is not weights-only.
        """
        folder = Path(path) if path is not None else self.latest()
        if folder is None:
            raise CheckpointError(f"{self.directory}: no checkpoint ({self.POINTER} missing)")
        meta_path = folder / "meta.json"
        meta = read_json(meta_path)
        if not isinstance(meta, dict):
            raise CheckpointError(f"{meta_path}: expected a JSON object; got {type(meta).__name__}")
        step = self._meta_step(folder, meta)
        self._check_meta_digest(meta_path, meta)
        files = self._check_files(folder, meta)
        state = load_weights(folder / "state.pt")
        replay = folder / "replay.npz" if "replay.npz" in files else None
        return Checkpoint(path=folder, step=step, state=state, meta=meta, replay_path=replay)

    @staticmethod
    def _meta_step(folder: Path, meta: dict[str, Any]) -> int:
        """The format's index key of ``meta.json``, checked against the folder's name."""
        fmt = meta.get("format")
        layout = _LAYOUTS.get(fmt) if type(fmt) is int else None
        if layout is None:
            raise CheckpointError(f"{folder / 'meta.json'}: checkpoint format {fmt!r:.60}; "
                                  f"this robocritic reads {sorted(_LAYOUTS)}")
        key = layout[1]
        if key not in meta:
            raise CheckpointError(f"{folder / 'meta.json'}: no '{key}' (format {fmt})")
        step = _int_value(meta[key], str(folder / "meta.json"), key)
        named = _index(folder)
        if named is not None and named != step:
            raise CheckpointError(f"{folder / 'meta.json'}: '{key}' {step} differs from the folder name {folder.name}")
        return step

    @staticmethod
    def _check_meta_digest(meta_path: Path, meta: dict[str, Any]) -> None:
        """From format 3 on, ``meta.json`` must match its own digest (which is then dropped from
        ``meta``: callers see what was saved). Format 2 has none, but one present is checked (a
        format 3 whose number was changed); format 1 is never checked (a hand conversion of a
        newer checkpoint keeps the key)."""
        digest = meta.pop(_META_DIGEST, None)
        if meta["format"] == 1 or (meta["format"] == 2 and digest is None):
            return
        if not isinstance(digest, str):
            raise CheckpointError(f"{meta_path}: no '{_META_DIGEST}' (required from format 3 on)")
        try:
            actual = _meta_digest(meta)
        except (ValueError, RecursionError) as exc:  # NaN / inf, which the writer never writes
            raise CheckpointError(f"{meta_path}: not plain JSON: {str(exc)[:100]}") from exc
        if actual != digest:
            raise CheckpointError(f"{meta_path}: '{_META_DIGEST}' differs from the contents (corrupt or edited file)")

    @staticmethod
    def _check_files(folder: Path, meta: dict[str, Any]) -> dict[str, str]:
        """The listed files (``state.pt`` required), each inside ``folder`` with its digest."""
        where = folder / "meta.json"
        files = require(meta, "files", where, dict)
        unknown = [f for f in files if f not in _FILES]
        if unknown:  # a name with a path in it would be followed out of the folder
            raise CheckpointError(f"{where}: 'files' may list only {list(_FILES)}; got {_few(unknown)}")
        if not all(isinstance(d, str) for d in files.values()):
            raise CheckpointError(f"{where}: 'files' must map each file to its SHA-256 digest (a string)")
        if "state.pt" not in files:
            raise CheckpointError(f"{where}: 'files' does not list state.pt")
        for fname, digest in files.items():
            file = folder / fname
            if not file.is_file():
                raise CheckpointError(f"{file}: missing (listed in meta.json)")
            if not _inside(file, folder):
                raise CheckpointError(f"{file}: a symlink out of {folder}; refused")
            if file_sha256(file) != digest:
                raise CheckpointError(f"{file}: SHA-256 differs from meta.json (corrupt or replaced file)")
        return files
