"""The Bresa safety critic as an ONNX graph, run by ONNX Runtime with preallocated I/O buffers.

:func:`critic_onnx_bytes` turns the fused twin-head weights of a
:class:`~robocritic.bresa.numpy_critic.NumpyCritic` (or a
:class:`~robocritic.bresa.critic.SafetyCritic`) into an ONNX model with one input ``x (batch,
n_in)`` (dynamic batch axis) and one output ``risk (batch,)``: the max of the twin sigmoids, as
:meth:`SafetyCritic.risk`. The graph is built op by op from the weights (no tracing, no torch
exporter): ``Sub(in_mean)``, ``Gemm`` (``1 / in_std`` folded into the first weights), activation,
..., ``ReduceMax`` over the twins, ``Sigmoid`` (monotone, so it may follow the max). Hidden layers
after the first are either the fused block-diagonal ``Gemm`` (``layout="fused"``) or a ``Split``
into two per-head chains (``layout="split"``, no multiply-adds on the zero blocks).

:class:`OnnxCritic` is a :class:`~robocritic.bresa.filters.RiskModel`: one ONNX Runtime CPU session
(one intra-op and one inter-op thread, sequential execution, all graph optimisations) and one
IOBinding per batch size ``1..max_batch``, each bound to views of the same preallocated input and
output arrays, so a call copies ``x`` into the input buffer, runs, and returns a view of the
output buffer.

On disk (:func:`export_onnx_critic` / :func:`load_onnx_critic`): ``critic.onnx`` (weights
embedded) and the sidecar ``critic.onnx.json`` (format, dtype, layout, ``n_in``, feature names and
the SHA-256 of the ``.onnx`` bytes; both written atomically, the sidecar last). The sidecar name
keeps the ``.onnx`` suffix so it cannot clash with ``critic.json``, the sidecar of a ``critic.pt``
from :func:`~robocritic.bresa.critic.save_critic`. Loading reads the bytes once, checks their
digest and builds the session from those same bytes (the file cannot change between check and
use); it registers no custom-op library, so the model runs only ONNX Runtime's built-in kernels.

Needs the ``export`` extra: ``onnx`` to build a model, ``onnxruntime`` to run one.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from robocritic.bresa.numpy_critic import ACTIVATIONS, NumpyCritic
from robocritic.utils.atomic import atomic_write, atomic_write_json
from robocritic.utils.optional import require

__all__ = [
    "ONNX_CRITIC_FORMAT",
    "ONNX_LAYOUTS",
    "OnnxCritic",
    "critic_onnx_bytes",
    "export_onnx_critic",
    "load_onnx_critic",
    "onnx_sidecar",
]

ONNX_CRITIC_FORMAT = 1
"""Version of the ``.onnx`` + ``.onnx.json`` pair; bump on any change."""

ONNX_LAYOUTS = ("fused", "split")
"""Hidden-layer layouts of the graph (module docstring)."""

_KIND = "bresa.OnnxCritic"
_OPSET = 17  # ReduceMax still takes ``axes`` as an attribute; ONNX Runtime >= 1.14 runs it
_DTYPES = {"float32": np.float32, "float64": np.float64}


def _fused(source: Any) -> NumpyCritic:
    """The fused float64 weights of a NumpyCritic or a SafetyCritic."""
    if isinstance(source, NumpyCritic):
        return source
    return NumpyCritic.from_module(source, max_batch=1)


def _check_dtype(dtype: str) -> np.dtype:
    if dtype not in _DTYPES:
        raise ValueError(f"dtype: expected one of {tuple(_DTYPES)}, got {dtype!r}")
    return np.dtype(_DTYPES[dtype])


def critic_onnx_bytes(source: Any, *, dtype: str = "float32", layout: str = "fused") -> bytes:
    """Serialised ONNX model of ``source`` (a NumpyCritic or SafetyCritic): ``x (batch, n_in) ->
    risk (batch,)`` in ``dtype`` ("float32" or "float64"), hidden layers in ``layout``."""
    onnx = require("onnx", "export", "building an ONNX critic")
    from onnx import TensorProto, helper, numpy_helper

    dt = _check_dtype(dtype)
    if layout not in ONNX_LAYOUTS:
        raise ValueError(f"layout: expected one of {ONNX_LAYOUTS}, got {layout!r}")
    fused = _fused(source)
    if fused.activation not in ACTIVATIONS:
        raise ValueError(f"activation: expected one of {ACTIVATIONS}, got {fused.activation!r}")
    W = [np.asarray(w, dtype=np.float64) for w in fused.W]
    b = [np.asarray(v, dtype=np.float64) for v in fused.b]
    n_in = W[0].shape[0]
    if W[-1].shape[1] != 2:
        raise ValueError(f"W: the last layer must have the 2 twin outputs, got {W[-1].shape}")
    # x - in_mean stays a separate Sub (no cancellation of a large mean inside the matmul);
    # 1 / in_std is folded into the first weights, in float64 before the one rounding to dtype
    W[0] = W[0] / np.asarray(fused.in_std, dtype=np.float64)[:, None]
    act = "Tanh" if fused.activation == "tanh" else "Relu"
    inits: list[Any] = []
    nodes: list[Any] = []

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value, dtype=dt), name))
        return name

    def dense(inp: str, w: np.ndarray, v: np.ndarray, out: str, activation: bool) -> str:
        pre = f"{out}_pre" if activation else out
        nodes.append(helper.make_node("Gemm", [inp, const(f"{out}_W", w), const(f"{out}_b", v)], [pre]))
        if activation:
            nodes.append(helper.make_node(act, [pre], [out]))
        return out

    nodes.append(helper.make_node("Sub", ["x", const("in_mean", fused.in_mean)], ["z"]))
    h = dense("z", W[0], b[0], "h0", activation=True)
    last = len(W) - 1
    if layout == "fused":
        for i in range(1, last):
            h = dense(h, W[i], b[i], f"h{i}", activation=True)
        dense(h, W[last], b[last], "twins", activation=False)
        nodes.append(helper.make_node("ReduceMax", ["twins"], ["logit"], axes=[1], keepdims=0))
    else:
        half = W[0].shape[1] // 2
        inits.append(numpy_helper.from_array(np.array([half, half], dtype=np.int64), "split"))
        nodes.append(helper.make_node("Split", [h, "split"], ["a0", "b0"], axis=1))
        heads = []
        for head, (rows, cols) in (("a", (0, 0)), ("b", (1, 1))):
            h = f"{head}0"
            for i in range(1, last + 1):
                ni, no = W[i].shape[0] // 2, W[i].shape[1] // 2
                w = W[i][rows * ni:(rows + 1) * ni, cols * no:(cols + 1) * no]
                h = dense(h, w, b[i][cols * no:(cols + 1) * no], f"{head}{i}", activation=i < last)
            heads.append(h)
        nodes.append(helper.make_node("Max", heads, ["logit2"]))  # (batch, 1)
        nodes.append(helper.make_node("Squeeze", ["logit2", "squeeze_axes"], ["logit"]))
        inits.append(numpy_helper.from_array(np.array([1], dtype=np.int64), "squeeze_axes"))
    nodes.append(helper.make_node("Sigmoid", ["logit"], ["risk"]))
    elem = TensorProto.FLOAT if dt == np.float32 else TensorProto.DOUBLE
    graph = helper.make_graph(
        nodes, "bresa_safety_critic",
        [helper.make_tensor_value_info("x", elem, ["batch", n_in])],
        [helper.make_tensor_value_info("risk", elem, ["batch"])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", _OPSET)],
                              producer_name="robocritic.bresa.onnx_critic")
    model.ir_version = 8  # readable by any ONNX Runtime that runs opset 17
    onnx.checker.check_model(model, full_check=True)
    return model.SerializeToString()


class OnnxCritic:
    """A :class:`~robocritic.bresa.filters.RiskModel` on ONNX Runtime: ``risk(x (B, n_in)) -> (B,)``.

    Args:
        model: serialised ONNX model of :func:`critic_onnx_bytes` (trusted bytes: use
            :func:`load_onnx_critic` for a file, which checks its digest).
        max_batch: largest batch ``B`` a call accepts; an IOBinding per ``B`` in ``1..max_batch``
            is made here, so no call binds or allocates a buffer.
        feature_names: the input columns, if known (kept as ``feature_names``).

    Inputs of another float dtype are cast into the input buffer. ``risk`` returns a view of the
    output buffer, valid until the next call; copy to keep. Not thread-safe (shared buffers).
    """

    def __init__(
        self, model: bytes, *, max_batch: int = 64, feature_names: Sequence[str] | None = None
    ) -> None:
        ort = require("onnxruntime", "export", "running an ONNX critic")
        if int(max_batch) < 1:
            raise ValueError(f"max_batch: expected >= 1, got {max_batch!r}")
        opts = ort.SessionOptions()
        # the 1 kHz loop owns one core: no worker threads to wake, no parallel branches
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(model, sess_options=opts, providers=["CPUExecutionProvider"])
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        if [i.name for i in inputs] != ["x"] or [o.name for o in outputs] != ["risk"]:
            raise ValueError(f"model: expected input 'x' and output 'risk', got "
                             f"{[i.name for i in inputs]} -> {[o.name for o in outputs]}")
        types = {"tensor(float)": np.float32, "tensor(double)": np.float64}
        if inputs[0].type not in types or outputs[0].type != inputs[0].type:
            raise ValueError(f"model: x and risk must share a float dtype, "
                             f"got {inputs[0].type}, {outputs[0].type}")
        n_in = inputs[0].shape[1] if len(inputs[0].shape) == 2 else None
        if not isinstance(n_in, int) or n_in < 1:
            raise ValueError(f"model: x must have shape (batch, n_in), n_in fixed, got {inputs[0].shape}")
        self.n_in = n_in
        self.dtype = np.dtype(types[inputs[0].type])
        self.max_batch = int(max_batch)
        self.feature_names = None if feature_names is None else tuple(str(n) for n in feature_names)
        if self.feature_names is not None and len(self.feature_names) != n_in:
            raise ValueError(f"feature_names: {len(self.feature_names)} names for a critic of {n_in} inputs")
        self._x = np.zeros((self.max_batch, n_in), dtype=self.dtype)
        self._risk = np.zeros(self.max_batch, dtype=self.dtype)
        # views of the two buffers per batch size; OrtValues over CPU numpy arrays share their memory
        self._values: list[Any] = []
        self._bindings: list[Any] = []
        for B in range(1, self.max_batch + 1):
            xv = ort.OrtValue.ortvalue_from_numpy(self._x[:B])
            rv = ort.OrtValue.ortvalue_from_numpy(self._risk[:B])
            binding = self.session.io_binding()
            binding.bind_ortvalue_input("x", xv)
            binding.bind_ortvalue_output("risk", rv)
            self._values += [xv, rv]
            self._bindings.append(binding)
        self._run = self.session.run_with_iobinding

    @classmethod
    def from_module(cls, source: Any, *, dtype: str = "float32", layout: str = "fused", max_batch: int = 64,
                    feature_names: Sequence[str] | None = None) -> OnnxCritic:
        """From a NumpyCritic or SafetyCritic, in memory (no file): see :func:`critic_onnx_bytes`."""
        return cls(critic_onnx_bytes(source, dtype=dtype, layout=layout), max_batch=max_batch,
                   feature_names=feature_names)

    def risk(self, x: np.ndarray) -> np.ndarray:
        """``x (B, n_in)`` (or ``(n_in,)``, as B = 1) -> ``(B,)`` max of the twin risks (a buffer view)."""
        if x.ndim == 1:
            x = x.reshape(1, -1)
        B = x.shape[0]
        if x.ndim != 2 or x.shape[1] != self.n_in:
            raise ValueError(f"x: expected shape (B, {self.n_in}), got {x.shape}")
        if not 1 <= B <= self.max_batch:
            raise ValueError(f"x: batch of {B} rows, expected 1..max_batch={self.max_batch}")
        np.copyto(self._x[:B], x, casting="same_kind")
        self._run(self._bindings[B - 1])
        return self._risk[:B]


def onnx_sidecar(path: str | os.PathLike[str]) -> Path:
    """The sidecar of ``critic.onnx``: ``critic.onnx.json``."""
    path = Path(path)
    return path.with_name(path.name + ".json")


def export_onnx_critic(
    source: Any,
    path: str | os.PathLike[str],
    *,
    dtype: str = "float32",
    layout: str = "fused",
    feature_names: Sequence[str] | None = None,
) -> Path:
    """Write ``source`` (a NumpyCritic or SafetyCritic) to ``path`` (``.onnx``) and its sidecar
    (:func:`onnx_sidecar`). Returns ``path``."""
    path = Path(path)
    if path.name.endswith(".json"):
        raise ValueError(f"path: {path} must not end in .json (that is the sidecar)")
    fused = _fused(source)
    names = None if feature_names is None else [str(n) for n in feature_names]
    if names is not None and len(names) != fused.n_in:
        raise ValueError(f"feature_names: {len(names)} names for a critic of {fused.n_in} inputs")
    model = critic_onnx_bytes(fused, dtype=dtype, layout=layout)
    atomic_write(path, lambda f: f.write(model))
    atomic_write_json(onnx_sidecar(path), {
        "format": ONNX_CRITIC_FORMAT, "kind": _KIND, "model": path.name, "dtype": dtype, "layout": layout,
        "n_in": fused.n_in, "activation": fused.activation, "input": "x", "output": "risk",
        "feature_names": names, "sha256": hashlib.sha256(model).hexdigest(),
    })
    return path


def load_onnx_critic(path: str | os.PathLike[str], *, max_batch: int = 64) -> OnnxCritic:
    """The :class:`OnnxCritic` of a file written by :func:`export_onnx_critic`.

    Raises:
        ValueError: naming the file and field, when the sidecar is missing or unreadable, of
            another format or kind, the model's SHA-256 differs from the sidecar's, or the
            model's input size or dtype differs from the sidecar's.
    """
    path = Path(path)
    side = onnx_sidecar(path)
    try:
        meta = json.loads(side.read_text())
        model = path.read_bytes()
    except (OSError, ValueError, RecursionError) as exc:  # RecursionError: JSON nested too deep
        raise ValueError(f"{path}: not a readable ONNX critic with sidecar {side.name} "
                         f"({type(exc).__name__}: {str(exc)[:200]})") from exc
    if (not isinstance(meta, dict) or type(meta.get("format")) is not int or meta["format"] != ONNX_CRITIC_FORMAT
            or meta.get("kind") != _KIND):
        got = (meta.get("format"), meta.get("kind")) if isinstance(meta, dict) else type(meta).__name__
        raise ValueError(f"{side}: format/kind: expected ({ONNX_CRITIC_FORMAT}, {_KIND!r}), got {got!r:.120}")
    if hashlib.sha256(model).hexdigest() != meta.get("sha256"):
        raise ValueError(f"{path}: sha256 differs from {side.name} (corrupt or replaced file)")
    names = meta.get("feature_names")
    if names is not None and not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
        raise ValueError(f"{side}: feature_names must be a list of strings or null; got {type(names).__name__}")
    try:
        critic = OnnxCritic(model, max_batch=max_batch, feature_names=names)
    except ValueError as exc:  # e.g. as many feature names as inputs: a field of the sidecar
        raise ValueError(f"{side}: {exc}") from exc
    if type(meta.get("n_in")) is not int or critic.n_in != meta["n_in"] or critic.dtype.name != meta.get("dtype"):
        raise ValueError(f"{side}: n_in/dtype {meta.get('n_in')!r}/{meta.get('dtype')!r} differ from "
                         f"the model's {critic.n_in}/{critic.dtype.name}")
    return critic
