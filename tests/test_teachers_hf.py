"""The Hugging Face backend on a bundled model: n, stop strings, log-probabilities, seeds, batching.

Log-probabilities and greedy choices are checked against an independent forward pass of the same
model (the oracle), so the test fails if the backend misaligns tokens and scores.
"""

from __future__ import annotations

import asyncio

import pytest

from mcts.types import GenerationRequest, Proposal

PROMPT = "Numbers: 4 7 8 8\nTarget: 24\n"
OTHER = "Numbers: 2 3 5 12\nTarget: 24\n"

pytestmark = pytest.mark.slow  # loads a model


@pytest.fixture(scope="module")
def oracle(teacher_model_dir):
    """The same model loaded directly with transformers: token log-probs of a continuation."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(teacher_model_dir))
    model = AutoModelForCausalLM.from_pretrained(str(teacher_model_dir), dtype=torch.float32).eval()

    def score(prompt: str, token_ids: tuple[int, ...]) -> tuple[list[float], list[int]]:
        """(log p of each continuation token, argmax token at each position)."""
        prompt_ids = tokenizer(prompt).input_ids
        ids = torch.tensor([prompt_ids + list(token_ids)])
        with torch.no_grad():
            logits = model(ids).logits[0, len(prompt_ids) - 1 : -1].float()
        logprobs = torch.log_softmax(logits, -1)
        chosen = logprobs.gather(-1, torch.tensor(token_ids).unsqueeze(-1)).squeeze(-1)
        return chosen.tolist(), logits.argmax(-1).tolist()

    score.tokenizer = tokenizer  # type: ignore[attr-defined]
    return score


def check_proposal(p: Proposal, request: GenerationRequest, teacher_name: str) -> None:
    assert p.teacher == teacher_name
    assert 1 <= p.num_tokens <= request.max_tokens
    assert p.token_logprobs is not None and p.logprob_sum is not None
    assert len(p.token_logprobs) == p.num_tokens
    assert p.logprob_sum == pytest.approx(sum(p.token_logprobs))
    assert all(lp <= 0 for lp in p.token_logprobs)
    for s in request.stop:
        assert s not in p.text
    if p.finish_reason == "length":
        assert p.num_tokens == request.max_tokens


def test_n_proposals_with_stop_and_logprobs_that_match_the_model(hf_teacher, oracle, teacher_model_dir):
    request = GenerationRequest(PROMPT, n=6, max_tokens=24, stop=("\n",), temperature=1.0, seed=11)
    (proposals,) = hf_teacher.generate([request])
    assert len(proposals) == 6
    assert hf_teacher.name == teacher_model_dir.name
    for p in proposals:
        check_proposal(p, request, hf_teacher.name)
        expected, _ = oracle(PROMPT, p.token_ids)
        assert p.token_logprobs == pytest.approx(expected, abs=1e-4)
        full = oracle.tokenizer.decode(list(p.token_ids), skip_special_tokens=True)
        if p.finish_reason == "stop":
            assert full.endswith("\n") and p.text == full[: full.index("\n")]
        else:
            assert p.text == full


def test_greedy_is_the_argmax_chain_and_fans_out_to_n(hf_teacher, oracle):
    request = GenerationRequest(PROMPT, n=3, max_tokens=20, temperature=0)
    (proposals,) = hf_teacher.generate([request])
    assert len(proposals) == 3 and proposals[0] == proposals[1] == proposals[2]
    p = proposals[0]
    _, argmax = oracle(PROMPT, p.token_ids)
    assert list(p.token_ids) == argmax[: p.num_tokens]


def test_stop_string_cuts_the_text_and_stops_generation(hf_teacher):
    (free,) = hf_teacher.generate([GenerationRequest(PROMPT, max_tokens=30, temperature=0)])
    text = free[0].text
    assert len(text) >= 8, "the model should write a few characters"
    stop = text[5:7]  # a string the greedy continuation is known to contain
    (cut,) = hf_teacher.generate([GenerationRequest(PROMPT, max_tokens=30, temperature=0, stop=("@@@", stop))])
    p = cut[0]
    assert p.finish_reason == "stop"
    assert p.text == text[: text.index(stop)]
    assert p.token_ids == free[0].token_ids[: p.num_tokens]  # same tokens, stopped early
    assert p.num_tokens < free[0].num_tokens


def test_seeded_requests_are_reproducible(hf_teacher):
    requests = [
        GenerationRequest(PROMPT, n=4, max_tokens=16, temperature=1.0, seed=5),
        GenerationRequest(OTHER, n=4, max_tokens=16, temperature=1.0, seed=6),
    ]
    first = hf_teacher.generate(requests)
    second = hf_teacher.generate(requests)
    assert first == second
    reseeded = hf_teacher.generate([GenerationRequest(PROMPT, n=4, max_tokens=16, temperature=1.0, seed=7)] + requests[1:])
    assert reseeded[0] != first[0]


def test_mixed_batch_keeps_order_and_counts(hf_teacher):
    requests = [
        GenerationRequest(PROMPT, n=2, max_tokens=8, temperature=1.0, seed=1),
        GenerationRequest(OTHER, n=1, max_tokens=12, temperature=0),
        GenerationRequest(PROMPT + "8-4=4", n=3, max_tokens=8, stop=("\n",), temperature=0.7, seed=2),
    ]
    results = hf_teacher.generate(requests)
    assert [len(r) for r in results] == [2, 1, 3]
    for request, proposals in zip(requests, results):
        for p in proposals:
            check_proposal(p, request, hf_teacher.name)
    (alone,) = hf_teacher.generate([requests[1]])
    assert alone[0].token_ids == results[1][0].token_ids  # greedy does not depend on batch-mates


def test_one_call_serves_different_n_and_limits_each_row_cut_at_its_own(hf_teacher, monkeypatch):
    calls = []
    real = hf_teacher.model.generate
    monkeypatch.setattr(hf_teacher.model, "generate", lambda **kw: calls.append(kw["input_ids"].shape) or real(**kw))
    requests = [
        GenerationRequest(PROMPT, n=2, max_tokens=3, temperature=1.0, seed=5),  # a step cut short
        GenerationRequest(OTHER, n=1, max_tokens=40, temperature=1.0, seed=6),  # a whole rollout
        GenerationRequest(PROMPT, n=3, max_tokens=24, stop=("\n",), temperature=1.0, seed=7),
    ]
    results = hf_teacher.generate(requests)
    assert len(calls) == 1 and calls[0][0] == 6, "same temperature and top_p: one generate call, one row per sample"
    assert [len(r) for r in results] == [2, 1, 3]
    for request, proposals in zip(requests, results):
        for p in proposals:
            check_proposal(p, request, hf_teacher.name)
    assert all(p.num_tokens == 3 and p.finish_reason == "length" for p in results[0])
    assert results[1][0].num_tokens > 3


def test_prompt_token_ids_are_used_instead_of_the_text(hf_teacher, oracle):
    ids = tuple(oracle.tokenizer(OTHER).input_ids)
    by_text = hf_teacher.generate([GenerationRequest(OTHER, max_tokens=10, temperature=0)])
    by_ids = hf_teacher.generate([GenerationRequest("ignored", max_tokens=10, temperature=0, prompt_token_ids=ids)])
    assert by_text == by_ids


def test_agenerate_matches_generate(hf_teacher):
    request = GenerationRequest(PROMPT, n=2, max_tokens=8, temperature=1.0, seed=3)
    assert asyncio.run(hf_teacher.agenerate([request])) == hf_teacher.generate([request])


def test_bad_requests_get_clear_errors(hf_teacher):
    with pytest.raises(TypeError, match="GenerationRequest"):
        hf_teacher.generate([PROMPT])
    with pytest.raises(ValueError, match="empty prompt"):
        hf_teacher.generate([GenerationRequest("", max_tokens=4)])


def test_missing_model_is_a_clear_error(tmp_path):
    from teachers import load_teacher

    with pytest.raises(FileNotFoundError, match=r"no-such-model' is neither a directory nor a bundled model.*countdown-expert"):
        load_teacher(f"hf:{tmp_path / 'no-such-model'}")


def test_two_teachers_sampling_at_once_stay_reproducible(teacher_model_dir):
    """The search asks all teachers concurrently (one worker thread each); torch's generator is
    process-wide, so each seeded call must still see only its own seed."""
    from teachers import load_teacher

    other = load_teacher(f"hf:{teacher_model_dir}", name="other", device="cpu", dtype="float32")
    one = load_teacher(f"hf:{teacher_model_dir}", name="one", device="cpu", dtype="float32")
    requests = [GenerationRequest("Numbers: 3 5 9 11\nTarget: 24\n", n=4, max_tokens=24, temperature=1.0, seed=s) for s in (1, 2)]
    alone = [[p.text for p in ps] for ps in one.generate(requests)]

    async def together():
        for _ in range(3):
            replies = await asyncio.gather(one.agenerate(requests), other.agenerate(requests[::-1]))
            assert [[p.text for p in ps] for ps in replies[0]] == alone

    asyncio.run(together())
    one.close()
    other.close()
