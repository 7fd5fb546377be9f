"""How good is the Bresa critic? Classification, warning lead time, false alarms, calibration.

Inputs are per-tick arrays of ``N`` ticks, several episodes concatenated (``episode (N,)`` holds
an episode id per tick; a tick whose id differs from the previous tick's starts a new episode):
``risk`` (the critic's output in [0, 1]), ``labels`` / ``mask`` from
:func:`robocritic.bresa.labels.violation_labels` ("violation within H"), ``cost`` (the per-tick
violation 0 / 1, :func:`~robocritic.bresa.labels.safety_cost`) and ``contact`` (the tool is in
contact, e.g. filtered force above :data:`~robocritic.bresa.features.CONTACT_THRESHOLD`). A tick
is WARNED (the filter would act) iff ``risk > threshold``.

Definitions (:func:`critic_report`):

* Classification, over the ticks with ``mask`` True only: TP / FP / FN / TN of warned vs
  ``labels == 1``; precision ``TP / (TP + FP)`` (NaN without warned ticks), recall
  ``TP / (TP + FN)`` (NaN without positive ticks), F1 ``2 P R / (P + R)`` (0 when P + R = 0, NaN
  when either is NaN), accuracy ``(TP + TN) / n``.
* AUROC, masked ticks: the Mann-Whitney probability that a positive tick has a higher risk than
  a negative one, ties counting 1/2 (average ranks); NaN unless both classes occur.
* Events: an EVENT is a maximal run of consecutive ticks with ``cost > 0`` inside one episode;
  its ONSET is its first tick. Its warning window is the ticks ``[lo, onset]`` (onset included)
  with ``lo`` the latest of ``onset - round(lookback_s / dt)``, the episode's first tick and the
  tick after the previous event's last tick. If some tick of the window is warned, the event's
  LEAD TIME is ``(onset - first warned tick of the window) * dt`` [s] (0 when only the onset is
  warned; the warning need not last until the onset); else it is NaN (missed). ``warned_fraction``
  = events with any warned tick in the window / events; ``warned_ahead[k]`` = events whose lead
  time is at least ``k`` (compared in whole ticks, ``round(k / dt)``) / events, for ``k`` in
  ``lead_thresholds_s``. NaN when there are no events. ``lead_time_median_s``: the median over
  warned events.
* False alarms: NOMINAL-CONTACT ticks are those with ``contact`` True, ``labels == 0`` and
  ``mask`` True. ``nominal_trigger_fraction`` = warned nominal-contact ticks / nominal-contact
  ticks. A TRIGGER is a warned tick whose previous tick in the same episode is not warned (or
  that starts its episode); ``false_triggers`` counts triggers at nominal-contact ticks and
  ``false_triggers_per_s`` divides by the nominal-contact time ``n * dt``. NaN without
  nominal-contact ticks.
* Calibration, masked ticks: ``bins`` equal bins on [0, 1] (bin ``min(floor(risk * bins),
  bins - 1)``); per bin the count, the mean risk and the observed frequency of ``labels == 1``
  (NaN for empty bins). ``ece = sum_b (n_b / n) |mean_risk_b - frequency_b|``. Brier score =
  mean ``(risk - label)^2``.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from robocritic.utils.atomic import atomic_write

__all__ = ["CriticReport", "auroc", "critic_report", "plot_reliability"]


@dataclass(frozen=True)
class CriticReport:
    """Result of :func:`critic_report` (definitions in the module docstring; rates in [0, 1],
    times in s)."""

    threshold: float
    dt: float
    n_ticks: int
    n_masked: int
    n_positive: int
    tp: int
    fp: int
    fn: int
    tn: int
    precision: float
    recall: float
    f1: float
    accuracy: float
    auroc: float
    brier: float
    ece: float
    bin_edges: tuple[float, ...]
    bin_mean_risk: tuple[float, ...]
    bin_frequency: tuple[float, ...]
    bin_count: tuple[int, ...]
    n_events: int
    lead_times_s: tuple[float, ...]
    warned_fraction: float
    warned_ahead: dict[str, float] = field(default_factory=dict)
    lead_time_median_s: float = math.nan
    n_nominal_contact: int = 0
    nominal_trigger_fraction: float = math.nan
    false_triggers: int = 0
    false_triggers_per_s: float = math.nan

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: tuples as lists, NaN as ``None``."""
        return _json_safe(asdict(self))


