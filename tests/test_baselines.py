"""The batched baselines and peers (mcts.baselines), the exact solver judge, and hard puzzles."""

from __future__ import annotations

import pytest

from mcts.baselines import beam_search, best_of_n_many, greedy, tot_bfs
from mcts.tasks.countdown import Puzzle, format_prompt
from mcts.tasks.countdown_judge import SolverJudge, parse_countdown_prompt
from mcts.tasks.countdown_solver import HARD_MAX_WINNING_FIRST_MOVES, generate_puzzles, winning_first_moves
from mcts.tasks.searchable import CountdownTask
from mcts.types import GenerationRequest, ScoredText

# --------------------------------------------------------------------------------------------
# The solver judge.
# --------------------------------------------------------------------------------------------

PROMPT = format_prompt(Puzzle("p", (2, 3, 4), 24))


@pytest.mark.parametrize(
    ("steps", "verdict"),
    [
        ((), 1.0),                                          # the puzzle itself is solvable
        (("2*3=6 (left: 4 6)\n",), 1.0),                    # 4*6 = 24 still reachable
        (("2+3=5 (left: 4 5)\n",), -1.0),                   # 4 and 5 cannot make 24
        (("2+3=6 (left: 4 6)\n",), -1.0),                   # wrong arithmetic
        (("2*3=6 (left: 4 7)\n",), -1.0),                   # wrong left list
        (("hello there\n",), -1.0),                         # not a step
        (("2*3=6\n", "6*4=24\n"), 1.0),                     # solved
        (("2*3=6\n", "6+4=10\n"), -1.0),                    # finished, missed
        (("2*3=6\n", "6*4=24\n", "24-1=23\n"), -1.0),       # a step after the end
    ],
)
def test_solver_judge_verdicts(steps, verdict):
    assert SolverJudge().judge([ScoredText(PROMPT, steps)]) == [verdict]


def test_solver_judge_is_batched_and_cached_by_multiset():
    judge = SolverJudge()
    states = [ScoredText(PROMPT, ("2*3=6\n",)), ScoredText(PROMPT, ("3*2=6 (left: 4 6)\n",)), ScoredText(PROMPT, ("4+2=6\n",))]
    assert judge.judge(states) == [1.0, 1.0, -1.0]  # left (4 6), (4 6), (3 6): 3 and 6 cannot make 24
    assert judge.calls == 1 and judge.judged == 3 and judge.tokens == 0
    assert len(judge._cache) == 2  # two multisets: (4, 6) and (3, 6)


def test_solver_judge_names_a_bad_prompt():
    with pytest.raises(ValueError, match="not a countdown prompt"):
        SolverJudge().judge([ScoredText("Translate: hello\n", ("x\n",))])
    assert parse_countdown_prompt("Numbers: 4 7 8 8\nTarget: 24\n").numbers == (4, 7, 8, 8)


# --------------------------------------------------------------------------------------------
# Hard puzzles.
# --------------------------------------------------------------------------------------------


def test_hard_puzzles_have_few_winning_first_moves():
    hard = generate_puzzles(30, seed=5, split="heldout", hard=True)
    counts = [len(winning_first_moves(p.numbers, p.target)) for p in hard]
    assert all(1 <= c <= HARD_MAX_WINNING_FIRST_MOVES for c in counts)
    usual = generate_puzzles(30, seed=5, split="heldout")
    assert max(len(winning_first_moves(p.numbers, p.target)) for p in usual) > HARD_MAX_WINNING_FIRST_MOVES
    assert generate_puzzles(30, seed=5, split="heldout", hard=True) == hard  # seeded


# --------------------------------------------------------------------------------------------
# Batched baselines on the real bundled teachers.
# --------------------------------------------------------------------------------------------


class Recording:
    """A teacher proxy that records every generate call: rows and generated tokens per row."""

    def __init__(self, teacher):
        self.teacher, self.name = teacher, teacher.name
        self.calls: list[list[GenerationRequest]] = []
        self.tokens: dict[str, int] = {}
        self.rows: dict[str, int] = {}

    def generate(self, requests):
        replies = self.teacher.generate(requests)
        self.calls.append(list(requests))
        for request, proposals in zip(requests, replies):
            key = request.prompt.split("\n", 2)[0]  # "Numbers: ...": one task
            self.tokens[key] = self.tokens.get(key, 0) + sum(p.num_tokens for p in proposals)
            self.rows[key] = self.rows.get(key, 0) + 1
        return replies

    async def agenerate(self, requests):
        return self.generate(requests)

    def close(self):
        pass


@pytest.fixture(scope="module")
def bundled():
    import torch

    from teachers import load_teacher

    torch.set_num_threads(1)
    teachers = [load_teacher(f"hf:countdown-{n}") for n in ("expert", "format")]
    yield teachers
    for t in teachers:
        t.close()


@pytest.fixture(scope="module")
def tasks():
    return [CountdownTask(p) for p in generate_puzzles(4, seed=11, split="heldout")]


