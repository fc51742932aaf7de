"""How the bundled judge ``countdown-judge`` is asked: the text it reads and the one token it answers.

Training text is ``<state><marker><verdict>``: the state rendered by :data:`JUDGE_TEMPLATE` (the
prompt and every step so far, the proposed one last, then the question marker ``?``), followed by one
verdict token of the shared tokenizer — ``Y`` (the numbers left can still reach the target) or ``N``
(an invalid step, or a dead end). So one forward pass per state gives the verdict: the next-token
distribution after the marker. ``judge.json``, written next to the weights, tells
``value.judge.load_judge`` this template, the answers and the decision thresholds.

Neutral: there is no neutral token (the solver's labels are exact, never "maybe"). A verdict is 0
when the model is unsure: ``|log p(Y) - log p(N)| <=`` :data:`JUDGE_MARGIN_NATS`, i.e. when neither
answer is at least ``exp(margin)`` (1.65) times likelier than the other. The margin was chosen on the
judge's dev puzzles (``teachers.training.judge_data.judge_dev_split``), never on held-out ones, because
the search may prune on a reject: at 0.5 nats reachable dev states were wrongly rejected 3.5 % of the
time after 1 step and 4 % after 2 (17 % and 4.5 % at 0; measured on the judge before it started from
the expert's weights); the price is that many states after 1 step, where the model is weakest, get a
neutral verdict.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from teachers.training.judge_data import JudgeExample, reachable

IGNORE_INDEX = -100  # the label of a position without loss (PyTorch cross-entropy's ignore_index)

JUDGE_TEMPLATE = "{prompt}{response}?"
ACCEPT_TOKEN = "Y"
REJECT_TOKEN = "N"
JUDGE_MARGIN_NATS = 0.5
JUDGE_CONFIG_FILE = "judge.json"


def judge_context(example: JudgeExample) -> str:
    """The text the judge reads for ``example``: what ``JUDGE_TEMPLATE`` renders for its state."""
    from mcts.tasks.countdown import format_prompt

    return JUDGE_TEMPLATE.format(prompt=format_prompt(example.puzzle), response="".join(example.steps))


def judge_token_rows(examples: Iterable[JudgeExample], tokenizer) -> Iterator[tuple[list[int], list[int]]]:
    """``(input_ids, labels)`` per example, for the trainer (labels are next-token targets, HF-style:
    ``labels[t]`` is what the output at ``t - 1`` must predict; ``IGNORE_INDEX`` elsewhere).

    ``input_ids`` = BOS (``value.CausalLMScorer`` prepends it when the judge runs), the state's tokens,
    the marker, the verdict. Loss on verdicts only: the verdict after the marker (what the judge is
    asked), and the verdict of every earlier prefix state at the newline that ends its last step (free
    extra supervision on the shallow states; the text is the same, only more positions are read).
    Tokens are built piece by piece — prompt, each step, marker — which equals tokenizing the whole
    text (the shared tokenizer never merges across a newline), so the positions are exact.
    """
    bos = tokenizer.eos_token_id
    verdicts = {label: verdict_token_id(tokenizer, label) for label in (True, False)}
    from mcts.tasks.countdown import format_prompt

    marker = JUDGE_TEMPLATE.format(prompt="", response="")
    for example in examples:
        ids, labels = [bos, *tokenizer.encode(format_prompt(example.puzzle))], []
        for k, step in enumerate(example.steps[:-1], start=1):
            ids.extend(tokenizer.encode(step))
            labels.append((len(ids), verdicts[reachable(example.puzzle, example.steps[:k])]))
        ids.extend(tokenizer.encode(example.steps[-1] + marker))
        ids.append(verdicts[example.reachable])
        row = [IGNORE_INDEX] * len(ids)
        row[-1] = ids[-1]
        for position, verdict in labels:
            row[position] = verdict
        yield ids, row


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
    }
