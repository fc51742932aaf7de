"""The judge steers the search: pruning, verdicts into priors and values, batching across concurrent
searches, scalar judges; and tree surgery (reroot) that keeps every node's notes with its node.

The exact solver sits in the judge's seat (``SolverJudge``, a real product component); teachers are the
deterministic stand-ins of ``countdown_fakes`` where a test needs exact, repeatable proposals.
"""

from __future__ import annotations

import asyncio
import dataclasses

import numpy as np
import pytest
from countdown_fakes import OracleTeacher

from mcts.search import Budget, ExpansionConfig, JudgeConfig, Searcher, SearchConfig
from mcts.tasks.countdown import format_step
from mcts.tasks.countdown_judge import SolverJudge
from mcts.tasks.countdown_solver import after_move, generate_puzzles, is_solvable, legal_moves
from mcts.tasks.searchable import CountdownTask
from mcts.tree import TreeConfig


def tasks(n=3, seed=3):
    return [CountdownTask(p) for p in generate_puzzles(n, seed=seed)]


def config(**changes) -> SearchConfig:
    return dataclasses.replace(SearchConfig(budget=Budget(simulations=40), stop_on_solve=False), **changes)


class CountingJudge:
    """The solver judge, recording the task ids of every batch it was asked."""

    def __init__(self, inner=None):
        self.inner = inner or SolverJudge()
        self.batches: list[set[str]] = []

    def judge(self, states):
        self.batches.append({s.prompt for s in states})
        return self.inner.judge(states)


class ConstantJudge:
    """A process-reward-style judge: the same scalar for every state."""

    def __init__(self, value: float):
        self.value = value

    def judge(self, states):
        return [self.value] * len(states)


def test_rejected_steps_are_pruned_never_expanded_nor_rolled_out():
    teachers = [OracleTeacher("careless", 0.2)]
    result = Searcher(teachers, config(), judge=SolverJudge()).search(tasks(1)[0])
    tree = result.tree
    nodes = tree.nodes()
    pruned = [i for i in range(len(tree)) if tree.notes.get(i).pruned]
    assert pruned, "a careless teacher proposes unreachable steps: some must be pruned"
    for node in pruned:
        assert nodes.terminal[node] and tree.num_children(node) == 0
        assert tree.notes.get(node).judge == -1.0
        assert nodes.reward[node] == pytest.approx(-0.1)  # scale * verdict, backed up at once
    # every node that was expanded or rolled out below is one the judge accepted
    for node in range(1, len(tree)):
        parent = int(nodes.parent[node])
        assert not tree.notes.get(parent).pruned


def test_with_pruning_off_rejected_steps_grow_as_before():
    teachers = [OracleTeacher("careless", 0.2)]
    cfg = config(judge=JudgeConfig(prune=False))
    tree = Searcher(teachers, cfg, judge=SolverJudge()).search(tasks(1)[0]).tree
    rejected = [i for i in range(1, len(tree)) if tree.notes.get(i).judge < 0]
    assert rejected and not any(tree.notes.get(i).pruned for i in rejected)
    assert any(tree.num_children(i) > 0 for i in rejected)


def test_pruning_makes_a_careless_teacher_solve_more():
    teachers = [OracleTeacher("careless", 0.1)]
    cfg = SearchConfig(budget=Budget(simulations=24))
    puzzles = tasks(16, seed=17)
    plain = Searcher(teachers, cfg).search_many(puzzles, seeds=lambda i: i)
    judged = Searcher(teachers, cfg, judge=SolverJudge()).search_many(puzzles, seeds=lambda i: i)
    assert sum(r.solved for r in judged) > sum(r.solved for r in plain)


def test_verdicts_raise_the_priors_of_accepted_steps():
    teachers = [OracleTeacher("careless", 0.3)]
    task = tasks(1, seed=5)[0]
    plain = Searcher(teachers, config(), judge=SolverJudge()).search(task).tree
    tilted = Searcher(teachers, config(judge=JudgeConfig(prior_weight=2.0)), judge=SolverJudge()).search(task).tree

    def accepted_share(tree):
        kids = tree.children(0)
        good = [tree.notes.get(int(k)).judge > 0 for k in kids.ids]
        return float(kids.prior[good].sum() / kids.prior.sum())

    assert accepted_share(tilted) > accepted_share(plain)


def test_verdict_as_the_whole_value_spends_no_rollout_tokens():
    teacher = OracleTeacher("t", 0.5)
    cfg = config(judge=JudgeConfig(value_weight=1.0))
    result = Searcher([teacher], cfg, judge=SolverJudge()).search(tasks(1)[0])
    assert all(r.max_tokens != cfg.evaluation.rollout_max_tokens for r in teacher.requests)
    # every value backed up is the verdict read on the 0..1 return range (plus rewards)
    kids = result.tree.children(0)
    visited = kids.visits > 0
    assert visited.any() and np.isfinite(kids.value_sum[visited]).all()


