"""`mcts-llm train`, `mcts-llm export-pairs` and the value net in `search` config, end to end.

The run directory comes from a real search (the real tree, runner and run directory) whose
teachers are the deterministic countdown fakes; the policy is a tiny random GPT-2 (tests/tiny_gpt2.py).
"""

from __future__ import annotations

import csv
import json

import pytest
from countdown_fakes import OracleTeacher
from tiny_gpt2 import build_tiny_gpt2

from mcts.cli import main
from mcts.run.config import RunConfig, load_run_config
from mcts.run.runner import run_search
from mcts.run.setup import build_evaluator
from mcts.search import Budget, SearchConfig
from mcts.search import Blend, ValueEvaluator
from mcts.tasks.countdown_solver import generate_puzzles
from mcts.tasks.searchable import CountdownTask


@pytest.fixture(autouse=True)
def wide_console(monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")  # rich wraps error messages at the terminal width


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A searched run: 3 puzzles, a good and a bad teacher, no stop at the first solution (siblings)."""
    out = tmp_path_factory.mktemp("search") / "run"
    config = RunConfig(out=str(out), min_free_mb=0,
                       search=SearchConfig(budget=Budget(simulations=24), stop_on_solve=False))
    tasks = [CountdownTask(p) for p in generate_puzzles(3, seed=5)]
    run_search(config, tasks, [OracleTeacher("good", 0.7), OracleTeacher("bad", 0.2)])
    return out


@pytest.fixture(scope="module")
def tiny_policy(tmp_path_factory):
    return build_tiny_gpt2(tmp_path_factory.mktemp("policy") / "tiny")


def read_rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def csv_rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


# --------------------------------------------------------------------------------------------
# export-pairs
# --------------------------------------------------------------------------------------------


def test_export_pairs_writes_sibling_pairs_in_trl_format(run_dir, tmp_path):
    out = tmp_path / "pairs.jsonl"
    assert main(["export-pairs", str(run_dir), "--out", str(out), "--margin", "0.2"]) == 0
    rows = read_rows(out)
    assert rows, "a searched run with a good and a bad teacher must yield pairs"
    trajectories = read_rows(run_dir / "trajectories.jsonl")
    prompts = {r["prompt"] for r in trajectories}
    for row in rows:
        assert {"prompt", "chosen", "rejected"} <= set(row)
        assert row["chosen"] != row["rejected"]
        assert row["chosen_value"] - row["rejected_value"] >= 0.2
        # the prompt is a task prompt plus whole steps: the state both siblings were proposed from
        assert any(row["prompt"].startswith(p) for p in prompts)
        assert row["prompt"].endswith("\n") and not row["chosen"].startswith("\n")


def test_export_pairs_margin_filters_and_says_why(run_dir, tmp_path, capsys):
    out = tmp_path / "none.jsonl"
    assert main(["export-pairs", str(run_dir), "--out", str(out), "--margin", "5"]) == 0
    assert out.read_text() == ""
    assert "lower --margin" in capsys.readouterr().err


def test_export_pairs_missing_run_is_a_clear_error(tmp_path, capsys):
    assert main(["export-pairs", str(tmp_path / "nope"), "--out", str(tmp_path / "p.jsonl")]) == 2
    err = capsys.readouterr().err
    assert "trajectories.jsonl" in err and "mcts-llm search" in err


def test_export_pairs_to_a_directory_is_a_clear_error(run_dir, tmp_path, capsys):
    assert main(["export-pairs", str(run_dir), "--out", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# train
# --------------------------------------------------------------------------------------------


def train_args(run_dir, policy, out, *extra):
    return ["train", "--run", str(run_dir), "--policy", str(policy), "--out", str(out),
            "--batch-size", "64", "--lr", "1e-3", "--no-progress", *extra]


@pytest.mark.slow
def test_train_grpo_checkpoint_loads_as_a_teacher_and_resumes(run_dir, tiny_policy, tmp_path):
    from safetensors.torch import load_file

    from mcts.types import GenerationRequest
    from teachers import load_teacher

    out = tmp_path / "grpo"
    assert main(train_args(run_dir, tiny_policy, out, "--algo", "grpo", "--group-by", "prompt", "--beta", "0.1")) == 0
    rows = csv_rows(out / "metrics.csv")
    assert rows and {"loss", "kl", "clip_fraction", "reward", "grad_norm"} <= set(rows[0])
    assert (out / "metrics.png").stat().st_size > 0
    state = json.loads((out / "training_state.json").read_text())
    assert state["algo"] == "grpo" and state["step"] == len(rows)
    assert state["config"]["beta"] == 0.1 and state["config"]["group_by"] == "prompt"
    before, after = load_file(str(tiny_policy / "model.safetensors")), load_file(str(out / "model.safetensors"))
    assert any(not (before[k] == after[k]).all() for k in before), "one update must change the weights"

    # rerunning with the same --out resumes: the finished steps are not trained again
    assert main(train_args(run_dir, tiny_policy, out, "--algo", "grpo", "--group-by", "prompt")) == 0
    assert len(csv_rows(out / "metrics.csv")) == len(rows)

    teacher = load_teacher(f"hf:{out}", device="cpu", dtype="float32")
    try:
        (replies,) = teacher.generate([GenerationRequest("Numbers: 1 2 3 4\nTarget: 24\n", n=2, max_tokens=8, seed=0)])
    finally:
        teacher.close()
    assert len(replies) == 2 and all(p.num_tokens >= 1 for p in replies)


@pytest.mark.slow
def test_train_ppo_writes_a_value_head(run_dir, tiny_policy, tmp_path):
    out = tmp_path / "ppo"
    assert main(train_args(run_dir, tiny_policy, out, "--algo", "ppo", "--batch-size", "256")) == 0
    assert (out / "value_head.safetensors").is_file() and (out / "model.safetensors").is_file()
    assert {"policy_loss", "value_loss", "kl"} <= set(csv_rows(out / "metrics.csv")[0])


def test_train_reads_a_toml_job_and_flags_override_it(run_dir, tiny_policy, tmp_path):
    from mcts.commands.train import load_job
    from mcts.cli import build_parser

    job_file = tmp_path / "train.toml"
    job_file.write_text(
        f'algo = "ppo"\nrun = "{run_dir}"\npolicy = "{tiny_policy}"\nout = "{tmp_path / "o"}"\n'
        "[settings]\nlearning_rate = 3e-4\nepochs = 2\n[ppo]\nlam = 0.9\n"
    )
    job = load_job(build_parser().parse_args(["train", "--config", str(job_file), "--epochs", "3", "--beta", "0.2"]))
    assert job.algo == "ppo" and job.settings.learning_rate == 3e-4 and job.settings.epochs == 3
    assert job.ppo.lam == 0.9 and job.ppo.beta == 0.2
    grpo = load_job(build_parser().parse_args(["train", "--config", str(job_file), "--algo", "grpo", "--negative-weight", "0"]))
    assert grpo.algo == "grpo" and grpo.grpo.negative_weight == 0.0


@pytest.mark.parametrize(
    "change, message",
    [
        ({"--run": "missing-run"}, "no trajectories.jsonl"),
        ({"--policy": "no-such-model"}, "neither a directory nor a bundled model name"),
        ({"--reference": "no-such-ref"}, "--reference 'no-such-ref'"),
        ({"--lr": "-1"}, "learning_rate must be > 0"),
        ({"--algo": "ppo", "--group-by": "siblings"}, "GRPO options"),
        ({"--algo": "ppo", "--negative-weight": "0"}, "GRPO options"),
        ({"--negative-weight": "2"}, "negative_weight must lie in [0, 1]"),
    ],
)
def test_train_bad_input_is_one_clear_error(run_dir, tiny_policy, tmp_path, capsys, change, message):
    flags = {"--run": str(run_dir), "--policy": str(tiny_policy), "--out": str(tmp_path / "o")}
    flags.update({k: (str(tmp_path / v) if k == "--run" else v) for k, v in change.items()})
    assert main(["train", "--no-progress", *[x for kv in flags.items() for x in kv]]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o" / "model.safetensors").exists()


def test_train_empty_run_and_missing_out(tmp_path, tiny_policy, capsys):
    empty = tmp_path / "empty-run"
    empty.mkdir()
    (empty / "trajectories.jsonl").write_text("")
    assert main(["train", "--run", str(empty), "--policy", str(tiny_policy), "--out", str(tmp_path / "o")]) == 2
    assert "holds no trajectories" in capsys.readouterr().err
    assert main(["train", "--run", str(empty), "--policy", str(tiny_policy)]) == 2
    assert "--out DIR" in capsys.readouterr().err


def test_train_bad_config_key_names_the_table(tmp_path, capsys):
    job_file = tmp_path / "train.toml"
    job_file.write_text("[grpo]\nbeeta = 0.1\n")
    assert main(["train", "--config", str(job_file), "--run", "r", "--policy", "p", "--out", "o"]) == 2
    err = capsys.readouterr().err
    assert "beeta" in err and "[grpo]" in err


# --------------------------------------------------------------------------------------------
# the value net as the search's leaf evaluator, from config
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def value_net_dir(tmp_path_factory):
    from value.valuenet import ValueNetConfig, build_value_net

    return build_value_net(ValueNetConfig(kind="tiny", d_model=32, n_layer=1, n_head=2)).save(
        tmp_path_factory.mktemp("value") / "net"
    )


def test_value_mode_without_a_value_net_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(ValueError, match="needs a value network.*value_net"):
        build_evaluator(load_run_config(None, {"search.evaluation.mode": "blend"}))
    assert main(["search", "--evaluation", "value", "--out", str(tmp_path / "r")]) == 2
    assert "--value-net DIR" in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match="not a directory"):
        build_evaluator(load_run_config(None, {"search.evaluation.mode": "value",
                                               "search.evaluation.value_net": str(tmp_path / "nope")}))


def test_value_net_from_config_guides_a_search(value_net_dir, tmp_path):
    assert build_evaluator(load_run_config(None)) is None  # rollouts: the search's default
    blend = load_run_config(None, {"search.evaluation.mode": "blend", "search.evaluation.value_net": str(value_net_dir)})
    assert isinstance(build_evaluator(blend)(), Blend)
    config = load_run_config(None, {
        "search.evaluation.mode": "value", "search.evaluation.value_net": str(value_net_dir),
        "out": str(tmp_path / "run"), "min_free_mb": 0, "search.budget.simulations": 8,
    })
    factory = build_evaluator(config)
    assert isinstance(factory(), ValueEvaluator)
    tasks = [CountdownTask(p) for p in generate_puzzles(2, seed=1)]
    totals = run_search(config, tasks, [OracleTeacher("a", 0.5)], evaluator_factory=factory)
    assert totals.tasks == 2 and totals.simulations >= 2
    assert 'value_net = "' in (tmp_path / "run" / "config.toml").read_text()


@pytest.mark.slow
def test_a_checkpoint_cut_by_a_crash_is_rolled_forward_or_dropped_never_half_applied(run_dir, tiny_policy, tmp_path):
    import shutil

    from mcts.train.loop import PARTIAL_DIR, read_state

    out = tmp_path / "grpo"
    assert main(train_args(run_dir, tiny_policy, out, "--algo", "grpo", "--epochs", "1")) == 0
    state = json.loads((out / "training_state.json").read_text())
    steps = len(csv_rows(out / "metrics.csv"))

    # A crash in the middle of moving a committed checkpoint of step + 1 into place: the new weights
    # are in place, the old state file still says `step`. Resuming must finish the move.
    partial = out / PARTIAL_DIR
    shutil.copytree(out, partial, ignore=shutil.ignore_patterns(PARTIAL_DIR, "metrics.*", "rollout.*"))
    committed = dict(state, step=state["step"] + 1)
    (partial / "training_state.json").write_text(json.dumps(committed))
    (partial / "model.safetensors").replace(out / "model.safetensors")
    assert read_state(out)["step"] == state["step"] + 1 and not partial.exists()

    # A crash before the commit point: the .partial has no state file and is dropped.
    partial.mkdir()
    (partial / "model.safetensors").write_bytes(b"half written")
    assert read_state(out)["step"] == state["step"] + 1 and not partial.exists()

    # metrics rows written after the last checkpoint (before a crash) are not repeated on resume
    with open(out / "metrics.csv", "a") as f:
        f.write(",".join(["999"] * len(csv_rows(out / "metrics.csv")[0])) + "\n")
    (out / "training_state.json").write_text(json.dumps(state))
    assert main(train_args(run_dir, tiny_policy, out, "--algo", "grpo", "--epochs", "1")) == 0
    assert len(csv_rows(out / "metrics.csv")) == steps
