"""ONNX export of a YANN for deployment, checked against the torch module.

The exported graph has one input ``x (B, n_x)`` (absolute states, dynamic batch, the module's
dtype) and outputs ``u (B, n_u)``, ``feasible (B,)`` (bool) and, for :class:`YANNFast`,
``margin (B,)`` -- the fields of :class:`~robocritic.yann.network.YANNOutput`. Both the fast
(gather) form and the 5-layer form export (Gather/ArgMin/ReduceMax resp. Gemm/Relu/GreaterOrEqual).

Needs the ``export`` extra (``onnx``, ``onnxscript`` for torch's ``torch.export``-based exporter,
``onnxruntime`` for :func:`check_onnx` / :func:`onnx_session`).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from robocritic.utils.optional import require
from robocritic.yann.network import YANN, YANNFast

__all__ = ["check_onnx", "export_onnx", "onnx_session", "run_onnx"]


class _TupleOutput(nn.Module):
    """Plain-tuple outputs (ONNX outputs are tensors, not a NamedTuple with a ``None``)."""

    def __init__(self, net: YANN | YANNFast) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        out = self.net(x)
        if out.margin is None:
            return out.u, out.feasible
        return out.u, out.feasible, out.margin


@contextlib.contextmanager
def _quiet_registry() -> Any:
    """Silence the exporter's "torchvision is not installed. Skipping ..." log lines (irrelevant
    here: a YANN uses no torchvision op)."""
    log = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def _output_names(net: YANN | YANNFast) -> list[str]:
    return ["u", "feasible"] if isinstance(net, YANN) else ["u", "feasible", "margin"]


def export_onnx(
    net: YANN | YANNFast,
    path: str | os.PathLike[str],
    *,
    opset: int = 18,
    check_states: np.ndarray | None = None,
    atol: float | None = None,
) -> Path:
    """Export ``net`` to ``path`` (written atomically) and optionally check it with ONNX Runtime.

    Args:
        net: a :class:`YANN` or :class:`YANNFast` (its dtype is the graph's dtype).
        path: destination ``.onnx`` file; weights are embedded (no external data file).
        opset: ONNX opset.
        check_states: ``(B, n_x)`` absolute states; if given, :func:`check_onnx` runs on them.
        atol: tolerance for that check (default: 1e-12 for float64, 1e-5 x input scale for float32).

    Returns:
        The path written.

    Raises:
        ImportError: ``onnx``/``onnxscript`` missing (install ``robocritic[export]``).
        AssertionError: the check found ONNX Runtime and torch disagreeing.
    """
    for module in ("onnx", "onnxscript"):
        require(module, "export", "ONNX export")
    if not isinstance(net, (YANN, YANNFast)):
        raise ValueError(f"net must be a YANN or YANNFast; got {type(net).__name__}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    dtype = net.x_eq.dtype
    wrapper = _TupleOutput(net).eval()
    # Batch 2 as the example: torch.export specialises a dimension traced at size 1.
    example = torch.zeros(2, net.n_x, dtype=dtype)
    batch = torch.export.Dim("batch", min=1)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        # The exporter narrates its progress on stdout and warns about version conversion.
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings(), _quiet_registry():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(
                wrapper, (example,), dynamo=True, opset_version=opset,
                input_names=["x"], output_names=_output_names(net),
                dynamic_shapes=({0: batch},), external_data=False,
            )
            program.save(tmp, external_data=False)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if check_states is not None:
        check_onnx(net, path, check_states, atol=atol)
    return path


def onnx_session(path: str | os.PathLike[str], *, threads: int = 1) -> Any:
    """ONNX Runtime CPU session for an exported YANN (``threads`` intra-op threads)."""
    ort = require("onnxruntime", "export", "running an exported YANN")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


def run_onnx(session: Any, states: np.ndarray, *, chunk_rows: int | None = 1024) -> dict[str, np.ndarray]:
    """Run an exported YANN on ``states (B, n_x)``; returns ``{"u", "feasible"[, "margin"]}``.

    A batch larger than ``chunk_rows`` runs as consecutive slices of that many rows (every row
    is independent), which keeps the graph's ``(rows, p q_max)`` work arrays cache-sized: ~2x
    faster at batch 4096 with ~200 regions. ``None`` runs the batch in one call.
    """
    inp = session.get_inputs()[0]
    dtype = np.float32 if inp.type == "tensor(float)" else np.float64
    X = np.ascontiguousarray(states, dtype=dtype)
    names = [o.name for o in session.get_outputs()]
    if chunk_rows is None or X.ndim != 2 or X.shape[0] <= chunk_rows:
        outs = session.run(None, {inp.name: X})
        return dict(zip(names, outs, strict=True))
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be >= 1 or None; got {chunk_rows}")
    parts = [session.run(None, {inp.name: X[s : s + chunk_rows]}) for s in range(0, X.shape[0], chunk_rows)]
    return {name: np.concatenate([pt[k] for pt in parts]) for k, name in enumerate(names)}


def check_onnx(
    net: YANN | YANNFast, path: str | os.PathLike[str], states: np.ndarray, *, atol: float | None = None
) -> float:
    """Compare ONNX Runtime with torch on ``states (B, n_x)``; return ``max |u_onnx - u_torch|``.

    Raises:
        AssertionError: ``u`` differs by more than ``atol``, or ``feasible`` differs anywhere.
    """
    dtype = net.x_eq.dtype
    X = torch.as_tensor(np.asarray(states), dtype=dtype)
    with torch.no_grad():
        ref = net(X)
    got = run_onnx(onnx_session(path), X.numpy())
    du = float(np.max(np.abs(got["u"] - ref.u.numpy()), initial=0.0))
    if atol is None:
        scale = float(torch.max(torch.abs(ref.u)).item()) if ref.u.numel() else 1.0
        atol = (1e-12 if dtype == torch.float64 else 1e-5) * max(1.0, scale)
    if du > atol:
        raise AssertionError(f"ONNX Runtime and torch differ: max |du| = {du:.3g} > atol {atol:.3g}")
    mismatch = int(np.sum(got["feasible"].astype(bool) != ref.feasible.numpy()))
    if mismatch:
        raise AssertionError(f"ONNX Runtime and torch disagree on feasibility at {mismatch} states")
    return du
