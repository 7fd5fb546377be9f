"""NavDP on disk: a weights-only model file, and resumable training state.

Model file (:func:`save_model` / :func:`load_model`): one ``torch.save`` of plain containers,
written atomically (temporary file in the same folder, then ``os.replace``) and read with
``torch.load(weights_only=True)`` (a pickled object is refused, never run)::

    {"format": MODEL_FORMAT, "kind": "navdp.NavDPNet",
     "config": NavDPConfig.to_dict(),             # JSON-safe numbers
     "state_dict": {name: tensor},                # weights and normalisation buffers
     "sha256": hex digest of format, kind, config and every tensor (name, dtype, shape, bytes)}

The normalisation (``depth_scale``, ``label_mean``, ``label_std``) is part of the state dict, so a
loaded model needs nothing else. A missing, truncated, edited or mismatched file raises
:class:`~robocritic.learning.checkpoint.CheckpointError` naming the file.

Training state (:func:`save_training_state` / :func:`load_training_state`): a
:class:`~robocritic.learning.checkpoint.CheckpointStore` folder per step holding the model and
optimiser state dicts, the global torch RNG state and optional extra tensors / plain values in
``state.pt``, and the config in ``meta.json`` (with the SHA-256 of ``state.pt``).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from robocritic.learning.checkpoint import (
    CheckpointError,
    CheckpointStore,
    check_rng_state,
    fitted_module,
    load_optimizer_state,
    load_weights,
    require,
    save_weights,
)
from robocritic.navdp.config import NavDPConfig
from robocritic.navdp.model import NavDPNet

__all__ = [
    "MODEL_FORMAT",
    "CheckpointError",
    "TrainingState",
    "load_model",
    "load_training_state",
    "save_model",
    "save_training_state",
]

MODEL_FORMAT = 1
"""Version of the model file; bump on any change."""

_KIND = "navdp.NavDPNet"
_TRAINING_KIND = "navdp.training"
_KEYS = ("format", "kind", "config", "state_dict", "sha256")


def _tensor_bytes(t: Tensor) -> bytes:
    return t.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def _digest(fmt: object, kind: object, config: object, state: dict[str, Tensor]) -> str:
    h = hashlib.sha256()
    h.update(json.dumps({"format": fmt, "kind": kind, "config": config}, sort_keys=True).encode())
    for name in sorted(state):
        t = state[name]
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)}".encode())
        h.update(_tensor_bytes(t))
    return h.hexdigest()


def _cpu_state(model: NavDPNet) -> dict[str, Tensor]:
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


def save_model(model: NavDPNet, path: str | os.PathLike[str]) -> Path:
    """Write ``model`` (config, weights, normalisation buffers, digest) to ``path``, atomically.
    Returns ``path``."""
    state = _cpu_state(model)
    config = model.config.to_dict()
    data = {"format": MODEL_FORMAT, "kind": _KIND, "config": config, "state_dict": state,
            "sha256": _digest(MODEL_FORMAT, _KIND, config, state)}
    return save_weights(path, data)


def _build(config_path: Path, config: object, path: Path, key: str, state: object) -> NavDPNet:
    """A model of ``config`` (recorded in ``config_path``) holding ``state`` (entry ``key`` of
    ``path``); :class:`CheckpointError` naming the file and the key if they do not fit."""
    if not isinstance(config, dict):
        raise CheckpointError(f"{config_path}: 'config' must be a NavDP config mapping; got {type(config).__name__}")
    try:
        cfg = NavDPConfig.from_dict(config)
        with torch.device("meta"):  # shapes only: a huge recorded size costs no memory
            NavDPNet(cfg)
    except (TypeError, ValueError, OverflowError, RuntimeError) as exc:
        raise CheckpointError(f"{config_path}: invalid NavDP config: {str(exc)[:300]}") from exc
    try:
        return fitted_module(lambda: NavDPNet(cfg), state, path, key)  # type: ignore[return-value]
    except CheckpointError as exc:
        raise CheckpointError(f"{exc} (weights do not fit the config recorded in {config_path.name})") from None


def load_model(path: str | os.PathLike[str]) -> NavDPNet:
    """The model of a :func:`save_model` file, on the CPU, in eval mode.

    Raises:
        CheckpointError: naming ``path``, if it is missing or unreadable (truncated), holds a
            pickled object, misses a key, has another format or kind, its digest differs from its
            contents, or its tensors do not fit its config (names or shapes).
    """
    path = Path(path)
    data = load_weights(path)  # any failure of a damaged archive is a CheckpointError there
    missing = [k for k in _KEYS if k not in data]
    if missing:
        raise CheckpointError(f"{path}: not a NavDP model file: missing keys {missing}")
    if type(data["format"]) is not int or data["format"] != MODEL_FORMAT or data["kind"] != _KIND:
        raise CheckpointError(f"{path}: format {data['format']!r:.60}, kind {data['kind']!r:.60}; "
                              f"this robocritic reads format {MODEL_FORMAT}, kind {_KIND!r}")
    state = data["state_dict"]
    if (not isinstance(state, dict) or not all(isinstance(k, str) for k in state)
            or not all(isinstance(v, Tensor) for v in state.values())):
        raise CheckpointError(f"{path}: 'state_dict' must map names to tensors")
    try:
        digest = _digest(data["format"], data["kind"], data["config"], state)
    except (TypeError, ValueError, RuntimeError, RecursionError) as exc:  # not plain JSON, odd tensors
        raise CheckpointError(f"{path}: invalid contents: {str(exc)[:300]}") from exc
    if not isinstance(data["sha256"], str) or data["sha256"] != digest:
        raise CheckpointError(f"{path}: sha256 differs from the contents (corrupt or edited file)")
    return _build(path, data["config"], path, "state_dict", state).eval()


@dataclass
class TrainingState:
    """A resumed training run.

    Attributes:
        model: the network (train mode). optimizer: built by the caller's factory on
            ``model.parameters()``, its state restored. step: the trainer's progress counter.
        torch_rng: the global torch RNG state when saved (``torch.set_rng_state`` to continue the
            same random stream). extra: the ``extra`` given to :func:`save_training_state`.
        meta: the checkpoint's ``meta.json``. path: its folder.
    """

    model: NavDPNet
    optimizer: torch.optim.Optimizer
    step: int
    torch_rng: Tensor
    extra: dict[str, Any]
    meta: dict[str, Any]
    path: Path


def save_training_state(directory: str | os.PathLike[str], step: int, model: NavDPNet,
                        optimizer: torch.optim.Optimizer, *, extra: dict[str, Any] | None = None,
                        meta: dict[str, Any] | None = None, keep: int = 2) -> Path:
    """Write checkpoint ``step`` of a run into ``directory`` (a ``CheckpointStore``; the ``keep``
    newest are kept). ``extra``: tensors and plain values (e.g. an LR scheduler's state dict);
    ``meta``: JSON-safe values for ``meta.json``. Returns the checkpoint folder."""
    state = {"model": _cpu_state(model), "optimizer": optimizer.state_dict(),
             "torch_rng": torch.get_rng_state(), "extra": dict(extra or {})}
    record = {**(meta or {}), "kind": _TRAINING_KIND, "config": model.config.to_dict()}
    return CheckpointStore(directory, keep=keep).save(step, state, record)


def load_training_state(directory: str | os.PathLike[str],
                        make_optimizer: Callable[[Iterator[torch.nn.Parameter]], torch.optim.Optimizer], *,
                        path: str | os.PathLike[str] | None = None) -> TrainingState:
    """Resume from ``directory``'s newest checkpoint (or the folder ``path``).

    Args:
        make_optimizer: builds the optimiser from the model's parameters, e.g.
            ``lambda p: torch.optim.Adam(p, lr=1e-4)``; its state is then loaded.

    Raises:
        CheckpointError: naming the file and the key, for no checkpoint, a digest mismatch, a state
            that is not weights-only, another kind, a missing key, or a model or optimiser state
            that does not fit the recorded config (names, shapes, dtypes).
    """
    ckpt = CheckpointStore(directory).load(path)
    meta_path, state_path = ckpt.path / "meta.json", ckpt.path / "state.pt"
    if ckpt.meta.get("kind") != _TRAINING_KIND:
        raise CheckpointError(f"{meta_path}: kind {ckpt.meta.get('kind')!r:.60}, expected {_TRAINING_KIND!r}")
    missing = [k for k in ("model", "optimizer", "torch_rng", "extra") if k not in ckpt.state]
    if missing:
        raise CheckpointError(f"{state_path}: missing keys {missing}")
    config = require(ckpt.meta, "config", meta_path, dict)
    model = _build(meta_path, config, state_path, "model", ckpt.state["model"]).train()
    optimizer = make_optimizer(model.parameters())
    load_optimizer_state(optimizer, ckpt.state["optimizer"], state_path, "optimizer")
    return TrainingState(model=model, optimizer=optimizer, step=ckpt.step,
                         torch_rng=check_rng_state(ckpt.state["torch_rng"], state_path, "torch_rng"),
                         extra=ckpt.entry("extra", dict), meta=ckpt.meta, path=ckpt.path)
