"""Safe, resumable checkpoints: weights-only tensors, JSON sidecars, atomic writes, digests.

Nothing here pickles Python objects. Tensors (state dicts, optimiser states, RNG states) go
through ``torch.save`` and are read back with ``torch.load(..., weights_only=True)``, which
refuses arbitrary pickled objects; everything else is JSON (config, counters, metrics, numpy RNG
state) or a plain ``.npz`` read with ``allow_pickle=False`` (replay buffer). Files are written
with :mod:`robocritic.utils.atomic` (a crash leaves the old file or the new one, never half).

A checkpoint is indexed by a STEP: whatever unit of progress its trainer counts (training
episodes for DDPG, iterations for a supervised learner). It is a folder ``step_000000012/``
holding ``state.pt``, ``meta.json`` (with the step and SHA-256 digests of the other files) and
optionally ``replay.npz``; it is assembled under a temporary name and renamed into place, then
the pointer ``latest.json`` is replaced. A reader follows the pointer and checks the digests.

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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import torch

from robocritic.utils.atomic import atomic_write, atomic_write_json, fsync_dir, umask

__all__ = [
    "CHECKPOINT_FORMAT",
    "Checkpoint",
    "CheckpointError",
    "CheckpointStore",
    "load_weights",
    "read_json",
    "save_weights",
]

CHECKPOINT_FORMAT = 2
"""Version of the checkpoint layout; bump on any change (and keep reading the older ones)."""

# format -> (folder name pattern, meta.json / pointer key of the index)
_LAYOUTS = {1: ("ep_{:06d}", "episode"), 2: ("step_{:09d}", "step")}
_FOLDER = re.compile(r"^(ep|step)_(\d+)$")


class CheckpointError(ValueError):
    """A checkpoint is missing, corrupt, of an unknown format, or not weights-only."""


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


def _index(folder: Path) -> int | None:
    """The step in a checkpoint folder's name (either layout), ``None`` for other names."""
    match = _FOLDER.match(folder.name)
    return int(match.group(2)) if match else None


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
        from an older one) is replaced.

        Returns:
            The checkpoint folder.
        """
        if step < 0:
            raise ValueError(f"step must be >= 0; got {step}")
        self.directory.mkdir(parents=True, exist_ok=True)
        name = self.name(step)
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
                {**meta, "format": CHECKPOINT_FORMAT, "step": int(step), "files": files},
            )
            for layout in _LAYOUTS:
                stale = self.directory / self.name(step, layout)
                if stale.exists():
                    trash = Path(tempfile.mkdtemp(dir=self.directory, prefix=f".{name}.", suffix=".old"))
                    os.replace(stale, trash / stale.name)
                    shutil.rmtree(trash)
            final = self.directory / name
            os.replace(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        fsync_dir(self.directory)
        atomic_write_json(self.directory / self.POINTER, {"checkpoint": name, "step": int(step)})
        self._prune(keep_name=name)
        return final

    def folders(self) -> list[Path]:
        """Complete checkpoint folders (both layouts), oldest step first."""
        if not self.directory.is_dir():
            return []
        found = [(i, p) for p in self.directory.iterdir() if p.is_dir() and (i := _index(p)) is not None]
        return [p for _, p in sorted(found)]

    def _prune(self, keep_name: str) -> None:
        done = self.folders()
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
            CheckpointError: no checkpoint, an unknown format, a digest mismatch (corrupt or
                mixed files), or a ``state.pt`` that is not weights-only.
        """
        folder = Path(path) if path is not None else self.latest()
        if folder is None:
            raise CheckpointError(f"{self.directory}: no checkpoint ({self.POINTER} missing)")
        meta = read_json(folder / "meta.json")
        layout = _LAYOUTS.get(meta.get("format"))  # type: ignore[arg-type]
        if layout is None:
            raise CheckpointError(
                f"{folder}: checkpoint format {meta.get('format')!r}; "
                f"this robocritic reads {sorted(_LAYOUTS)}"
            )
        if layout[1] not in meta:
            raise CheckpointError(f"{folder / 'meta.json'}: no '{layout[1]}' (format {meta['format']})")
        for fname, digest in meta.get("files", {}).items():
            if not (folder / fname).is_file():
                raise CheckpointError(f"{folder / fname}: missing (listed in meta.json)")
            if _sha256(folder / fname) != digest:
                raise CheckpointError(
                    f"{folder / fname}: SHA-256 differs from meta.json (corrupt or replaced file)"
                )
        state = load_weights(folder / "state.pt")
        replay = folder / "replay.npz" if "replay.npz" in meta.get("files", {}) else None
        return Checkpoint(path=folder, step=int(meta[layout[1]]), state=state, meta=meta, replay_path=replay)
