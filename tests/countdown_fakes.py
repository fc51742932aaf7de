"""Deterministic stand-in teachers for search tests that need exact, repeatable proposals.

They read the countdown prompt and the steps so far and answer with a winning step (with
probability ``skill``, drawn from the request's seed) or a random legal step; ``broken`` ones raise.
Search tests use them to check the loop's bookkeeping; the real models are tested elsewhere.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence

from mcts.tasks.countdown import apply_steps, format_step
from mcts.tasks.countdown_solver import after_move, is_solvable, legal_moves
from mcts.types import GenerationRequest, Proposal


def parse_prompt(text: str) -> tuple[tuple[int, ...], int, list[str]]:
    lines = text.split("\n")
    numbers = tuple(int(x) for x in lines[0].removeprefix("Numbers:").split())
    target = int(lines[1].removeprefix("Target:"))
    steps = [line for line in lines[2:] if line.strip()]
    return numbers, target, steps


class OracleTeacher:
    """Proposes winning steps with probability ``skill``; otherwise a random legal (losing) step."""

    def __init__(self, name: str, skill: float):
        self.name = name
        self.skill = skill
        self.requests: list[GenerationRequest] = []

    def next_step(self, available: tuple[int, ...], target: int, rng: random.Random) -> str:
        moves = legal_moves(available)
        winning = [m for m in moves if is_solvable(after_move(available, m), target)]
        pool = winning if winning and rng.random() < self.skill else moves
        return format_step(*rng.choice(pool), available)

    def complete(self, request: GenerationRequest, rng: random.Random) -> Proposal:
        from mcts.tasks.countdown import Puzzle

        numbers, target, steps = parse_prompt(request.prompt)
        state = apply_steps(Puzzle("x", numbers, target), steps)
        available = state.remaining
        text = ""
        while len(available) > 1:
            step = self.next_step(available, target, rng)
            text += step
            available = apply_steps(Puzzle("x", available, target), [step]).remaining
            if request.stop:
                text = text.rstrip("\n")
                break
        tokens = tuple(range(len(text)))
        finish = "stop" if request.stop and len(available) >= 1 and text else "eos"
        return Proposal(text, tokens, -0.1 * len(tokens), tuple([-0.1] * len(tokens)), finish, self.name)

    def generate(self, requests: Sequence[GenerationRequest]) -> list[list[Proposal]]:
        self.requests.extend(requests)
        out = []
        for r in requests:
            rng = random.Random(r.seed)
            out.append([self.complete(r, rng) for _ in range(r.n)])
        return out

    async def agenerate(self, requests: Sequence[GenerationRequest]) -> list[list[Proposal]]:
        await asyncio.sleep(0)
        return self.generate(requests)

    def close(self) -> None:
        pass


class BrokenTeacher(OracleTeacher):
    """Always fails, like a teacher whose server went away."""

    def generate(self, requests):
        raise ConnectionError(f"{self.name}: connection refused")
