"""Reward components: text metrics, embedding similarity, perplexity rewards, verifier, length penalty."""

from __future__ import annotations

import math

import numpy as np
import pytest
from value_tiny_lm import SENTENCES, tiny_lm_dir

from mcts.types import RewardFn, ScoredText
from value import (
    BleuReward,
    CausalLMScorer,
    ChrfReward,
    EmbeddingSimilarity,
    LengthPenalty,
    PerplexityReward,
    RougeReward,
    StepLikelihoodReward,
    VerifierReward,
    rouge_f1,
    sentence_bleu,
    sentence_chrf,
)


def state(response: str, reference: str | None = "the cat sat on the mat", prompt: str = "") -> ScoredText:
    return ScoredText(prompt=prompt, steps=(response,), reference=reference, task_id="t1")


# ------------------------------------------------------------------ text metrics


def test_bleu_matches_the_formula_computed_by_hand():
    # Hypothesis "the cat sat on a mat" vs the reference: n-gram precisions 5/6, 3/5, 2/4, 1/3,
    # equal lengths so no brevity penalty; BLEU = geometric mean of the precisions.
    expected = (5 / 6 * 3 / 5 * 2 / 4 * 1 / 3) ** 0.25
    assert sentence_bleu("the cat sat on a mat", "the cat sat on the mat") == pytest.approx(expected, abs=1e-9)


def test_rouge_matches_counts_by_hand():
    scores = rouge_f1("the cat was on the mat", "the cat sat on the mat")
    # 5 of 6 unigrams shared; 3 of 5 bigrams; LCS "the cat on the mat" = 5 of 6.
    assert scores == pytest.approx({"rouge1": 5 / 6, "rouge2": 3 / 5, "rougeL": 5 / 6})


def test_identical_text_scores_one_and_disjoint_text_about_zero():
    same, other = state("the cat sat on the mat"), state("quantum flux engines hum")
    for component in (BleuReward(), ChrfReward(), RougeReward()):
        assert isinstance(component, RewardFn)
        high, low = component([same, other])
        assert set(high) == set(component.keys)
        assert all(v == pytest.approx(1.0) for v in high.values())
        assert all(0.0 <= v < 0.1 for v in low.values())


def test_empty_response_scores_zero():
    assert sentence_bleu("", "ref") == 0.0
    assert sentence_chrf("  ", "ref") == 0.0
    assert rouge_f1("", "ref") == {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}


def test_reference_metric_without_reference_names_the_task():
    with pytest.raises(ValueError, match="'bleu' needs a reference.*'t1'"):
        BleuReward()([state("x", reference=None)])


def test_metrics_score_the_response_not_the_prompt():
    with_prompt = state("the cat sat on the mat", prompt="unrelated prompt words here ")
    assert BleuReward()([with_prompt])[0]["bleu"] == pytest.approx(1.0)


# ------------------------------------------------------------------ embedding similarity (real model)


@pytest.fixture(scope="module")
def embedding() -> EmbeddingSimilarity:
    return EmbeddingSimilarity()


def test_embedding_ranks_paraphrase_above_unrelated(embedding):
    reference = "The cat is sleeping on the sofa."
    paraphrase = ScoredText("", ("A cat naps on the couch.",), reference)
    unrelated = ScoredText("", ("Stock markets fell sharply on Tuesday.",), reference)
    para, other = embedding([paraphrase, unrelated])
    assert 0.0 <= other["embedding"] < para["embedding"] <= 1.0
    assert para["embedding"] > 0.5


def test_embedding_is_full_context_and_repeatable(embedding):
    reference = "Water evaporates, condenses into clouds and falls back as rain."
    partial = ScoredText("prompt", ("Water evaporates,",), reference)
    whole = ScoredText("prompt", ("Water evaporates,", " condenses into clouds and falls as rain."), reference)
    empty = ScoredText("prompt", (), reference)
    first = embedding([partial, whole, empty])
    assert first[1]["embedding"] > first[0]["embedding"] > 0.0
    assert first[2]["embedding"] == 0.0
    assert embedding([partial, whole, empty]) == first  # second call uses the cached reference vector


# ------------------------------------------------------------------ perplexity under a causal LM


@pytest.fixture(scope="module")
def scorer() -> CausalLMScorer:
    return CausalLMScorer(tiny_lm_dir())


