"""search.step: what one action is, on real bundled models (countdown teachers write lines, prose-tiny
writes sentences). A step is exactly what its teacher wrote: the tokens it generated decode to the step."""

from __future__ import annotations

import asyncio
import re

import numpy as np
import pytest

from mcts.search import Budget, ExpansionConfig, EvaluationConfig, SearchConfig, Searcher, TerminalConfig
from mcts.search.merge import leaf_candidates
from mcts.search.propose import propose
from mcts.search.steps import SENTENCE_ENDS, parse_step
from mcts.tasks.countdown import Puzzle, format_prompt
from mcts.types import Proposal, StepOutcome

pytest.importorskip("transformers")

COUNTDOWN_PROMPT = format_prompt(Puzzle("p", (4, 7, 8, 8), 24))
PROSE_PROMPT = "Topic: dog\nStory:\n"
# (search.step, bundled model, prompt): every setting on a model that writes that kind of step.
SETTINGS = [
    ("newline", "countdown-expert", COUNTDOWN_PROMPT),
    ("tokens:3", "countdown-expert", COUNTDOWN_PROMPT),
    ("token", "countdown-noisy", COUNTDOWN_PROMPT),
    (r"regex:=\d+", "countdown-expert", COUNTDOWN_PROMPT),
    ("sentence", "prose-tiny", PROSE_PROMPT),
]


@pytest.fixture(scope="module")
def teachers():
    import torch

    from teachers.hf import HFTeacher

    torch.set_num_threads(1)
    loaded = {name: HFTeacher(name) for name in {m for _, m, _ in SETTINGS}}
    yield loaded
    for t in loaded.values():
        t.close()


def _proposal(text: str, reason: str = "stop", stop: str | None = None) -> Proposal:
    return Proposal(text, (1, 2), -1.0, (-0.5, -0.5), reason, "t", stop)  # type: ignore[arg-type]


def test_each_form_parses_and_bad_ones_name_the_forms():
    assert parse_step("newline").stops == ("\n",)
    assert parse_step("sentence").stops == SENTENCE_ENDS
    assert parse_step("token").tokens == 1 and parse_step("token").stops == ()
    assert parse_step("tokens:5").max_tokens(24) == 5 and parse_step("newline").max_tokens(24) == 24
    assert parse_step("regex:;").pattern == re.compile(";")
    for bad, message in [("tokens:0", ">= 1"), ("tokens:x", ">= 1"), ("regex:(", "not a valid"), ("regex:a*", "empty"),
                         ("paragraph", "newline, sentence")]:
        with pytest.raises(ValueError, match=message):
            parse_step(bad)
    with pytest.raises(ValueError, match="newline, sentence"):
        SearchConfig(step="words")


def test_a_step_gets_back_only_the_stop_string_its_teacher_stopped_at():
    newline, sentence = parse_step("newline"), parse_step("sentence")
    assert newline.step_text(_proposal("8-4=4")) == "8-4=4\n"  # the only stop it could have been
    assert newline.step_text(_proposal("8-4=4 (le", "length")) == "8-4=4 (le"  # cut by max_step_tokens: nothing added
    assert newline.step_text(_proposal("8*3=24", "eos")) == "8*3=24"
    assert sentence.step_text(_proposal("Did it", stop="?")) == "Did it?"
    assert sentence.step_text(_proposal("Did it")) == "Did it"  # a backend that cannot say which: nothing invented
    assert parse_step("tokens:3").step_text(_proposal("8-4", "length")) == "8-4"
    assert parse_step(r"regex:=\d+").step_text(_proposal("8-4=4 (left: 7", "length")) == "8-4=4"


def test_a_rollout_is_cut_into_steps_that_keep_every_character():
    text = "The dog ran. Did it?  Yes! and more"
    steps = parse_step("sentence").split(text)
    assert steps == ["The dog ran.", " Did it?", "  Yes!", " and more"] and "".join(steps) == text
    assert parse_step("newline").split("a\nb\nc") == ["a\n", "b\n", "c"]
    assert parse_step("tokens:2").split("8-4=4") == ["8-4=4"]  # no per-token text: one step


@pytest.mark.parametrize("setting,model,prompt", SETTINGS, ids=[s for s, _, _ in SETTINGS])
def test_every_step_is_what_the_model_wrote(teachers, setting, model, prompt):
    """Real proposals, made into steps as the search makes them: each step is the decoded text of the
    tokens its teacher generated (all of them, except a regex step, which is a prefix of them)."""
    teacher, step = teachers[model], parse_step(setting)
    expansion = ExpansionConfig(proposals_per_teacher=8, max_step_tokens=24)
    proposed = asyncio.run(propose([teacher], [prompt], np.zeros((1, 1), dtype=np.int64), expansion, step, np.random.default_rng(3)))
    proposals = [p for _, p in proposed.per_leaf[0]]
    assert len(proposals) == 8 and proposed.tokens[teacher.name] == sum(p.num_tokens for p in proposals)
    ends = 0
    for p in proposals:
        written = teacher.tokenizer.decode(p.token_ids, skip_special_tokens=True)
        text = step.step_text(p)
        if step.pattern is not None:
            assert written.startswith(text)
            match = step.pattern.search(written)
            assert (match is None and text == written) or text == written[: match.end()]
        else:
            assert text == written, (setting, p)
        if step.tokens is not None:
            assert p.num_tokens == step.tokens or p.finish_reason == "eos"
        if p.finish_reason == "stop":
            ends += 1
            assert text.endswith(step.stops) and p.stop_string in step.stops
    if step.stops:
        assert ends >= 4, f"{setting}: the model should stop at its delimiter most of the time"
    candidates = leaf_candidates(proposed.per_leaf[0], [1.0], [], step)
    assert {c.text for c in candidates} <= {step.step_text(p) for p in proposals}
    assert sum(c.prior for c in candidates) == pytest.approx(1.0)


class _OpenTask:
    """A task that never ends a path itself (the terminal rules and the teachers' EOS do)."""

    reference = None

    def __init__(self, prompt: str):
        self.id, self.prompt = "t", prompt

    def outcomes(self, paths):
        return [StepOutcome(terminal=False, reward=0.0) for _ in paths]


@pytest.mark.parametrize("setting,model,prompt", SETTINGS, ids=[s for s, _, _ in SETTINGS])
def test_a_search_with_each_setting_counts_tokens_exactly(teachers, setting, model, prompt):
    teacher = teachers[model]
    config = SearchConfig(
        budget=Budget(simulations=3), step=setting, stop_on_solve=False,
        expansion=ExpansionConfig(batch_leaves=2, max_step_tokens=24),
        evaluation=EvaluationConfig(rollout_max_tokens=24), terminal=TerminalConfig(max_depth=4),
    )
    before = teacher.stats.generated_tokens
    result = Searcher([teacher], config).search(_OpenTask(prompt))
    assert result.generated_tokens == teacher.stats.generated_tokens - before > 0
    tree = result.tree
    actions = tree.actions(np.arange(1, len(tree)))
    assert actions and all(a.strip() for a in actions)
    step = parse_step(setting)
    if setting == "newline":
        assert any(a.endswith("\n") for a in actions)
    if setting == "sentence":
        assert any(a.endswith(SENTENCE_ENDS) for a in actions)
        assert not any(a.endswith("\n") for a in actions)
    if step.pattern is not None:
        assert any(step.pattern.search(a) for a in actions)
