"""Training runs on disk: the typed metrics record, the run folder, the policy sidecar, logging.

* :class:`RunMetrics`: what a run measured (training curve, test evaluations, selection, safety
  counts), one typed record with the JSON form of ``metrics.json``.
* :class:`PolicySidecar`: ``actor.json``, what loading a trained policy needs besides its weights:
  the method's config, the :class:`~robocritic.learning.spec.PlantSpec` (sizes, period, operating
  point, bounds) and any observation normalisation, so that it loads with no env.
* :class:`RunFolder`: the layout of a run folder (``metrics.json`` written last and atomically:
  its presence marks a finished run).
* :class:`CurveLogger`: one training episode or evaluation into the metrics, TensorBoard and the
  progress bar: the one copy of the curve bookkeeping every trainer uses.
* :func:`tensorboard_writer`, :func:`progress_bar`, :func:`versions`.
"""

from __future__ import annotations

import math
import platform
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from robocritic.interfaces import Controller
from robocritic.learning.checkpoint import CheckpointError, file_sha256, load_weights, read_json, save_weights
from robocritic.learning.rollout import EpisodeResult, EvalResult
from robocritic.learning.spec import ObsNormalization, PlantSpec
from robocritic.utils.atomic import atomic_write_json
from robocritic.utils.optional import require

__all__ = [
    "SIDECAR_FORMAT",
    "CurveLogger",
    "EvalCurve",
    "PolicySidecar",
    "RunFolder",
    "RunMetrics",
    "RunResult",
    "Selection",
    "TrainCurve",
    "progress_bar",
    "tensorboard_writer",
    "versions",
]

SIDECAR_FORMAT = 2
"""Version of ``actor.json``: 2 adds ``plant`` and ``observation`` (env-free loading); 1 (no
``format`` key) is what robocritic wrote before."""


def _json_float(v: float | None) -> float | None:
    """NaN and inf (JSON has neither) -> ``None``."""
    return None if v is None or not math.isfinite(v) else float(v)


# -- metrics -------------------------------------------------------------------------------


@dataclass
class TrainCurve:
    """One entry per training episode; losses ``None`` where there were no updates."""

    episode: list[int] = field(default_factory=list)
    train_cost: list[float] = field(default_factory=list)
    train_steps: list[int] = field(default_factory=list)
    train_violation_steps: list[int] = field(default_factory=list)
    critic_loss: list[float | None] = field(default_factory=list)
    actor_loss: list[float | None] = field(default_factory=list)
    wall_s: list[float] = field(default_factory=list)


@dataclass
class EvalCurve:
    """One entry per test evaluation (``validation_cost`` only where validation states exist)."""

    episode: list[int] = field(default_factory=list)
    test_cost: list[float] = field(default_factory=list)
    test_violating: list[int] = field(default_factory=list)
    validation_cost: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class Selection:
    """The best snapshot on the validation states so far."""

    episode: int
    validation_cost: float


def _curve_to_json(curve: TrainCurve | EvalCurve) -> dict[str, list[Any]]:
    return {name: list(values) for name, values in vars(curve).items()}


def _curve_from_json(cls: type[TrainCurve | EvalCurve], data: Any, where: str) -> Any:
    names = set(cls.__dataclass_fields__)
    _mapping(data, f"metrics.{where}")
    if set(data) != names:
        raise ValueError(f"metrics.{where}: keys {sorted(map(str, data))[:12]}; expected {sorted(names)}")
    bad = sorted(k for k, v in data.items() if not isinstance(v, list))
    if bad:
        raise ValueError(f"metrics.{where}.{bad[0]}: must be a list")
    return cls(**{k: list(v) for k, v in data.items()})


# What the nested parsers (numpy conversions, the plant spec, ...) raise on a value of the wrong
# type or size; turned into a ValueError naming the key, as the readers document.
_PARSE_ERRORS = (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError)


