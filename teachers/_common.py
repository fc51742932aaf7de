"""What every backend shares: stop-string trimming, finish reasons, usage counters, greedy fan-out,
a teacher's default name and the checks of the HTTP options (``TeacherSpec`` and ``OpenAITeacher``
run the same ones)."""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mcts.types import FinishReason, GenerationRequest, Proposal


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def default_name(model: str) -> str:
    """What a teacher is called when no name is given: the model directory's name (or the model's)."""
    return Path(model.rstrip("/")).name or model


def check_url(url: str | None) -> None:
    """An OpenAI-compatible server's base URL must be http(s) and name a host."""
    if not url or not re.match(r"^https?://[^/\s]+", url):
        raise ValueError(
            f"openai teacher url {url!r} must start with http:// or https:// and name a host, "
            "e.g. openai:http://127.0.0.1:8000/v1#MODEL"
        )


def check_positive(key: str, value: object, kind: type) -> None:
    """``value`` is None (the default) or a number of ``kind`` above 0; ``ValueError`` naming ``key`` otherwise."""
    if value is None:
        return
    if not isinstance(value, (int, float)) or isinstance(value, bool) or (kind is int and not isinstance(value, int)):
        raise ValueError(f"{key} must be a {kind.__name__}, got {value!r}")
    if value <= 0:
        raise ValueError(f"{key} must be > 0, got {value}")


def check_retries(retries: int | None) -> None:
    if retries is not None and retries < 0:
        raise ValueError(f"retries must be >= 0, got {retries}")


def check_env_name(api_key_env: str | None) -> None:
    """``api_key_env`` must be the NAME of an environment variable; the value is never echoed."""
    if api_key_env is not None and not _ENV_NAME.match(api_key_env):
        # Never echo the value: a user who pasted the key itself would see it in logs.
        raise ValueError(
            "api_key_env must be the NAME of an environment variable holding the key (letters, digits, "
            "underscores, e.g. OPENAI_API_KEY), not the key itself; the value given is not shown"
        )


def trim_at_stop(text: str, stop: Sequence[str]) -> tuple[str, str | None]:
    """Cuts ``text`` at the earliest occurrence of any stop string.

    Returns ``(text_before_the_stop_string, the_stop_string_found or None)``; the stop string itself
    is excluded, as in vLLM and the OpenAI API.
    """
    cut, found = -1, None
    for s in stop:
        if not s:
            continue
        i = text.find(s)
        if i != -1 and (cut == -1 or i < cut):
            cut, found = i, s
    return (text, None) if found is None else (text[:cut], found)


def stop_string_of(reason: FinishReason, stop_reason: object, stop: Sequence[str]) -> str | None:
    """Which stop string ended a ``"stop"`` completion: the server's ``stop_reason`` when it names one,
    else the only stop string asked for; None when it cannot be told."""
    if reason != "stop":
        return None
    if isinstance(stop_reason, str):
        return stop_reason
    return stop[0] if len(stop) == 1 else None


def sampled_n(request: GenerationRequest) -> int:
    """How many samples a backend must draw: one for greedy requests (all ``n`` would be equal)."""
    return 1 if request.temperature == 0 else request.n


def fan_out_greedy(request: GenerationRequest, proposals: list[Proposal]) -> list[Proposal]:
    """Repeats the single greedy proposal ``request.n`` times (greedy decoding is deterministic,
    and vLLM refuses ``n > 1`` with temperature 0)."""
    if request.temperature == 0 and len(proposals) == 1:
        return proposals * request.n
    return proposals


def check_requests(requests: Sequence[GenerationRequest]) -> list[GenerationRequest]:
    """Rejects anything that is not a ``GenerationRequest`` (a common slip: passing a bare string)."""
    out = list(requests)
    for i, r in enumerate(out):
        if not isinstance(r, GenerationRequest):
            raise TypeError(
                f"requests[{i}] is {type(r).__name__}, expected mcts.types.GenerationRequest "
                "(wrap a prompt as GenerationRequest(prompt=...))"
            )
    return out


def finish_reason(engine_reason: str | None, stop_reason: object) -> FinishReason:
    """Maps vLLM / OpenAI finish reasons onto ours.

    vLLM reports ``"stop"`` both for a stop string (``stop_reason`` is the string) and for EOS
    (``stop_reason`` is ``None``) or a stop token id (an int); the latter two are ``"eos"`` here.
    """
    if engine_reason == "length":
        return "length"
    if isinstance(stop_reason, str):
        return "stop"
    return "eos"


@dataclass
class TeacherStats:
    """Running counters of one teacher, for benchmarks and for tests of batching and caching.

    Token counts are in model tokens. ``cached_prompt_tokens`` counts prompt tokens served from
    the prefix cache; it stays ``None`` when the backend cannot tell (HF, or a server that does
    not report ``usage.prompt_tokens_details``). ``http_requests``, ``retries`` and
    ``max_in_flight`` only move on the HTTP backend.
    """

    calls: int = 0
    requests: int = 0
    proposals: int = 0
    prompt_tokens: int = 0
    cached_prompt_tokens: int | None = None
    generated_tokens: int = 0
    http_requests: int = 0
    retries: int = 0
    max_in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add_prompt(self, prompt_tokens: int, cached_tokens: int | None) -> None:
        with self._lock:
            self.prompt_tokens += prompt_tokens
            if cached_tokens is not None:
                self.cached_prompt_tokens = (self.cached_prompt_tokens or 0) + cached_tokens

    def add_call(self, num_requests: int, num_proposals: int, generated_tokens: int) -> None:
        """Counts one ``generate`` call; ``generated_tokens`` counts tokens actually sampled (a
        greedy proposal fanned out to ``n`` copies counts once)."""
        with self._lock:
            self.calls += 1
            self.requests += num_requests
            self.proposals += num_proposals
            self.generated_tokens += generated_tokens

    @property
    def prefix_cache_hit_rate(self) -> float | None:
        """Cached prompt tokens / prompt tokens, or ``None`` when the backend does not report it."""
        if self.cached_prompt_tokens is None or self.prompt_tokens == 0:
            return None
        return self.cached_prompt_tokens / self.prompt_tokens

    def snapshot(self) -> dict[str, float | int | None]:
        """A plain dict (for JSON), including the derived hit rate."""
        with self._lock:
            out: dict[str, float | int | None] = {
                k: v for k, v in self.__dict__.items() if not k.startswith("_")
            }
        out["prefix_cache_hit_rate"] = self.prefix_cache_hit_rate
        return out

    def reset(self) -> None:
        with self._lock:
            for k, v in TeacherStats().__dict__.items():
                if not k.startswith("_"):
                    setattr(self, k, v)
