"""One task's search: an iteration in numbered stages, one function each, wired here.

    1. select     K distinct leaves (virtual loss keeps them apart)            -> native tree
    2. pick       teachers for each leaf from its context's weights            -> pick.py, context.py
    3. propose    continuations, every picked teacher at once                  -> propose.py
    4. merge      identical proposals into candidates with priors; admit them  -> merge.py
    5. score      the task's verdict, terminal rules, the judge's verdict      -> score.py
    6. add        the scored children, in one native call                      -> grow.py
    7. evaluate   one new child per leaf: rollout, value function or blend     -> evaluate.py
                  (a rollout's chain is scored (5) and added (6) like any step)
    8. back up    the values, in one native call                               -> native tree
    9. credit     the teachers along every path that finished, in context      -> credit.py

Stages pass data, not a shared bag: each takes what it reads and returns what it made; this loop
owns the per-task bookkeeping (what was spent, the widening pool, the solved nodes; the benched
teachers are the searcher's, shared by its searches) and is the only place that writes it. Python never walks the tree node by node: every tree
call takes a whole batch.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np

from mcts.search.bench import TeacherBench
from mcts.search.config import SearchConfig
from mcts.search.context import StepContexts
from mcts.search.credit import ReturnRange, StepCredits, credit_finished, credit_judged_steps, credit_steps, value_change_outcome
from mcts.search.evaluate import Evaluation, LeafEvaluator, LeafToEvaluate, Rollout, chosen_children, value_function_of
from mcts.search.grow import add_children
from mcts.search.merge import Candidate, admit, leaf_candidates
from mcts.search.pick import pick_teachers
from mcts.search.propose import propose
from mcts.search.score import JudgeCost, ScoredStep, reweigh_priors, score_steps
from mcts.search.steps import parse_step
from mcts.search.trajectories import collect_result
from mcts.search.usage import SearchUsage
from mcts.tree import ROOT, Tree
from mcts.types import Judge, ScoredText, SearchResult, SearchTask, Teacher, TerminalValidator
from mcts.weights import TeacherWeights

log = logging.getLogger(__name__)

# Stop a search whose iterations keep producing nothing (every leaf dead or closed). Generous: a
# judge that prunes makes leaves retry their widening, often several idle iterations in a row
# (8 left hard dev puzzles unsolved with budget unspent; seed 778, not a benchmark's).
MAX_IDLE_ITERATIONS = 32


class TaskSearch:
    """The search of one task in progress. Built by :meth:`mcts.search.Searcher.start`;
    :meth:`run` iterates until a budget is spent, :meth:`iterate` runs one iteration."""

    def __init__(
        self,
        task: SearchTask,
        teachers: Sequence[Teacher],
        weights: TeacherWeights,
        config: SearchConfig,
        *,
        evaluator: LeafEvaluator | None = None,
        judge: Judge | None = None,
        validator: TerminalValidator | None = None,
        bench: TeacherBench | None = None,
        returns: ReturnRange | None = None,
    ) -> None:
        if len(weights.names) != len(teachers):
            raise ValueError(f"{len(teachers)} teachers but the weights know {len(weights.names)}: {weights.names}")
        self.task, self.teachers, self.weights, self.config = task, teachers, weights, config
        self.contexts = StepContexts(config.weights.context, task, weights.max_contexts)
        self.judge, self.validator = judge, validator
        self.step = parse_step(config.step)
        self.evaluator = evaluator or Rollout(config.evaluation, self.step)
        self.tree = Tree(config.selection)
        known_range = getattr(task, "return_range", None)
        if known_range is not None:
            self.tree.include_q_range(*known_range)
        self.rng = np.random.default_rng(config.seed)
        self.usage = SearchUsage()
        self.judge_cost = JudgeCost()
        self.pool: dict[int, list[Candidate]] = {}  # candidates held back by progressive widening
        self.bench = bench or TeacherBench([t.name for t in teachers], config.probe_every)
        self.faults_before = Counter(self.bench.faults)
        self.interrupted: str | None = None
        self.stopped_by: str | None = None
        self.returns = returns or ReturnRange()
        self.prefix_return = 0.0  # the task rewards of the steps above the root, after a reroot
        self.misses: dict[int, int] = {}  # leaf -> expansions that brought nothing new
        self.estimates: dict[int, float] = {}  # node -> the value function's estimate, mapped onto [0, 1]
        self.solved: list[int] = []
        self.prefix: tuple[str, ...] = ()  # steps above the root, after a reroot

    # --- the loop -------------------------------------------------------------------------------

    async def run(self) -> SearchResult:
        """Iterate until a budget is spent (or the task is solved, if ``stop_on_solve``). Why it
        stopped is the result's ``stop_reason``; a search that loses every teacher is ``interrupted``."""
        self.usage.add(await self.bench.probe(self.teachers, self.task.prompt), Counter())
        idle = 0
        while True:
            reason = self.stop_reason(idle)
            if reason is not None:
                break
            added = await self.iterate()
            idle = 0 if added else idle + 1
        self.stopped_by = reason
        if reason == "teachers down" and not self.solved:
            self.interrupted = "every teacher failed and is benched"
            log.warning("search on %s interrupted: %s", self.task.id, self.interrupted)
        elif reason == "stalled":
            log.warning("search on %s stalled: nothing new after %d iterations", self.task.id, idle)
        elif reason == "tree full":
            log.warning("search on %s stopped: its tree is near max_nodes (%d nodes)", self.task.id, len(self.tree))
        return self.result()

    def stop_reason(self, idle: int) -> str | None:
        """Why the search must stop now, or None while it may go on."""
        spent = self.usage.exhausted(self.config.budget)
        if spent is not None:
            return spent
        if self.config.stop_on_solve and self.solved:
            return "solved"
        if self.bench.all_down:
            return "teachers down"
        if idle >= MAX_IDLE_ITERATIONS:
            return "stalled"
        max_nodes = self.config.selection.max_nodes
        if max_nodes is not None and len(self.tree) + self.most_nodes_per_iteration() > max_nodes:
            return "tree full"  # finish with what it has rather than fail mid-iteration
        return None

    def most_nodes_per_iteration(self) -> int:
        """An upper bound on the nodes one iteration adds: every leaf's proposals and rollout chain."""
        e = self.config.expansion
        return e.batch_leaves * (e.teachers_per_leaf * e.proposals_per_teacher + self.config.terminal.max_depth)

    async def iterate(self) -> int:
        """One iteration over a batch of leaves; returns the number of new nodes."""
        tree, config = self.tree, self.config
        # 1. select
        selection = tree.select(config.expansion.batch_leaves)
        if not len(selection):
            return 0
        open_mask = ~selection.is_terminal
        leaves = [int(x) for x in selection.leaves[open_mask]]
        rooms = [int(r) for r in selection.room[open_mask]]

        # 2. pick, 3. propose — only leaves with nothing held back (widening takes the pool first)
        asking = [leaf for leaf in leaves if not self.pool.get(leaf)]
        # each leaf's context, read once: picking uses it here and stage 5's credit below
        context_of = {leaf: self.contexts.at(self.steps(leaf)) for leaf in leaves} if self.contexts.on else None
        contexts = [context_of[leaf] for leaf in asking] if context_of is not None else None
        picks = pick_teachers(self.weights, len(asking), config.expansion.teachers_per_leaf, self.bench.ids, contexts)
        fresh: dict[int, list[Candidate]] = {}
        faulted: set[int] = set()  # leaves a failed teacher left without proposals: asked again, not closed
        if asking and picks.size:
            heat = config.expansion.retry_heat
            temps = [config.expansion.temperature * (1 + heat * self.misses.get(leaf, 0)) for leaf in asking]
            proposed = await propose(
                self.teachers, [self.prompt(leaf) for leaf in asking], picks, config.expansion, self.step, self.rng, temps
            )
            self.usage.add(proposed.tokens, proposed.calls)
            self.fail(proposed.failed)
            faulted = {asking[row] for row in proposed.failed_rows}
            # 4. merge (a teacher's share of a prior is its probability where it was drawn)
            probs = [self.weights.probabilities(c) for c in contexts] if contexts else [self.weights.probabilities()] * len(asking)
            for leaf, props, p in zip(asking, proposed.per_leaf, probs):
                fresh[leaf] = leaf_candidates(props, p, tree.actions(tree.children(leaf).ids), self.step)
        taken: list[list[Candidate]] = []
        for leaf, room in zip(leaves, rooms):
            take, wait = admit(self.pool.pop(leaf, []), fresh.get(leaf, []), room)
            if wait:
                self.pool[leaf] = wait
            taken.append(take)

        # 5. score, 6. add
        parents = [leaf for leaf, cands in zip(leaves, taken) for _ in cands]
        flat = [c for cands in taken for c in cands]
        scored = await self.score(parents, [c.text for c in flat], [c.ended for c in flat])
        if self.judge is not None and config.judge.prior_weight > 0:
            reweigh_priors(taken, scored, config.judge.prior_weight)
        if self.judge is not None and config.judge.enabled and config.judge.credit and config.weights.dynamic:
            verdicts = [None if s.outcome.terminal else s.verdict for s in scored]  # a terminal step is the path's to credit
            step_contexts = [context_of[p] for p in parents] if context_of is not None else None
            credit_judged_steps(self.weights, [c.teacher_ids for c in flat], verdicts, step_contexts)
        children = add_children(tree, parents, flat, scored, config.judge.scale)
        finished = self.note_finished(children, scored)
        per_leaf, start = [], 0
        for cands in taken:
            per_leaf.append(children[start : start + len(cands)])
            start += len(cands)
        stuck = self.close_stuck_leaves(leaves, per_leaf, faulted)

        # 7. evaluate (a rollout's chain is scored and added like the children)
        open_scored, start = [], 0
        for cands in taken:
            open_scored.append(np.asarray([not s.pruned for s in scored[start : start + len(cands)]], dtype=bool))
            start += len(cands)
        chosen = chosen_children([tree.nodes(k).prior for k in per_leaf], per_leaf, open_scored)
        verdicts = {int(c): s.verdict for c, s in zip(children, scored)}
        values = np.zeros(len(selection), dtype=np.float64)
        values[open_mask], chain_finished, estimates = await self.evaluate(chosen, verdicts)
        finished += chain_finished
        if estimates and config.weights.dynamic and config.evaluation.value_credit:
            self.credit_value_changes(estimates, dict(zip(map(int, children), zip(parents, flat))), context_of)

        # 8. back up — from the evaluated child, so it records its own visit and Q
        keep = np.asarray([int(x) not in stuck for x in selection.leaves])
        if stuck:
            tree.cancel(np.asarray(sorted(stuck), dtype=np.int32))
        evaluated = {leaf: child for leaf, child in zip(leaves, chosen) if child is not None}
        if evaluated:
            tree.descend(list(evaluated), list(evaluated.values()))
        tree.backup([evaluated.get(int(leaf), int(leaf)) for leaf in selection.leaves[keep]], values[keep])
        self.usage.simulations += int(keep.sum())

        # 9. credit
        if config.weights.dynamic:
            contexts_of = (lambda path: self.contexts.of_path(self.prefix, tree.actions(path))) if self.contexts.on else None
            credit_finished(self.weights, tree, finished, contexts_of)
        return len(children)

    # --- stage helpers that read or write this search's bookkeeping ------------------------------

    def prompt(self, node: int) -> str:
        """What a teacher continues: the task prompt, the steps above the root, the path to ``node``."""
        return self.task.prompt + "".join(self.prefix) + self.tree.text(node)

    def steps(self, node: int) -> list[str]:
        """The step texts from the task's start to ``node`` (the steps above the root included)."""
        return [*self.prefix, *self.tree.actions(self.tree.path(node)[1:])]

    async def score(self, parents: Sequence[int], texts: Sequence[str], ended: Sequence[bool]) -> list[ScoredStep]:
        bases: dict[int, list[str]] = {}
        paths = [[*bases.setdefault(p, self.steps(p)), t] for p, t in zip(parents, texts)]
        return await self.score_paths(paths, ended)

    async def score_paths(self, paths: Sequence[Sequence[str]], ended: Sequence[bool]) -> list[ScoredStep]:
        return await score_steps(
            self.task, paths, ended, self.config.terminal, self.judge, self.config.judge, self.judge_cost, self.validator
        )

    def note_finished(self, children: np.ndarray, scored: Sequence[ScoredStep]) -> list[tuple[int, float]]:
        """Records solved nodes; returns the ``(node, outcome)`` of every path that ended, the outcome
        being its return (the task's rewards along it) mapped to [0, 1] by ``ReturnRange`` (pruned
        ones are not finished: the judge stopped them, the task never scored them)."""
        finished = []
        known = getattr(self.task, "return_range", None)
        for child, s in zip(children, scored):
            if s.outcome.solved:
                self.solved.append(int(child))
            if s.outcome.terminal:
                finished.append((int(child), self.returns.outcome(self.path_return(int(child)), known)))
        return finished

    def path_return(self, node: int) -> float:
        """The task's rewards summed from the task's start to ``node`` (the judge's shifts left out)."""
        return self.prefix_return + math.fsum(n.task_reward for n in self.tree.notes.many(self.tree.path(node)[1:]))

    def fail(self, failed: dict[int, Exception]) -> None:
        for teacher_id, error in failed.items():
            self.bench.fail(teacher_id, error)

    def close_stuck_leaves(self, leaves: Sequence[int], per_leaf: Sequence[np.ndarray], faulted: set[int]) -> set[int]:
        """Leaves that got no new child are asked again (``expansion.retries`` times, each time hotter
        by ``expansion.retry_heat``), since teachers often repeat the steps a leaf already has while
        others remain; then they are closed: a childless one becomes a dead end (terminal, value 0),
        one with children stops widening. A leaf whose teacher failed (``faulted``) is only asked
        again: a fault says nothing about the state. Returns the leaves whose selection is cancelled."""
        empty = [leaf for leaf, kids in zip(leaves, per_leaf) if len(kids) == 0]
        retry = {leaf for leaf in empty if leaf in faulted}
        empty = [leaf for leaf in empty if leaf not in faulted]
        for leaf in empty:
            self.misses[leaf] = self.misses.get(leaf, 0) + 1
            if self.misses[leaf] <= self.config.expansion.retries:
                retry.add(leaf)
        closing = [leaf for leaf in empty if leaf not in retry]
        dead = [leaf for leaf in closing if self.tree.num_children(leaf) == 0]
        saturated = {leaf for leaf in closing if leaf not in dead}
        if dead:
            self.tree.mark_terminal(np.asarray(dead, dtype=np.int32))
        if saturated:
            self.tree.mark_saturated(np.asarray(sorted(saturated), dtype=np.int32))
        return saturated | retry

    def rollout_teacher(self, child: int) -> int:
        """The teacher a rollout below ``child`` uses (``evaluation.rollout_teacher``)."""
        mode = self.config.evaluation.rollout_teacher
        working = self.working_teachers()
        if mode == "top":
            probs = self.weights.probabilities()
            return max(working, key=lambda i: probs[i])
        if mode == "proposer":
            teacher = int(self.tree.nodes([child]).teacher[0])
            return teacher if teacher in working else working[0]
        names = [t.name for t in self.teachers]
        if mode not in names:
            raise ValueError(f"evaluation.rollout_teacher {mode!r} is not one of the teachers {names} (or 'top', 'proposer', 'context')")
        return names.index(mode)

    def working_teachers(self) -> list[int]:
        """The teachers not benched for faults (all of them when every one is)."""
        return [i for i in range(len(self.teachers)) if i not in self.bench] or list(range(len(self.teachers)))

    def context_route(self, child: int) -> Callable[[Sequence[str]], int]:
        """For a rollout below ``child`` (``rollout_teacher = "context"``): each next step's teacher,
        the working teacher that leads that step's context (the global weights without contexts);
        a tie (before any credit) is drawn uniformly by the search's generator.

        The leader, not a draw: a rollout evaluates the child, so it is written by the best policy
        known so far; trying the others is the expansions' job. Drawing each step put a weak teacher
        in about one step of ten and failed rollouts that the leader would have finished (dev
        puzzles, RESULTS "Warm-up and rollouts by the leader")."""
        base, working = self.steps(child), self.working_teachers()

        def route(written: Sequence[str]) -> int:
            context = self.contexts.at([*base, *written]) if self.contexts.on else None
            probs = self.weights.probabilities(context)
            top = max(probs[i] for i in working)
            leaders = [i for i in working if probs[i] == top]
            return leaders[0] if len(leaders) == 1 else leaders[int(self.rng.integers(len(leaders)))]

        return route

    async def evaluate(
        self, chosen: Sequence[int | None], verdicts: dict[int, float]
    ) -> tuple[np.ndarray, list[tuple[int, float]], dict[int, float]]:
        """Per leaf, the discounted return below its chosen child (0 where there is none or it is
        terminal), blended with the judge's verdict read as a value when ``judge.value_weight > 0``;
        also the paths that the rollouts finished, and the value function's estimates of the chosen
        children mapped onto [0, 1] (none without a value function)."""
        values = np.zeros(len(chosen), dtype=np.float64)
        rows = [(i, c) for i, c in enumerate(chosen) if c is not None]
        terminal = self.tree.nodes([c for _, c in rows]).terminal if rows else np.zeros(0, dtype=bool)
        rows = [(i, c) for (i, c), t in zip(rows, terminal) if not t]
        if not rows:
            return values, [], {}
        w = self.config.judge.value_weight if self.judge is not None else 0.0
        discount = self.config.selection.discount
        if w > 0:
            low, high = getattr(self.task, "return_range", None) or (0.0, 1.0)
            judged = np.asarray([discount * (low + (verdicts[c] + 1) / 2 * (high - low)) for _, c in rows])
            if w >= 1:  # the verdict is the whole value: no rollout to pay for
                values[[i for i, _ in rows]] = judged
                return values, [], {}
        leaves = []
        for _, child in rows:
            steps = self.steps(child)
            route = self.context_route(child) if self.config.evaluation.rollout_teacher == "context" else None
            leaves.append(
                LeafToEvaluate(
                    ScoredText(self.task.prompt, tuple(steps), self.task.reference, self.task.id),
                    self.task.prompt + "".join(steps),
                    route([]) if route is not None else self.rollout_teacher(child),  # the first step's teacher
                    route,
                )
            )
        evaluation = await self.evaluator.evaluate(leaves, self.teachers, self.rng)
        self.usage.add(evaluation.tokens, evaluation.calls, rollout=True)
        self.fail(evaluation.failed)
        chain_returns, finished = await self.add_chains([c for _, c in rows], evaluation)
        v = evaluation.value_weight
        estimates = evaluation.values if evaluation.values is not None else np.zeros(len(rows))
        for k, (i, _) in enumerate(rows):
            values[i] = discount * (v * float(estimates[k]) + (1 - v) * chain_returns[k])
            if w > 0:
                values[i] = (1 - w) * values[i] + w * judged[k]
        if evaluation.values is None:
            return values, finished, {}
        return values, finished, {c: self.unit_value(float(e)) for (_, c), e in zip(rows, estimates)}

    def unit_value(self, estimate: float) -> float:
        """A value estimate mapped onto [0, 1] by the task's return range (0..1 without one)."""
        low, high = getattr(self.task, "return_range", None) or (0.0, 1.0)
        return min(1.0, max(0.0, (estimate - low) / (high - low))) if high > low else 0.5

    def credit_value_changes(self, estimates: dict[int, float], origin: dict[int, tuple[int, Candidate]],
                             context_of: dict[int, int] | None) -> None:
        """Credit each value-scored child's proposers with the value change its step made (see
        ``EvaluationConfig.value_credit``); the parents the value function has not scored yet are
        scored now, in one call."""
        value_fn = value_function_of(self.evaluator)
        self.estimates.update(estimates)
        unknown = sorted({origin[c][0] for c in estimates if origin[c][0] not in self.estimates})
        if unknown and value_fn is not None:
            states = [ScoredText(self.task.prompt, tuple(self.steps(p)), self.task.reference, self.task.id) for p in unknown]
            self.estimates.update(zip(unknown, (self.unit_value(float(e)) for e in value_fn.value(states))))
        kids = [c for c in estimates if origin[c][0] in self.estimates]
        outcomes = [value_change_outcome(estimates[c], self.estimates[origin[c][0]]) for c in kids]
        contexts = [context_of[origin[c][0]] for c in kids] if context_of is not None else None
        credit_steps(self.weights, [origin[c][1].teacher_ids for c in kids], outcomes, contexts)

    async def add_chains(self, children: Sequence[int], evaluation: Evaluation) -> tuple[np.ndarray, list[tuple[int, float]]]:
        """Score every rollout chain's steps in one batch, cut each at its first terminal (or pruned)
        step, add them as chains of nodes; returns each child's discounted chain return and the
        paths the chains finished."""
        returns = np.zeros(len(children), dtype=np.float64)
        chains = evaluation.chains
        if not chains:
            return returns, []
        paths, ended = [], []
        for chain in chains:
            base = self.steps(children[chain.index])
            for k in range(len(chain.steps)):
                paths.append([*base, *chain.steps[: k + 1]])
                ended.append(chain.ended and k == len(chain.steps) - 1)
        scored = await self.score_paths(paths, ended)
        discount = self.config.selection.discount
        finished: list[tuple[int, float]] = []
        credit = None
        if self.config.evaluation.rollout_teacher == "context" and self.config.weights.dynamic:
            judged = self.judge is not None and self.config.judge.enabled and self.config.judge.credit
            credit = StepCredits(self.weights, self.contexts, self.steps, judged)
        start = 0
        for chain in chains:
            parts = scored[start : start + len(chain.steps)]
            start += len(chain.steps)
            stop = next((k for k, s in enumerate(parts) if s.outcome.terminal or s.pruned), len(parts) - 1)
            node = children[chain.index]
            for k in range(stop + 1):
                writer, parent = chain.teacher_of(k), node
                candidate = Candidate(
                    text=chain.steps[k], prior=1.0, teachers=[self.teachers[writer].name], teacher_ids=[writer], tokens=0,
                    ended=ended[start - len(chain.steps) + k], from_rollout=True,
                )
                (node,) = add_children(self.tree, [node], [candidate], [parts[k]], self.config.judge.scale)
                done = self.note_finished(np.asarray([node]), [parts[k]])
                finished += done
                if credit is not None:
                    credit.add(writer, parent, parts[k], done)
            # as the tree stores them (float32), so a chain's return equals what its nodes hold
            rewards = [float(np.float32(parts[k].reward(self.config.judge.scale))) for k in range(stop + 1)]
            returns[chain.index] = sum(r * discount**k for k, r in enumerate(rewards))
        if credit is not None:
            credit.apply()
        return returns, finished

    # --- results and tree surgery ----------------------------------------------------------------

    def result(self) -> SearchResult:
        faults = {k: v - self.faults_before.get(k, 0) for k, v in self.bench.faults.items() if v > self.faults_before.get(k, 0)}
        return collect_result(
            self.tree, self.task, self.prefix, self.solved, self.usage, self.judge_cost, faults, self.interrupted,
            self.stopped_by, self.prefix_return,
        )

    def reroot(self, node: int) -> None:
        """Commit to ``node``: keep only its subtree (its path becomes the prefix of every prompt) and
        renumber everything the search holds. No selection may be pending (call between iterations)."""
        steps = self.steps(node)
        self.prefix_return = self.path_return(node)
        old_to_new = self.tree.reroot(node)
        self.prefix = tuple(steps)
        self.solved = [int(old_to_new[n]) for n in self.solved if old_to_new[n] >= 0]
        self.pool = {int(old_to_new[n]): c for n, c in self.pool.items() if old_to_new[n] >= 0}
        self.misses = {int(old_to_new[n]): m for n, m in self.misses.items() if old_to_new[n] >= 0}
        self.estimates = {int(old_to_new[n]): u for n, u in self.estimates.items() if old_to_new[n] >= 0}
        assert int(old_to_new[node]) == ROOT
