"""What one step (the search's action) is, and cutting generated text into steps (``search.step``).

- ``newline`` (default): a step ends at ``\\n``, which it keeps;
- ``sentence``: a step ends at ``.``, ``!`` or ``?`` (naive: ``3.5`` and ``e.g.`` end one too);
- ``tokens:N`` / ``token``: a step is N tokens (1) as the teacher wrote them, at any character;
- ``regex:PATTERN``: a step ends after the first match of PATTERN (a non-empty match).

Stop strings go to the teacher (it stops there, as vLLM and the OpenAI API do); a step keeps the stop
string that ended it, and nothing else is added: a step cut by ``max_step_tokens`` or by end-of-sequence
is the text as written. No backend stops at a regex, so a regex step's teacher writes up to
``max_step_tokens`` and the step is the text up to the match: the tokens after it were generated and
are counted (budgets stay exact), but are not in the step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mcts.types import Proposal

NEWLINE = "\n"
SENTENCE_ENDS = (".", "!", "?")
STEP_FORMS = "newline, sentence, token, tokens:N (N >= 1) or regex:PATTERN"


@dataclass(frozen=True)
class StepRule:
    """A parsed ``search.step``: the ``stops`` sent with every request, a fixed ``tokens`` count
    (token modes; ``None``: up to ``expansion.max_step_tokens``), and the regex ``pattern`` (or None)."""

    spec: str
    stops: tuple[str, ...] = (NEWLINE,)
    tokens: int | None = None
    pattern: re.Pattern[str] | None = None

    def max_tokens(self, max_step_tokens: int) -> int:
        """Tokens a step request may generate."""
        return self.tokens if self.tokens is not None else max_step_tokens

    def step_text(self, proposal: Proposal) -> str:
        """The step as the teacher wrote it: its text, plus the stop string it stopped at (which the
        backends cut off), or up to the end of the regex match."""
        text = proposal.text
        if self.pattern is not None:
            end = first_match_end(self.pattern, text)
            return text if end is None else text[:end]
        if proposal.finish_reason != "stop":
            return text
        stop = proposal.stop_string
        if stop is None and len(self.stops) == 1:
            stop = self.stops[0]  # the only one it could have been
        if stop is None or text.endswith(stop):
            return text
        return text + stop

    def split(self, text: str) -> list[str]:
        """Cut a rollout's text into steps, each keeping its delimiter; a trailing partial step stays.
        Token modes keep the whole text as one step (teachers return no per-token text)."""
        if self.tokens is not None:
            return [text] if text.strip() else []
        if self.spec == "newline":
            return split_steps(text)  # as before (recorded trajectories replay unchanged)
        steps: list[str] = []
        pending, rest = "", text  # white space is never a step of its own: it joins a neighbour
        while rest:
            end = self._first_end(rest)
            piece, rest = (rest, "") if end is None else (rest[:end], rest[end:])
            if piece.strip():
                steps.append(pending + piece)
                pending = ""
            elif steps:
                steps[-1] += piece
            else:
                pending += piece
        return steps

    def _first_end(self, text: str) -> int | None:
        if self.pattern is not None:
            return first_match_end(self.pattern, text)
        hits = [i + len(s) for s in self.stops if (i := text.find(s)) != -1]
        return min(hits) if hits else None


def first_match_end(pattern: re.Pattern[str], text: str) -> int | None:
    """Where the first non-empty match of ``pattern`` in ``text`` ends (None without one)."""
    for match in pattern.finditer(text):
        if match.end() > match.start():
            return match.end()
    return None


def parse_step(spec: str) -> StepRule:
    """``search.step`` as a :class:`StepRule`; ``ValueError`` naming the value and the forms."""
    if not isinstance(spec, str):
        raise ValueError(f"search.step must be a string ({STEP_FORMS}), got {spec!r}")
    if spec == "newline":
        return StepRule(spec)
    if spec == "sentence":
        return StepRule(spec, SENTENCE_ENDS)
    if spec == "token":
        return StepRule(spec, (), tokens=1)
    if spec.startswith("tokens:"):
        count = spec.removeprefix("tokens:")
        if not count.isdigit() or int(count) < 1:
            raise ValueError(f"search.step {spec!r}: N in tokens:N must be an integer >= 1")
        return StepRule(spec, (), tokens=int(count))
    if spec.startswith("regex:"):
        source = spec.removeprefix("regex:")
        try:
            pattern = re.compile(source)
        except re.error as err:
            raise ValueError(f"search.step {spec!r}: not a valid regular expression ({err})") from None
        if not source or pattern.fullmatch(""):
            raise ValueError(f"search.step {spec!r}: the pattern must not match the empty string")
        return StepRule(spec, (), pattern=pattern)
    raise ValueError(f"search.step must be one of {STEP_FORMS}, got {spec!r}")


def split_steps(text: str, delimiter: str = NEWLINE) -> list[str]:
    """Cut generated text into steps at ``delimiter``, each keeping it; a trailing partial step stays."""
    parts = text.split(delimiter)
    steps = [p + delimiter for p in parts[:-1] if p.strip()]
    if parts[-1].strip():
        steps.append(parts[-1])
    return steps
