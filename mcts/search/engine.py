"""The search loop: one iteration in numbered stages, one function each.

    1. select     K distinct leaves (virtual loss keeps them apart)           -> native tree
    2. pick       teachers for each leaf from the dynamic weights             -> native weights
    3. propose    continuations, all teachers concurrently                    -> teachers
    4. merge      identical proposals into candidates with priors             -> merge.py
    5. add        children with immediate rewards (task + judge)              -> native tree
    6. evaluate   one new child per leaf: rollout, value function or blend    -> evaluate.py
    7. back up    the leaf values                                             -> native tree
    8. credit     the teachers along every path that just finished            -> native weights

The loop never walks the tree node by node in Python: every tree call takes a whole batch.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import numpy as np

from mcts.search.evaluate import chosen_children
from mcts.search.grow import add_children
from mcts.search.merge import Candidate, merge_proposals
from mcts.search.state import SearchState
from mcts.search.trajectories import collect_result
from mcts.types import GenerationRequest, Proposal, SearchResult

log = logging.getLogger(__name__)

# Stop a search whose iterations keep producing nothing (every teacher benched, every leaf dead).
MAX_IDLE_ITERATIONS = 8


# --- 1. select ----------------------------------------------------------------------------------


def select_leaves(state: SearchState):
    return state.tree.select(state.config.expansion.batch_leaves)


# --- 2. pick ------------------------------------------------------------------------------------


def pick_teachers(state: SearchState, num_leaves: int) -> np.ndarray:
    """Teacher ids, shape (num_leaves, teachers_per_leaf). Consumes the weights' RNG.

    A benched teacher's draws go to the best teacher still working.
    """
    per_leaf = state.config.expansion.teachers_per_leaf
    picks = np.asarray(state.weights.sample(num_leaves * per_leaf), dtype=np.int64).reshape(num_leaves, per_leaf)
    if state.benched:
        working = [i for i in range(len(state.teachers)) if i not in state.benched]
        if not working:
            return picks[:, :0]
        probs = state.weights.probabilities()
        fallback = max(working, key=lambda i: probs[i])
        picks = np.where(np.isin(picks, list(state.benched)), fallback, picks)
    return picks


# --- 3. propose ---------------------------------------------------------------------------------


async def propose(state: SearchState, leaves: Sequence[int], picks: np.ndarray) -> list[list[tuple[int, Proposal]]]:
    """Ask every picked teacher for continuations of its leaves, all teachers at once.

    Returns, per leaf, ``(teacher_id, proposal)`` pairs. A teacher that fails (after its own retries)
    is benched for the rest of this search with a warning; its leaves get fewer proposals.
    """
    exp = state.config.expansion
    by_teacher: dict[int, list[tuple[int, GenerationRequest]]] = {}
    for row, leaf in enumerate(leaves):
        prompt = state.task.prompt + state.tree.text(leaf)
        for teacher_id, count in zip(*np.unique(picks[row], return_counts=True)):
            request = GenerationRequest(
                prompt=prompt,
                n=int(count) * exp.proposals_per_teacher,
                max_tokens=exp.max_step_tokens,
                stop=(state.delimiter,),
                temperature=exp.temperature,
                top_p=exp.top_p,
                seed=int(state.rng.integers(2**31)),
            )
            by_teacher.setdefault(int(teacher_id), []).append((row, request))

    order = list(by_teacher)
    replies = await asyncio.gather(
        *(state.teachers[t].agenerate([r for _, r in by_teacher[t]]) for t in order), return_exceptions=True
    )
    per_leaf: list[list[tuple[int, Proposal]]] = [[] for _ in leaves]
    for teacher_id, reply in zip(order, replies):
        teacher = state.teachers[teacher_id]
        if isinstance(reply, BaseException):
            if not isinstance(reply, Exception):
                raise reply
            log.warning("teacher %s failed and is benched for this task: %s", teacher.name, reply)
            state.benched.add(teacher_id)
            continue
        for (row, _), proposals in zip(by_teacher[teacher_id], reply):
            state.usage.record(teacher.name, sum(p.num_tokens for p in proposals))
            per_leaf[row].extend((teacher_id, p) for p in proposals)
    return per_leaf


# --- 4. merge -----------------------------------------------------------------------------------


def merge(state: SearchState, leaf: int, proposals: Sequence[tuple[int, Proposal]]) -> list[Candidate]:
    probs = state.weights.probabilities()
    existing = state.tree.actions(state.tree.children(leaf).ids)
    candidates = merge_proposals([(t, float(probs[t]), p) for t, p in proposals], existing)
    for c in candidates:
        if not c.ended and not c.text.endswith(state.delimiter):
            c.text = c.text + state.delimiter
    return candidates


# --- 6. evaluate --------------------------------------------------------------------------------


async def evaluate(state: SearchState, leaves: Sequence[int], children_per_leaf: Sequence[Sequence[int]]) -> np.ndarray:
    """One value per leaf: the discounted return below its most likely new child (``chosen_children``)."""
    return await state.evaluator.evaluate(state, leaves, children_per_leaf)


# --- 5. add is mcts/search/grow.py (rollouts add children too); 8. credit happens as paths finish there.


# --- 7. back up ---------------------------------------------------------------------------------


def back_up(state: SearchState, selected: np.ndarray, values: np.ndarray, evaluated: dict[int, int]) -> None:
    """Back ``values`` up; a selected leaf that was expanded is first moved down to the child its value
    was measured below (``evaluated``: leaf -> child), so that child records its own visit and Q."""
    if evaluated:
        state.tree.descend(list(evaluated), list(evaluated.values()))
    state.tree.backup([evaluated.get(int(leaf), int(leaf)) for leaf in selected], values)
    state.usage.simulations += len(selected)


# --- the loop -----------------------------------------------------------------------------------


async def run_iteration(state: SearchState) -> int:
    """One iteration over a batch of leaves; returns the number of new nodes."""
    selection = select_leaves(state)
    if not len(selection):
        return 0
    open_mask = ~selection.is_terminal
    open_leaves = [int(x) for x in selection.leaves[open_mask]]
    rooms = [int(r) for r in selection.room[open_mask]]

    # Progressive widening first takes candidates proposed earlier and held back: no tokens spent.
    asking = [leaf for leaf in open_leaves if not state.pool.get(leaf)]
    picks = pick_teachers(state, len(asking))
    proposals = await propose(state, asking, picks) if asking and picks.size else [[] for _ in asking]
    fresh = {leaf: merge(state, leaf, props) for leaf, props in zip(asking, proposals)}
    candidates = [admit(state, leaf, room, fresh.get(leaf, [])) for leaf, room in zip(open_leaves, rooms)]
    children = add_children(state, open_leaves, candidates)

    per_leaf, start = [], 0
    for cands in candidates:
        per_leaf.append([int(c) for c in children[start : start + len(cands)]])
        start += len(cands)
    stuck = close_stuck_leaves(state, open_leaves, per_leaf)

    values = np.zeros(len(selection), dtype=np.float64)
    values[open_mask] = await evaluate(state, open_leaves, per_leaf)
    keep = np.asarray([int(x) not in stuck for x in selection.leaves])
    if stuck:
        state.tree.cancel(np.asarray(sorted(stuck), dtype=np.int32))
    evaluated = {leaf: child for leaf, child in zip(open_leaves, chosen_children(state, per_leaf)) if child is not None}
    back_up(state, selection.leaves[keep], values[keep], evaluated)
    return len(children)


def admit(state: SearchState, leaf: int, room: int, fresh: list[Candidate]) -> list[Candidate]:
    """The candidates a leaf takes now (at most ``room``, most probable first); the rest wait in its pool."""
    waiting = sorted(state.pool.pop(leaf, []) + fresh, key=lambda c: -c.prior)
    take = len(waiting) if room < 0 else max(room, 1)
    if waiting[take:]:
        state.pool[leaf] = waiting[take:]
    return waiting[:take]


def close_stuck_leaves(state: SearchState, leaves: Sequence[int], per_leaf: Sequence[Sequence[int]]) -> set[int]:
    """Leaves that got no child: a childless one becomes a dead end (terminal, value 0); one that
    already has children stops widening and its selection is cancelled. Returns the cancelled ones."""
    dead = [leaf for leaf, kids in zip(leaves, per_leaf) if not kids and state.tree.num_children(leaf) == 0]
    saturated = {leaf for leaf, kids in zip(leaves, per_leaf) if not kids and leaf not in dead}
    if dead:
        state.tree.mark_terminal(np.asarray(dead, dtype=np.int32))
    if saturated:
        state.tree.mark_saturated(np.asarray(sorted(saturated), dtype=np.int32))
    return saturated


async def search_async(state: SearchState) -> SearchResult:
    """Run iterations until a budget is spent (or the task is solved, if ``stop_on_solve``)."""
    idle = 0
    while state.usage.exhausted(state.config.budget) is None:
        if state.config.stop_on_solve and state.solved_nodes:
            break
        added = await run_iteration(state)
        idle = 0 if added else idle + 1
        if idle >= MAX_IDLE_ITERATIONS or len(state.benched) == len(state.teachers):
            log.warning("search on %s stalled: nothing new after %d iterations", state.task.id, idle)
            break
    return collect_result(state)


def search(state: SearchState) -> SearchResult:
    """Synchronous entry point: runs ``search_async`` in a fresh event loop."""
    return asyncio.run(search_async(state))
