"""Teacher replicas: several specs with one name are copies of one teacher, asked in turn.

    openai:http://10.0.0.1:8000/v1#countdown-expert,name=expert
    openai:http://10.0.0.2:8000/v1#countdown-expert,name=expert    # a second server of it

The search sees one teacher (one weight); its calls go round-robin over the replicas. Replicas
must serve the same model on the same backend (only the URL may differ): a name shared by two
different models is an error, not a replica.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence

from mcts.run.config import RunConfig
from mcts.types import GenerationRequest, Proposal, Teacher


def group_teacher_specs(texts: Sequence[str]) -> list[tuple[str, list[str]]]:
    """``[(teacher name, [spec text of each replica])]`` in first-appearance order."""
    from teachers import parse_spec

    groups: dict[str, list[str]] = {}
    kinds: dict[str, tuple[str, str]] = {}
    for text in texts:
        spec = parse_spec(text)
        name, kind = spec.display_name, (spec.backend, spec.model)
        if name in kinds and kinds[name] != kind:
            raise ValueError(
                f"teachers {groups[name][0]!r} and {text!r} share the name "
                f"{name!r} but not the model; replicas of one teacher differ only in their URL, "
                "other teachers need a distinct name (',name=...')"
            )
        kinds[name] = kind
        groups.setdefault(name, []).append(text)
    return list(groups.items())


class ReplicaTeacher:
    """One teacher behind several replicas (any ``Teacher``s of the same model), called in turn.

    ``start`` offsets the turn (workers start on different replicas). Requests carry their seeds,
    so which replica answers does not change what a seeded backend returns.
    """

    def __init__(self, name: str, replicas: Sequence[Teacher], start: int = 0) -> None:
        if not replicas:
            raise ValueError(f"teacher {name!r} needs at least one replica")
        self.name = name
        self.replicas = list(replicas)
        self._turn = itertools.count(start)

    def _next(self) -> Teacher:
        return self.replicas[next(self._turn) % len(self.replicas)]

    def generate(self, requests: Sequence[GenerationRequest]) -> list[list[Proposal]]:
        return self._next().generate(requests)

    async def agenerate(self, requests: Sequence[GenerationRequest]) -> list[list[Proposal]]:
        return await self._next().agenerate(requests)

    def close(self) -> None:
        for replica in self.replicas:
            replica.close()


def build_replicated_teachers(config: RunConfig, start: int = 0) -> list[Teacher]:
    """The run's teachers, loaded in this process, replicas of one name joined in a
    :class:`ReplicaTeacher` (a teacher with one spec is loaded as it is)."""
    from mcts.run.setup import build_teachers

    teachers: list[Teacher] = []
    opened: list[Teacher] = []  # every loaded replica, closed if a later load fails
    try:
        for name, texts in group_teacher_specs(config.teachers):
            start_at = len(opened)
            for text in texts:
                opened.append(build_teachers(dataclasses.replace(config, teachers=(text,)))[0])
            loaded = opened[start_at:]
            teachers.append(loaded[0] if len(loaded) == 1 else ReplicaTeacher(name, loaded, start))
    except BaseException:
        for t in opened:
            t.close()
        raise
    return teachers
