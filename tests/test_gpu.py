"""The CUDA paths: a bundled teacher generating on the GPU, and a GRPO update on the GPU (bf16
autocast). Skipped where torch sees no CUDA device (CI never has one); run on a GPU machine with
``pytest -m gpu``."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]

PROMPT = "Numbers: 4 7 8 8\nTarget: 24\n"


def test_teacher_on_cuda_matches_its_cpu_greedy_step(teacher_model_dir):
    from mcts.types import GenerationRequest
    from teachers import load_teacher

    request = GenerationRequest(PROMPT, n=2, max_tokens=24, stop=("\n",), temperature=0)
    answers = {}
    for device in ("cpu", "cuda"):
        teacher = load_teacher(f"hf:{teacher_model_dir}", device=device, dtype="float32")
        try:
            (answers[device],) = teacher.generate([request])
        finally:
            teacher.close()
    assert answers["cuda"][0].text == answers["cpu"][0].text
    assert answers["cuda"][0].logprob_sum == pytest.approx(answers["cpu"][0].logprob_sum, abs=1e-3)


def test_grpo_update_on_cuda_moves_the_policy_and_times_its_steps(tmp_path):
    from tiny_gpt2 import build_tiny_gpt2, sequence_logprob

    from mcts.train import GRPOConfig, TrainSettings, train_grpo

    policy = build_tiny_gpt2(tmp_path / "policy")
    rows = []
    for k, prompt in enumerate(["2+3=", "4+1=", "1+4="]):
        for node, (text, q) in enumerate((("5", 1.0), ("7", 0.0)), start=1):
            step = {"text": text, "tokens": 1, "teachers": ["p"], "prior": 0.5, "visits": 3, "q": q}
            rows.append({"task_id": f"t{k}", "prompt": prompt, "final_reward": q, "solved": q > 0,
                         "steps": [step], "node_ids": [node], "parent_ids": [0]})
    run = tmp_path / "run"
    run.mkdir()
    (run / "trajectories.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    before = sequence_logprob(policy, "2+3=", "5")
    result = train_grpo(run, policy, tmp_path / "out", GRPOConfig(beta=0.01),
                        TrainSettings(learning_rate=3e-3, batch_size=6, epochs=6, seed=1, device="cuda"),
                        progress=False)
    assert sequence_logprob(tmp_path / "out", "2+3=", "5") > before + 0.5
    assert result.steps_run == 6 and 0 < result.seconds_per_step < 60
