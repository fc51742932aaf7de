"""The bundled judge ``countdown-judge``: trained on training-side puzzles only, loaded with its own
judge.json by ``value.load_judge``, and right on unambiguous held-out states."""

from __future__ import annotations

import itertools
import json
import random
import shutil

import pytest

from mcts.tasks.countdown import Puzzle, apply_steps, format_prompt, format_step
from mcts.tasks.countdown_solver import after_move, generate_puzzles, is_solvable, legal_moves, puzzle_split, solve
from mcts.types import Judge, ScoredText
from teachers.bundled import bundled_model_path, bundled_models
from teachers.training.judge_data import (
    FOCUS_DEPTH_ODDS,
    FOCUS_FIRST_STEP_ODDS,
    first_steps,
    judge_examples,
    judge_puzzles,
    reachable,
)
from teachers.training.recipes import Recipe, recipe
from value import LMGTJudgeConfig, load_judge

WALKED_EXAMPLES = 4000


def heldout_number_sets() -> set[tuple[int, ...]]:
    """Every held-out Game-of-24 number set, sorted (so any permutation maps to it)."""
    sets = itertools.combinations_with_replacement(range(1, 14), 4)
    return {s for s in sets if puzzle_split(s, 24) == "heldout"}


def test_no_heldout_number_set_is_in_the_judges_training_data():
    heldout = heldout_number_sets()
    seed = recipe("countdown-judge").seed
    pools = judge_puzzles("fit", seed)  # structurally: every puzzle the stream can draw
    for puzzle in [p for pool in pools for p in pool]:
        assert puzzle_split(puzzle.numbers, puzzle.target) == "train", puzzle
        assert tuple(sorted(puzzle.numbers)) not in heldout, puzzle
    drawn = set()
    for example in itertools.islice(judge_examples(seed), WALKED_EXAMPLES):  # what the trainer reads
        numbers = example.puzzle.numbers
        assert puzzle_split(numbers, example.puzzle.target) == "train", example
        assert tuple(sorted(numbers)) not in heldout, example
        drawn.add((tuple(sorted(numbers)), example.puzzle.target))
    assert len(drawn) > 1000  # a good sample of the puzzle pool was walked
    focused = judge_examples(seed + 1, invalid_share=0.0, depth_odds=FOCUS_DEPTH_ODDS, first_step_odds=FOCUS_FIRST_STEP_ODDS)
    for example in itertools.islice(focused, WALKED_EXAMPLES // 4):  # the focus phase's stream
        assert tuple(sorted(example.puzzle.numbers)) not in heldout, example
        assert puzzle_split(example.puzzle.numbers, example.puzzle.target) == "train", example


def test_the_focus_stream_is_one_step_game_of_24_from_1_to_13_and_valid():
    examples = list(itertools.islice(judge_examples(3, invalid_share=0.0, depth_odds=FOCUS_DEPTH_ODDS,
                                                    first_step_odds=FOCUS_FIRST_STEP_ODDS), 1000))
    one_step = [e for e in examples if e.depth == 1]
    assert 0.7 < len(one_step) / len(examples) < 0.9
    assert all(e.puzzle.target == 24 and max(e.puzzle.numbers) <= 13 for e in one_step)
    assert not any(apply_steps(e.puzzle, e.steps).invalid for e in examples)
    assert 0.4 < sum(e.reachable for e in examples) / len(examples) < 0.6
    with pytest.raises(ValueError, match="focus_steps is for the judge's data kind only"):
        Recipe("x", data="solution", n_layer=1, steps=1, focus_steps=1)


def test_training_states_are_balanced_solver_labelled_and_varied():
    examples = list(itertools.islice(judge_examples(11), 2000))
    assert all(reachable(e.puzzle, e.steps) == e.reachable for e in examples)
    assert 0.45 < sum(e.reachable for e in examples) / len(examples) < 0.55
    for depth in (1, 2, 3):
        at_depth = [e for e in examples if e.depth == depth]
        assert at_depth and 0.35 < sum(e.reachable for e in at_depth) / len(at_depth) < 0.65
    invalid = [e for e in examples if apply_steps(e.puzzle, e.steps).invalid]
    assert 0.1 < len(invalid) / len(examples) < 0.3
    assert all(step.endswith(")\n") for e in examples for step in e.steps)  # "(left: ...)" included
    assert {len(e.puzzle.numbers) for e in examples} == {3, 4} and any(e.puzzle.target != 24 for e in examples)


def test_first_steps_group_every_legal_first_step_by_the_state_it_leaves():
    puzzles = [Puzzle("a", (4, 7, 8, 8), 24), Puzzle("b", (8, 7, 8, 4), 24), Puzzle("c", (1, 1, 1, 1), 24)]
    groups = first_steps(puzzles)
    sources = [source for label in (True, False) for group in groups[label] for source in group]
    assert len(sources) == sum(len(legal_moves(p.numbers)) for p in puzzles)  # every step, once
    for label in (True, False):
        for group in groups[label]:
            left = {tuple(sorted(after_move(p.numbers, move))) for p, move in group}
            assert len(left) == 1 and is_solvable(next(iter(left)), 24) == label
    # the same state reached from two orderings of one puzzle is one group with both sources
    assert any({p.id for p, _ in group} == {"a", "b"} for group in groups[True])


def two_step_states(count: int) -> tuple[list[ScoredText], list[ScoredText]]:
    """Held-out Game-of-24 states after 2 valid steps: two numbers left that make 24 by one obvious
    operation (a product or a sum), and two small numbers (both <= 4) that cannot make 24 at all."""
    rng = random.Random(3)
    good, bad = [], []
    for puzzle in generate_puzzles(60, 17, split="heldout"):
        solution = solve(puzzle.numbers, 24, rng)
        assert solution is not None
        pair = apply_steps(puzzle, solution[:2]).remaining
        if len(good) < count and (pair[0] * pair[1] == 24 or pair[0] + pair[1] == 24):
            good.append(ScoredText(format_prompt(puzzle), tuple(solution[:2]), task_id=puzzle.id))
        dead = _small_pair_path(puzzle)
        if len(bad) < count and dead:
            bad.append(ScoredText(format_prompt(puzzle), dead, task_id=puzzle.id))
    assert len(good) == count and len(bad) == count
    return good, bad


def _small_pair_path(puzzle: Puzzle) -> tuple[str, ...] | None:
    for first in legal_moves(puzzle.numbers):
        middle = after_move(puzzle.numbers, first)
        for second in legal_moves(middle):
            left = after_move(middle, second)
            if max(left) <= 4:
                assert not is_solvable(left, 24)
                return format_step(*first, puzzle.numbers), format_step(*second, middle)
    return None


def final_states(count: int) -> tuple[list[ScoredText], list[ScoredText]]:
    """Held-out Game-of-24 states after all 3 steps: a solution, and a valid path ending off 24."""
    rng = random.Random(5)
    good, bad = [], []
    for puzzle in generate_puzzles(count, 19, split="heldout"):
        good.append(ScoredText(format_prompt(puzzle), tuple(solve(puzzle.numbers, 24, rng)), task_id=puzzle.id))
        steps, available = [], puzzle.numbers
        while len(available) > 1:
            move = next(m for m in legal_moves(available) if len(available) > 2 or after_move(available, m) != (24,))
            steps.append(format_step(*move, available))
            available = after_move(available, move)
        bad.append(ScoredText(format_prompt(puzzle), tuple(steps), task_id=puzzle.id))
    return good, bad


@pytest.mark.slow
def test_bundled_judge_is_right_on_finished_heldout_states_in_one_forward_pass():
    judge = load_judge("countdown-judge")
    assert isinstance(judge, Judge)
    good, bad = final_states(4)
    wrong = ScoredText(good[0].prompt, (*good[0].steps[:2], good[0].steps[2].replace("=", "=1", 1)))
    assert apply_steps(_puzzle_of(wrong), wrong.steps).invalid
    states = [*good, *bad, wrong]
    assert judge.judge(states) == [1] * len(good) + [-1] * (len(bad) + 1)
    assert judge.calls == 1  # every state in one forward pass, one row each
    scores = judge.score(states)
    assert all(0.5 < s <= 1 for s in scores[: len(good)]) and all(-1 <= s < -0.5 for s in scores[len(good) :])
    assert judge.shift(good[:1]) == [judge.scale]


@pytest.mark.slow
def test_bundled_judge_is_right_on_unambiguous_two_step_heldout_states():
    good, bad = two_step_states(4)
    assert load_judge("countdown-judge").judge([*good, *bad]) == [1] * len(good) + [-1] * len(bad)


def _puzzle_of(state: ScoredText) -> Puzzle:
    numbers_line, target_line = state.prompt.splitlines()
    return Puzzle("p", tuple(int(n) for n in numbers_line.split()[1:]), int(target_line.split()[1]))


def test_bundled_judge_ships_its_config_and_is_not_a_teacher():
    model = bundled_models()["countdown-judge"]
    assert not model.is_teacher and all(m.is_teacher for n, m in bundled_models().items() if n != "countdown-judge")
    config = json.loads((model.path / "judge.json").read_text())
    judge = load_judge("countdown-judge")  # lazy: reads judge.json, loads no weights yet
    assert judge.config == LMGTJudgeConfig(**config)
    assert judge.config.neutral is None and judge.config.accept_threshold > 0


def test_a_model_without_judge_json_gets_the_default_config():
    assert load_judge("countdown-expert").config == LMGTJudgeConfig()
    assert load_judge(bundled_model_path("countdown-expert")).config == LMGTJudgeConfig()


def test_load_judge_errors_name_the_bad_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"'countdown-oracle' is neither a directory nor a bundled.*countdown-judge"):
        load_judge("countdown-oracle")
    with pytest.raises(FileNotFoundError, match="has no config.json"):
        load_judge(tmp_path)
    model = tmp_path / "judge"
    shutil.copytree(bundled_model_path("countdown-judge"), model)
    (model / "judge.json").write_text(json.dumps({"template": "{response}?", "verdicts": "YN"}))
    with pytest.raises(ValueError, match=r"judge.json: unknown keys \['verdicts'\]"):
        load_judge(model)
    (model / "judge.json").write_text(json.dumps({"accept_threshold": "high"}))
    with pytest.raises(ValueError, match="'accept_threshold' must be int or float, got 'high'"):
        load_judge(model)
    (model / "judge.json").write_text("{not json")
    with pytest.raises(ValueError, match="judge.json: not valid JSON"):
        load_judge(model)
    (model / "judge.json").write_text(json.dumps({"accept": "Y", "reject": "Y"}))
    with pytest.raises(ValueError, match="judge.json: LMGTJudgeConfig answer strings must differ"):
        load_judge(model)


@pytest.mark.slow
def test_the_focus_phase_gives_the_same_weights_on_saved_first_phase_weights(tmp_path):
    import torch
    from transformers import GPT2LMHeadModel

    from teachers.training.tokenizer import build_tokenizer
    from teachers.training.train import focus, train

    tiny = Recipe("tiny-judge", data="judge", n_layer=1, steps=3, batch_size=8, seed=5, focus_steps=2)
    train(tiny, tmp_path / "whole", log=lambda _: None)
    first = Recipe("tiny-judge", data="judge", n_layer=1, steps=3, batch_size=8, seed=5)
    train(first, tmp_path / "first", log=lambda _: None)
    model = GPT2LMHeadModel.from_pretrained(str(tmp_path / "first"))
    focus(model, tiny, build_tokenizer(), log=lambda _: None)
    whole = GPT2LMHeadModel.from_pretrained(str(tmp_path / "whole")).state_dict()
    assert all(torch.equal(whole[k], v) for k, v in model.state_dict().items())
