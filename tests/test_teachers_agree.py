"""All three backends return the same greedy proposals on the same model: text, token ids and
finish reason exactly, log-probabilities within float32 tolerance."""

from __future__ import annotations

import pytest

from mcts.types import GenerationRequest
from teachers import load_teacher

pytestmark = [pytest.mark.slow, pytest.mark.vllm]

PROMPTS = [
    "Numbers: 4 7 8 8\nTarget: 24\n",
    "Numbers: 2 3 5 12\nTarget: 24\n",
    "Numbers: 1 5 6 9\nTarget: 24\n6-1=5 (left: 5 9 5)\n",
]
# Logits differ in the last bits between kernels (HF eager vs vLLM CPU); log-probs of a small model agree to this.
LOGPROB_TOLERANCE = 2e-3


@pytest.mark.parametrize("stop", [(), ("\n",)], ids=["no-stop", "newline-stop"])
def test_hf_vllm_and_http_agree_on_greedy_requests(hf_teacher, vllm_teacher, vllm_server, stop):
    http_teacher = load_teacher(f"openai:{vllm_server.url}#{vllm_server.model}", api_key_env=vllm_server.api_key_env)
    requests = [GenerationRequest(p, n=2, max_tokens=40, stop=stop, temperature=0) for p in PROMPTS]
    by_backend = {t.name + ":" + type(t).__name__: t.generate(requests) for t in (hf_teacher, vllm_teacher, http_teacher)}
    (ref_name, reference), *others = by_backend.items()
    for name, results in others:
        for request, ref_props, props in zip(requests, reference, results):
            assert len(props) == request.n
            ref, p = ref_props[0], props[0]
            where = f"{name} vs {ref_name} on {request.prompt!r}"
            assert p.text == ref.text, where
            assert p.token_ids == ref.token_ids, where
            assert p.finish_reason == ref.finish_reason, where
            assert p.token_logprobs == pytest.approx(ref.token_logprobs, abs=LOGPROB_TOLERANCE), where