def _json_safe(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den > 0 else math.nan


def auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Rank-based AUROC of ``scores (n,)`` for binary ``labels (n,)`` (ties count 1/2); NaN
    unless both classes occur."""
    x = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(labels).ravel() > 0
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    bounds = np.flatnonzero(np.diff(xs)) + 1
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [x.size]])
    ranks = np.empty(x.size)
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)  # 1-based average ranks
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def _vector(name: str, value: np.ndarray, n: int | None, dtype: type) -> np.ndarray:
    a = np.asarray(value)
    if a.ndim != 1 or (n is not None and a.shape[0] != n):
        raise ValueError(f"{name}: expected shape ({'N' if n is None else n},), got {a.shape}")
    return a.astype(dtype, copy=False)


def critic_report(
    risk: np.ndarray,
    labels: np.ndarray,
    mask: np.ndarray,
    episode: np.ndarray,
    cost: np.ndarray,
    contact: np.ndarray,
    *,
    threshold: float = 0.5,
    dt: float = 0.001,
    bins: int = 10,
    lookback_s: float = 0.2,
    lead_thresholds_s: tuple[float, ...] = (0.001, 0.005, 0.02),
) -> CriticReport:
    """Evaluate a critic's per-tick risk against labels and violation events (module docstring).

    Args:
        risk: ``(N,)`` in [0, 1]. labels: ``(N,)`` 0 / 1. mask: ``(N,)`` bool (False = censored).
        episode: ``(N,)`` episode id per tick. cost: ``(N,)`` violation 0 / 1 (> 0 counts).
        contact: ``(N,)`` bool.
        threshold: warned iff ``risk > threshold``. dt: tick [s], > 0. bins: calibration bins, >= 1.
        lookback_s: longest warning window before an onset [s], >= 0.
        lead_thresholds_s: lead times [s] for ``warned_ahead``.
    """
    r = _vector("risk", risk, None, np.float64)
    n = r.shape[0]
    if n == 0:
        raise ValueError("risk: expected at least one tick, got none")
    y = _vector("labels", labels, n, np.float64) > 0
    keep = _vector("mask", mask, n, bool)
    ep = _vector("episode", episode, n, np.int64)
    c = _vector("cost", cost, n, np.float64) > 0
    touching = _vector("contact", contact, n, bool)
    if not np.isfinite(r).all() or (r < 0).any() or (r > 1).any():
        raise ValueError("risk: expected finite values in [0, 1]")
    if not (math.isfinite(threshold) and 0.0 <= threshold <= 1.0):
        raise ValueError(f"threshold: expected a value in [0, 1], got {threshold!r}")
    if not (math.isfinite(dt) and dt > 0):
        raise ValueError(f"dt: expected a period > 0 s, got {dt!r}")
    if int(bins) != bins or bins < 1:
        raise ValueError(f"bins: expected an integer >= 1, got {bins!r}")
    if not (math.isfinite(lookback_s) and lookback_s >= 0):
        raise ValueError(f"lookback_s: expected a duration >= 0 s, got {lookback_s!r}")
    warned = r > threshold

    # classification on the uncensored ticks
    rm, ym, wm = r[keep], y[keep], warned[keep]
    tp = int((wm & ym).sum())
    fp = int((wm & ~ym).sum())
    fn = int((~wm & ym).sum())
    tn = int((~wm & ~ym).sum())
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    if math.isnan(precision) or math.isnan(recall):
        f1 = math.nan
    else:
        f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    n_masked = int(keep.sum())

    # calibration
    edges = np.linspace(0.0, 1.0, int(bins) + 1)
    idx = np.minimum((rm * bins).astype(np.int64), int(bins) - 1)
    count = np.bincount(idx, minlength=bins)
    sum_r = np.bincount(idx, weights=rm, minlength=bins)
    sum_y = np.bincount(idx, weights=ym.astype(np.float64), minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_r = np.where(count > 0, sum_r / count, np.nan)
        freq = np.where(count > 0, sum_y / count, np.nan)
    ece = float(np.abs(sum_r - sum_y).sum() / n_masked) if n_masked else math.nan
    brier = float(np.mean((rm - ym) ** 2)) if n_masked else math.nan

    # episode structure: new_ep[t] = tick t starts an episode
    new_ep = np.ones(n, dtype=bool)
    new_ep[1:] = ep[1:] != ep[:-1]
    ep_start = np.maximum.accumulate(np.where(new_ep, np.arange(n), 0))
    prev_c = np.zeros(n, dtype=bool)
    prev_c[1:] = c[:-1]
    prev_c &= ~new_ep
    onsets = np.flatnonzero(c & ~prev_c)
    next_new = np.ones(n, dtype=bool)
    next_new[:-1] = new_ep[1:]
    next_c = np.zeros(n, dtype=bool)
    next_c[:-1] = c[1:]
    ends = np.flatnonzero(c & (~next_c | next_new))

    # lead times
    lookback = int(round(lookback_s / dt))
    leads: list[float] = []
    lead_ticks: list[int] = []
    for k, onset in enumerate(onsets):
        lo = max(onset - lookback, ep_start[onset])
        if k > 0 and ends[k - 1] >= ep_start[onset]:
            lo = max(lo, ends[k - 1] + 1)
        hit = np.flatnonzero(warned[lo : onset + 1])
        if hit.size:
            lead_ticks.append(int(onset - (lo + hit[0])))
            leads.append(lead_ticks[-1] * dt)
        else:
            leads.append(math.nan)
    n_events = len(onsets)
    warned_fraction = _ratio(len(lead_ticks), n_events)
    ahead = {f"{t * 1e3:g}ms": _ratio(sum(lt >= round(t / dt) for lt in lead_ticks), n_events)
             for t in lead_thresholds_s}
    median_lead = float(np.median(lead_ticks)) * dt if lead_ticks else math.nan

    # false alarms in nominal contact
    nominal = touching & ~y & keep
    prev_w = np.zeros(n, dtype=bool)
    prev_w[1:] = warned[:-1]
    prev_w &= ~new_ep
    trigger = warned & ~prev_w
    n_nominal = int(nominal.sum())
    false_triggers = int((trigger & nominal).sum())

    return CriticReport(
        threshold=float(threshold), dt=float(dt), n_ticks=n, n_masked=n_masked, n_positive=int(ym.sum()),
        tp=tp, fp=fp, fn=fn, tn=tn, precision=precision, recall=recall, f1=f1,
        accuracy=_ratio(tp + tn, n_masked), auroc=auroc(rm, ym), brier=brier, ece=ece,
        bin_edges=tuple(float(e) for e in edges), bin_mean_risk=tuple(float(v) for v in mean_r),
        bin_frequency=tuple(float(v) for v in freq), bin_count=tuple(int(v) for v in count),
        n_events=n_events, lead_times_s=tuple(leads), warned_fraction=warned_fraction, warned_ahead=ahead,
        lead_time_median_s=median_lead, n_nominal_contact=n_nominal,
        nominal_trigger_fraction=_ratio(int((warned & nominal).sum()), n_nominal),
        false_triggers=false_triggers, false_triggers_per_s=_ratio(false_triggers, n_nominal * dt),
    )


def plot_reliability(report: CriticReport, path: str | os.PathLike[str]) -> Path:
    """Write the reliability diagram of ``report`` to ``path`` (PNG, atomic; headless Agg canvas,
    no pyplot state). Top: observed frequency vs mean risk per bin, with the diagonal of perfect
    calibration; bottom: ticks per bin (log scale). Returns ``path``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    edges = np.asarray(report.bin_edges)
    centres = 0.5 * (edges[:-1] + edges[1:])
    width = np.diff(edges)
    mean_r = np.asarray(report.bin_mean_risk)
    freq = np.asarray(report.bin_frequency)
    count = np.asarray(report.bin_count)

    fig = Figure(figsize=(5, 6), constrained_layout=True)
    FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    top.plot([0, 1], [0, 1], "k--", linewidth=0.8, label="perfectly calibrated")
    filled = count > 0
    top.bar(centres[filled], freq[filled], width=width[filled], alpha=0.3, edgecolor="C0",
            label="observed frequency")
    top.plot(mean_r[filled], freq[filled], "o-", color="C1", label="(mean risk, frequency)")
    top.axvline(report.threshold, color="C3", linewidth=0.8, linestyle=":", label="threshold")
    top.set_xlim(0, 1)
    top.set_ylim(0, 1)
    top.set_ylabel("frequency of violation within H")
    top.set_title(f"Bresa critic reliability: ECE {report.ece:.3f}, Brier {report.brier:.3f}, "
                  f"AUROC {report.auroc:.3f}", fontsize=9)
    top.legend(fontsize=7, loc="upper left")
    bottom.bar(centres, np.maximum(count, 0), width=width, color="C0", edgecolor="k", linewidth=0.5)
    if filled.any():
        bottom.set_yscale("log")
    bottom.set_xlabel("predicted risk")
    bottom.set_ylabel("ticks")
    return atomic_write(path, lambda fh: fig.savefig(fh, format="png", dpi=110))
