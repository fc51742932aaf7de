"""`mcts-llm search --ray` with a teacher behind a real vLLM server that every Ray worker calls (two
replica specs of it), beside a bundled teacher in a Ray actor; then the same run resumed without Ray."""

from __future__ import annotations

import json
import os
from collections import Counter

import pytest

from conftest import require_vllm

# Ray binds its cluster to the loopback address only with this (read when ray is first imported).
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
ray = pytest.importorskip("ray", reason='Ray is not installed (pip install "mcts-llm[ray]")')

from mcts.cli import main  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.vllm]


@pytest.fixture(scope="module")
def cluster(vllm_server) -> str:
    """Started after the server fixture, so the workers inherit its API key variable."""
    require_vllm()
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


def test_server_teacher_shared_by_the_workers_then_resumed_without_ray(tmp_path, vllm_server, cluster):
    served = f"openai:{vllm_server.url}#{vllm_server.model},name=expert,api_key_env={vllm_server.api_key_env}"
    args = ["search", "--simulations", "12", "--seed", "2", "--min-free-mb", "0", "--no-judge",
            "--teacher", served, "--teacher", served, "--teacher", "hf:countdown-noisy", "--out", str(tmp_path / "run")]
    assert main([*args, "--num-tasks", "4", "--ray", cluster, "--ray-workers", "2"]) == 0
    # num_tasks may grow on resume: two more tasks, searched here without Ray, with the same replicas.
    assert main([*args, "--num-tasks", "6", "--resume"]) == 0

    ledger = [json.loads(line) for line in (tmp_path / "run" / "tasks.jsonl").read_text().splitlines()]
    assert [r["task_id"] for r in ledger] == [f"cd-2-{i:05d}" for i in range(6)]
    assert not any(r["faults"] for r in ledger), ledger
    expert_calls = [r["calls"].get("expert", 0) for r in ledger]
    assert sum(expert_calls[:4]) > 0 and sum(expert_calls[4:]) > 0, ledger  # the server, from Ray and from here
    paths = Counter(json.loads(line)["task_id"] for line in (tmp_path / "run" / "trajectories.jsonl").read_text().splitlines())
    assert paths == {r["task_id"]: r["trajectories"] for r in ledger}
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["tasks"] == 6 and set(summary["teacher_probabilities"]) == {"expert", "countdown-noisy"}
