"""How the bundled judge ``countdown-judge`` is asked: the text it reads and the one token it answers.

Training text is ``<state><marker><verdict>``: the state rendered by :data:`JUDGE_TEMPLATE` — the
countdown state view (:func:`mcts.tasks.countdown_judge.countdown_state_view`: the numbers left,
sorted, and the target, written as a prompt, ``"Numbers: 4 7 8\nTarget: 24\n"``), then the question
marker ``?`` — followed by one verdict token of the shared tokenizer: ``Y`` (the numbers left can
still reach the target) or ``N`` (a dead end). So one forward pass per state gives the verdict: the
next-token distribution after the marker. A state with an invalid step never reaches the model: the
task's checker rejects it (the view is ``None``), so such states are not in the training rows either.
Why a view and not the whole text: a held-out puzzle's state after a step is, in about 93 % of cases,
a state some training puzzle also reaches; read as the numbers left it *is* that training state,
while read as prompt + steps it is text the judge never saw (RESULTS "Judge quality").
``judge.json``, written next to the weights, tells ``value.judge.load_judge`` this template, the view,
the answers and the decision thresholds.

Neutral: there is no neutral token (the solver's labels are exact, never "maybe"). A verdict is 0
when the model is unsure: ``|log p(Y) - log p(N)| <=`` :data:`JUDGE_MARGIN_NATS`, i.e. when neither
answer is at least ``exp(margin)`` (1.65) times likelier than the other. The margin was chosen on the
judge's dev puzzles (``teachers.training.judge_data.judge_dev_split``), never on held-out ones, because
the search may prune on a reject:
at 0.5 nats reachable dev states were wrongly rejected 3.5 % of the time after 1 step and 4 % after 2
(17 % and 4.5 % at 0; measured on an earlier judge). The state-view judge, on 242 distinct reachable
one-step dev states, rejects 11.6 % and leaves 4.5 % neutral (RESULTS "Judge quality").
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from teachers.training.judge_data import JudgeExample

IGNORE_INDEX = -100  # the label of a position without loss (PyTorch cross-entropy's ignore_index)

JUDGE_TEMPLATE = "{state}?"
STATE_VIEW = "countdown"
ACCEPT_TOKEN = "Y"
REJECT_TOKEN = "N"
JUDGE_MARGIN_NATS = 0.5
JUDGE_CONFIG_FILE = "judge.json"


def judge_context(example: JudgeExample) -> str | None:
    """The text the judge reads for ``example`` (what ``JUDGE_TEMPLATE`` renders for its state), or
    ``None`` when a step is invalid (the task's checker rejects it; the model is not asked)."""
    from mcts.tasks.countdown import format_prompt
    from mcts.tasks.countdown_judge import countdown_state_view
    from mcts.types import ScoredText

    view = countdown_state_view(ScoredText(format_prompt(example.puzzle), example.steps))
    return None if view is None else JUDGE_TEMPLATE.format(state=view)


def judge_token_rows(examples: Iterable[JudgeExample], tokenizer) -> Iterator[tuple[list[int], list[int]]]:
    """``(input_ids, labels)`` per example whose steps are valid (the others are the checker's, skipped),
    for the trainer (labels are next-token targets, HF-style: ``labels[t]`` is what the output at
    ``t - 1`` must predict; ``IGNORE_INDEX`` elsewhere).

    ``input_ids`` = BOS (``value.CausalLMScorer`` prepends it when the judge runs), the rendered state
    with its marker, the verdict; the loss is on the verdict only.
    """
    bos = tokenizer.eos_token_id
    verdicts = {label: verdict_token_id(tokenizer, label) for label in (True, False)}
    for example in examples:
        context = judge_context(example)
        if context is None:
            continue
        ids = [bos, *tokenizer.encode(context), verdicts[example.reachable]]
        yield ids, [*[IGNORE_INDEX] * (len(ids) - 1), ids[-1]]


def verdict_token_id(tokenizer, reachable: bool) -> int:
    """The id of the verdict token for a label; ``ValueError`` if the tokenizer splits it."""
    text = ACCEPT_TOKEN if reachable else REJECT_TOKEN
    ids = tokenizer.encode(text)
    if len(ids) != 1:
        raise ValueError(f"verdict {text!r} must be one token of the tokenizer, got ids {ids}")
    return ids[0]


def judge_config() -> dict[str, object]:
    """The ``judge.json`` content: the fields of ``value.judge.LMGTJudgeConfig``."""
    return {
        "template": JUDGE_TEMPLATE,
        "accept": ACCEPT_TOKEN,
        "neutral": None,
        "reject": REJECT_TOKEN,
        "accept_threshold": JUDGE_MARGIN_NATS,
        "reject_threshold": JUDGE_MARGIN_NATS,
        "length_normalize": False,
        "scale": 1.0,
        "state_view": STATE_VIEW,
    }
