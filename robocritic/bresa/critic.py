"""The Bresa safety critic: twin sigmoid MLP heads on normalised (state, action) features.

``SafetyCritic(x)`` for critic features ``x (B, n_in)`` (state features then action features,
:func:`critic_input`) returns ``(B, 2)``: each head's estimated probability of a force-limit
violation within the label horizon (:mod:`robocritic.bresa.labels`). :meth:`SafetyCritic.risk`
is the max of the twins (pessimistic). The input normalisation ``z = (x - in_mean) / in_std`` is
held in buffers, so it travels with the weights.

:class:`NumpyCritic` is the torch-free inference form for the 1 kHz loop: the twin heads fused
into one block-diagonal network, preallocated buffers, no allocation per call.

On disk (:func:`save_critic` / :func:`load_critic`): ``critic.pt`` holds only tensors (written by
:func:`robocritic.learning.checkpoint.save_weights`, read with ``weights_only=True``), and the
sidecar ``critic.json`` (written atomically after it) holds the architecture and the SHA-256 of
``critic.pt``. ``load_weights`` itself checks no digest, so :func:`load_critic` does: a replaced or
corrupt weights file, or one that does not belong to its sidecar, is refused.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from robocritic.bresa.numpy_critic import ACTIVATIONS as _ACTIVATIONS
from robocritic.bresa.numpy_critic import NumpyCritic
from robocritic.learning.checkpoint import (
    CheckpointError,
    fitted_module,
    load_weights,
    read_json,
    require,
    save_weights,
)
from robocritic.utils.atomic import atomic_write_json

__all__ = [
    "CRITIC_FORMAT",
    "CriticSpec",
    "NumpyCritic",
    "SafetyCritic",
    "critic_input",
    "load_critic",
    "save_critic",
]

CRITIC_FORMAT = 1
"""Version of the critic file pair (``.pt`` + ``.json``); bump on any change."""

_DTYPES = {"float64": torch.float64, "float32": torch.float32}


def critic_input(state_features: np.ndarray, action_features: np.ndarray) -> np.ndarray:
    """``[state_features, action_features]`` along the last axis: ``(..., n_s) + (..., n_a) -> (..., n_in)``."""
    return np.concatenate([np.asarray(state_features), np.asarray(action_features)], axis=-1)


@dataclass(frozen=True)
class CriticSpec:
    """Architecture of a :class:`SafetyCritic` (what the JSON sidecar records).

    Attributes:
        n_in: input size. hidden: hidden widths of each head. activation: "tanh" or "relu".
        dtype: "float64" or "float32".
    """

    n_in: int
    hidden: tuple[int, ...] = (64, 64)
    activation: str = "tanh"
    dtype: str = "float64"

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        if int(self.n_in) < 1 or any(h < 1 for h in self.hidden):
            raise ValueError(f"n_in and hidden widths must be >= 1; got {self.n_in}, {self.hidden}")
        if self.activation not in _ACTIVATIONS:
            raise ValueError(f"activation: expected one of {_ACTIVATIONS}, got {self.activation!r}")
        if self.dtype not in _DTYPES:
            raise ValueError(f"dtype: expected one of {tuple(_DTYPES)}, got {self.dtype!r}")

    def to_json(self) -> dict:
        return {**asdict(self), "hidden": list(self.hidden), "output": "sigmoid", "heads": 2,
                "normalisation": "(x - in_mean) / in_std, buffers in the weights file"}

    @classmethod
    def from_json(cls, data: dict) -> CriticSpec:
        return cls(n_in=int(data["n_in"]), hidden=tuple(data["hidden"]), activation=str(data["activation"]),
                   dtype=str(data["dtype"]))


def _head(spec: CriticSpec) -> nn.Sequential:
    dtype = _DTYPES[spec.dtype]
    layers: list[nn.Module] = []
    width = spec.n_in
    for h in spec.hidden:
        layers += [nn.Linear(width, h, dtype=dtype), nn.Tanh() if spec.activation == "tanh" else nn.ReLU()]
        width = h
    layers.append(nn.Linear(width, 1, dtype=dtype))
    return nn.Sequential(*layers)


class SafetyCritic(nn.Module):
    """Twin MLP heads with sigmoid outputs: ``x (B, n_in) -> risk (B, 2)`` in [0, 1].

    Args:
        n_in: feature size. hidden: widths of each head. activation: "tanh" or "relu".
        dtype: "float64" or "float32" (parameters and buffers).
        seed: if given, the initial weights come from ``torch.manual_seed(seed)`` in a forked RNG
            (the global torch RNG is left as it was); else from the global RNG.

    Buffers: ``in_mean (n_in,)`` (zeros), ``in_std (n_in,)`` (ones); see :meth:`set_normalisation`.
    """

    def __init__(
        self,
        n_in: int,
        hidden: Sequence[int] = (64, 64),
        activation: str = "tanh",
        *,
        dtype: str = "float64",
        seed: int | None = None,
    ) -> None:
        super().__init__()
        self.spec = CriticSpec(n_in=int(n_in), hidden=tuple(hidden), activation=activation, dtype=dtype)
        tdtype = _DTYPES[dtype]
        self.register_buffer("in_mean", torch.zeros(self.spec.n_in, dtype=tdtype))
        self.register_buffer("in_std", torch.ones(self.spec.n_in, dtype=tdtype))
        if seed is None:
            self.q1, self.q2 = _head(self.spec), _head(self.spec)
        else:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(seed))
                self.q1, self.q2 = _head(self.spec), _head(self.spec)

    @property
    def n_in(self) -> int:
        return self.spec.n_in

    def set_normalisation(self, features: np.ndarray, *, min_std: float = 1e-6) -> None:
        """Set ``in_mean``, ``in_std`` to the mean and std (floored at ``min_std``) of ``features (N, n_in)``."""
        f = np.asarray(features, dtype=np.float64)
        if f.ndim != 2 or f.shape[1] != self.n_in or f.shape[0] < 1:
            raise ValueError(f"features: expected shape (N >= 1, {self.n_in}), got {f.shape}")
        with torch.no_grad():
            self.in_mean.copy_(torch.from_numpy(f.mean(axis=0)))
            self.in_std.copy_(torch.from_numpy(np.maximum(f.std(axis=0), min_std)))

    def logits(self, x: Tensor) -> Tensor:
        """``x (B, n_in) -> (B, 2)`` pre-sigmoid outputs of the twin heads."""
        z = (x - self.in_mean) / self.in_std
        return torch.cat([self.q1(z), self.q2(z)], dim=-1)

    def forward(self, x: Tensor) -> Tensor:
        """``x (B, n_in) -> (B, 2)`` twin risk estimates in [0, 1]."""
        return torch.sigmoid(self.logits(x))

    def risk(self, x: Tensor) -> Tensor:
        """``x (B, n_in) -> (B,)``: the max of the twins."""
        return self.forward(x).amax(dim=-1)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _sidecar(path: Path) -> Path:
    return path.with_suffix(".json")


def save_critic(critic: SafetyCritic, path: str | os.PathLike[str]) -> Path:
    """Write ``critic``'s state dict to ``path`` (e.g. ``critic.pt``, weights only, atomic), then
    the sidecar ``path.with_suffix(".json")`` (architecture, format, SHA-256 of ``path``; atomic).
    Returns ``path``."""
    path = Path(path)
    if path.suffix == ".json":
        raise ValueError(f"{path}: the weights file must not end in .json (that is the sidecar)")
    state = {k: v.detach().cpu().clone() for k, v in critic.state_dict().items()}
    save_weights(path, {"state_dict": state})
    atomic_write_json(_sidecar(path), {"format": CRITIC_FORMAT, "kind": "bresa.SafetyCritic",
                                       "spec": critic.spec.to_json(), "weights": path.name,
                                       "sha256": _sha256(path)})
    return path


def load_critic(path: str | os.PathLike[str]) -> SafetyCritic:
    """Load a critic written by :func:`save_critic` (in eval mode).

    Raises:
        CheckpointError: the sidecar or weights file is missing or invalid, the format is
            unknown, the weights' SHA-256 differs from the sidecar's, the weights file is not
            weights-only, or its tensors do not fit the recorded architecture.
    """
    path = Path(path)
    meta = read_json(_sidecar(path))
    if not isinstance(meta, dict):
        raise CheckpointError(f"{_sidecar(path)}: expected a JSON object; got {type(meta).__name__}")
    fmt = meta.get("format")
    if type(fmt) is not int or fmt != CRITIC_FORMAT or meta.get("kind") != "bresa.SafetyCritic":
        raise CheckpointError(f"{_sidecar(path)}: not a Bresa critic of format {CRITIC_FORMAT}: "
                              f"format={meta.get('format')!r:.60}, kind={meta.get('kind')!r:.60}")
    if not path.is_file():
        raise CheckpointError(f"{path}: missing")
    if _sha256(path) != meta.get("sha256"):
        raise CheckpointError(f"{path}: SHA-256 differs from {_sidecar(path).name} (corrupt or replaced file)")
    try:
        spec = CriticSpec.from_json(meta["spec"])
        with torch.device("meta"):  # shapes only: a huge recorded size costs no memory
            SafetyCritic(spec.n_in, spec.hidden, spec.activation, dtype=spec.dtype)
    # from_json documents ValueError; a value of the wrong type in a hand-edited sidecar
    # surfaces from the constructors: all name the sidecar.
    except (KeyError, TypeError, ValueError, OverflowError, RuntimeError) as exc:
        raise CheckpointError(f"{_sidecar(path)}: invalid spec: {str(exc)[:300]}") from exc
    weights = require(load_weights(path), "state_dict", path)
    try:
        critic = fitted_module(lambda: SafetyCritic(spec.n_in, spec.hidden, spec.activation, dtype=spec.dtype),
                               weights, path, "state_dict")
    except CheckpointError as exc:
        raise CheckpointError(f"{exc} (weights do not fit the architecture in the sidecar)") from None
    return critic.eval()
