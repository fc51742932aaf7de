"""Concurrent tasks: requests from many searches reach each teacher as one batched call, deterministically."""

from __future__ import annotations

import asyncio
import json

import pytest
from countdown_fakes import BrokenTeacher, OracleTeacher

from mcts.search import RequestCoalescer
from mcts.run.config import RunConfig
from mcts.run.rundir import RunDir
from mcts.run.runner import run_search
from mcts.search import Budget, SearchConfig
from mcts.tasks.countdown_solver import generate_puzzles
from mcts.tasks.searchable import CountdownTask
from mcts.types import GenerationRequest


class CountingTeacher(OracleTeacher):
    """Records the size of every call it gets."""

    def __init__(self, name: str, skill: float):
        super().__init__(name, skill)
        self.call_sizes: list[int] = []

    def generate(self, requests):
        self.call_sizes.append(len(requests))
        return super().generate(requests)


def run(tmp_path, name, concurrent, teachers=None, n=6):
    config = RunConfig(
        out=str(tmp_path / name), min_free_mb=0, concurrent_tasks=concurrent,
        search=SearchConfig(budget=Budget(simulations=16), stop_on_solve=False, seed=3),
    )
    tasks = [CountdownTask(p) for p in generate_puzzles(n, seed=11)]
    teachers = teachers or [CountingTeacher("good", 0.8), CountingTeacher("bad", 0.2)]
    totals = run_search(config, tasks, teachers)
    return totals, teachers, RunDir(config.out), tasks


def rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_concurrent_tasks_batch_teacher_calls_and_save_every_task(tmp_path):
    _, alone, _, _ = run(tmp_path, "one", 1)
    totals, together, run_dir, tasks = run(tmp_path, "six", 6)
    assert totals.tasks == len(tasks)
    assert sorted(r["task_id"] for r in rows(run_dir.tasks)) == sorted(t.id for t in tasks)
    assert {r["task_id"] for r in rows(run_dir.trajectories)} <= {t.id for t in tasks}
    for t in tasks:
        assert run_dir.tree_path(t.id).exists()
    for a, b in zip(alone, together):
        assert len(b.call_sizes) < len(a.call_sizes) / 2, "six searches at once should share calls"
        assert max(b.call_sizes) > max(a.call_sizes)


def test_concurrent_runs_are_reproducible(tmp_path):
    first = run(tmp_path, "a", 4)
    second = run(tmp_path, "b", 4)
    assert rows(first[2].tasks)[0].keys() == rows(second[2].tasks)[0].keys()
    strip = lambda rs: [{k: v for k, v in r.items() if k != "seconds"} for r in rs]  # noqa: E731
    assert strip(rows(first[2].tasks)) == strip(rows(second[2].tasks))
    assert rows(first[2].trajectories) == rows(second[2].trajectories)
    assert [t.call_sizes for t in first[1]] == [t.call_sizes for t in second[1]]


def test_a_failing_teacher_is_benched_by_every_search_in_the_call(tmp_path):
    teachers = [CountingTeacher("good", 0.9), BrokenTeacher("down", 0.5)]
    totals, _, run_dir, tasks = run(tmp_path, "broken", 3, teachers=teachers, n=3)
    assert totals.tasks == 3 and len(rows(run_dir.tasks)) == 3
    assert totals.solved >= 1  # the working teacher carried on


def test_flush_waits_for_every_live_search_and_orders_by_slot():
    teacher = CountingTeacher("t", 1.0)
    coalescer = RequestCoalescer([teacher])
    (proxy,) = coalescer.wrap()
    prompt = "Numbers: 1 2 3 4\nTarget: 24\n"
    seen: list[str] = []

    async def search(slot: int, delay_passes: int):
        async with coalescer.search(slot):
            for _ in range(delay_passes):  # busy with other work: the others must wait for it
                await asyncio.sleep(0)
            req = GenerationRequest(prompt=prompt, n=1, max_tokens=8, stop=("\n",), seed=slot)
            (props,) = await proxy.agenerate([req])
            seen.append(f"{slot}:{props[0].text}")

    async def main():
        await asyncio.gather(search(1, 5), search(0, 0), search(2, 2))

    asyncio.run(main())
    assert teacher.call_sizes == [3]
    assert [r.seed for r in teacher.requests] == [0, 1, 2]
    assert sorted(s.split(":")[0] for s in seen) == ["0", "1", "2"]


def test_outside_a_search_the_proxy_calls_the_teacher_directly():
    teacher = CountingTeacher("t", 1.0)
    (proxy,) = RequestCoalescer([teacher]).wrap()
    req = GenerationRequest(prompt="Numbers: 1 2 3 4\nTarget: 24\n", n=2, max_tokens=8, stop=("\n",), seed=1)
    assert len(asyncio.run(proxy.agenerate([req]))[0]) == 2
    assert teacher.call_sizes == [1]


def test_concurrent_tasks_must_be_positive():
    with pytest.raises(ValueError, match="concurrent_tasks"):
        RunConfig(concurrent_tasks=0)
