"""Terminal detection (terminal.*): end-of-sequence, stop strings, depth and length, sentence end,
BLEU/ROUGE overlap with the query and (separately) with the reference, and the validator model."""

from __future__ import annotations

import numpy as np
import pytest

from mcts.run.config import RunConfig, to_toml
from mcts.search import Budget, EvaluationConfig, ExpansionConfig, SearchConfig, Searcher, TerminalConfig
from mcts.search.score import terminal_outcomes
from mcts.types import StepOutcome

QUERY = "Topic: dog\nStory:\n"
REFERENCE = "The dog ran to the barn. The dog was happy."


class _OpenTask:
    """A task that never ends a path itself: whatever ends one here is a generic rule."""

    def __init__(self, prompt: str = QUERY, reference: str | None = REFERENCE):
        self.id, self.prompt, self.reference = "t", prompt, reference

    def outcomes(self, paths):
        return [StepOutcome(terminal=False, reward=0.0) for _ in paths]


def _ends(term: TerminalConfig, *paths: list[str], eos: bool = False, task=None) -> list[bool]:
    outcomes = terminal_outcomes(task or _OpenTask(), paths, [eos] * len(paths), term)
    return [o.terminal for o in outcomes]


def test_eos_depth_length_and_stop_strings_end_a_path():
    term = TerminalConfig(max_depth=3, max_chars=40, stop_strings=("THE END",))
    assert _ends(term, ["a\n"]) == [False]
    assert _ends(term, ["a\n"], eos=True) == [True]
    assert _ends(term, ["a\n", "b\n"], ["a\n", "b\n", "c\n"]) == [False, True]
    assert _ends(term, ["x" * 39], ["x" * 40]) == [False, True]
    assert _ends(term, ["and so, THE END!"], ["the end"]) == [True, False]


def test_sentence_end_ends_a_path_only_when_asked():
    sentences = TerminalConfig(sentence_end=True)
    assert _ends(sentences, ["The dog ran."], ["Did it?  "], ["Yes!"], ["and then"]) == [True, True, True, False]
    assert _ends(TerminalConfig(), ["The dog ran."]) == [False]


def test_query_overlap_compares_the_response_with_the_query_not_the_reference():
    term = TerminalConfig(query_overlap_threshold=0.5)
    task = _OpenTask(prompt="Where did the dog run to this morning?")
    restated = ["Where did the dog run to this morning?"]
    assert _ends(term, restated, [REFERENCE], task=task) == [True, False]


def test_reference_overlap_is_its_own_option_and_needs_a_reference():
    term = TerminalConfig(reference_overlap_threshold=0.5)
    task = _OpenTask(prompt="Where did the dog run to this morning?")
    assert _ends(term, [REFERENCE], ["Where did the dog run to this morning?"], task=task) == [True, False]
    assert _ends(term, [REFERENCE], task=_OpenTask(reference=None)) == [False]
    both = TerminalConfig(query_overlap_threshold=0.99, reference_overlap_threshold=0.99)
    assert _ends(both, ["The dog ran to the barn."], task=task) == [False]  # partial overlap: under either threshold


def test_bad_terminal_settings_name_the_key():
    for kwargs, key in [({"query_overlap_threshold": 0.0}, "query_overlap_threshold"),
                        ({"reference_overlap_threshold": 1.5}, "reference_overlap_threshold"),
                        ({"max_depth": 0}, "max_depth"), ({"stop_strings": ("",)}, "stop_strings")]:
        with pytest.raises(ValueError, match=key):
            TerminalConfig(**kwargs)


def test_every_step_and_terminal_key_is_in_the_written_config():
    text = to_toml(RunConfig(search=SearchConfig(step="sentence", terminal=TerminalConfig(query_overlap_threshold=0.4))))
    assert 'step = "sentence"' in text
    for line in ("query_overlap_threshold = 0.4", "# reference_overlap_threshold = <float>  (unset)",
                 "# validator = <str>  (unset)", "sentence_end = false", "stop_strings = []", "max_depth = 8"):
        assert line in text, line


# --- on real models --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def prose():
    pytest.importorskip("transformers")
    import torch

    from teachers.hf import HFTeacher

    torch.set_num_threads(1)
    teacher = HFTeacher("prose-tiny")
    yield teacher
    teacher.close()


def _config(**terminal) -> SearchConfig:
    return SearchConfig(
        budget=Budget(simulations=4), step="sentence", stop_on_solve=False,
        expansion=ExpansionConfig(batch_leaves=2, max_step_tokens=40),
        evaluation=EvaluationConfig(rollout_max_tokens=60), terminal=TerminalConfig(**terminal),
    )


def _terminal_actions(result) -> list[str]:
    tree = result.tree
    ids = np.arange(1, len(tree))
    return [a for a, t in zip(tree.actions(ids), tree.nodes(ids).terminal) if t]


def test_a_real_search_ends_paths_at_a_sentence_end_or_the_models_eos(prose):
    result = Searcher([prose], _config(sentence_end=True, max_depth=8)).search(_OpenTask())
    ended = _terminal_actions(result)
    assert ended and sum(a.rstrip().endswith((".", "!", "?")) for a in ended) >= len(ended) // 2
    # no path goes on past a sentence end: the first step that ends a sentence ends the path
    assert result.trajectories and all(
        not s.text.rstrip().endswith((".", "!", "?")) for t in result.trajectories for s in t.steps[:-1]
    )


def test_the_validator_model_decides_where_a_path_ends(prose):
    """``terminal.validator`` as a run builds it (a bundled name): eager (threshold far below 0) it
    ends every first step; reluctant it ends none, so paths run to depth or the model's EOS."""
    from mcts.run.setup import build_validator
    from value import LMTerminalValidator

    config = RunConfig(search=_config(max_depth=3, validator="prose-tiny"))
    built = build_validator(config)
    assert isinstance(built, LMTerminalValidator)
    built.threshold = -1e6
    eager = Searcher([prose], config.search, validator=built).search(_OpenTask())
    assert eager.trajectories and all(len(t.steps) == 1 for t in eager.trajectories)
    built.threshold = 1e6
    reluctant = Searcher([prose], config.search, validator=built).search(_OpenTask())
    assert any(len(t.steps) > 1 for t in reluctant.trajectories)
    assert build_validator(RunConfig()) is None