def _parsed(where: str, parse: Any, data: Any) -> Any:
    """``parse(data)``; a :data:`_PARSE_ERRORS` error becomes a ValueError naming ``where``."""
    try:
        return parse(data)
    except _PARSE_ERRORS as exc:
        raise ValueError(f"{where}: {type(exc).__name__}: {str(exc)[:200]}") from None


def _eval_or_none(data: Any, where: str) -> EvalResult | None:
    return None if data is None else _parsed(f"metrics.{where}", EvalResult.from_json, data)


def _mapping(data: Any, where: str) -> None:
    """A ValueError naming ``where`` unless ``data`` is a mapping."""
    if not isinstance(data, dict):
        # ValueError like every other malformed-file case: readers catch one exception type.
        raise ValueError(f"{where}: must be a mapping; got {type(data).__name__}")  # noqa: TRY004


def _str_map(data: Any, where: str) -> None:
    """A ValueError naming ``where`` unless ``data`` maps strings to strings."""
    _mapping(data, where)
    bad = [k for k, v in data.items() if not isinstance(v, str)]
    if bad:
        raise ValueError(f"{where}.{str(bad[0])[:40]}: must be a string")


def _of_type(value: Any, what: str, kind: type | tuple[type, ...]) -> Any:
    """``value`` if it is a ``kind`` (a ``bool`` is not an ``int``); else a ValueError naming ``what``."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise ValueError(f"{what}: must be {'/'.join(k.__name__ for k in kinds)}; got {type(value).__name__}")
    return value


def _typed(data: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    """``data[key]`` checked by :func:`_of_type`; a missing key raises KeyError (the callers name
    it as missing)."""
    return _of_type(data[key], f"{where}.{key}", kind)


def _selection(data: Any) -> Selection | None:
    if data is None:
        return None
    _mapping(data, "metrics.selection")
    cost = _typed(data, "validation_cost", (int, float), "metrics.selection")
    return Selection(_typed(data, "episode", int, "metrics.selection"), float(cost))


@dataclass
class RunMetrics:
    """What one training run measured (the content of its ``metrics.json``).

    Attributes:
        env_id, algorithm, seed: the run. episodes_done: training episodes completed.
        curve: per training episode. eval_curve: per test evaluation.
        test_before: the untrained policy on the test states. test_after: the final policy (the
            selected snapshot where there is a validation set). test_after_last: the last
            iterate (set when the run finishes).
        selection: the best validation snapshot so far (``None`` without validation states).
        training_violations: training episodes with an unsafe step; training_violation_steps:
            their unsafe steps.
        versions: software versions (set when the run finishes).
    """

    env_id: str
    algorithm: str
    seed: int
    episodes_done: int = 0
    curve: TrainCurve = field(default_factory=TrainCurve)
    eval_curve: EvalCurve = field(default_factory=EvalCurve)
    test_before: EvalResult | None = None
    test_after: EvalResult | None = None
    test_after_last: EvalResult | None = None
    selection: Selection | None = None
    training_violations: int = 0
    training_violation_steps: int = 0
    versions: dict[str, str] | None = None

    def to_json(self) -> dict[str, Any]:
        """The ``metrics.json`` form (``versions`` only once set)."""
        out: dict[str, Any] = {
            "env_id": self.env_id,
            "algorithm": self.algorithm,
            "seed": int(self.seed),
            "episodes_done": int(self.episodes_done),
            "curve": _curve_to_json(self.curve),
            "eval_curve": _curve_to_json(self.eval_curve),
            "test_before": None if self.test_before is None else self.test_before.to_json(),
            "test_after": None if self.test_after is None else self.test_after.to_json(),
            "test_after_last": None if self.test_after_last is None else self.test_after_last.to_json(),
            "selection": None
            if self.selection is None
            else {"episode": self.selection.episode, "validation_cost": self.selection.validation_cost},
            "training_violations": int(self.training_violations),
            "training_violation_steps": int(self.training_violation_steps),
        }
        if self.versions is not None:
            out["versions"] = dict(self.versions)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunMetrics:
        """Inverse of :meth:`to_json` (also reads the ``metrics.json`` of earlier robocritic
        versions: the same keys).

        Raises:
            ValueError: not a mapping, or a missing or unknown key (named).
        """
        _mapping(data, "metrics")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"metrics: unknown key(s) {unknown}")
        try:
            versions = data.get("versions")
            if versions is not None:
                _str_map(versions, "metrics.versions")
            return cls(
                env_id=_typed(data, "env_id", str, "metrics"),
                algorithm=_typed(data, "algorithm", str, "metrics"),
                seed=_typed(data, "seed", int, "metrics"),
                episodes_done=_typed(data, "episodes_done", int, "metrics"),
                curve=_curve_from_json(TrainCurve, data["curve"], "curve"),
                eval_curve=_curve_from_json(EvalCurve, data["eval_curve"], "eval_curve"),
                test_before=_eval_or_none(data["test_before"], "test_before"),
                test_after=_eval_or_none(data["test_after"], "test_after"),
                test_after_last=_eval_or_none(data["test_after_last"], "test_after_last"),
                selection=_selection(data["selection"]),
                training_violations=_typed(data, "training_violations", int, "metrics"),
                training_violation_steps=_typed(data, "training_violation_steps", int, "metrics"),
                versions=None if versions is None else dict(versions),
            )
        except KeyError as exc:
            raise ValueError(f"metrics: missing key {exc}") from None

    def record_validation(self, episode: int, cost: float) -> bool:
        """Append a validation cost; True if it is the best so far (ties keep the earlier one)."""
        self.eval_curve.validation_cost.append(cost)
        if self.selection is None or cost < self.selection.validation_cost:
            self.selection = Selection(int(episode), float(cost))
            return True
        return False


@dataclass
class RunResult:
    """A finished (or stopped) training run.

    Attributes:
        run_dir: its folder. metrics: what it measured (``metrics.json`` once finished).
        finished: all episodes done. policy: the trained policy (``None`` when stopped early or
            read back from a finished folder without loading it).
    """

    run_dir: Path
    metrics: RunMetrics
    finished: bool
    policy: Controller | None = None


# -- the policy sidecar --------------------------------------------------------------------


@dataclass(frozen=True)
class PolicySidecar:
    """``actor.json``: what loading a trained policy needs besides its weights.

    Attributes:
        kind: what wrote it. algorithm, seed, env_id: the run. config: the method's config as a
            plain dict (its own round trip rebuilds it). weights: the weights file (weights-only).
        plant: the system (``None`` in a format-1 sidecar: loading it needs the env).
        observation: the observation normalisation the policy expects (``None``: absolute
            observations).
        extra: method-specific keys, kept as they are (YANN-RL: ``"law"``, the law file).
        versions: software versions. format: :data:`SIDECAR_FORMAT` of the writer.
        weights_sha256: SHA-256 of the weights file, set by :meth:`RunFolder.write_policy` and
            checked by :meth:`RunFolder.read_weights` (``None`` in sidecars written before it:
            their weights load unchecked, as they did).
    """

    kind: str
    algorithm: str
    seed: int
    env_id: str
    config: dict[str, Any]
    weights: str
    plant: PlantSpec | None = None
    observation: ObsNormalization | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    format: int = SIDECAR_FORMAT
    weights_sha256: str | None = None

    _KEYS = (
        "format",
        "kind",
        "algorithm",
        "seed",
        "env_id",
        "config",
        "weights",
        "plant",
        "observation",
        "versions",
        "weights_sha256",
    )

    def to_json(self) -> dict[str, Any]:
        """The ``actor.json`` form (``weights_sha256`` only once set)."""
        clash = sorted(set(self.extra) & set(self._KEYS))
        if clash:
            raise ValueError(f"PolicySidecar.extra must not reuse the keys {clash}")
        digest = {} if self.weights_sha256 is None else {"weights_sha256": self.weights_sha256}
        return {
            "format": self.format,
            "kind": self.kind,
            "algorithm": self.algorithm,
            "seed": int(self.seed),
            "env_id": self.env_id,
            "config": self.config,
            "weights": self.weights,
            **self.extra,
            "plant": None if self.plant is None else self.plant.to_json(),
            "observation": None if self.observation is None else self.observation.to_json(),
            "versions": dict(self.versions),
            **digest,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PolicySidecar:
        """Read a sidecar of any format (format 1: no ``format``, ``plant``, ``observation``).

        Raises:
            ValueError: not a mapping, a missing key or a value of the wrong type (named), a
                ``weights`` that is not a plain file name, or a format newer than this robocritic
                reads.
        """
        _mapping(data, "sidecar")
        fmt = data.get("format", 1)
        if type(fmt) is not int or fmt < 1:
            raise ValueError(f"sidecar: 'format' must be an integer >= 1; got {fmt!r:.60}")
        if fmt > SIDECAR_FORMAT:
            raise ValueError(f"sidecar format {fmt}; this robocritic reads up to {SIDECAR_FORMAT}")
        try:
            return cls(
                kind=_of_type(data.get("kind", ""), "sidecar.kind", str),
                algorithm=_typed(data, "algorithm", str, "sidecar"),
                seed=_typed(data, "seed", int, "sidecar"),
                env_id=_typed(data, "env_id", str, "sidecar"),
                config=_typed(data, "config", dict, "sidecar"),
                weights=_plain_file_name(_typed(data, "weights", str, "sidecar"), "sidecar.weights"),
                plant=_optional(data, "plant", PlantSpec.from_json),
                observation=_optional(data, "observation", ObsNormalization.from_json),
                extra={k: v for k, v in data.items() if k not in cls._KEYS},
                versions=_versions(data.get("versions")),
                format=fmt,
                weights_sha256=_digest_or_none(data.get("weights_sha256")),
            )
        except KeyError as exc:
            raise ValueError(f"sidecar: missing key {exc}") from None


def _versions(value: Any) -> dict[str, str]:
    """``versions`` of a sidecar: names to version strings (absent or null: none recorded)."""
    if value is None:
        return {}
    _str_map(value, "sidecar.versions")
    return dict(value)


def _digest_or_none(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and len(value) == 64):
        return value
    raise ValueError(f"sidecar.weights_sha256: must be a SHA-256 hex digest or absent; got {value!r:.80}")


def _optional(data: dict[str, Any], key: str, parse: Any) -> Any:
    """``parse(data[key])``, ``None`` when absent or null; a malformed value is a ValueError naming it."""
    value = data.get(key)
    if value is None:
        return None
    _mapping(value, f"sidecar.{key}")
    return _parsed(f"sidecar.{key}", parse, value)


def _plain_file_name(name: str, where: str) -> str:
    """``name`` if it names a file directly in its folder (no path, not ``.``/``..``): a pointer in
    a run's files must not lead out of the run folder.

    Raises:
        ValueError: naming ``where``.
    """
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise ValueError(f"{where}: must be a file name in the run folder (no path); got {name!r:.80}")
    return name


# -- the run folder ------------------------------------------------------------------------


class RunFolder:
    """The files of one run.

    ``checkpoints/`` (resumable), ``tb/`` (TensorBoard), ``actor.pt`` + ``actor.json`` (final
    weights + :class:`PolicySidecar`), ``metrics.json`` (final :class:`RunMetrics`; written last,
    its presence marks a finished run). Methods add their own files (YANN-RL: ``law.npz``).
    """

    METRICS = "metrics.json"
    WEIGHTS = "actor.pt"
    SIDECAR = "actor.json"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def tensorboard(self) -> Path:
        return self.path / "tb"

    @property
    def metrics_path(self) -> Path:
        return self.path / self.METRICS

    @property
    def sidecar_path(self) -> Path:
        return self.path / self.SIDECAR

    def finished(self) -> bool:
        return self.metrics_path.is_file()

    def read_metrics(self) -> RunMetrics:
        """The final metrics. Raises CheckpointError (missing or invalid file)."""
        try:
            return RunMetrics.from_json(read_json(self.metrics_path))
        except ValueError as exc:
            if isinstance(exc, CheckpointError):
                raise
            raise CheckpointError(f"{self.metrics_path}: {exc}") from None

    def write_metrics(self, metrics: RunMetrics) -> Path:
        """Write ``metrics.json`` atomically (do it last: it marks the run finished)."""
        return atomic_write_json(self.metrics_path, metrics.to_json())

    def member(self, name: str, pointer: Path) -> Path:
        """The file ``name`` of this run, as named by the file ``pointer`` (``actor.json``'s
        ``weights``, YANN-RL's ``law``).

        Raises:
            CheckpointError: naming ``pointer``, when ``name`` is not a plain file name or the file
                resolves outside the run folder (a symlink out); not when it is missing (the
                reader says so).
        """
        if not isinstance(name, str):
            raise CheckpointError(f"{pointer}: a file name must be a string; got {type(name).__name__}")
        try:
            path = self.path / _plain_file_name(name, "file name")
        except ValueError as exc:
            raise CheckpointError(f"{pointer}: {exc}") from None
        if path.is_symlink() and not path.resolve().is_relative_to(self.path.resolve()):
            raise CheckpointError(f"{pointer}: {name!r} is a symlink out of the run folder {self.path}; refused")
        return path

    def write_policy(self, weights: dict[str, Any], sidecar: PolicySidecar) -> PolicySidecar:
        """The final weights (weights-only ``torch.save``) then the sidecar with their digest,
        each atomically. Returns the sidecar as written."""
        path = save_weights(self.path / sidecar.weights, weights)
        written = replace(sidecar, weights_sha256=file_sha256(path))
        atomic_write_json(self.sidecar_path, written.to_json())
        return written

    def read_weights(self, sidecar: PolicySidecar) -> dict[str, Any]:
        """The weights ``sidecar`` names (:meth:`member`), checked against its ``weights_sha256``
        when it has one, loaded weights-only.

        Raises:
            CheckpointError: naming the file: missing, a digest that differs (a truncated or
                changed file), not weights-only, or a name leading out of the run folder.
        """
        path = self.member(sidecar.weights, self.sidecar_path)
        if sidecar.weights_sha256 is not None and path.is_file() and file_sha256(path) != sidecar.weights_sha256:
            raise CheckpointError(f"{path}: SHA-256 differs from {self.SIDECAR} (corrupt or replaced file)")
        return load_weights(path)

    def read_sidecar(self) -> PolicySidecar:
        """The policy sidecar. Raises CheckpointError (missing or invalid file)."""
        try:
            return PolicySidecar.from_json(read_json(self.sidecar_path))
        except ValueError as exc:
            if isinstance(exc, CheckpointError):
                raise
            raise CheckpointError(f"{self.sidecar_path}: {exc}") from None


# -- logging -------------------------------------------------------------------------------


def versions(**extra: str) -> dict[str, str]:
    """Versions of Python, torch, numpy, gymnasium and robocritic (plus ``extra``)."""
    import gymnasium
    import torch

    import robocritic

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "gymnasium": gymnasium.__version__,
        "robocritic": getattr(robocritic, "__version__", "unknown"),
        **extra,
    }


def tensorboard_writer(log_dir: Path, purge_step: int | None = None) -> Any:
    """A ``torch.utils.tensorboard.SummaryWriter`` on ``log_dir`` (needs ``tensorboard``).

    ``purge_step``: on resuming, events at or after this step from the interrupted session are
    dropped, so the curves have no duplicate points.
    """
    require("tensorboard", "rl", "TensorBoard logging (or pass tensorboard=False)")
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(log_dir=str(log_dir), purge_step=purge_step)


def progress_bar(total: int, initial: int, desc: str, enabled: bool) -> Any:
    """A tqdm bar (disabled: a no-op bar)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc=desc, disable=not enabled, leave=False, dynamic_ncols=True)