def manual_token_logprobs(model_dir, pieces: list[str]) -> list[np.ndarray]:
    """Independent reference: BOS + each piece tokenized alone, one unbatched forward pass."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    ids, owner = [tokenizer.bos_token_id], [-1]
    for j, piece in enumerate(pieces):
        piece_ids = tokenizer(piece, add_special_tokens=False)["input_ids"]
        ids += piece_ids
        owner += [j] * len(piece_ids)
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0]
    logp = torch.log_softmax(logits, -1)
    token_lp = np.array([logp[t - 1, ids[t]].item() for t in range(1, len(ids))])
    owner_arr = np.array(owner[1:])
    return [token_lp[owner_arr == j] for j in range(len(pieces))]


def test_step_rewards_and_perplexity_agree_with_a_manual_forward_pass(scorer):
    prompt, steps = "the quick", (" brown fox", " jumps over", " the lazy dog.")
    expected = manual_token_logprobs(tiny_lm_dir(), [prompt, *steps])
    s = ScoredText(prompt, steps)

    rewards = StepLikelihoodReward(scorer).step_rewards([s])[0]
    assert rewards == pytest.approx([math.exp(lp.mean()) for lp in expected[1:]], rel=1e-4)

    response_lp = np.concatenate(expected[1:])
    ppl = PerplexityReward(scorer)([s])[0]
    assert ppl["perplexity"] == pytest.approx(math.exp(-response_lp.mean()), rel=1e-4)
    assert ppl["perplexity_reward"] == pytest.approx(1 / ppl["perplexity"])


def test_trained_text_has_lower_perplexity_than_shuffled(scorer):
    shuffled = " ".join(np.random.default_rng(0).permutation(SENTENCES[0].split()))
    assert shuffled != SENTENCES[0]
    trained, scrambled = PerplexityReward(scorer).perplexity(
        [ScoredText("", (SENTENCES[0],)), ScoredText("", (shuffled,))]
    )
    assert trained < 2.0 < scrambled


def test_step_likelihood_accumulates_with_discount_or_mean(scorer):
    s = ScoredText("the quick", (" brown fox", " jumps over", " the lazy dog."))
    r = StepLikelihoodReward(scorer).step_rewards([s])[0]
    summed = StepLikelihoodReward(scorer)([s])[0]
    assert summed == pytest.approx({"step_likelihood": sum(r), "step_likelihood_last": r[-1]})
    discounted = StepLikelihoodReward(scorer, gamma=0.5)([s])[0]["step_likelihood"]
    assert discounted == pytest.approx(r[0] + 0.5 * r[1] + 0.25 * r[2])
    mean = StepLikelihoodReward(scorer, aggregate="mean")([s])[0]["step_likelihood"]
    assert mean == pytest.approx(sum(r) / 3)


def test_empty_response_gets_no_likelihood_reward(scorer):
    empty = ScoredText("the quick", ())
    assert StepLikelihoodReward(scorer)([empty]) == [{"step_likelihood": 0.0, "step_likelihood_last": 0.0}]
    ppl = PerplexityReward(scorer)([empty])[0]
    assert math.isnan(ppl["perplexity"]) and ppl["perplexity_reward"] == 0.0


def test_scorer_batched_equals_one_by_one_and_counts_usage():
    scorer = CausalLMScorer(tiny_lm_dir(), batch_size=2, cache_size=0)
    batch = [("the quick", " brown fox"), ("a small", " cat sleeps on", " the warm red mat."), ("", "2+3=5")]
    together = scorer.piece_logprobs(batch)
    assert scorer.calls == 2  # 3 sequences, 2 per forward pass
    assert scorer.tokens > 0
    for pieces, got in zip(batch, together):
        alone = scorer.piece_logprobs([pieces])[0]
        for a, b in zip(got, alone):
            np.testing.assert_allclose(a, b, atol=1e-5)


def test_scorer_front_truncates_long_sequences():
    scorer = CausalLMScorer(tiny_lm_dir(), max_length=6)
    prompt_lp, step_lp = scorer.piece_logprobs([("the quick brown fox jumps over", " the lazy")])[0]
    assert len(prompt_lp) + len(step_lp) == 5  # 6 tokens kept, the first has no context
    assert len(step_lp) == len(scorer.tokenizer(" the lazy", add_special_tokens=False)["input_ids"])


def test_scorer_rejects_a_missing_model_dir(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        CausalLMScorer(tmp_path / "nope")
    with pytest.raises(ValueError, match="gamma"):
        StepLikelihoodReward(tiny_lm_dir(), gamma=0.0)


# ------------------------------------------------------------------ verifier and length penalty


def test_verifier_reward_maps_verdicts_to_configured_rewards():
    class Verdict:
        def __init__(self, solved: bool) -> None:
            self.solved = solved

    reward = VerifierReward(lambda s: s.response == "24", solved_reward=2.0, unsolved_reward=-1.0)
    assert reward([state("24"), state("23")]) == [{"verifier": 2.0}, {"verifier": -1.0}]
    from_verdicts = VerifierReward(lambda s: Verdict(s.response == "24"))
    assert from_verdicts([state("24"), state("3")]) == [{"verifier": 1.0}, {"verifier": 0.0}]
    with pytest.raises(TypeError, match="bool"):
        VerifierReward(lambda s: "yes")([state("24")])


def test_length_penalty_is_free_then_linear_then_capped():
    penalty = LengthPenalty(free=2, span=4, unit="words")
    texts = ["a b", "a b c", "a b c d e f", "a b c d e f g h i"]
    assert [p["length_penalty"] for p in penalty([state(t) for t in texts])] == [0.0, -0.25, -1.0, -1.0]
    chars = LengthPenalty(free=0, span=10, unit="chars")
    assert chars([state("abcde")])[0]["length_penalty"] == pytest.approx(-0.5)
    with pytest.raises(ValueError, match="unit"):
        LengthPenalty(unit="tokens")


def test_bundled_countdown_model_prefers_a_real_solution_to_shuffled_text():
    from mcts.tasks.countdown import Puzzle, format_prompt
    from mcts.tasks.countdown_solver import solve
    from teachers.bundled import bundled_model_path

    puzzle = Puzzle("p", (4, 7, 8, 8), 24)
    steps = tuple(solve(puzzle.numbers, puzzle.target))
    rng = np.random.default_rng(0)
    shuffled = tuple("".join(rng.permutation(list(s[:-1]))) + "\n" for s in steps)
    reward = PerplexityReward(CausalLMScorer(bundled_model_path("countdown-expert")))
    real, scrambled = reward.perplexity(
        [ScoredText(format_prompt(puzzle), steps), ScoredText(format_prompt(puzzle), shuffled)]
    )
    assert real < scrambled
