"""Teachers that failed: benched for the whole run, probed now and then, brought back when they answer.

A teacher call that fails (after the backend's own retries and timeout) benches that teacher for
every search of the :class:`~mcts.search.Searcher`, not only the task at hand: its draws go to the
most probable teacher still working (its weight is out of the softmax), and a warning says so once.
Before each task, a teacher benched for ``probe_every`` tasks gets one small probe request (one
token, counted in that task's usage); an answer brings it back. When every teacher is benched a
search stops and reports itself interrupted, so the run does not record the task as finished.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence

from mcts.types import GenerationRequest, Teacher

log = logging.getLogger(__name__)


class TeacherBench:
    """Which teachers are benched, for how many tasks, and how many calls each has failed."""

    def __init__(self, names: Sequence[str], probe_every: int) -> None:
        if probe_every < 1:
            raise ValueError(f"probe_every must be >= 1, got {probe_every}")
        self.names = list(names)
        self.probe_every = probe_every
        self.benched: dict[int, int] = {}  # teacher id -> tasks started since it was benched
        self.faults: Counter[str] = Counter()

    def __contains__(self, teacher_id: int) -> bool:
        return teacher_id in self.benched

    @property
    def ids(self) -> set[int]:
        return set(self.benched)

    @property
    def all_down(self) -> bool:
        return len(self.benched) == len(self.names)

    def fail(self, teacher_id: int, error: Exception) -> None:
        self.faults[self.names[teacher_id]] += 1
        if teacher_id not in self.benched:
            log.warning("teacher %s failed and is benched for the run (probed every %d tasks): %s",
                        self.names[teacher_id], self.probe_every, error)
            self.benched[teacher_id] = 0

    async def probe(self, teachers: Sequence[Teacher], prompt: str) -> Counter[str]:
        """Probe the teachers benched for ``probe_every`` tasks (one token each); returns the
        tokens the probes generated, per teacher name. Call once per task, before it starts."""
        spent: Counter[str] = Counter()
        for teacher_id in list(self.benched):
            self.benched[teacher_id] += 1
            if self.benched[teacher_id] < self.probe_every:
                continue
            try:
                (reply,) = await teachers[teacher_id].agenerate([GenerationRequest(prompt=prompt, max_tokens=1)])
            except Exception as error:  # noqa: BLE001 - still down: stays benched, probed again later
                self.faults[self.names[teacher_id]] += 1
                self.benched[teacher_id] = 0
                log.info("teacher %s is still down: %s", self.names[teacher_id], error)
                continue
            spent[self.names[teacher_id]] += sum(p.num_tokens for p in reply)
            del self.benched[teacher_id]
            log.warning("teacher %s answered its probe and is back", self.names[teacher_id])
        return spent
