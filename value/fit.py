"""Fit the reward ensemble's weights on a small hand-labelled tuning set.

Tuning set: JSONL, one object per line, fields ``text`` (the response, str), ``score`` (the human
score, finite number), optional ``prompt`` (str), ``reference`` (str or null) and ``id``.

Method: non-negative least squares (``scipy.optimize.nnls``) of the score on the component values,
with a free intercept and an optional L2 penalty ``ridge``. Why NNLS: the ensemble only accepts
weights >= 0 (a metric that should count *against* a text gets a penalty component instead), so an
unconstrained fit would produce weights we would then have to clip, which is no longer a
least-squares solution. Why the optional ridge: BLEU, chrF and ROUGE are strongly correlated, and
on ~20-30 rows plain NNLS may put all weight on one of them; a small ridge spreads it. It is solved
exactly as NNLS on the augmented system ``[Xc; sqrt(ridge) I] w ~ [yc; 0]`` (X, y centered, so the
intercept is free and unpenalised). The intercept only shifts every reward equally, so the ensemble
(a pure weighted sum) ignores it.

The report's held-out numbers come from leave-one-out (``folds=None`` and <= 50 rows) or k-fold
with rows assigned to folds by index modulo k (deterministic, no shuffling).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mcts.files import read_json_objects
from mcts.types import RewardFn, ScoredText
from value.ensemble import RewardEnsemble

_FIELDS = {"id", "text", "score", "prompt", "reference"}


class TuningSetError(ValueError):
    """A bad tuning file or row; the message names the file, the line and the field."""


@dataclass(frozen=True)
class TuningRow:
    text: str
    score: float
    prompt: str = ""
    reference: str | None = None
    id: str = ""
    line: int = 0

    def state(self) -> ScoredText:
        return ScoredText(prompt=self.prompt, steps=(self.text,), reference=self.reference, task_id=self.id)


def load_tuning_set(path: str | Path) -> list[TuningRow]:
    """Parse and validate a tuning JSONL file (blank lines are skipped)."""
    path = Path(path)
    if not path.is_file():
        raise TuningSetError(f"tuning set {str(path)!r} does not exist")
    rows = [_parse_row(where, obj) for where, obj in read_json_objects(path, TuningSetError, "tuning set")]
    if len(rows) < 3:
        raise TuningSetError(f"{path}: needs at least 3 rows to fit and validate weights, found {len(rows)}")
    return rows


def _parse_row(where: str, obj: dict) -> TuningRow:
    unknown = sorted(set(obj) - _FIELDS)
    if unknown:
        raise TuningSetError(f"{where}: unknown field(s) {unknown}; allowed: {sorted(_FIELDS)}")
    for field in ("text", "score"):
        if field not in obj:
            raise TuningSetError(f"{where}: field {field!r} is missing")
    if not isinstance(obj["text"], str):
        raise TuningSetError(f"{where}: field 'text' must be a string, got {obj['text']!r}")
    score = obj["score"]
    if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
        raise TuningSetError(f"{where}: field 'score' must be a finite number, got {score!r}")
    for field in ("prompt", "id"):
        if field in obj and not isinstance(obj[field], str):
            raise TuningSetError(f"{where}: field {field!r} must be a string, got {obj[field]!r}")
    reference = obj.get("reference")
    if reference is not None and not isinstance(reference, str):
        raise TuningSetError(f"{where}: field 'reference' must be a string or null, got {reference!r}")
    return TuningRow(obj["text"], float(score), obj.get("prompt", ""), reference, obj.get("id", ""), int(where.rsplit(":", 1)[1]))


@dataclass(frozen=True)
class FitReport:
    """How well the fitted weights predict the scores. Held-out metrics are NaN where undefined."""

    n_rows: int
    method: str  # "nnls" or "nnls+ridge(<alpha>)"
    heldout: str  # "leave-one-out" or "<k>-fold"
    r2_train: float
    r2_heldout: float
    spearman_heldout: float
    mae_heldout: float


@dataclass(frozen=True)
class FitResult:
    weights: dict[str, float]  # feed to RewardEnsemble(components, weights)
    intercept: float
    report: FitReport


def fit_weights(
    components: RewardEnsemble | Sequence[RewardFn],
    tuning_path: str | Path,
    *,
    keys: Sequence[str] | None = None,
    ridge: float = 0.0,
    folds: int | None = None,
) -> FitResult:
    """Learn ensemble weights from a tuning JSONL (see the module docstring for the method).

    ``keys`` chooses the component keys to fit (default: every key of the components except
    log-only ones such as raw ``perplexity``). Scores every row once, batched, through the real
    components. Deterministic.
    """
    ensemble = components if isinstance(components, RewardEnsemble) else RewardEnsemble(list(components))
    rows = load_tuning_set(tuning_path)
    log_only = {k for c in ensemble.components for k in getattr(c, "log_only", ())}
    keys = list(keys) if keys is not None else [k for k in ensemble.keys if k not in log_only]
    unknown = sorted(set(keys) - set(ensemble.keys))
    if unknown or not keys:
        raise ValueError(f"fit keys {unknown or keys} are not among the components' keys {list(ensemble.keys)}")
    values = ensemble.components_of([row.state() for row in rows])
    features = np.array([[v[k] for k in keys] for v in values], dtype=np.float64)
    if not np.isfinite(features).all():
        bad_row, bad_col = np.argwhere(~np.isfinite(features))[0]
        raise TuningSetError(
            f"{tuning_path}:{rows[bad_row].line}: component {keys[bad_col]!r} is not finite for this row"
        )
    return fit_features(features, np.array([r.score for r in rows]), keys, ridge=ridge, folds=folds)


def fit_features(
    features: np.ndarray, scores: np.ndarray, keys: Sequence[str], *, ridge: float = 0.0, folds: int | None = None
) -> FitResult:
    """The numeric core of ``fit_weights``: ``features`` (n_rows, n_keys), ``scores`` (n_rows,)."""
    n, k = features.shape
    if len(keys) != k or scores.shape != (n,):
        raise ValueError(f"shape mismatch: features {features.shape}, scores {scores.shape}, {len(keys)} keys")
    if not math.isfinite(ridge) or ridge < 0:
        raise ValueError(f"ridge must be finite and >= 0, got {ridge}")
    if n < 3:
        raise ValueError(f"need at least 3 rows to fit and validate weights, got {n}")
    folds = folds if folds is not None else (n if n <= 50 else 5)
    if not 2 <= folds <= n:
        raise ValueError(f"folds must be in [2, {n}] for {n} rows, got {folds}")

    weights, intercept = _nnls_fit(features, scores, ridge)
    predicted = np.empty(n)
    for fold in range(folds):
        test = np.arange(n) % folds == fold
        w, b = _nnls_fit(features[~test], scores[~test], ridge)
        predicted[test] = features[test] @ w + b
    report = FitReport(
        n_rows=n,
        method="nnls" if ridge == 0 else f"nnls+ridge({ridge:g})",
        heldout="leave-one-out" if folds == n else f"{folds}-fold",
        r2_train=_r2(scores, features @ weights + intercept),
        r2_heldout=_r2(scores, predicted),
        spearman_heldout=_spearman(scores, predicted),
        mae_heldout=float(np.mean(np.abs(scores - predicted))),
    )
    return FitResult({key: float(w) for key, w in zip(keys, weights)}, float(intercept), report)


def _nnls_fit(x: np.ndarray, y: np.ndarray, ridge: float) -> tuple[np.ndarray, float]:
    from scipy.optimize import nnls

    x_mean, y_mean = x.mean(axis=0), y.mean()
    a, b = x - x_mean, y - y_mean
    if ridge > 0:
        a = np.vstack([a, math.sqrt(ridge) * np.eye(x.shape[1])])
        b = np.concatenate([b, np.zeros(x.shape[1])])
    w, _ = nnls(a, b)
    return w, float(y_mean - x_mean @ w)


def _r2(y: np.ndarray, pred: np.ndarray) -> float:
    total = float(np.sum((y - y.mean()) ** 2))
    return 1.0 - float(np.sum((y - pred) ** 2)) / total if total > 0 else math.nan


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import rankdata

    ra, rb = rankdata(a), rankdata(b)
    if ra.std() == 0 or rb.std() == 0:
        return math.nan
    return float(np.corrcoef(ra, rb)[0, 1])
