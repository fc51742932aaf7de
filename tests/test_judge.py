"""The LMGT judge and the LM terminal validator, on a tiny GPT-2 trained to answer " good" / " bad"."""

from __future__ import annotations

import math

import pytest
from value_tiny_lm import BAD_STEPS, GOOD_STEPS, JUDGE_TEMPLATE, tiny_lm_dir

from mcts.types import Judge, ScoredText
from value import CausalLMScorer, LMGTJudge, LMGTJudgeConfig, LMTerminalValidator


def states(steps: list[str]) -> list[ScoredText]:
    return [ScoredText(prompt="", steps=(s,), task_id=f"t{i}") for i, s in enumerate(steps)]


@pytest.fixture(scope="module")
def scorer() -> CausalLMScorer:
    return CausalLMScorer(tiny_lm_dir())


@pytest.fixture()
def judge(scorer) -> LMGTJudge:
    return LMGTJudge(scorer, LMGTJudgeConfig(template=JUDGE_TEMPLATE, scale=0.5))


def test_judge_follows_what_the_model_learned(judge):
    assert isinstance(judge, Judge)
    verdicts = judge.judge(states(GOOD_STEPS + BAD_STEPS))
    assert verdicts == [1] * len(GOOD_STEPS) + [-1] * len(BAD_STEPS)
    assert judge.shift(states(GOOD_STEPS[:1] + BAD_STEPS[:1])) == [0.5, -0.5]


def test_judge_is_deterministic_and_batched_equals_unbatched(scorer):
    config = LMGTJudgeConfig(template=JUDGE_TEMPLATE)
    batch = states(GOOD_STEPS + BAD_STEPS + ["the quick brown fox"])
    together = LMGTJudge(scorer, config)
    fresh = LMGTJudge(CausalLMScorer(tiny_lm_dir(), cache_size=0), config)
    verdicts = together.judge(batch)
    assert set(verdicts) <= {-1, 0, 1}
    assert fresh.judge(batch) == verdicts
    assert [fresh.judge([s])[0] for s in batch] == verdicts
    for a, b in zip(fresh.answer_logprobs(batch), [fresh.answer_logprobs([s])[0] for s in batch]):
        assert a == pytest.approx(b, abs=1e-4)


def test_judge_counts_forward_passes_and_tokens():
    judge = LMGTJudge(
        CausalLMScorer(tiny_lm_dir(), batch_size=64, cache_size=0), LMGTJudgeConfig(template=JUDGE_TEMPLATE)
    )
    judge.judge(states(GOOD_STEPS + BAD_STEPS))
    assert judge.calls == 1  # 8 states x 3 answers = 24 sequences, one forward pass
    assert judge.judged == 8
    first_tokens = judge.tokens
    assert first_tokens > 24
    judge.judge(states(GOOD_STEPS))
    assert judge.calls == 2 and judge.tokens > first_tokens


def test_single_token_answers_take_one_row_per_state_and_match_the_pairwise_likelihoods():
    config = LMGTJudgeConfig(template=JUDGE_TEMPLATE, neutral=None)  # " good" and " bad" are one token each
    scorer = CausalLMScorer(tiny_lm_dir(), batch_size=64, cache_size=0)
    judge = LMGTJudge(scorer, config)
    batch = states(GOOD_STEPS + BAD_STEPS)
    logprobs = judge.answer_logprobs(batch)
    assert judge.calls == 1
    state_tokens = sum(len(scorer.tokenizer(JUDGE_TEMPLATE.format(step=s))["input_ids"]) + 1 for s in GOOD_STEPS + BAD_STEPS)
    assert judge.tokens == state_tokens  # one row per state (BOS + its text), not one per answer
    pairs = scorer.piece_logprobs([(JUDGE_TEMPLATE.format(step=s.steps[0]), a) for s in batch for a in (" good", " bad")])
    for i, lp in enumerate(logprobs):
        assert lp["accept"] == pytest.approx(pairs[2 * i][1].sum(), abs=1e-4)
        assert lp["reject"] == pytest.approx(pairs[2 * i + 1][1].sum(), abs=1e-4)
    assert judge.judge(batch) == [1] * len(GOOD_STEPS) + [-1] * len(BAD_STEPS)