def test_a_scalar_judge_shifts_rewards_by_its_score():
    result = Searcher([OracleTeacher("t", 0.5)], config(), judge=ConstantJudge(0.3)).search(tasks(1)[0])
    tree = result.tree
    open_nodes = [i for i in range(1, len(tree)) if not tree.nodes([i]).terminal[0]]
    assert open_nodes and all(tree.notes.get(i).judge == pytest.approx(0.3) for i in open_nodes)
    assert all(tree.nodes([i]).reward[0] == pytest.approx(0.03) for i in open_nodes)
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        Searcher([OracleTeacher("t", 0.5)], config(), judge=ConstantJudge(3.0)).search(tasks(1)[0])


def test_concurrent_searches_share_judge_batches_and_cost_is_reported():
    judge = CountingJudge()
    puzzles = tasks(4, seed=9)
    results = Searcher([OracleTeacher("a", 0.5)], config(), judge=judge).search_many(puzzles, concurrent=4)
    assert max(len(b) for b in judge.batches) >= 2  # one batch carried several searches' steps
    assert all(r.judge_calls > 0 for r in results)
    one_by_one = CountingJudge()
    Searcher([OracleTeacher("a", 0.5)], config(), judge=one_by_one).search_many(puzzles, concurrent=1)
    assert len(judge.batches) < len(one_by_one.batches)


class FixedFirstStep(OracleTeacher):
    """Always opens with the same winning step, so the root has exactly one child."""

    def complete(self, request, rng):
        if request.prompt.count("\n") == 2:  # only the two prompt lines: nothing played yet
            numbers = tuple(int(x) for x in request.prompt.split("\n")[0].split()[1:])
            target = int(request.prompt.split("\n")[1].split()[1])
            move = next(m for m in legal_moves(numbers) if is_solvable(after_move(numbers, m), target))
            proposal = super().complete(request, rng)
            text = format_step(*move, numbers).rstrip("\n")
            return dataclasses.replace(proposal, text=text, token_ids=tuple(range(len(text))), finish_reason="stop")
        return super().complete(request, rng)


def test_reroot_mid_search_keeps_the_subtree_and_its_notes():
    task = tasks(1, seed=12)[0]
    cfg = config(selection=TreeConfig(widen_c=None), expansion=ExpansionConfig(proposals_per_teacher=1))

    def searcher():
        return Searcher([FixedFirstStep("t", 0.4)], cfg, judge=SolverJudge())

    straight = searcher().search(task)

    async def rerooted():
        search = searcher().start(task)
        await search.iterate()
        assert search.tree.num_children(0) == 1
        first_step = search.tree.action(1)
        search.reroot(1)
        result = await search.run()
        return first_step, result

    first_step, result = asyncio.run(rerooted())
    assert result.tree.action(0) == ""  # the committed step moved into the prompt
    want = [(t.prompt + t.steps[0].text, t.steps[1:], t.final_reward, t.solved) for t in straight.trajectories]
    got = [(t.prompt, t.steps, t.final_reward, t.solved) for t in result.trajectories]
    assert want and all(w[1] for w in want) and want[0][0].endswith(first_step)
    assert got == want


@pytest.mark.slow
def test_the_terminal_validator_model_ends_paths_it_calls_final():
    from teachers.bundled import bundled_model_path
    from value import LMTerminalValidator

    model = bundled_model_path("countdown-expert")
    task = tasks(1, seed=4)[0]
    cfg = config(budget=Budget(simulations=8))
    eager = Searcher([OracleTeacher("t", 0.5)], cfg, validator=LMTerminalValidator(model, threshold=-1e9)).search(task)
    assert eager.trajectories and all(len(t.steps) == 1 for t in eager.trajectories)
    never = Searcher([OracleTeacher("t", 0.5)], cfg, validator=LMTerminalValidator(model, threshold=1e9)).search(task)
    assert max(len(t.steps) for t in never.trajectories) > 1


def test_a_wrong_validator_path_is_a_clear_error(tmp_path, capsys):
    from mcts.cli import main

    run = tmp_path / "run.toml"
    run.write_text('[search.terminal]\nvalidator = "/no/such/model"\n')
    code = main(["search", "--config", str(run), "--num-tasks", "1", "--simulations", "4", "--out", str(tmp_path / "o")])
    assert code == 2 and "/no/such/model" in capsys.readouterr().err


