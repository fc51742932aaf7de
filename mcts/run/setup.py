"""Build a run's parts from its config: the tasks, the teachers, the judge, the leaf evaluator."""

from __future__ import annotations

from collections.abc import Callable

from mcts.run.config import RunConfig
from mcts.search import LeafEvaluator, SearchTask
from mcts.types import Judge, Teacher, TerminalValidator


def build_tasks(config: RunConfig) -> list[SearchTask]:
    """Countdown puzzles (from --data, else seeded Game-of-24 ones) or text rows scored by the metrics."""
    if config.task == "countdown":
        from mcts.tasks.countdown import load_puzzles
        from mcts.tasks.countdown_solver import generate_puzzles
        from mcts.tasks.searchable import CountdownTask

        # Generated puzzles come from the held-out side of the split: none is in the bundled models' training data.
        puzzles = (
            load_puzzles(config.data)
            if config.data
            else generate_puzzles(config.num_tasks, seed=config.seed, split="heldout")
        )
        return [CountdownTask(p) for p in puzzles]

    from mcts.tasks.searchable import TextTask, load_text_rows
    from value import build_ensemble

    rows = load_text_rows(config.data)
    weights = dict(config.rewards) if config.rewards else {"bleu": 0.3, "rougeL": 0.3, "embedding": 0.4, "length_penalty": 0.1}
    ensemble = build_ensemble(weights, scoring_model=config.scoring_model)
    return [TextTask(r.id, r.prompt, r.reference, ensemble) for r in rows]


def build_teachers(config: RunConfig) -> list[Teacher]:
    """Load every teacher spec; two teachers may not share a name (the weights are keyed by it)."""
    from teachers import load_teacher, parse_spec

    teachers: list[Teacher] = []
    try:
        for text in config.teachers:
            spec = parse_spec(text)
            if config.device != "auto" and spec.backend != "openai" and spec.device == "auto":
                spec = parse_spec(text, device=config.device)
            teachers.append(load_teacher(spec))
        names = [t.name for t in teachers]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"teachers {duplicates} appear twice; give each a distinct name with ',name=...'")
    except BaseException:
        for t in teachers:
            t.close()
        raise
    return teachers


# The judge a countdown run uses when the config names none (when the bundled model is present).
COUNTDOWN_JUDGE = "countdown-judge"


def build_judge(config: RunConfig) -> Judge | None:
    """The judge of ``search.judge.model`` (a local HF directory or bundled name, asked as its
    ``judge.json`` says); for countdown with no model named, the bundled ``countdown-judge``.
    None with ``search.judge.enabled = false`` (``--no-judge``)."""
    judge = config.search.judge
    if not judge.enabled:
        return None
    model = judge.model
    if model is None and config.task == "countdown":
        from teachers.bundled import bundled_models

        model = COUNTDOWN_JUDGE if COUNTDOWN_JUDGE in bundled_models() else None
    if model is None:
        return None
    from value import load_judge

    device = "cpu" if config.device == "auto" else config.device
    return load_judge(model, device=device)


def build_validator(config: RunConfig) -> TerminalValidator | None:
    """The LM terminal validator of ``search.terminal.validator`` (an HF path or bundled name), or None."""
    model = config.search.terminal.validator
    if model is None:
        return None
    from teachers.loading import resolve_model_path
    from value import LMTerminalValidator

    return LMTerminalValidator(resolve_model_path(model))


def build_evaluator(config: RunConfig) -> Callable[[], LeafEvaluator] | None:
    """The leaf evaluator of ``search.evaluation.mode``, as the runner's ``evaluator_factory``.

    ``"rollout"`` -> ``None`` (the search's default rollouts). ``"value"`` / ``"blend"`` load the
    value net at ``search.evaluation.value_net`` once (on ``config.device``) and share it between
    tasks: ``ValueEvaluator(ValueNetFn(net))``, or its :class:`~mcts.search.evaluate.Blend` with rollouts.
    """
    evaluation = config.search.evaluation
    if evaluation.mode == "rollout":
        return None
    if not evaluation.value_net:
        raise ValueError(
            f"search.evaluation.mode = {evaluation.mode!r} needs a value network: set search.evaluation.value_net "
            "= DIR (a directory written by value.ValueNet.save; --value-net DIR), or use mode 'rollout'"
        )
    from pathlib import Path

    from mcts.search import Blend, Rollout, ValueEvaluator
    from mcts.search.steps import parse_step
    from value.valuenet import ValueNet, ValueNetFn

    if not Path(evaluation.value_net).is_dir():
        raise FileNotFoundError(
            f"search.evaluation.value_net {evaluation.value_net!r} is not a directory; "
            "pass one written by value.ValueNet.save (see examples/value_guided_search.py)"
        )
    device = None if config.device == "auto" else config.device
    value_fn = ValueNetFn(ValueNet.load(evaluation.value_net, device=device))
    if evaluation.mode == "value":
        return lambda: ValueEvaluator(value_fn)
    step = parse_step(config.search.step)
    return lambda: Blend(Rollout(evaluation, step), ValueEvaluator(value_fn), evaluation.blend)
