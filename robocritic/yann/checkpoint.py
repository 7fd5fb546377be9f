"""Safe checkpoints: weights-only tensors, JSON sidecars, atomic writes, resumable runs.

Nothing here pickles Python objects. Tensors (state dicts, optimiser states, RNG states) go
through ``torch.save`` and are read back with ``torch.load(..., weights_only=True)``, which
refuses arbitrary pickled objects; everything else is JSON (config, counters, metrics, numpy RNG
state) or a plain ``.npz`` read with ``allow_pickle=False`` (replay buffer).

Every file is written to a temporary name in its final folder, flushed, fsync'ed and renamed
over the target with ``os.replace`` (atomic on POSIX), so a crash leaves either the old file or
the new one, never half of one. A resumable checkpoint is a folder ``ep_000012/`` holding
``state.pt``, ``meta.json`` (with SHA-256 digests of the other files) and optionally
``replay.npz``; it is assembled under a temporary name and renamed into place, then the pointer
``latest.json`` is replaced. A reader follows the pointer and checks the digests.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import torch

from robocritic.utils.atomic import atomic_write, atomic_write_json, fsync_dir, umask  # noqa: F401 -- re-exported

__all__ = [
    "CHECKPOINT_FORMAT",
    "Checkpoint",
    "CheckpointError",
    "CheckpointStore",
    "atomic_write",
    "atomic_write_json",
    "load_weights",
    "read_json",
    "save_weights",
]

CHECKPOINT_FORMAT = 1
"""Version of the checkpoint layout; bump on any change."""


class CheckpointError(ValueError):
    """A checkpoint is missing, corrupt, of another format, or not weights-only."""


def read_json(path: str | os.PathLike[str]) -> Any:
    """Read a JSON file; :class:`CheckpointError` naming the file if it is missing or invalid."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise CheckpointError(f"{path}: missing") from exc
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path}: not valid JSON: {exc}") from exc


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
            f"{path}: refused: not a weights-only checkpoint (pickled objects are not loaded): {exc}"
        ) from exc
    except (RuntimeError, EOFError, OSError) as exc:
        raise CheckpointError(f"{path}: unreadable checkpoint: {exc}") from exc
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: expected a dict of state dicts; got {type(state).__name__}")
    return state


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class Checkpoint:
    """A loaded resumable checkpoint.

    Attributes:
        path: its folder. episode: training episodes completed when it was written.
        state: the tensors (``state.pt``). meta: the JSON sidecar.
        replay_path: ``replay.npz`` if the checkpoint has one, else ``None``.
    """

    path: Path
    episode: int
    state: dict[str, Any]
    meta: dict[str, Any]
    replay_path: Path | None


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
    def _name(episode: int) -> str:
        return f"ep_{episode:06d}"

    def save(
        self,
        episode: int,
        state: dict[str, Any],
        meta: dict[str, Any],
        replay: Callable[[IO[bytes]], None] | None = None,
    ) -> Path:
        """Write checkpoint ``episode``: ``state`` (tensors) to ``state.pt``, ``meta`` (JSON) plus
        format, episode and digests to ``meta.json``, and ``replay(fh)`` to ``replay.npz``.

        Returns:
            The checkpoint folder.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        name = self._name(episode)
        tmp = Path(tempfile.mkdtemp(dir=self.directory, prefix=f".{name}.", suffix=".tmp"))
        try:
            os.chmod(tmp, 0o777 & ~umask())  # mkdtemp makes 0700 folders
            save_weights(tmp / "state.pt", state)
            files = {"state.pt": _sha256(tmp / "state.pt")}
            if replay is not None:
                atomic_write(tmp / "replay.npz", replay)
                files["replay.npz"] = _sha256(tmp / "replay.npz")
            atomic_write_json(
                tmp / "meta.json",
                {**meta, "format": CHECKPOINT_FORMAT, "episode": int(episode), "files": files},
            )
            final = self.directory / name
            if final.exists():  # re-written after resuming from an older checkpoint
                trash = Path(tempfile.mkdtemp(dir=self.directory, prefix=f".{name}.", suffix=".old"))
                os.replace(final, trash / name)
                shutil.rmtree(trash)
            os.replace(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        fsync_dir(self.directory)
        atomic_write_json(self.directory / self.POINTER, {"checkpoint": name, "episode": int(episode)})
        self._prune(keep_name=name)
        return final

    def _prune(self, keep_name: str) -> None:
        done = sorted(p for p in self.directory.glob("ep_*") if p.is_dir())
        for old in done[: max(0, len(done) - self.keep)]:
            if old.name != keep_name:
                shutil.rmtree(old, ignore_errors=True)

    def latest(self) -> Path | None:
        """Folder of the newest complete checkpoint (via ``latest.json``), or ``None``."""
        pointer = self.directory / self.POINTER
        if not pointer.is_file():
            return None
        name = read_json(pointer).get("checkpoint")
        path = self.directory / str(name)
        if not path.is_dir():
            raise CheckpointError(f"{pointer}: points to {path}, which does not exist")
        return path

    def load(self, path: str | os.PathLike[str] | None = None) -> Checkpoint:
        """Load ``path`` (default: :meth:`latest`), verifying format and file digests.

        Raises:
            CheckpointError: no checkpoint, another format, a digest mismatch (corrupt or
                mixed files), or a ``state.pt`` that is not weights-only.
        """
        folder = Path(path) if path is not None else self.latest()
        if folder is None:
            raise CheckpointError(f"{self.directory}: no checkpoint ({self.POINTER} missing)")
        meta = read_json(folder / "meta.json")
        if meta.get("format") != CHECKPOINT_FORMAT:
            raise CheckpointError(
                f"{folder}: checkpoint format {meta.get('format')!r}; "
                f"this robocritic reads {CHECKPOINT_FORMAT}"
            )
        for fname, digest in meta.get("files", {}).items():
            if not (folder / fname).is_file():
                raise CheckpointError(f"{folder / fname}: missing (listed in meta.json)")
            if _sha256(folder / fname) != digest:
                raise CheckpointError(
                    f"{folder / fname}: SHA-256 differs from meta.json (corrupt or replaced file)"
                )
        state = load_weights(folder / "state.pt")
        replay = folder / "replay.npz" if "replay.npz" in meta.get("files", {}) else None
        return Checkpoint(
            path=folder, episode=int(meta["episode"]), state=state, meta=meta, replay_path=replay
        )
