"""Calibration of a value network on held-out trees: is V(s) a probability one can trust?

- ``mse``: mean squared error against the training target (backed-up Q by default).
- ``brier``: mean squared error of the prediction against the observed outcome in [0, 1]
  (Brier 1950); predictions are clipped to [0, 1] first.
- ``ece``: expected calibration error with equal-width bins on [0, 1]:
  ``sum_b (n_b / N) * |mean(pred_b) - mean(outcome_b)|`` (Naeini et al. 2015).
- ``spearman``: Spearman rank correlation between predictions and Monte-Carlo returns (ties get
  their average rank; NaN when either side is constant).
- ``roc_auc``: area under the ROC curve of predictions against 0/1 labels (Mann-Whitney U over
  average ranks, so ties count one half; NaN without both classes).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np


def _array(values: Sequence[float], name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} holds NaN or infinite values")
    return arr


def _outcomes(outcomes: Sequence[float]) -> np.ndarray:
    arr = _array(outcomes, "outcomes")
    if np.any((arr < 0) | (arr > 1)):
        raise ValueError("outcomes must lie in [0, 1] (solved = 1, failed = 0, or a solve rate)")
    return arr


def brier_score(predictions: Sequence[float], outcomes: Sequence[float]) -> float:
    p = np.clip(_array(predictions, "predictions"), 0.0, 1.0)
    return float(np.mean((p - _outcomes(outcomes)) ** 2))


def reliability_bins(predictions: Sequence[float], outcomes: Sequence[float], n_bins: int = 10):
    """Per equal-width bin on [0, 1]: ``(count, mean prediction, mean outcome)`` arrays (NaN when empty)."""
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    p = np.clip(_array(predictions, "predictions"), 0.0, 1.0)
    y = _outcomes(outcomes)
    if p.shape != y.shape:
        raise ValueError(f"predictions and outcomes differ in length: {p.size} vs {y.size}")
    index = np.minimum((p * n_bins).astype(int), n_bins - 1)  # 1.0 falls in the last bin
    counts = np.bincount(index, minlength=n_bins).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_p = np.bincount(index, weights=p, minlength=n_bins) / counts
        mean_y = np.bincount(index, weights=y, minlength=n_bins) / counts
    return counts, mean_p, mean_y


def expected_calibration_error(predictions: Sequence[float], outcomes: Sequence[float], n_bins: int = 10) -> float:
    counts, mean_p, mean_y = reliability_bins(predictions, outcomes, n_bins)
    filled = counts > 0
    return float(np.sum(counts[filled] / counts.sum() * np.abs(mean_p[filled] - mean_y[filled])))


def _ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks of ``x``; tied values share their average rank. O(N log N)."""
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)  # rank of the last member of each group of equal values
    return (ends - (counts - 1) / 2.0)[inverse.reshape(-1)].astype(np.float64)


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    a, b = _array(x, "x"), _array(y, "y")
    if a.shape != b.shape:
        raise ValueError(f"x and y differ in length: {a.size} vs {b.size}")
    if a.size < 2:
        return math.nan
    ra, rb = _ranks(a), _ranks(b)
    if ra.std() == 0 or rb.std() == 0:
        return math.nan
    return float(np.corrcoef(ra, rb)[0, 1])


def roc_auc(predictions: Sequence[float], labels: Sequence[float]) -> float:
    """P(score of a random positive > score of a random negative), ties counted 1/2; labels 0/1."""
    p, y = _array(predictions, "predictions"), _array(labels, "labels")
    if p.shape != y.shape:
        raise ValueError(f"predictions and labels differ in length: {p.size} vs {y.size}")
    if np.any((y != 0) & (y != 1)):
        raise ValueError("labels must be 0 or 1")
    positives = int(y.sum())
    negatives = int(y.size - positives)
    if positives == 0 or negatives == 0:
        return math.nan
    rank_sum = _ranks(p)[y == 1].sum()
    return float((rank_sum - positives * (positives + 1) / 2) / (positives * negatives))


@dataclass(frozen=True)
class CalibrationReport:
    n: int
    mse: float
    brier: float
    ece: float
    spearman: float
    mean_prediction: float
    mean_outcome: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def calibration_report(
    predictions: Sequence[float],
    targets: Sequence[float],
    outcomes: Sequence[float],
    returns: Sequence[float],
    n_bins: int = 10,
) -> CalibrationReport:
    """All four numbers at once (see the module docstring); all inputs aligned, length N >= 1."""
    p = _array(predictions, "predictions")
    t = _array(targets, "targets")
    if p.size == 0 or t.shape != p.shape:
        raise ValueError(f"need as many targets as predictions (>= 1), got {t.size} and {p.size}")
    return CalibrationReport(
        n=int(p.size),
        mse=float(np.mean((p - t) ** 2)),
        brier=brier_score(p, outcomes),
        ece=expected_calibration_error(p, outcomes, n_bins),
        spearman=spearman(p, returns),
        mean_prediction=float(p.mean()),
        mean_outcome=float(_outcomes(outcomes).mean()),
    )


def reliability_plot(
    predictions: Sequence[float], outcomes: Sequence[float], path: str | Path, n_bins: int = 10, title: str | None = None
) -> Path:
    """Reliability diagram (mean outcome vs mean prediction per bin, with the diagonal and the
    bin counts) saved as a PNG; returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts, mean_p, mean_y = reliability_bins(predictions, outcomes, n_bins)
    filled = counts > 0
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(5, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    top.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    top.plot(mean_p[filled], mean_y[filled], marker="o", label="value net")
    top.set_ylabel("observed outcome")
    top.set_xlim(0, 1)
    top.set_ylim(0, 1)
    top.legend(loc="upper left")
    ece = expected_calibration_error(predictions, outcomes, n_bins)
    top.set_title(title or f"reliability (ECE {ece:.3f}, n={int(counts.sum())})")
    edges = np.linspace(0, 1, n_bins + 1)
    bottom.bar(edges[:-1], counts, width=1 / n_bins, align="edge", edgecolor="black")
    bottom.set_xlabel("predicted value")
    bottom.set_ylabel("count")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)