def check_exact_accounting(results, recorders, tasks, budget):
    for task, r in zip(tasks, results):
        key = task.prompt.split("\n", 2)[0]
        assert r.tokens == sum(rec.tokens.get(key, 0) for rec in recorders)  # every generated token, exactly
        assert r.calls == sum(rec.rows.get(key, 0) for rec in recorders)
        assert r.solved or r.tokens >= budget  # it stops only when solved or out of budget
        assert r.tokens <= budget + 96  # the last round is planned within what was left


@pytest.mark.slow
def test_best_of_n_many_one_call_per_round_exact_tokens(bundled, tasks):
    rec = Recording(bundled[0])
    results = best_of_n_many([rec], tasks, token_budget=150, seed=3)
    assert len(rec.calls[0]) == len(tasks)  # one call carries every task
    unsolved_after = [len(c) for c in rec.calls]
    assert unsolved_after == sorted(unsolved_after, reverse=True)  # later calls only carry unsolved tasks
    check_exact_accounting(results, [rec], tasks, 150)
    again = best_of_n_many([Recording(bundled[0])], tasks, token_budget=150, seed=3)
    assert [(r.solved, r.tokens, r.samples) for r in again] == [(r.solved, r.tokens, r.samples) for r in results]


@pytest.mark.slow
def test_best_of_n_union_round_robins_the_teachers(bundled, tasks):
    recs = [Recording(t) for t in bundled]
    results = best_of_n_many(recs, tasks, token_budget=120, seed=1)
    assert len(recs[0].calls) >= len(recs[1].calls) >= len(recs[0].calls) - 1 >= 0
    check_exact_accounting(results, recs, tasks, 120)


@pytest.mark.slow
def test_greedy_is_the_teachers_greedy_text(bundled, tasks):
    results = greedy(bundled[0], tasks, max_tokens=40)
    replies = bundled[0].generate([GenerationRequest(t.prompt, n=1, max_tokens=40, temperature=0.0) for t in tasks])
    assert [r.tokens for r in results] == [rep[0].num_tokens for rep in replies]
    assert [r.solved for r in results] == [t.outcomes([[s for s in rep[0].text.splitlines(keepends=True)]])[0].solved
                                           for t, rep in zip(tasks, replies)]


@pytest.mark.slow
@pytest.mark.parametrize("method", [tot_bfs, beam_search])
def test_tree_baselines_batch_rounds_and_count_exactly(bundled, tasks, method):
    recs = [Recording(t) for t in bundled]
    judge = SolverJudge()
    results = method(recs, tasks, token_budget=200, judge=judge, seed=2)
    check_exact_accounting(results, recs, tasks, 200)
    assert all(len(c) <= len(tasks) * 5 * 4 for rec in recs for c in rec.calls)
    assert len(recs[0].calls) == len(recs[1].calls) or abs(len(recs[0].calls) - len(recs[1].calls)) <= 1
    assert judge.calls >= 1 and all(r.judge_calls >= 1 for r in results)
    assert all(r.judge_tokens == 0 for r in results)  # the solver feeds no model


@pytest.mark.slow
def test_tot_with_the_oracle_judge_solves_some(bundled, tasks):
    with_oracle = tot_bfs(bundled, tasks, token_budget=400, judge=SolverJudge(), seed=4)
    assert sum(r.solved for r in with_oracle) >= 1


@pytest.mark.slow
def test_ab_mcts_a_drives_the_teachers_through_treequest(bundled, tasks):
    pytest.importorskip("treequest")
    from mcts.baselines.treequest_peer import ab_mcts

    recs = [Recording(t) for t in bundled]
    results = ab_mcts(recs, tasks, token_budget=120, judge=SolverJudge(), seed=0)
    check_exact_accounting(results, recs, tasks, 120)
    assert all(r.samples == r.calls for r in results)  # one step per node
    assert all(req.n == 1 and req.stop == ("\n",) for rec in recs for call in rec.calls for req in call)


def test_ab_mcts_names_a_bad_variant():
    from mcts.baselines.treequest_peer import make_algorithm

    with pytest.raises(ValueError, match="'z'"):
        make_algorithm("z")


class MuteTeacher:
    """Ends every sample at once (no token): the methods must still stop."""

    name = "mute"

    def generate(self, requests):
        from mcts.types import Proposal

        return [[Proposal("", (), None, None, "eos", self.name)] * r.n for r in requests]

    async def agenerate(self, requests):
        return self.generate(requests)

    def close(self):
        pass


@pytest.mark.parametrize("method", ["best_of_n", "tot", "beam"])
def test_a_teacher_that_generates_nothing_does_not_loop_forever(tasks, method):
    run = {"best_of_n": lambda: best_of_n_many([MuteTeacher()], tasks, token_budget=50),
           "tot": lambda: tot_bfs([MuteTeacher()], tasks, token_budget=50, judge=None),
           "beam": lambda: beam_search([MuteTeacher()], tasks, token_budget=50, judge=None)}[method]
    assert all(not r.solved and r.tokens == 0 and r.calls == 3 for r in run())
