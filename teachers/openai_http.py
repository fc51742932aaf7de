"""OpenAI-compatible HTTP teacher: any server with ``POST /v1/completions`` (vLLM, SGLang, llama.cpp…).

Requests run concurrently (at most ``max_concurrency`` in flight per teacher), retried up to
``retries`` times with exponential backoff and jitter on connection errors, timeouts, 429 and 5xx.
Any other 4xx raises ``TeacherRequestError`` at once.

Two clocks bound a call, so a hung server (one that accepts and never answers) is a fault in
seconds, not a stall: ``timeout`` (default 20 s) caps each attempt as a whole — connect, send, wait
and read together, not httpx's per-phase timeouts, which a server trickling bytes never trips —
and ``deadline`` (default ``max(30 s, timeout)``) caps the whole retry chain of one request:
attempts and backoff sleeps together, not the wait for a free ``max_concurrency`` slot. A retry
that would start past the deadline is not made, and the last attempt gets only what is left.
With the defaults a hung server fails a request after at most 30 s (one 20 s attempt, then one
cut short); a dead port fails in a few seconds of backoff. The API key is read from the environment variable that ``api_key_env`` names; it is
sent as a bearer token and appears in no repr, log or error message.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import re
import time
import weakref
from collections.abc import Awaitable, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx

from mcts.types import GenerationRequest, Proposal
from teachers._common import (
    TeacherStats,
    check_env_name,
    check_positive,
    check_requests,
    check_retries,
    check_url,
    default_name,
    fan_out_greedy,
    finish_reason,
    sampled_n,
    stop_string_of,
    trim_at_stop,
)
from teachers.errors import TeacherRequestError, TeacherTimeoutError, TeacherUnavailableError

log = logging.getLogger(__name__)

_TOKEN_ID_PREFIX = "token_id:"  # vLLM's form for tokens when return_tokens_as_token_ids is set

# Per attempt, and for a request's whole retry chain (see the module docstring). One step of a
# small model takes well under a second even on a CPU server; 20 s leaves room for a loaded one.
DEFAULT_TIMEOUT_S = 20.0
DEFAULT_DEADLINE_S = 30.0


def read_api_key(env_name: str | None) -> str | None:
    """The key held by the environment variable ``env_name`` (``None`` when no name is given)."""
    if env_name is None:
        return None
    value = os.environ.get(env_name)
    if not value:
        # Show the name only when it looks like one: a user may have put the key itself there.
        shown = repr(env_name) if re.fullmatch(r"[A-Z_][A-Z0-9_]{0,63}", env_name) else "(not shown: it may be a key)"
        raise ValueError(f"api_key_env names the variable {shown}, but it is not set or is empty in the environment")
    return value


def completions_base(url: str) -> str:
    """``http://host:port`` -> ``http://host:port/v1``; a URL with a path is kept as given."""
    url = url.rstrip("/")
    return url + "/v1" if urlsplit(url).path in ("", "/") else url


