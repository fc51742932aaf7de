"""The reward ensemble, building it from config weights, and fitting its weights on a tuning set."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

import value
from mcts.types import RewardFn, ScoredText
from value import (
    BleuReward,
    ChrfReward,
    LengthPenalty,
    RewardEnsemble,
    RougeReward,
    TuningSetError,
    VerifierReward,
    build_ensemble,
    fit_weights,
    load_tuning_set,
)

TOY_SET = Path(value.__file__).parent / "data" / "toy_tuning_set.jsonl"
REFERENCE = "the cat sat on the mat"


def st(response: str, reference: str | None = REFERENCE) -> ScoredText:
    return ScoredText(prompt="p", steps=(response,), reference=reference, task_id="t")


def solved_if_24(state: ScoredText) -> bool:
    return state.response.strip() == "24"


# ------------------------------------------------------------------ the ensemble


def test_total_is_the_weighted_sum_and_every_component_is_logged():
    ensemble = RewardEnsemble(
        [BleuReward(), RougeReward(), LengthPenalty(free=2, span=4)],
        {"bleu": 2.0, "rougeL": 0.5, "length_penalty": 1.0},
    )
    assert isinstance(ensemble, RewardFn)
    (breakdown,) = ensemble.score([st("the cat sat on a mat")])
    c = breakdown.components
    assert set(c) == {"bleu", "rouge1", "rouge2", "rougeL", "length_penalty"}
    assert c["length_penalty"] == -1.0  # 6 words: 4 over the 2 free
    assert breakdown.total == pytest.approx(2.0 * c["bleu"] + 0.5 * c["rougeL"] - 1.0)
    assert ensemble.weights["rouge1"] == 0.0  # logged, not counted
    assert ensemble([st("the cat sat on a mat")])[0]["total"] == pytest.approx(breakdown.total)


def test_default_weights_are_one_except_log_only_keys():
    ensemble = RewardEnsemble([BleuReward(), VerifierReward(solved_if_24)])
    assert ensemble.weights == {"bleu": 1.0, "verifier": 1.0}
    totals = [b.total for b in ensemble.score([st("24", reference="24"), st("23", reference="24")])]
    assert totals == [2.0, 0.0]


@pytest.mark.parametrize(
    ("weights", "error", "message"),
    [
        ({"blue": 1.0}, ValueError, r"unknown components \['blue'\]"),
        ({"bleu": -0.5}, ValueError, r"'bleu' must be finite and >= 0, got -0.5"),
        ({"bleu": math.nan}, ValueError, r"'bleu' must be finite"),
        ({"bleu": math.inf}, ValueError, r"'bleu' must be finite"),
        ({"bleu": "1"}, TypeError, r"'bleu' must be a number"),
    ],
)
def test_bad_weights_raise_clear_errors(weights, error, message):
    with pytest.raises(error, match=message):
        RewardEnsemble([BleuReward(), ChrfReward()], weights)


def test_duplicate_keys_and_empty_ensembles_are_rejected():
    with pytest.raises(ValueError, match="'bleu' is produced by both"):
        RewardEnsemble([BleuReward(), BleuReward()])
    with pytest.raises(ValueError, match="at least one component"):
        RewardEnsemble([])


def test_weighted_non_finite_component_is_an_error_but_unweighted_is_logged():
    class Broken:
        name = "broken"

        def __call__(self, states):
            return [{"broken": math.nan} for _ in states]

    logged = RewardEnsemble([Broken(), BleuReward()], {"bleu": 1.0})
    assert math.isnan(logged.score([st(REFERENCE)])[0].components["broken"])
    with pytest.raises(ValueError, match="'broken' is nan"):
        RewardEnsemble([Broken()], {"broken": 1.0}).score([st("x")])


# ------------------------------------------------------------------ building from config


def test_build_ensemble_makes_only_the_named_components():
    ensemble = build_ensemble(
        {"chrf": 1.0, "rougeL": 0.5, "verifier": 3.0, "length_penalty": 0.1},
        verify_fn=solved_if_24,
        options={"length_penalty": {"free": 0, "span": 1}},
    )
    assert [c.name for c in ensemble.components] == ["chrf", "rouge", "verifier", "length_penalty"]
    (row,) = ensemble([st("24", reference="24")])
    assert row["verifier"] == 1.0 and row["length_penalty"] == -1.0
    assert row["total"] == pytest.approx(1.0 * 1.0 + 0.5 * 1.0 + 3.0 - 0.1)


@pytest.mark.parametrize(
    ("weights", "kwargs", "message"),
    [
        ({"bleux": 1.0}, {}, r"unknown reward keys \['bleux'\]"),
        ({"perplexity_reward": 1.0}, {}, "needs a scoring model"),
        ({"verifier": 1.0}, {}, "needs the task's verify function"),
        ({"bleu": 1.0}, {"options": {"blu": {}}}, r"unknown components \['blu'\]"),
        ({"length_penalty": 1.0}, {"options": {"length_penalty": {"fre": 3}}}, "bad options for reward component"),
    ],
)
def test_build_ensemble_config_errors(weights, kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_ensemble(weights, **kwargs)


def test_raw_perplexity_cannot_be_weighted():
    from value_tiny_lm import tiny_lm_dir

    with pytest.raises(ValueError, match="log-only diagnostic.*perplexity_reward"):
        build_ensemble({"perplexity": 1.0}, scoring_model=tiny_lm_dir())
    shared = build_ensemble({"perplexity_reward": 1.0, "step_likelihood": 1.0}, scoring_model=tiny_lm_dir())
    assert shared.components[0].scorer is shared.components[1].scorer  # one model, one forward pass


# ------------------------------------------------------------------ fitting weights


def write_rows(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_fit_recovers_known_weights_from_synthetic_scores(tmp_path):
    components = [BleuReward(), ChrfReward(), LengthPenalty(free=3, span=6)]
    texts = [
        "the cat sat on the mat", "the cat sat on a mat", "a cat sat on the mat today", "the dog sat",
        "cats sit on mats", "the mat", "on the mat the cat sat", "a dog ran in the park all day long",
        "the cat", "the cat sat on the warm red mat near the door", "sat", "the cat lay on the mat",
        "mat cat the on sat the", "the hat sat on the cat", "xyz", "the cat sat on the mat and purred loudly",
    ]
    true = {"bleu": 0.6, "chrf": 0.0, "length_penalty": 0.3}
    values = RewardEnsemble(components).components_of([st(t) for t in texts])
    rows = [
        {"text": t, "reference": REFERENCE, "score": 0.1 + sum(w * v[k] for k, w in true.items())}
        for t, v in zip(texts, values)
    ]
    result = fit_weights(components, write_rows(tmp_path / "synthetic.jsonl", rows))
    assert result.weights == pytest.approx(true, abs=1e-6)
    assert result.intercept == pytest.approx(0.1, abs=1e-6)
    report = result.report
    assert report.n_rows == len(texts) and report.heldout == "leave-one-out" and report.method == "nnls"
    assert report.r2_train == pytest.approx(1.0) and report.r2_heldout > 0.99
    assert report.spearman_heldout > 0.99 and report.mae_heldout < 1e-6


def test_fit_on_the_toy_tuning_set_reports_a_useful_fit():
    result = fit_weights([BleuReward(), ChrfReward(), RougeReward()], TOY_SET, ridge=0.01, folds=6)
    report = result.report
    assert report.n_rows == 24 and report.heldout == "6-fold" and report.method == "nnls+ridge(0.01)"
    assert all(w >= 0 for w in result.weights.values()) and sum(result.weights.values()) > 0
    assert report.spearman_heldout > 0.3  # the metrics rank answers, though they miss wrong facts
    RewardEnsemble([BleuReward(), ChrfReward(), RougeReward()], result.weights)  # usable as-is


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", r"bad\.jsonl:2: not valid JSON"),
        ("[1, 2]", r"bad\.jsonl:2: expected a JSON object"),
        ('{"score": 1}', r"bad\.jsonl:2: field 'text' is missing"),
        ('{"text": "a"}', r"bad\.jsonl:2: field 'score' is missing"),
        ('{"text": "a", "score": "high"}', r"bad\.jsonl:2: field 'score' must be a finite number"),
        ('{"text": "a", "score": NaN}', r"bad\.jsonl:2: field 'score' must be a finite number"),
        ('{"text": "a", "score": true}', r"bad\.jsonl:2: field 'score'"),
        ('{"text": 3, "score": 1}', r"bad\.jsonl:2: field 'text' must be a string"),
        ('{"text": "a", "score": 1, "reference": 5}', r"bad\.jsonl:2: field 'reference'"),
        ('{"text": "a", "score": 1, "refrence": "b"}', r"bad\.jsonl:2: unknown field\(s\) \['refrence'\]"),
    ],
)
def test_bad_tuning_rows_name_file_line_and_field(tmp_path, line, message):
    good = '{"text": "a", "score": 1}'
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join([good, line, good, good]) + "\n")
    with pytest.raises(TuningSetError, match=message):
        load_tuning_set(path)


def test_tuning_set_file_level_errors(tmp_path):
    with pytest.raises(TuningSetError, match="does not exist"):
        load_tuning_set(tmp_path / "missing.jsonl")
    with pytest.raises(TuningSetError, match="at least 3 rows"):
        load_tuning_set(write_rows(tmp_path / "short.jsonl", [{"text": "a", "score": 1}]))
    with pytest.raises(ValueError, match="not among the components' keys"):
        fit_weights([BleuReward()], TOY_SET, keys=["chrf"])
    rows = load_tuning_set(TOY_SET)
    assert len(rows) == 24 and rows[0].reference and rows[0].prompt