class CurveLogger:
    """Records training episodes and evaluations into a :class:`RunMetrics`, mirrors them as
    TensorBoard scalars (tags ``train/*``, ``loss/*``, ``eval/*``, step = training episode) and
    advances a progress bar.

    Args:
        metrics: the record to append to (mutated).
        tb_dir: TensorBoard folder, ``None``: no TensorBoard.
        purge_step: see :func:`tensorboard_writer` (resuming).
        total: episodes of the run (the bar's length). desc: the bar's label. progress: show it.

    ``wall_s`` of each episode counts from the logger's creation.
    """

    def __init__(
        self,
        metrics: RunMetrics,
        *,
        tb_dir: Path | None,
        purge_step: int | None = None,
        total: int,
        desc: str,
        progress: bool,
    ) -> None:
        self.metrics = metrics
        self.writer = tensorboard_writer(tb_dir, purge_step) if tb_dir is not None else None
        self.t_start = time.perf_counter()
        self.bar = progress_bar(total, metrics.episodes_done, desc, progress)

    def _scalar(self, tag: str, value: float, step: int) -> None:
        if self.writer is not None:
            self.writer.add_scalar(tag, value, step)

    def episode(
        self, result: EpisodeResult, *, critic_loss: float | None = None, actor_loss: float | None = None
    ) -> int:
        """Record the next training episode (mean losses of its updates, NaN/None: none);
        returns its number (``episodes_done`` after it)."""
        m = self.metrics
        episode = m.episodes_done + 1
        m.episodes_done = episode
        c = m.curve
        c.episode.append(episode)
        c.train_cost.append(result.cost)
        c.train_steps.append(result.steps)
        c.train_violation_steps.append(result.violation_steps)
        c.critic_loss.append(_json_float(critic_loss))
        c.actor_loss.append(_json_float(actor_loss))
        c.wall_s.append(time.perf_counter() - self.t_start)
        m.training_violations += int(result.violated)
        m.training_violation_steps += result.violation_steps
        self._scalar("train/episode_cost", result.cost, episode)
        self._scalar("train/violation_steps", result.violation_steps, episode)
        self._scalar("train/violating_episodes_total", m.training_violations, episode)
        for tag, loss in (("loss/critic", c.critic_loss[-1]), ("loss/actor", c.actor_loss[-1])):
            if loss is not None:
                self._scalar(tag, loss, episode)
        return episode

    def evaluation(self, episode: int, result: EvalResult) -> None:
        """Record a test evaluation after ``episode`` training episodes."""
        curve = self.metrics.eval_curve
        curve.episode.append(episode)
        curve.test_cost.append(result.mean_cost)
        curve.test_violating.append(result.n_violating)
        self._scalar("eval/test_cost", result.mean_cost, episode)
        self._scalar("eval/test_violating_episodes", result.n_violating, episode)

    def validation(self, episode: int, cost: float) -> bool:
        """Record a validation cost; True if it is the best snapshot so far."""
        best = self.metrics.record_validation(episode, cost)
        self._scalar("eval/validation_cost", cost, episode)
        return best

    def advance(self, episode_cost: float) -> None:
        """Move the bar by one episode, showing its cost and the last test cost."""
        self.bar.update(1)
        tests = self.metrics.eval_curve.test_cost
        self.bar.set_postfix(cost=f"{episode_cost:.4g}", test=f"{tests[-1]:.4g}" if tests else "-")

    def flush(self) -> None:
        if self.writer is not None:
            self.writer.flush()

    def close(self) -> None:
        self.bar.close()
        if self.writer is not None:
            self.writer.close()
