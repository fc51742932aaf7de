"""``mcts-llm search --ray auto|ADDRESS``: the run's tasks spread over Ray workers.

    driver (mcts-llm search)          the only writer of the run directory, owns the teacher weights
      SearchWorker x W                one Ray actor per worker: builds the tasks, judge and evaluator
                                      from the run config, searches one task (one tree) at a time
      TeacherActor x replicas         hf:/vllm: teachers, an in-process engine each, shared by all workers
      openai:URL#MODEL teachers       called by every worker directly (the servers are shared)

Scheduling is fixed, not first-come: worker ``k`` searches tasks ``k, k + W, k + 2W, ...``; task
``i + W`` starts once task ``i`` is committed, from the weights as they are then, and results commit
in task order (:mod:`mcts.run.weights_merge` says how the weights merge). So a run gives the same
trees and weights whatever the timing, and one worker reproduces the plain run. The driver writes
each committed task as the plain run does (tree, weights row, trajectories, ledger row), so a run
resumes with or without Ray and nothing is written twice.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import uuid
from collections.abc import Callable, Sequence

from mcts.run.config import RunConfig
from mcts.run.replicas import ReplicaTeacher, group_teacher_specs
from mcts.run.weights_merge import RecordingWeights, WeightsMerger, weights_from_bytes, weights_to_bytes
from mcts.tree_io import dumps_tree, loads_tree
from mcts.types import GenerationRequest, Proposal, SearchResult, SearchTask, Teacher
from mcts.weights import TeacherWeights

log = logging.getLogger(__name__)

# A teacher as the workers get it: (name, "actors", [actor names]) or (name, "specs", [spec texts]).
# Actors go by name, not handle: a handle among an actor's constructor arguments would pin them in
# the object store, and Ray warns that a restarted worker might then not find them.
TeacherSource = tuple[str, str, list]


def import_ray():
    try:
        import ray
    except ImportError:
        raise ImportError('--ray needs the ray extra: pip install "mcts-llm[ray]"') from None
    return ray


def limit_threads() -> None:
    """Each actor gets one core's share: torch's default thread pool would fight the others."""
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass


class TeacherActor:
    """One replica of an in-process teacher (hf: or vllm:), loaded once, asked by every worker."""

    def __init__(self, config: RunConfig, spec_text: str) -> None:
        from mcts.run.setup import build_teachers

        limit_threads()
        self.teacher = build_teachers(dataclasses.replace(config, teachers=(spec_text,)))[0]

    def ready(self) -> bool:
        return True

    def generate(self, requests: Sequence[GenerationRequest]) -> list[list[Proposal]]:
        return self.teacher.generate(requests)


class RemoteTeacher:
    """A worker's handle on a :class:`TeacherActor` (the ``Teacher`` protocol over Ray calls)."""

    def __init__(self, name: str, actor) -> None:
        self.name = name
        self.actor = actor

    def generate(self, requests: Sequence[GenerationRequest]) -> list[list[Proposal]]:
        return import_ray().get(self.actor.generate.remote(list(requests)))

    async def agenerate(self, requests: Sequence[GenerationRequest]) -> list[list[Proposal]]:
        return await self.actor.generate.remote(list(requests))

    def close(self) -> None:
        pass  # the driver owns the actor


def worker_teachers(config: RunConfig, sources: Sequence[TeacherSource], worker: int) -> list[Teacher]:
    from mcts.run.setup import build_teachers

    teachers: list[Teacher] = []
    for name, kind, items in sources:
        if kind == "actors":
            ray = import_ray()
            replicas: list[Teacher] = [RemoteTeacher(name, ray.get_actor(actor)) for actor in items]
        else:
            replicas = [build_teachers(dataclasses.replace(config, teachers=(text,)))[0] for text in items]
        teachers.append(replicas[0] if len(replicas) == 1 else ReplicaTeacher(name, replicas, start=worker))
    return teachers


@dataclasses.dataclass(frozen=True)
class WorkerReply:
    """A searched task on its way to the driver: the result without its tree, the tree and the
    final weights as bytes (tree file format), and the credits the search applied."""

    result: SearchResult
    tree: bytes | None
    weights: bytes
    credits: list


class SearchWorker:
    """Searches tasks of the run, one at a time, from the weights snapshot the driver sends."""

    def __init__(self, config: RunConfig, sources: Sequence[TeacherSource], worker: int) -> None:
        from mcts.run.setup import build_evaluator, build_judge, build_tasks, build_validator
        from mcts.search import Searcher

        limit_threads()
        self.tasks = {task.id: task for task in build_tasks(config)}
        self.teachers = worker_teachers(config, sources, worker)
        self.searcher = Searcher(
            self.teachers, config.search, judge=build_judge(config), evaluator=build_evaluator(config),
            validator=build_validator(config),
        )

    def ready(self) -> int:
        """This worker's process id (for monitoring; Ray restarts a lost worker in a new process)."""
        return os.getpid()

    def search(self, task_id: str, snapshot: bytes) -> WorkerReply:
        if task_id not in self.tasks:
            raise KeyError(f"task {task_id!r} is not among this worker's tasks (is --data readable at the same path here?)")
        weights = RecordingWeights.from_bytes(snapshot)
        self.searcher.weights = weights  # the searcher's other state (bench, return range) stays per worker
        result = self.searcher.search(self.tasks[task_id])
        tree = None if result.tree is None else dumps_tree(result.tree)
        return WorkerReply(dataclasses.replace(result, tree=None), tree, weights_to_bytes(weights), weights.credits)


