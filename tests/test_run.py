"""The run directory: incremental crash-safe writes, resume without duplicates, low-disk stops, config errors."""

from __future__ import annotations

import dataclasses
import json

import pytest
from countdown_fakes import OracleTeacher

from mcts.run.config import RunConfig, load_run_config, replace, to_toml
from mcts.run.rundir import DiskFullError, RunDir
from mcts.run.runner import run_search
from mcts.search import Budget, SearchConfig
from mcts.tasks.countdown_solver import generate_puzzles
from mcts.tasks.searchable import CountdownTask
from mcts.tree_io import load_tree


def setup_run(tmp_path, n=3, **kw):
    config = RunConfig(out=str(tmp_path / "run"), min_free_mb=0, search=SearchConfig(budget=Budget(simulations=16)), **kw)
    tasks = [CountdownTask(p) for p in generate_puzzles(n, seed=7)]
    teachers = [OracleTeacher("good", 0.9), OracleTeacher("bad", 0.1)]
    return config, tasks, teachers


def rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_run_writes_every_output(tmp_path):
    config, tasks, teachers = setup_run(tmp_path)
    totals = run_search(config, tasks, teachers)
    run = RunDir(config.out)
    assert [r["task_id"] for r in rows(run.tasks)] == [t.id for t in tasks]
    trajectories = rows(run.trajectories)
    assert trajectories and {r["task_id"] for r in trajectories} <= {t.id for t in tasks}
    step = trajectories[0]["steps"][0]
    assert {"text", "tokens", "teachers", "prior", "visits", "q", "reward", "reward_components", "judge_shift"} <= set(step)
    assert len(trajectories[0]["node_ids"]) == len(trajectories[0]["steps"]) == len(trajectories[0]["parent_ids"])
    summary = json.loads(run.summary.read_text())
    assert summary["tasks"] == 3 and summary["solved"] == totals.solved
    assert len(run.weights_csv.read_text().splitlines()) == 1 + 3
    tree, weights = load_tree(run.tree_path(tasks[0].id))
    assert len(tree) > 1 and weights.names == ("good", "bad")
    assert load_run_config(run.config).search.budget.simulations == 16


def test_resume_skips_finished_tasks_and_repairs_a_torn_write(tmp_path):
    config, tasks, teachers = setup_run(tmp_path)
    run_search(config, tasks[:2], teachers)
    run = RunDir(config.out)
    before = rows(run.trajectories)
    # a crash in the middle of the third task: its trajectories written, its ledger row torn
    with open(run.trajectories, "a") as f:
        f.write(json.dumps({"task_id": tasks[2].id, "steps": []}) + "\n")
    with open(run.tasks, "a") as f:
        f.write('{"task_id": "' + tasks[2].id + '", "sol')
    with pytest.raises(FileExistsError, match="--resume"):
        run_search(config, tasks, teachers)
    totals = run_search(config, tasks, teachers, resume=True)
    assert [r["task_id"] for r in rows(run.tasks)] == [t.id for t in tasks]
    after = rows(run.trajectories)
    assert after[: len(before)] == before
    assert all(r["steps"] for r in after), "the half-written task's rows must be gone"
    assert totals.tasks == 3
    again = run_search(config, tasks, teachers, resume=True)
    assert len(rows(run.tasks)) == 3 and again.tasks == 3


def test_low_disk_stops_cleanly_and_keeps_what_was_written(tmp_path, monkeypatch):
    config, tasks, teachers = setup_run(tmp_path)
    free = iter([10_000.0, 10_000.0, 10_000.0, 10_000.0, 1.0, 1.0, 1.0, 1.0])
    monkeypatch.setattr(RunDir, "free_mb", lambda self: next(free, 1.0))
    config = RunConfig(**{**config.__dict__, "min_free_mb": 100.0})
    totals = run_search(config, tasks, teachers)
    assert totals.stopped and "free" in totals.stopped
    run = RunDir(config.out)
    assert 1 <= len(rows(run.tasks)) < 3
    assert json.loads(run.summary.read_text())["stopped"] == totals.stopped


def test_not_enough_disk_to_start(tmp_path):
    config, tasks, teachers = setup_run(tmp_path)
    config = RunConfig(**{**config.__dict__, "min_free_mb": 1e12})
    with pytest.raises(DiskFullError, match="MiB free"):
        run_search(config, tasks, teachers)