def test_score_is_p_accept_minus_p_reject_renormalised(judge):
    batch = states(GOOD_STEPS[:2] + BAD_STEPS[:2])
    scores = judge.score(batch)
    for score, lp, verdict in zip(scores, judge.answer_logprobs(batch), judge.judge(batch)):
        total = sum(math.exp(v) for v in lp.values())
        assert score == pytest.approx((math.exp(lp["accept"]) - math.exp(lp["reject"])) / total)
        assert -1 <= score <= 1 and (score > 0) == (verdict > 0)


def test_thresholds_move_the_decision(scorer, judge):
    good, bad = states([GOOD_STEPS[0], BAD_STEPS[0]])
    margin_good = judge.answer_logprobs([good])[0]
    margin = margin_good["accept"] - margin_good["reject"]
    assert margin > 0
    strict = LMGTJudge(scorer, LMGTJudgeConfig(template=JUDGE_TEMPLATE, accept_threshold=margin + 0.1))
    assert strict.judge([good, bad]) == [0, -1]
    lenient = LMGTJudge(scorer, LMGTJudgeConfig(template=JUDGE_TEMPLATE, accept_threshold=margin - 0.1))
    assert lenient.judge([good]) == [1]
    lp_bad = judge.answer_logprobs([bad])[0]
    no_reject = LMGTJudge(
        scorer, LMGTJudgeConfig(template=JUDGE_TEMPLATE, reject_threshold=lp_bad["reject"] - lp_bad["accept"] + 0.1)
    )
    assert no_reject.judge([good, bad]) == [1, 0]


def test_decision_rule_with_neutral_answer(judge):
    assert judge.decide({"accept": -1.0, "reject": -3.0, "neutral": -5.0}) == 1
    assert judge.decide({"accept": -1.0, "reject": -3.0, "neutral": -0.5}) == 0  # neutral more likely
    assert judge.decide({"accept": -4.0, "reject": -1.0, "neutral": -2.0}) == -1
    assert judge.decide({"accept": -2.0, "reject": -2.0}) == 0


def test_default_template_renders_state_and_step(scorer):
    judge = LMGTJudge(scorer)  # the default template with prompt, history and step
    s = ScoredText("the quick", (" brown fox", " jumps over"))
    assert judge.judge([s])[0] in (-1, 0, 1)
    assert judge.tokens > 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"template": "{board} ok?"}, "unknown fields \\['board'\\]"),
        ({"template": "{prompt} ok?"}, "include \\{step\\}, \\{response\\} or \\{state\\}"),
        ({"template": "{step"}, "not a valid format string"),
        ({"accept_threshold": -1.0}, "accept_threshold must be finite and >= 0"),
        ({"reject_threshold": math.nan}, "reject_threshold"),
        ({"accept": " bad"}, "must differ"),
        ({"neutral": ""}, "non-empty"),
        ({"scale": -0.1}, "scale"),
    ],
)
def test_bad_judge_config_raises_a_clear_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LMGTJudgeConfig(**kwargs)


def test_terminal_validator_uses_the_yes_no_margin(scorer):
    # The tiny model was trained to say " good" after correct lines: use those as the yes/no answers.
    uncached = CausalLMScorer(tiny_lm_dir(), cache_size=0)  # the judge tests already cached these texts
    validator = LMTerminalValidator(uncached, template="{response} ok? Answer:", yes=" good", no=" bad")
    batch = states([GOOD_STEPS[1], BAD_STEPS[1]])
    assert validator.is_final(batch) == [True, False]
    margins = validator.final_margin(batch)
    eager = LMTerminalValidator(
        scorer, template="{response} ok? Answer:", yes=" good", no=" bad", threshold=margins[1] - 0.1
    )
    assert eager.is_final(batch) == [True, True]
    assert validator.calls >= 1 and validator.tokens > 0
    with pytest.raises(ValueError, match="two different"):
        LMTerminalValidator(scorer, yes=" yes", no=" yes")
