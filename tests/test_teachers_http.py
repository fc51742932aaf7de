"""The OpenAI-compatible HTTP backend.

Against a real vLLM server (started once per session on 127.0.0.1, with an API key): n, logprobs,
token ids, stop strings, bounded concurrency, retries through a brief outage, timeouts, 4xx errors,
the API key, and prefix-cache hits. Against a small scripted server (stdlib, in a thread): what a
server that ignores ``n`` or ``logprobs``, or answers 429/503 for a while, makes the teacher do.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mcts.types import GenerationRequest
from teachers import TeacherRequestError, TeacherTimeoutError, load_teacher, parse_spec
from teachers.openai_http import OpenAITeacher
from teachers.vllm_server import free_port

PROMPT = "Numbers: 4 7 8 8\nTarget: 24\n"


def teacher_for(server, **options) -> OpenAITeacher:
    options.setdefault("api_key_env", server.api_key_env)
    return load_teacher(f"openai:{server.url}#{server.model}", **options)


# ------------------------------------------------------------------------------------------------
# A real vLLM server.
# ------------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.vllm
def test_n_logprobs_token_ids_and_stop_strings(vllm_server):
    teacher = teacher_for(vllm_server, name="served")
    request = GenerationRequest(PROMPT, n=5, max_tokens=24, stop=("\n",), temperature=1.0, seed=3)
    greedy = GenerationRequest(PROMPT, n=2, max_tokens=24, temperature=0)
    sampled, greedy_props = teacher.generate([request, greedy])
    assert len(sampled) == 5 and len(greedy_props) == 2 and greedy_props[0] == greedy_props[1]
    assert not (teacher.server_ignored_n or teacher.logprobs_missing or teacher.token_ids_missing)
    for p in sampled + greedy_props:
        assert p.teacher == "served"
        assert "\n" not in p.text or p in greedy_props
        assert p.num_tokens >= 1 and p.token_logprobs is not None
        assert len(p.token_logprobs) == p.num_tokens
        assert p.logprob_sum == pytest.approx(sum(p.token_logprobs))
        assert p.finish_reason in ("stop", "eos", "length")
    assert teacher.generate([request])[0] == sampled  # seeded: reproducible


@pytest.mark.slow
@pytest.mark.vllm
def test_many_requests_in_flight_bounded_by_max_concurrency(vllm_server):
    teacher = teacher_for(vllm_server, max_concurrency=3)
    requests = [GenerationRequest(PROMPT + f"{i}", n=2, max_tokens=16, seed=i) for i in range(12)]
    results = teacher.generate(requests)
    assert [len(r) for r in results] == [2] * 12
    assert teacher.stats.http_requests == 12 and teacher.stats.retries == 0
    assert teacher.stats.max_in_flight == 3


@pytest.mark.slow
@pytest.mark.vllm
def test_a_request_during_a_brief_outage_succeeds_after_retries(vllm_server):
    """The teacher talks to a port that is closed at first; a proxy to the real server opens on it
    half a second later. The call must ride out the connection errors with backoff."""
    port = free_port()
    upstream = int(vllm_server.url.rsplit(":", 1)[1].split("/")[0])  # http://127.0.0.1:PORT/v1
    teacher = OpenAITeacher(
        f"http://127.0.0.1:{port}/v1", vllm_server.model, api_key_env=vllm_server.api_key_env,
        retries=8, timeout=120, backoff=0.1, max_backoff=1.0,
    )  # fmt: skip
    requests = [GenerationRequest(PROMPT, n=2, max_tokens=8, seed=i) for i in range(4)]

    async def scenario():
        call = asyncio.ensure_future(teacher.agenerate(requests))
        await asyncio.sleep(0.5)
        proxy = await asyncio.start_server(lambda r, w: _pipe_to(upstream, r, w), "127.0.0.1", port)
        async with proxy:
            return await call

    results = asyncio.run(scenario())
    assert [len(r) for r in results] == [2] * 4
    assert teacher.stats.retries >= 4  # every request failed at least once before the proxy opened


async def _pipe_to(upstream: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream)

    async def copy(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()
        finally:
            dst.close()

    await asyncio.gather(copy(reader, up_writer), copy(up_reader, writer), return_exceptions=True)


@pytest.mark.slow
@pytest.mark.vllm
def test_a_tiny_timeout_gives_a_clear_timeout_error_after_the_retries(vllm_server):
    teacher = teacher_for(vllm_server, timeout=0.001, retries=2)
    teacher.backoff = 0.01
    with pytest.raises(TeacherTimeoutError, match=r"failed after 3 attempts.*timed out"):
        teacher.generate([GenerationRequest(PROMPT, max_tokens=64)])
    assert teacher.stats.retries == 2


@pytest.mark.slow
@pytest.mark.vllm
def test_an_unknown_model_is_a_clear_4xx_error_without_retries(vllm_server):
    teacher = load_teacher(f"openai:{vllm_server.url}#no-such-model", api_key_env=vllm_server.api_key_env)
    with pytest.raises(TeacherRequestError, match="no-such-model") as info:
        teacher.generate([GenerationRequest(PROMPT, max_tokens=4)])
    assert 400 <= info.value.status < 500
    assert teacher.stats.retries == 0


@pytest.mark.slow
@pytest.mark.vllm
def test_the_api_key_comes_from_the_env_var_and_never_shows(vllm_server, caplog, monkeypatch):
    import os

    key = os.environ[vllm_server.api_key_env]
    caplog.set_level(logging.DEBUG)
    without_key = load_teacher(f"openai:{vllm_server.url}#{vllm_server.model}")
    with pytest.raises(TeacherRequestError) as info:
        without_key.generate([GenerationRequest(PROMPT, max_tokens=4)])
    assert info.value.status == 401

    spec = parse_spec(f"openai:{vllm_server.url}#{vllm_server.model}", api_key_env=vllm_server.api_key_env)
    teacher = load_teacher(spec)
    assert len(teacher.generate([GenerationRequest(PROMPT, max_tokens=4)])[0]) == 1
    shown = " ".join([caplog.text, repr(teacher), str(spec), repr(spec), str(info.value), repr(teacher.__dict__.get("stats"))])
    assert key not in shown

    monkeypatch.delenv(vllm_server.api_key_env)
    with pytest.raises(ValueError, match=vllm_server.api_key_env):
        load_teacher(spec)


@pytest.mark.slow
@pytest.mark.vllm
def test_a_tree_shaped_batch_hits_the_servers_prefix_cache(vllm_server):
    teacher = teacher_for(vllm_server)
    node = PROMPT + "8-4=4 (left: 7 8 4)\n7-4=3 (left: 8 3)\n" * 5  # several 32-token KV blocks
    before = teacher.prefix_cache_counters()
    assert before is not None, "vLLM exposes its prefix-cache counters on /metrics"
    teacher.generate([GenerationRequest(node, max_tokens=4, seed=0)])  # the node itself, as when it was expanded
    teacher.stats.reset()
    teacher.generate([GenerationRequest(node + f"{i}+{i}={2 * i}\n", n=2, max_tokens=8, seed=i) for i in range(6)])
    after = teacher.prefix_cache_counters()
    assert after is not None
    queried, hits = after[0] - before[0], after[1] - before[1]
    assert queried > 0 and hits / queried > 0.5
    assert teacher.stats.cached_prompt_tokens is not None and teacher.stats.cached_prompt_tokens > 0


# ------------------------------------------------------------------------------------------------
# A scripted server: deterministic misbehaviour that a real vLLM server does not show.
# ------------------------------------------------------------------------------------------------

Script = Callable[[dict, int], tuple[int, dict, dict]]


@pytest.fixture
def scripted() -> Iterator[Callable[[Script], tuple[str, list[dict]]]]:
    """Starts a local HTTP server whose answer to the k-th POST is ``script(body, k)``:
    ``(status, json_answer, headers)``. Returns ``(base_url, received_bodies)``."""
    servers: list[ThreadingHTTPServer] = []

    def start(script: Script) -> tuple[str, list[dict]]:
        received: list[dict] = []
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with lock:
                    received.append(body)
                    k = len(received) - 1
                status, answer, headers = script(body, k)
                data = json.dumps(answer).encode()
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/v1", received

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def plain_choice(text: str, index: int = 0, finish: str = "stop") -> dict:
    """A choice as a minimal OpenAI-compatible server returns it: no logprobs, no token ids."""
    return {"index": index, "text": text, "finish_reason": finish, "logprobs": None}


def test_a_server_that_ignores_n_and_logprobs_is_detected_and_flagged(scripted):
    url, received = scripted(lambda body, k: (200, {"choices": [plain_choice(f"seed {body['seed']}\nmore")]}, {}))
    teacher = OpenAITeacher(url, "m")
    (props,) = teacher.generate([GenerationRequest(PROMPT, n=3, stop=("\n",), seed=10)])
    assert [p.text for p in props] == ["seed 10", "seed 11", "seed 12"]  # trimmed at the stop string
    assert teacher.server_ignored_n and teacher.logprobs_missing and teacher.token_ids_missing
    assert all(p.logprob_sum is None and p.token_logprobs is None and p.token_ids == () for p in props)
    assert all(p.finish_reason == "stop" for p in props)
    assert [b["n"] for b in received] == [3, 1, 1]
    assert sorted(b["seed"] for b in received) == [10, 11, 12]  # the rest sampled with seeds seed+i, as vLLM does


def test_429_and_503_are_retried_then_succeed(scripted):
    def script(body: dict, k: int) -> tuple[int, dict, dict]:
        if k == 0:
            return 429, {"error": {"message": "slow down"}}, {"Retry-After": "0"}
        if k == 1:
            return 503, {"error": {"message": "warming up"}}, {}
        return 200, {"choices": [plain_choice("ok", finish="length")]}, {}

    url, received = scripted(script)
    teacher = OpenAITeacher(url, "m", retries=3, backoff=0.01)
    (props,) = teacher.generate([GenerationRequest(PROMPT)])
    assert props[0].text == "ok" and props[0].finish_reason == "length"
    assert teacher.stats.retries == 2 and len(received) == 3


def test_persistent_5xx_gives_up_with_the_servers_message(scripted):
    from teachers import TeacherUnavailableError

    url, received = scripted(lambda body, k: (500, {"error": {"message": "engine crashed"}}, {}))
    teacher = OpenAITeacher(url, "m", retries=2, backoff=0.01)
    with pytest.raises(TeacherUnavailableError, match="engine crashed"):
        teacher.generate([GenerationRequest(PROMPT)])
    assert len(received) == 3


def test_a_server_that_rejects_vllm_extensions_is_asked_again_without_them(scripted):
    def script(body: dict, k: int) -> tuple[int, dict, dict]:
        if "return_token_ids" in body:
            return 400, {"error": {"message": "Unrecognized request argument supplied: return_token_ids"}}, {}
        choice = {**plain_choice("7"), "logprobs": {"tokens": ["7"], "token_logprobs": [-0.25]}}
        return 200, {"choices": [choice]}, {}

    url, received = scripted(script)
    teacher = OpenAITeacher(url, "m")
    (props,) = teacher.generate([GenerationRequest(PROMPT)])
    teacher.generate([GenerationRequest(PROMPT)])
    assert props[0].token_logprobs == (-0.25,) and props[0].logprob_sum == -0.25
    assert props[0].finish_reason == "eos"  # no stop strings asked, so "stop" can only mean end of text
    assert sum("return_token_ids" in b for b in received) == 1  # remembered after the first rejection


def test_generate_inside_an_event_loop_points_to_agenerate(scripted):
    url, _ = scripted(lambda body, k: (200, {"choices": [plain_choice("x")]}, {}))
    teacher = OpenAITeacher(url, "m")

    async def inside() -> None:
        with pytest.raises(RuntimeError, match="agenerate"):
            teacher.generate([GenerationRequest(PROMPT)])
        assert len((await teacher.agenerate([GenerationRequest(PROMPT)]))[0]) == 1

    asyncio.run(inside())
