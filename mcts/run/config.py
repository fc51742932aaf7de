"""A whole run in one TOML file: the run settings at the top, the search settings in tables.

    task = "countdown"              # or "text" (JSONL rows {"id", "prompt", "reference"?})
    data = "puzzles.jsonl"          # optional for countdown: seeded Game-of-24 puzzles otherwise
    teachers = ["hf:countdown-expert", "hf:countdown-noisy"]
    out = "runs/demo"

    [search.budget]
    simulations = 48

    [search.weights]
    floor = 0.05

Command-line flags override the file; unknown keys are errors that name the key and the table.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from collections.abc import Iterable
from typing import Any, get_type_hints

from mcts.search import SearchConfig

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

DEFAULT_TEACHERS = ("hf:countdown-expert", "hf:countdown-noisy", "hf:countdown-format")
# Bundled teacher sets: a skill ladder (the default: one teacher is best everywhere) and a
# complementary pair (the opener is right on the first step, the closer after it).
TEACHER_SETS: dict[str, tuple[str, ...]] = {
    "ladder": DEFAULT_TEACHERS,
    "complementary": ("hf:countdown-opener", "hf:countdown-closer"),
}


@dataclass(frozen=True)
class RunConfig:
    """Everything ``mcts-llm search`` needs. ``num_tasks`` applies to generated countdown puzzles."""

    task: str = "countdown"
    data: str | None = None
    teachers: tuple[str, ...] = DEFAULT_TEACHERS
    out: str = "runs/latest"
    num_tasks: int = 64
    seed: int = 0
    min_free_mb: float = 200.0
    device: str = "cpu"
    # Searches run at once, their teacher calls batched together (mcts.search.coalesce); 1 = one by one.
    concurrent_tasks: int = 1
    # Text tasks: reward component weights (value.COMPONENT_KEYS) and the perplexity scoring model.
    rewards: dict[str, float] | None = None
    scoring_model: str | None = None
    search: SearchConfig = field(default_factory=SearchConfig)

    def __post_init__(self) -> None:
        if self.task not in ("countdown", "text"):
            raise ValueError(f"task must be 'countdown' or 'text', got {self.task!r}")
        if self.task == "text" and not self.data:
            raise ValueError("task 'text' needs data: a JSONL file of {\"id\", \"prompt\", \"reference\"?} rows (--data)")
        if self.task == "text":  # a bundled name (countdown-text) becomes its file, so every reader sees a path
            from mcts.tasks.text_data import resolve_text_data

            object.__setattr__(self, "data", resolve_text_data(self.data))
        if not self.teachers:
            raise ValueError("at least one teacher is needed (--teacher SPEC, e.g. hf:countdown-expert)")
        if self.num_tasks < 1:
            raise ValueError(f"num_tasks must be >= 1, got {self.num_tasks}")
        if self.concurrent_tasks < 1:
            raise ValueError(f"concurrent_tasks must be >= 1 (1: one task at a time; --concurrent-tasks N), got {self.concurrent_tasks}")
        if self.min_free_mb < 0:
            raise ValueError(f"min_free_mb must be >= 0, got {self.min_free_mb}")


def _build(cls: type, values: dict[str, Any], where: str):
    """Instantiate dataclass ``cls`` from a TOML table, recursing into nested dataclasses."""
    if not isinstance(values, dict):
        raise ValueError(f"{where} must be a table, got {type(values).__name__}")
    hints = get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown key(s) {unknown} in {where}; known keys: {sorted(known)}")
    kwargs = {}
    for name, value in values.items():
        hint = hints[name]
        if is_dataclass(hint):
            kwargs[name] = _build(hint, value, f"{where}.{name}" if where != "[top level]" else f"[{name}]")
            continue
        problem = _type_problem(value, hint)
        if problem:
            raise ValueError(f"bad value in {where}: {name} must be {problem}, got {value!r} ({type(value).__name__})")
        kwargs[name] = tuple(value) if isinstance(value, list) else value
    try:
        return cls(**kwargs)
    except TypeError as err:
        raise ValueError(f"bad value in {where}: {err}") from err


def _type_problem(value: Any, hint: Any) -> str | None:
    """What ``value`` should have been for the field type ``hint`` (None when it fits)."""
    options = [a for a in getattr(hint, "__args__", ()) if a is not type(None)] if _is_optional(hint) else [hint]
    wants = []
    for option in options:
        origin = getattr(option, "__origin__", None)
        if option is bool:
            if isinstance(value, bool):
                return None
            wants.append("true or false")
        elif option is int:
            if isinstance(value, int) and not isinstance(value, bool):
                return None
            wants.append("an integer")
        elif option is float:
            if isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value):
                return None
            wants.append("a number")
        elif option is str:
            if isinstance(value, str):
                return None
            wants.append("a string")
        elif origin in (tuple, list):
            if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
                return None
            wants.append("a list of strings")
        elif origin is dict:
            if isinstance(value, dict) and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and not math.isnan(v) for v in value.values()
            ):
                return None
            wants.append("a table of numbers")
        else:
            return None  # Literal and other hints: the dataclass's own check decides
    return " or ".join(wants) if wants else None


def _is_optional(hint: Any) -> bool:
    return type(None) in getattr(hint, "__args__", ())


def load_run_config(path: str | Path | None, overrides: dict[str, Any] | None = None) -> RunConfig:
    """Read a TOML run file (or start from defaults) and apply flat ``overrides``.

    Override keys use dots for tables: ``{"search.budget.simulations": 32, "out": "runs/x"}``.
    """
    return load_toml_config(RunConfig, path, overrides)


def load_toml_config(cls: type, path: str | Path | None, overrides: dict[str, Any] | None = None):
    """Any (nested) config dataclass ``cls`` from a TOML file plus dotted ``overrides`` (``None`` values
    are skipped); unknown keys and bad values raise ``ValueError`` naming the file and the table."""
    data: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise FileNotFoundError(f"config file {path} does not exist") from None
        except tomllib.TOMLDecodeError as err:
            raise ValueError(f"{path} is not valid TOML: {err}") from None
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        table = data
        *parents, leaf = dotted.split(".")
        for p in parents:
            table = table.setdefault(p, {})
        table[leaf] = value
    try:
        return _build(cls, data, "[top level]")
    except ValueError as err:
        where = f"{path}: " if path else ""
        raise ValueError(f"{where}{err}") from None


def to_toml(config: Any, table: str = "") -> str:
    """Write a (nested) dataclass back as TOML, for the run directory's resolved config.

    Every key appears: one that is unset (``None``) is written as a comment naming its type, so a
    user sees everything that can be set (``# value_net = <str>  (unset)``).
    """
    hints = get_type_hints(type(config))
    scalars, tables = [], []
    for f in fields(config):
        value = getattr(config, f.name)
        name = f"{table}.{f.name}" if table else f.name
        if is_dataclass(value):
            tables.append(to_toml(value, name))
        elif isinstance(value, dict):
            tables.append("\n".join([f"[{name}]", *(f"{k} = {_toml_value(v)}" for k, v in value.items())]) + "\n")
        elif value is None:
            scalars.append(f"# {f.name} = <{_type_name(hints[f.name])}>  (unset)")
        else:
            scalars.append(f"{f.name} = {_toml_value(value)}")
    head = [f"[{table}]"] if table and scalars else []
    return "\n".join([*head, *scalars, "", *tables]).strip() + "\n"


def _type_name(hint: Any) -> str:
    """``float | None`` -> ``float``; ``dict[str, float] | None`` -> ``table of float``."""
    args = [a for a in getattr(hint, "__args__", (hint,)) if a is not type(None)]
    names = []
    for a in args:
        origin = getattr(a, "__origin__", None)
        if origin is dict:
            names.append(f"table of {getattr(a.__args__[1], '__name__', a.__args__[1])}")
        elif origin in (tuple, list):
            names.append(f"list of {getattr(a.__args__[0], '__name__', a.__args__[0])}")
        else:
            names.append(getattr(a, "__name__", str(a)))
    return " or ".join(names)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def replace(config: RunConfig, **changes: Any) -> RunConfig:
    return dataclasses.replace(config, **changes)


# Keys a resumed run may change without touching the results of the tasks already searched.
RESUME_NEUTRAL_KEYS = frozenset({"out", "min_free_mb", "num_tasks"})


def flat_settings(config: Any, prefix: str = "") -> dict[str, Any]:
    """Every setting of a (nested) config dataclass under its dotted key (``search.budget.tokens``)."""
    out: dict[str, Any] = {}
    for f in fields(config):
        value = getattr(config, f.name)
        key = f"{prefix}{f.name}"
        if is_dataclass(value):
            out.update(flat_settings(value, key + "."))
        else:
            out[key] = value
    return out


def resume_conflicts(saved: RunConfig, new: RunConfig, allowed: Iterable[str] = ()) -> list[str]:
    """The keys whose values differ between a run's saved config and the one resuming it, other than
    those that cannot change results (``RESUME_NEUTRAL_KEYS``) and those explicitly ``allowed``;
    each as ``"key: saved -> new"``."""
    old, cur = flat_settings(saved), flat_settings(new)
    allowed = set(allowed) | RESUME_NEUTRAL_KEYS
    return [f"{k}: {old.get(k)!r} -> {cur.get(k)!r}" for k in sorted(set(old) | set(cur))
            if k not in allowed and old.get(k) != cur.get(k)]