def test_a_search_near_its_node_budget_finishes_with_what_it_has():
    from mcts import TreeConfig as Tc

    cfg = config(budget=Budget(simulations=500), selection=Tc(max_nodes=60))
    result = Searcher([OracleTeacher("t", 0.3)], cfg).search(tasks(1, seed=8)[0])
    assert result.stop_reason == "tree full" and len(result.tree) <= 60 and result.trajectories
    assert Searcher([OracleTeacher("t", 0.3)], config()).search(tasks(1, seed=8)[0]).stop_reason == "simulations"


def test_judged_steps_credit_their_proposers_at_once():
    # A short search: few paths finish, so path credit alone hardly moves the weights; the verdicts
    # of every judged step already tell the careful teacher from the careless one.
    teachers = [OracleTeacher("careful", 1.0), OracleTeacher("careless", 0.0)]
    gaps = {}
    for credit in (True, False):
        cfg = config(budget=Budget(simulations=4), judge=JudgeConfig(credit=credit))
        searcher = Searcher(teachers, cfg, judge=SolverJudge())
        searcher.search(tasks(1)[0])
        scores = searcher.weights.scores()
        gaps[credit] = scores[0] - scores[1]
    assert gaps[True] > 2 * gaps[False] > 0, gaps


def test_a_merged_step_credits_every_proposer_in_full():
    from mcts.search.credit import credit_judged_steps
    from mcts.weights import WeightsConfig

    weights = WeightsConfig().build(["a", "b", "c"])
    before = weights.scores().copy()
    credit_judged_steps(weights, [[0, 1], [2]], [1.0, None])  # c's step was terminal: not judged
    after = weights.scores()
    assert after[0] == after[1] > before[0] and after[2] == before[2]
    credit_judged_steps(weights, [[2]], [-1.0], contexts=[3])
    assert weights.scores(3)[2] < weights.scores()[0] and weights.evidence(3) == 1


class RepeatingTeacher(OracleTeacher):
    """Always the first legal step: every re-ask of a leaf brings nothing new."""

    def next_step(self, available, target, rng):
        return format_step(*legal_moves(available)[0], available)


def test_a_leaf_that_brings_nothing_new_is_asked_again_hotter_then_closed():
    teacher = RepeatingTeacher("stuck", 1.0)
    cfg = config(budget=Budget(simulations=200), expansion=ExpansionConfig(batch_leaves=1, retries=3, retry_heat=0.5))
    result = Searcher([teacher], cfg).search(tasks(1)[0])
    root_prompt = teacher.requests[0].prompt
    asked = [r.temperature for r in teacher.requests if r.prompt == root_prompt and r.stop]
    assert asked == [1.0, 1.0, 1.5, 2.0, 2.5], asked  # the first answer, then 1 + retries asks, hotter each time
    assert result.stop_reason == "stalled" and result.tree.num_children(0) == 1


class CountingValue:
    """The solver's truth as a value function (a real product component), recording every state asked."""

    def __init__(self):
        from value.countdown_truth import SolverValueFn

        self.inner, self.asked = SolverValueFn(), []

    def value(self, states):
        self.asked.extend(states)
        return self.inner.value(states)


def test_value_scored_steps_credit_their_proposers_with_the_value_change():
    from mcts.search.evaluate import ValueEvaluator
    from mcts.search.config import EvaluationConfig

    teachers = [OracleTeacher("careful", 1.0), OracleTeacher("careless", 0.0)]
    gaps, asked = {}, {}
    for credit in (True, False):
        value = CountingValue()
        cfg = config(budget=Budget(simulations=4), evaluation=EvaluationConfig(mode="value", value_credit=credit))
        searcher = Searcher(teachers, cfg, evaluator=lambda: ValueEvaluator(value))
        searcher.search(tasks(1)[0])
        scores = searcher.weights.scores()
        gaps[credit], asked[credit] = scores[0] - scores[1], value.asked
    assert gaps[True] > 2 * max(gaps[False], 0.0) and gaps[True] > 0, gaps
    # the root's estimate is asked once, for the first children's baseline; never without credit
    assert sum(len(s.steps) == 0 for s in asked[True]) == 1 and not any(len(s.steps) == 0 for s in asked[False])


def test_the_value_change_outcome_is_neutral_for_a_step_that_keeps_the_value():
    from mcts.search.credit import value_change_outcome

    assert value_change_outcome(0.7, 0.7) == 0.5
    assert value_change_outcome(1.0, 0.0) == 1.0 and value_change_outcome(0.0, 1.0) == 0.0
    assert value_change_outcome(0.6, 0.4) == pytest.approx(0.6)
