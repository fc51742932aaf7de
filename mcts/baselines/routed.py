"""A fixed per-context choice of teacher: the oracle mix of a complementary teacher set.

:class:`RoutedTeacher` writes every step with the teacher that a fixed ``route(depth)`` names, the
depth being the number of steps already in the text. A request that stops at the step delimiter
(one MCTS proposal) is one call to that teacher; a request for a whole response (best-of-n,
greedy) is written one step at a time, each step by its own context's teacher, until a step ends in
anything but the delimiter or the token budget is spent. Used by ``benchmarks/search_quality.py`` as
``oracle_mix`` (issue 13): what a perfect per-context choice of teacher would give, the bar the
learned per-context weights aim at.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Callable, Sequence

from mcts.types import GenerationRequest, Proposal, Teacher

STEP = "\n"


class RoutedTeacher:
    """A :class:`~mcts.types.Teacher` that routes each step to ``teachers[route(depth)]``.

    ``prompt_lines`` is the number of lines of the task prompt (countdown: two), so a text's depth is
    its count of ``"\\n"`` minus ``prompt_lines``. Token ids and log-probabilities of a multi-step
    proposal are the concatenation of its steps' (the delimiter each step stopped at is put back into
    the text, as the search does). Closing it closes nothing: the routed teachers are the caller's.
    """

    def __init__(self, teachers: Sequence[Teacher], route: Callable[[int], int], *, name: str = "oracle_mix",
                 prompt_lines: int = 2) -> None:
        if not teachers:
            raise ValueError("RoutedTeacher needs at least one teacher")
        self.teachers, self.route, self.name, self.prompt_lines = list(teachers), route, name, prompt_lines

    def _route(self, text: str) -> int:
        index = self.route(max(0, text.count(STEP) - self.prompt_lines))
        if not 0 <= index < len(self.teachers):
            raise ValueError(f"{self.name}: route gave teacher {index}, not one of 0..{len(self.teachers) - 1}")
        return index

    def generate(self, requests: Sequence[GenerationRequest]) -> list[list[Proposal]]:
        # One partial response per sample (request index, sample index), grown a step per round.
        active = [(i, j) for i, r in enumerate(requests) for j in range(r.n)]
        pieces: dict[tuple[int, int], list[Proposal]] = {key: [] for key in active}
        while active:
            asks: dict[int, list[tuple[tuple[int, int], GenerationRequest]]] = {}
            for i, j in active:
                ask = self._step_request(requests[i], pieces[(i, j)], j)
                asks.setdefault(self._route(ask.prompt), []).append(((i, j), ask))
            still = []
            for index, rows in asks.items():
                for (key, _), (proposal,) in zip(rows, self.teachers[index].generate([ask for _, ask in rows])):
                    pieces[key].append(proposal)
                    if self._goes_on(requests[key[0]], pieces[key]):
                        still.append(key)
            active = sorted(still)
        return [[self._joined(pieces[(i, j)]) for j in range(r.n)] for i, r in enumerate(requests)]

    async def agenerate(self, requests: Sequence[GenerationRequest]) -> list[list[Proposal]]:
        return await asyncio.to_thread(self.generate, requests)

    def close(self) -> None:
        """Nothing to close: the routed teachers belong to the caller."""

    @staticmethod
    def _step_request(request: GenerationRequest, done: list[Proposal], sample: int) -> GenerationRequest:
        spent = sum(p.num_tokens for p in done)
        seed = None if request.seed is None else zlib.crc32(f"{request.seed}|{sample}|{len(done)}".encode())
        return GenerationRequest(
            prompt=request.prompt + "".join(p.text + (p.stop_string or "") for p in done),
            n=1, max_tokens=request.max_tokens - spent, stop=tuple(dict.fromkeys((*request.stop, STEP))),
            temperature=request.temperature, top_p=request.top_p, seed=seed,
        )

    @staticmethod
    def _goes_on(request: GenerationRequest, done: list[Proposal]) -> bool:
        """Another step is wanted: the last one ended at the step delimiter (which the request did not
        ask to stop at) and tokens are left."""
        last = done[-1]
        return (last.finish_reason == "stop" and last.stop_string == STEP and STEP not in request.stop
                and sum(p.num_tokens for p in done) < request.max_tokens)

    def _joined(self, done: list[Proposal]) -> Proposal:
        last = done[-1]
        text = "".join(p.text + (p.stop_string or "") for p in done[:-1]) + last.text
        logprobs = [p.token_logprobs for p in done]
        known = all(lp is not None for lp in logprobs)
        return Proposal(
            text=text,
            token_ids=tuple(t for p in done for t in p.token_ids),
            logprob_sum=sum(p.logprob_sum for p in done) if all(p.logprob_sum is not None for p in done) else None,
            token_logprobs=tuple(x for lp in logprobs for x in lp) if known else None,  # type: ignore[union-attr]
            finish_reason=last.finish_reason,
            teacher=self.name,
            stop_string=last.stop_string,
        )