class OpenAITeacher:
    """A model behind an OpenAI-compatible ``/v1/completions`` endpoint.

    Each request is one HTTP call asking for ``n`` choices with ``logprobs`` (and, from vLLM,
    token ids). What a server may not honour is detected and flagged, never invented:
    ``server_ignored_n`` (fewer choices than asked: the rest are fetched one by one with seeds
    ``seed+i``, as vLLM seeds its ``n`` samples), ``logprobs_missing`` (proposals carry ``None``
    likelihoods) and ``token_ids_missing`` (proposals carry empty ``token_ids``).
    """

    def __init__(
        self,
        url: str,
        model: str,
        *,
        name: str | None = None,
        max_concurrency: int = 8,
        timeout: float = DEFAULT_TIMEOUT_S,
        retries: int = 3,
        deadline: float | None = None,
        api_key_env: str | None = None,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
    ) -> None:
        check_url(url)
        if not model or not model.strip():
            raise ValueError("openai teacher needs a model name: openai:URL#MODEL")
        if name is not None and not name.strip():
            raise ValueError("teacher name must not be empty; leave it unset for the default")
        check_positive("max_concurrency", max_concurrency, int)
        check_positive("timeout", timeout, float)
        check_positive("deadline", deadline, float)
        check_retries(retries)
        check_env_name(api_key_env)
        self.base_url = completions_base(url)
        self.model = model
        self.name = name or default_name(model)
        self.max_concurrency = max_concurrency
        self.timeout = timeout
        self.deadline = deadline if deadline is not None else max(DEFAULT_DEADLINE_S, timeout)
        self.retries = retries
        self.api_key_env = api_key_env
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.stats = TeacherStats()
        self.server_ignored_n = False
        self.logprobs_missing = False
        self.token_ids_missing = False
        self._api_key = read_api_key(api_key_env)
        self._send_token_ids = True  # vLLM's `return_token_ids`; dropped if the server rejects it
        self._in_flight = 0
        self._semaphores: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )

    def __repr__(self) -> str:
        return f"OpenAITeacher(name={self.name!r}, url={self.base_url!r}, model={self.model!r})"

    # ----------------------------------------------------------------------------------------

    def generate(self, requests: Sequence[GenerationRequest]) -> list[list[Proposal]]:
        """Blocking form of ``agenerate``; cannot be called from inside a running event loop."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.agenerate(requests))
        raise RuntimeError(f"{self!r}.generate was called inside an event loop; use `await teacher.agenerate(...)`")

    async def agenerate(self, requests: Sequence[GenerationRequest]) -> list[list[Proposal]]:
        """For each request, ``request.n`` proposals; the HTTP calls overlap up to ``max_concurrency``."""
        reqs = check_requests(requests)
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        limits = httpx.Limits(max_connections=self.max_concurrency, max_keepalive_connections=self.max_concurrency)
        async with httpx.AsyncClient(timeout=self.timeout, headers=headers, limits=limits) as client:
            sampled = await _gather_or_cancel([self._one(client, r) for r in reqs])
        results = [fan_out_greedy(r, props) for r, props in zip(reqs, sampled)]
        self.stats.add_call(len(reqs), sum(map(len, results)), sum(p.num_tokens for ps in sampled for p in ps))
        return results

    def close(self) -> None:
        """Nothing to release: each call opens and closes its own connection pool."""

    def prefix_cache_counters(self) -> tuple[int, int] | None:
        """(prompt tokens queried, prompt tokens hit) in a vLLM server's prefix cache since it started,
        read from its Prometheus ``/metrics``; ``None`` when the server does not expose them."""
        root = self.base_url.removesuffix("/v1")
        try:
            text = httpx.get(root + "/metrics", timeout=self.timeout).text
        except httpx.HTTPError:
            return None
        totals = {"vllm:prefix_cache_queries": 0.0, "vllm:prefix_cache_hits": 0.0}
        found = False
        for line in text.splitlines():
            for key in totals:
                if line.startswith(key + "_total"):
                    totals[key] += float(line.rsplit(" ", 1)[1])
                    found = True
        return (int(totals["vllm:prefix_cache_queries"]), int(totals["vllm:prefix_cache_hits"])) if found else None

    # ----------------------------------------------------------------------------------------

    async def _one(self, client: httpx.AsyncClient, request: GenerationRequest) -> list[Proposal]:
        n = sampled_n(request)
        answer = await self._post(client, self._body(request, n, request.seed))
        choices = sorted(answer.get("choices", []), key=lambda c: c.get("index", 0))[:n]
        if len(choices) < n:
            if not self.server_ignored_n:
                log.warning("%s: server returned %d of n=%d choices; asking for the rest one by one", self.name, len(choices), n)
            self.server_ignored_n = True
            seeds = [None if request.seed is None else request.seed + i for i in range(len(choices), n)]
            extra = await _gather_or_cancel([self._post(client, self._body(request, 1, s)) for s in seeds])
            choices += [a["choices"][0] for a in extra if a.get("choices")]
        return [self._proposal(request, c) for c in choices]

    def _body(self, request: GenerationRequest, n: int, seed: int | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "prompt": list(request.prompt_token_ids) if request.prompt_token_ids is not None else request.prompt,
            "n": n,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "top_p": request.top_p,
            "logprobs": 1,  # the sampled token's log-probability (and the top-1, which we ignore)
        }
        if request.stop:
            body["stop"] = list(request.stop)
        if seed is not None:
            body["seed"] = seed
        if self._send_token_ids:
            body["return_token_ids"] = True
        return body

    async def _post(self, client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
        """One completion call with retries, within ``timeout`` per attempt and ``deadline`` in all.
        Returns the decoded JSON answer."""
        url = self.base_url + "/completions"
        last: str = ""
        timed_out = False
        retry_after = 0.0
        spent = 0.0  # seconds of attempts and backoff so far (waits for a concurrency slot excluded)
        attempts = 0
        for attempt in range(self.retries + 1):
            if attempt:
                delay = self._delay(attempt, retry_after)
                if spent + delay >= self.deadline:
                    last += f"; no retry within the {self.deadline} s deadline"
                    break
                self.stats.retries += 1
                await asyncio.sleep(delay)
                spent += delay
            async with self._semaphore():
                self._in_flight += 1
                self.stats.max_in_flight = max(self.stats.max_in_flight, self._in_flight)
                self.stats.http_requests += 1
                attempts += 1
                bound = min(self.timeout, self.deadline - spent)
                started = time.monotonic()
                try:
                    response = await asyncio.wait_for(client.post(url, json=body), bound)
                except (TimeoutError, httpx.TimeoutException) as exc:
                    last, timed_out = f"timed out after {bound:.3g} s ({type(exc).__name__})", True
                    continue
                except httpx.TransportError as exc:
                    last, timed_out = f"{type(exc).__name__}: {exc}", False
                    continue
                finally:
                    self._in_flight -= 1
                    spent += time.monotonic() - started
            status = response.status_code
            if status == 429 or status >= 500:
                last, timed_out = f"HTTP {status}: {_server_message(response)}", False
                retry_after = _retry_after(response)
                continue
            if status >= 400:
                message = _server_message(response)
                if status == 400 and self._send_token_ids and "return_token_ids" in message:
                    self._send_token_ids = False  # not a vLLM server; ask again without the extension
                    return await self._post(client, {k: v for k, v in body.items() if k != "return_token_ids"})
                raise TeacherRequestError(
                    f"{self.name}: {url} rejected the request with HTTP {status}: {message} "
                    f"(check the model name {self.model!r}"
                    + (f" and the key in ${self.api_key_env})" if self.api_key_env else " and whether the server needs an api_key_env)"),
                    status,
                )
            answer = response.json()
            self._count_usage(answer)
            return answer
        error = TeacherTimeoutError if timed_out else TeacherUnavailableError
        raise error(
            f"{self.name}: {url} failed after {attempts} attempts in {spent:.1f} s (retries={self.retries}, "
            f"timeout={self.timeout} s, deadline={self.deadline} s); last error: {last}"
        )

    def _semaphore(self) -> asyncio.Semaphore:
        """The per-event-loop semaphore that bounds requests in flight to ``max_concurrency``."""
        loop = asyncio.get_running_loop()
        sem = self._semaphores.get(loop)
        if sem is None:
            sem = self._semaphores[loop] = asyncio.Semaphore(self.max_concurrency)
        return sem

    def _delay(self, attempt: int, retry_after: float) -> float:
        """Exponential backoff with jitter (x0.5-1.5), at least the server's Retry-After (capped)."""
        base = min(self.max_backoff, self.backoff * 2 ** (attempt - 1)) * random.uniform(0.5, 1.5)
        return max(base, min(retry_after, 4 * self.max_backoff))

    def _count_usage(self, answer: dict[str, Any]) -> None:
        usage = answer.get("usage") or {}
        details = usage.get("prompt_tokens_details") or {}
        cached = details.get("cached_tokens")
        self.stats.add_prompt(int(usage.get("prompt_tokens") or 0), int(cached) if cached is not None else None)

    def _proposal(self, request: GenerationRequest, choice: dict[str, Any]) -> Proposal:
        text, trimmed = trim_at_stop(choice.get("text") or "", request.stop)  # servers should trim; be sure
        logprobs = choice.get("logprobs") or {}
        lps_raw = logprobs.get("token_logprobs")
        lps = tuple(float(x) for x in lps_raw) if lps_raw and all(x is not None for x in lps_raw) else None
        if lps is None and not self.logprobs_missing:
            log.warning("%s: the server returned no logprobs; proposals carry no likelihoods", self.name)
            self.logprobs_missing = True
        token_ids = _token_ids(choice, logprobs.get("tokens"))
        if not token_ids and not self.token_ids_missing:
            log.warning("%s: the server returned no token ids; proposals carry empty token_ids", self.name)
            self.token_ids_missing = True
        if "stop_reason" in choice:  # vLLM says which stop fired
            reason = finish_reason(choice.get("finish_reason"), choice["stop_reason"])
        elif choice.get("finish_reason") == "length":
            reason = "length"
        else:  # plain OpenAI servers say "stop" for both; a stop string is the likelier cause if any was given
            reason = "stop" if request.stop else "eos"
        if trimmed is not None:
            reason = "stop"
        return Proposal(
            text=text,
            token_ids=token_ids,
            logprob_sum=float(sum(lps)) if lps is not None else None,
            token_logprobs=lps,
            finish_reason=reason,
            teacher=self.name,
            stop_string=trimmed or stop_string_of(reason, choice.get("stop_reason"), request.stop),
        )


def _token_ids(choice: dict[str, Any], tokens: list[str] | None) -> tuple[int, ...]:
    """Token ids from vLLM's ``token_ids`` field or ``token_id:N`` tokens; empty when neither is given."""
    ids = choice.get("token_ids")
    if ids:
        return tuple(int(t) for t in ids)
    if tokens and all(isinstance(t, str) and t.startswith(_TOKEN_ID_PREFIX) for t in tokens):
        return tuple(int(t[len(_TOKEN_ID_PREFIX) :]) for t in tokens)
    return ()


def _server_message(response: httpx.Response) -> str:
    """The server's error text (its JSON ``message`` if any), cut to 300 characters."""
    try:
        data = response.json()
        err = data.get("error", data) if isinstance(data, dict) else data
        message = err.get("message", str(err)) if isinstance(err, dict) else str(err)
    except ValueError:
        message = response.text
    return str(message)[:300]


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("retry-after", "0")))
    except ValueError:
        return 0.0


async def _gather_or_cancel(coros: Sequence[Awaitable[Any]]) -> list[Any]:
    """``asyncio.gather`` that cancels the siblings when one fails (no orphaned requests)."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