def connect(address: str):
    """Joins the Ray cluster at ``address`` ("auto": the one this machine runs or ``RAY_ADDRESS``),
    unless this process already did (``ray.init`` before calling). ConnectionError when none answers."""
    ray = import_ray()
    if not ray.is_initialized():
        try:
            ray.init(address=address, log_to_driver=False)
        except ConnectionError as err:
            raise ConnectionError(f"--ray {address}: {err} (start one with `ray start --head`, "
                                  "or pass --ray HOST:PORT of a running cluster)") from None
    return ray


class RayBackend:
    """The driver's side: actors for the workers and in-process teachers, and the task loop.

    ``workers`` defaults to the cluster's CPU count. ``teacher_names`` are the search's teachers in
    config order (replicas joined). ``stopped`` says why a run stopped early (a worker lost for good).
    A worker whose process dies is restarted and its task searched again (twice at most), from the
    same snapshot, so the run's results do not change. ``worker_pids``: the workers' first processes.
    """

    def __init__(self, config: RunConfig, address: str = "auto", workers: int | None = None) -> None:
        self.ray = connect(address)
        if workers is not None and workers < 1:
            raise ValueError(f"--ray-workers must be >= 1, got {workers}")
        cpus = int(self.ray.cluster_resources().get("CPU", 0))
        self.workers_wanted = workers or max(1, cpus)
        if self.workers_wanted > cpus:
            raise ValueError(f"--ray-workers {self.workers_wanted} is more than the cluster's {cpus} CPU(s); "
                             "each worker takes one (add nodes or ask for fewer)")
        config = self._portable(config)
        groups = group_teacher_specs(config.teachers)
        self.teacher_names = [name for name, _ in groups]
        self.actors: list = []
        self.stopped: str | None = None
        self.weights: TeacherWeights | None = None
        sources: list[TeacherSource] = []
        teacher_actor = self.ray.remote(num_cpus=0, max_restarts=2, max_task_retries=2)(TeacherActor)
        for name, texts in groups:
            if all(text.startswith("openai:") for text in texts):
                sources.append((name, "specs", texts))
            else:
                names = [f"mcts-teacher-{uuid.uuid4().hex[:12]}" for _ in texts]
                self.actors += [teacher_actor.options(name=n).remote(config, t) for n, t in zip(names, texts)]
                sources.append((name, "actors", names))
        worker_actor = self.ray.remote(num_cpus=1, max_restarts=2, max_task_retries=2)(SearchWorker)
        self.workers = [worker_actor.remote(config, sources, k) for k in range(self.workers_wanted)]
        self.actors += self.workers
        try:  # every actor loaded, so a bad model path or value net is an error here, not mid-run
            self.ray.get([actor.ready.remote() for actor in self.actors])
            self.worker_pids = self.ray.get([worker.ready.remote() for worker in self.workers])
        except self.ray.exceptions.RayError as err:
            self.close()
            lines = [line for line in str(err).splitlines() if line.strip()]
            raise ValueError(f"a Ray actor of the run could not start: {lines[-1] if lines else err}") from None

    @staticmethod
    def _portable(config: RunConfig) -> RunConfig:
        """A relative data path made absolute: actors may start in another directory."""
        data = os.path.abspath(config.data) if config.data else None
        return dataclasses.replace(config, data=data)

    async def search_many_async(
        self, tasks: Sequence[SearchTask], weights: TeacherWeights, on_result: Callable[[int, SearchResult], bool | None]
    ) -> None:
        """Searches ``tasks`` on the workers; ``on_result(i, result)`` is called in task order with
        ``self.weights`` already merged (it writes the task); False from it stops the run."""
        merger = WeightsMerger(weights)
        self.weights = weights
        lanes = len(self.workers)
        in_flight: dict[int, tuple[int, object]] = {}

        def dispatch(i: int) -> None:
            since, snapshot = merger.snapshot()
            in_flight[i] = (since, self.workers[i % lanes].search.remote(tasks[i].id, snapshot))

        for i in range(min(lanes, len(tasks))):
            dispatch(i)
        for i in range(len(tasks)):
            since, ref = in_flight.pop(i)
            try:
                reply: WorkerReply = await ref
            except self.ray.exceptions.RayError as err:  # lost past its restarts, or the search raised
                lines = [line for line in str(err).splitlines() if line.strip()]
                self.stopped = f"stopped at task {tasks[i].id}: its Ray worker failed ({lines[-1] if lines else err}); --resume continues"
                log.error("%s\n%s", self.stopped, err)
                break
            tree = None if reply.tree is None else loads_tree(reply.tree)[0]
            self.weights = merger.commit(i, since, weights_from_bytes(reply.weights), reply.credits)
            merger.forget_before(min([s for s, _ in in_flight.values()], default=merger.committed))
            if on_result(i, dataclasses.replace(reply.result, tree=tree)) is False:
                break
            if i + lanes < len(tasks):
                dispatch(i + lanes)
        # tasks still in flight are dropped with their workers (close()); --resume searches them again

    def close(self) -> None:
        for actor in self.actors:
            self.ray.kill(actor)
        self.actors = []