def test_config_file_errors_name_the_problem(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("task = 'countdown'\n[search.budget]\nsimulatoins = 3\n")
    with pytest.raises(ValueError, match=r"simulatoins.*\[search.budget\]|simulatoins"):
        load_run_config(bad)
    bad.write_text("task = [")
    with pytest.raises(ValueError, match="not valid TOML"):
        load_run_config(bad)
    with pytest.raises(FileNotFoundError):
        load_run_config(tmp_path / "missing.toml")
    with pytest.raises(ValueError, match="budget.simulations"):
        load_run_config(None, {"search.budget.simulations": -1})


def test_resolved_config_round_trips(tmp_path):
    config = load_run_config(None, {"search.budget.tokens": 500, "teachers": ["hf:a", "hf:b"], "rewards": {"bleu": 0.5}})
    path = tmp_path / "c.toml"
    path.write_text(to_toml(config))
    assert load_run_config(path) == config


def test_the_written_config_lists_every_key_unset_ones_commented():
    from dataclasses import fields, is_dataclass

    text = to_toml(RunConfig())

    def keys(config, table=""):
        for f in fields(config):
            value = getattr(config, f.name)
            if is_dataclass(value):
                yield from keys(value, f"{table}.{f.name}" if table else f.name)
            else:
                yield table, f.name, value

    sections = {"": text.split("\n[", 1)[0]}
    for block in text.split("\n[")[1:]:
        head, _, body = block.partition("]\n")
        sections[head] = body
    for table, name, value in keys(RunConfig()):
        body = sections.get(table, "")
        if value is None:
            assert f"# {name} = <" in body, f"{table}.{name} (unset) is missing from the written config"
        elif not isinstance(value, dict):
            assert f"\n{name} = " in "\n" + body, f"{table}.{name} is missing from the written config"


@pytest.mark.parametrize(
    ("toml", "key"),
    [("seed = 1.5", "seed"), ("num_tasks = true", "num_tasks"), ("min_free_mb = nan", "min_free_mb"),
     ("concurrent_tasks = 2.5", "concurrent_tasks"), ("[search.budget]\nsimulations = \"many\"", "simulations"),
     ("teachers = [1, 2]", "teachers")],
)
def test_values_of_the_wrong_type_are_errors_naming_the_key(tmp_path, toml, key):
    path = tmp_path / "run.toml"
    path.write_text(toml + "\n")
    with pytest.raises(ValueError, match=key):
        load_run_config(path)


def test_config_errors_keep_their_table_names_on_the_terminal(tmp_path, capsys):
    from mcts.cli import main

    path = tmp_path / "run.toml"
    path.write_text("[search]\nsimulatons = 3\n")
    assert main(["search", "--config", str(path), "--out", str(tmp_path / "o")]) == 2
    assert "in [search]" in capsys.readouterr().err


def test_an_impossible_number_of_generated_puzzles_is_refused_at_once(tmp_path, capsys):
    from mcts.cli import main

    assert main(["search", "--num-tasks", "10000000000", "--out", str(tmp_path / "o")]) == 2
    assert "at most" in capsys.readouterr().err


def test_resume_refuses_other_settings_unless_allowed_and_keeps_the_config(tmp_path):
    config, tasks, teachers = setup_run(tmp_path)
    run_search(config, tasks[:2], teachers)
    run = RunDir(config.out)
    written = run.config.read_text()
    bigger = replace(config, search=dataclasses.replace(config.search, budget=Budget(simulations=32)), seed=5)
    with pytest.raises(ValueError, match=r"search\.budget\.simulations: 16 -> 32.*seed: 0 -> 5|seed: 0 -> 5"):
        run_search(bigger, tasks, teachers, resume=True)
    grown = replace(config, search=dataclasses.replace(config.search, budget=Budget(simulations=32)))
    run_search(grown, tasks, teachers, resume=True, allow_config_change=["search.budget.simulations"])
    assert run.config.read_text() == written  # the run's own config is never overwritten
    assert len(rows(run.tasks)) == 3


def test_a_cut_trajectories_file_is_caught_by_readers_and_redone_on_resume(tmp_path):
    from mcts.train.tree_data import load_records

    config, tasks, teachers = setup_run(tmp_path, n=4)
    run_search(config, tasks, teachers)
    run = RunDir(config.out)
    lines = run.trajectories.read_text().splitlines(keepends=True)
    assert len(lines) > 4
    run.trajectories.write_text("".join(lines[: len(lines) // 2]))  # half the file lost
    with pytest.raises(ValueError, match="lacks paths"):
        load_records(run.path)
    totals = run_search(config, tasks, teachers, resume=True)
    assert totals.tasks == 4
    load_records(run.path)  # whole again: the tasks that lost paths were searched again


def test_a_damaged_middle_line_is_a_clear_error_and_resume_redoes_its_task_once_removed(tmp_path):
    config, tasks, teachers = setup_run(tmp_path, n=4)
    run_search(config, tasks, teachers)
    run = RunDir(config.out)
    lines = run.trajectories.read_text().splitlines(keepends=True)
    damaged = json.loads(lines[2])["task_id"]
    run.trajectories.write_text("".join([*lines[:2], '{"garbled": tru\n', *lines[3:]]))
    with pytest.raises(ValueError, match=r"trajectories.jsonl:3: not a JSON row .* remove that line"):
        run_search(config, tasks, teachers, resume=True)
    run.trajectories.write_text("".join([*lines[:2], *lines[3:]]))  # the user removes the line
    totals = run_search(config, tasks, teachers, resume=True)
    assert totals.tasks == 4
    ledger = [r["task_id"] for r in rows(run.tasks)]
    assert sorted(ledger) == sorted(t.id for t in tasks) and damaged in ledger  # searched again, once
