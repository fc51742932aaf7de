"""Step-level frontier search, batched across tasks: the loop that ToT BFS and beam search share.

A task's frontier holds at most ``width`` partial paths (lists of steps). Each round every kept path
asks for ``proposals`` next steps (a ``GenerationRequest`` stopped at the step delimiter), spread
round-robin over the teachers; the task's verifier checks each new path (a verified one solves the
task, a failed terminal one is dropped); the judge scores the rest in one call for all tasks; the
best ``width`` by ``rank`` become the next frontier. Identical paths are merged. A frontier that dies
out (every path failed) restarts from the prompt, so every method can spend its whole budget.
Each round sends one ``generate`` call per teacher, with the rows of every unsolved task.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mcts.baselines.common import (
    BaselineResult,
    JudgeMeter,
    Ledger,
    SampleLength,
    check_budget,
    generate_by_teacher,
)
from mcts.search import SearchTask
from mcts.search.steps import parse_step
from mcts.types import GenerationRequest, Judge, ScoredText, Teacher


@dataclass(frozen=True)
class Candidate:
    """A partial path: its steps, the judge's score of its last state, the steps' summed log-prob."""

    steps: tuple[str, ...]
    score: float = 0.0
    logprob: float = 0.0


# A ranking key: larger is better (Python's sort is stable, so ties keep proposal order).
Rank = Callable[[Candidate], tuple[float, ...]]


def frontier_search(
    teachers: Sequence[Teacher],
    tasks: Sequence[SearchTask],
    *,
    token_budget: int,
    judge: Judge | None,
    width: int,
    proposals: int,
    rank: Rank,
    max_step_tokens: int = 24,
    temperature: float = 1.0,
    step: str = "newline",
    seed: int = 0,
) -> list[BaselineResult]:
    """Run the frontier loop (module docstring) on every task until solved or out of tokens."""
    check_budget(token_budget)
    rule = parse_step(step)  # search.step's forms: newline, sentence, tokens:N, token, regex:...
    if not teachers:
        raise ValueError("frontier search needs at least one teacher")
    if width < 1 or proposals < 1:
        raise ValueError(f"width and proposals must be >= 1, got width={width}, proposals={proposals}")
    ledgers = [Ledger(t, i) for i, t in enumerate(tasks)]
    frontiers: list[list[Candidate]] = [[] for _ in tasks]
    lengths = SampleLength(initial=max_step_tokens / 3)
    meter = JudgeMeter(judge)
    round_index = 0
    while active := [g for g in ledgers if not g.done]:
        # Plan: which (task, path, teacher) rows this round asks for, within each task's budget left.
        rows: dict[int, list[tuple[Ledger, Candidate, GenerationRequest]]] = {t: [] for t in range(len(teachers))}
        for g in active:
            frontier = frontiers[g.index] or [Candidate(())]
            remaining = token_budget - g.tokens
            wanted = lengths.affordable(remaining, len(frontier) * proposals)
            asks: dict[tuple[int, int], int] = {}
            for k in range(wanted):  # best paths first, teachers round-robin
                position, j = divmod(k, proposals)
                key = (position, (position * proposals + j) % len(teachers))
                asks[key] = asks.get(key, 0) + 1
            for (position, t), n in asks.items():
                path = frontier[position]
                rows[t].append((g, path, GenerationRequest(
                    prompt=g.task.prompt + "".join(path.steps), n=n, max_tokens=min(rule.max_tokens(max_step_tokens), remaining),
                    stop=rule.stops, temperature=temperature,
                    seed=seed + 1_000_003 * g.index + 1009 * round_index + 31 * position + t,
                )))
        replies = generate_by_teacher(teachers, {t: [r for _, _, r in rs] for t, rs in rows.items()})
        before = {g.index: g.tokens for g in active}
        children: dict[int, dict[tuple[str, ...], Candidate]] = {g.index: {} for g in active}
        for t, rs in rows.items():
            for (g, path, _), proposals_ in zip(rs, replies[t]):
                g.spend(proposals_)
                lengths.add(proposals_)
                for p in proposals_:
                    step = rule.step_text(p)
                    if not step.strip():
                        continue
                    steps = (*path.steps, step)
                    seen = children[g.index].get(steps)
                    logprob = path.logprob + (p.logprob_sum or 0.0)
                    if seen is None or logprob > seen.logprob:
                        children[g.index][steps] = Candidate(steps, 0.0, logprob)
        # Verify, then judge the survivors of every task in one call.
        to_judge: list[tuple[Ledger, Candidate]] = []
        for g in active:
            kids = list(children[g.index].values())
            outcomes = g.task.outcomes([c.steps for c in kids]) if kids else []
            if any(o.solved for o in outcomes):
                g.finish(True)
                continue
            to_judge += [(g, c) for c, o in zip(kids, outcomes) if not o.terminal]
        scores = meter.score([(g, ScoredText(g.task.prompt, c.steps, g.task.reference, g.task.id)) for g, c in to_judge])
        survivors: dict[int, list[Candidate]] = {g.index: [] for g in active}
        for (g, c), s in zip(to_judge, scores):
            survivors[g.index].append(Candidate(c.steps, s, c.logprob))
        for g in active:
            if g.done:
                continue
            frontiers[g.index] = sorted(survivors[g.index], key=rank, reverse=True)[:width]
            g.close_round(token_budget, before[g.index])
        round_index += 1
    return [g.result() for g in ledgers]
