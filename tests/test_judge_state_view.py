"""The judge's state view: a countdown state read as the numbers left, invalid steps left to the checker."""

from __future__ import annotations

import pytest

from mcts.tasks.countdown import Puzzle
from mcts.tasks.countdown_judge import countdown_state_view
from mcts.types import ScoredText
from teachers.bundled import bundled_model_path
from teachers.training.judge_data import JudgeExample
from teachers.training.judge_format import judge_context, judge_token_rows
from teachers.training.tokenizer import build_tokenizer
from value import LMGTJudge, LMGTJudgeConfig, load_judge

PROMPT = "Numbers: 4 7 8 8\nTarget: 24\n"


def test_two_paths_to_the_same_numbers_read_the_same():
    one = ScoredText(PROMPT, ("8-4=4 (left: 7 8 4)\n",))
    other = ScoredText("Numbers: 8 13 7 4\nTarget: 24\n", ("13-8=5 (left: 7 4 5)\n", "5-4=1 (left: 7 1)\n"))
    assert countdown_state_view(one) == "Numbers: 4 7 8\nTarget: 24\n"
    assert countdown_state_view(other) == "Numbers: 1 7\nTarget: 24\n"
    assert countdown_state_view(ScoredText("Numbers: 8 7 8 4\nTarget: 24\n", ("8-4=4 (left: 8 7 4)",))) == \
        countdown_state_view(one)  # numbers in another order, no trailing newline


def test_an_invalid_step_has_no_view_and_a_foreign_prompt_is_an_error():
    assert countdown_state_view(ScoredText(PROMPT, ("8-4=5 (left: 7 8 5)\n",))) is None  # wrong arithmetic
    assert countdown_state_view(ScoredText(PROMPT, ("9-4=5 (left: 7 8 8 5)\n",))) is None  # 9 is not there
    assert countdown_state_view(ScoredText(PROMPT, ("let me think\n",))) is None
    with pytest.raises(ValueError, match="not a countdown prompt"):
        countdown_state_view(ScoredText("Write a haiku.\n", ("Leaves fall.",)))


def test_training_rows_skip_invalid_states_and_label_the_verdict_only():
    tokenizer = build_tokenizer()
    puzzle = Puzzle("p", (4, 7, 8, 8), 24)
    valid = JudgeExample(puzzle, ("8-4=4 (left: 7 8 4)\n",), True)
    invalid = JudgeExample(puzzle, ("8-4=5 (left: 7 8 5)\n",), False)
    assert judge_context(valid) == "Numbers: 4 7 8\nTarget: 24\n?" and judge_context(invalid) is None
    rows = list(judge_token_rows([invalid, valid], tokenizer))
    assert len(rows) == 1
    ids, labels = rows[0]
    assert tokenizer.decode(ids[1:]) == "Numbers: 4 7 8\nTarget: 24\n?Y"
    assert labels[:-1] == [-100] * (len(ids) - 1) and labels[-1] == ids[-1]


def test_the_checker_rejects_invalid_steps_without_a_model_call():
    judge = load_judge("countdown-judge")
    assert judge.config.state_view == "countdown" and "{state}" in judge.config.template
    invalid = [ScoredText(PROMPT, ("8-4=5 (left: 7 8 5)\n",)), ScoredText(PROMPT, ("hmm\n",))]
    assert judge.judge(invalid) == [-1, -1] and judge.score(invalid) == [-1.0, -1.0]
    assert judge.calls == 0 and judge.tokens == 0 and judge.judged == 4 and judge.checker_rejected == 4
    valid = ScoredText(PROMPT, ("8-4=4 (left: 7 8 4)\n",))
    judge.judge([valid, *invalid])
    assert judge.calls == 1 and judge.judged == 7  # one forward pass, one row: the valid state only


def test_a_state_view_must_be_known_and_named_when_the_template_shows_it():
    with pytest.raises(ValueError, match="state_view 'chess' is unknown"):
        LMGTJudgeConfig(template="{state}?", state_view="chess")
    with pytest.raises(ValueError, match="name the task's state_view"):
        LMGTJudgeConfig(template="{state}?")
    judge = LMGTJudge(bundled_model_path("countdown-judge"), LMGTJudgeConfig(template="{prompt}{response}?"))
    assert judge.config.state_view is None  # no view: the whole text, as any LM judge reads it
