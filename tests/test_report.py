"""``mcts-llm report``: the HTML page of a run, its summary rule, its escaping of model text, and the
page itself in a real headless Chromium (selenium, Debian's chromium and chromedriver)."""

from __future__ import annotations

import json
import re
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("plotly", reason="the report needs plotly: pip install 'mcts-llm[plot]'")

from mcts import Tree, WeightsConfig, save_tree  # noqa: E402
from mcts.cli import main  # noqa: E402
from mcts.report import build_report, curves_html  # noqa: E402
from mcts.report.runfiles import RunFiles  # noqa: E402
from mcts.report.trees import draw_tree, keep_nodes  # noqa: E402
from mcts.run.rundir import RunDir  # noqa: E402
from mcts.train.metrics import MetricsLog  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--window-size=1400,1700")
EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>'
TEACHERS = ("expert", "noisy")


def page_data(html_text: str) -> dict:
    """The JSON the page embeds for its script (figures, tasks, trees)."""
    match = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html_text, re.S)
    assert match, "the page embeds no report-data"
    return json.loads(match.group(1))


def validate_with_plotly(figure_or_trace: dict) -> None:
    import plotly.graph_objects as go

    if "data" in figure_or_trace:
        go.Figure(figure_or_trace)
    else:
        go.Figure(data=[figure_or_trace])


# --- a small hand-made run directory (for what a real search cannot be told to write) -----------


def grown_tree(nodes: int, seed: int = 0, action: str = "1+2=3 (left: 3 4)\n") -> Tree:
    """A tree of about ``nodes`` nodes from the batch protocol; every step at depth 3 is terminal."""
    rng = np.random.default_rng(seed)
    tree = Tree()
    tree.include_q_range(0.0, 1.0)
    while len(tree) < nodes or not tree.terminal_paths():
        sel = tree.select(4)
        parents = [int(leaf) for leaf, kind in zip(sel.leaves, sel.kinds) if kind != 2 for _ in range(2)]
        if parents:
            terminal = tree.nodes(parents).depth >= 2
            tree.expand(parents, rng.random(len(parents)), teachers=rng.integers(0, 2, len(parents)),
                        rewards=terminal.astype(float), terminal=terminal, actions=[action] * len(parents))
        tree.backup(sel.leaves, rng.random(len(sel)))
    return tree


def write_run(out: Path, trees: dict[str, Tree], step_extra: dict | None = None, with_optional: bool = True) -> Path:
    """A run directory with the files `mcts-llm search` writes: trees, rows, weights.csv, summary, config."""
    run = RunDir(out, min_free_mb=0)
    run.create(resume=False)
    run.write_config('task = "countdown"\n\n[search.weights]\nfloor = 0.1\n')
    weights = WeightsConfig().build(list(TEACHERS))
    for i, (task_id, tree) in enumerate(trees.items()):
        save_tree(run.tree_path(task_id), tree, weights)
        path = [int(n) for n in tree.terminal_paths()[0][1:]]
        step = {"text": tree.action(path[0]), "teachers": list(TEACHERS)}
        if with_optional:
            step.update({"tokens": 3, "prior": 0.5, "visits": 1, "q": 0.0, "reward": 0.0,
                         "reward_components": {"verifier": 0.0}, "judge_shift": -0.75, "pruned": True, **(step_extra or {})})
        row = {"task_id": task_id, "prompt": f"Numbers: {EVIL}\n", "steps": [step] + [{"text": tree.action(n)} for n in path[1:]],
               "solved": True, "node_ids": path}
        if with_optional:
            row["version"] = 2
        with open(run.trajectories, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")
        task_row = {"task_id": task_id, "solved": i == 0, "tokens": 10, "simulations": 5, "calls": {"expert": 2}, "seconds": 0.1}
        if with_optional:
            task_row.update({"best": EVIL, "judge_calls": 3, "faults": {"t0": 1}})
        with open(run.tasks, "a", encoding="utf-8") as f:
            f.write(json.dumps(task_row) + "\n")
        run.record_weights(i, task_id, TEACHERS, weights.probabilities())
    if with_optional:
        run.write_summary({"tasks": len(trees), "solved": 1, "tokens": 10 * len(trees), "seconds": 0.2})
    return out


# --- fast tests --------------------------------------------------------------------------------


def test_model_text_is_escaped_everywhere(tmp_path):
    run = write_run(tmp_path / "run", {f"task-{EVIL}": grown_tree(30, action=EVIL + "\n"), "plain": grown_tree(20, seed=1)})
    page = build_report(run, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<script>alert" not in page and "<img src=x" not in page
    data = page_data(page)
    tree = data["trees"][0]
    assert any("&lt;script&gt;" in label for label in tree["labels"])
    assert all("<script" not in str(row) and "<img" not in str(row) for row in tree["customdata"])
    assert data["tasks"][0]["id"] == f"task-{EVIL}"  # raw in JSON: page.js writes it with textContent only
    validate_with_plotly(tree)


def test_optional_keys_reach_the_hover_and_the_summary(tmp_path):
    run = write_run(tmp_path / "run", {"a": grown_tree(25)}, step_extra={"unknown_future_key": [1, 2]})
    files = RunFiles(run)
    note = next(iter(files.step_notes("a").values()))
    assert note.pruned and note.judge == -0.75 and note.teachers == TEACHERS
    page = build_report(run, tmp_path / "r.html").read_text(encoding="utf-8")
    hover = page_data(page)["trees"][0]["customdata"]
    assert any(row[1] == "expert, noisy" and row[7] == "-0.75" and row[8] == "pruned by the judge" for row in hover)
    assert "judge calls" in page and "teacher faults" in page


def test_rows_without_the_optional_keys_still_make_a_page(tmp_path):
    run = write_run(tmp_path / "run", {"a": grown_tree(25), "b": grown_tree(10, seed=2)}, with_optional=False)
    (run / "trees" / "b.tree").write_bytes(b"not a tree")
    data = page_data(build_report(run, tmp_path / "r.html").read_text(encoding="utf-8"))
    assert [t["id"] for t in data["tasks"]] == ["a", "b"]
    assert data["trees"][0] is not None and data["trees"][1] is None
    assert "b.tree" in data["tasks"][1]["note"]
    assert data["figures"]["weights"]["layout"]["shapes"][0]["y0"] == 0.1  # the run's floor


def test_a_large_tree_is_summarised_to_a_connected_top_k_with_the_best_path(tmp_path):
    tree = grown_tree(400, seed=3)
    write_run(tmp_path / "run", {"big": tree})
    table = RunFiles(tmp_path / "run").tree("big")
    kept = keep_nodes(table, 20)
    assert set(table.best_path) <= set(kept.tolist())
    assert all(int(table.parent[n]) in set(kept.tolist()) for n in kept if n != 0)  # connected
    most_visited = np.argsort(-table.visits, kind="stable")[:20]
    assert set(most_visited.tolist()) <= set(kept.tolist()) and len(kept) <= 20 + len(table.best_path)
    drawn = draw_tree(table, {}, "prompt", 20)
    assert drawn.labels[0] == f"root ({len(kept)} of {len(table)} nodes)"
    value = dict(zip(drawn.ids, drawn.values))
    for node, parent in zip(drawn.ids, drawn.parents):  # plotly's branchvalues="total" holds
        if parent:
            siblings = [value[n] for n, p in zip(drawn.ids, drawn.parents) if p == parent]
            assert sum(siblings) <= value[parent]
    assert [d for d, b in zip(drawn.ids, drawn.best) if b] == [str(n) for n in table.best_path]


def test_a_training_run_gets_its_metrics(tmp_path):
    log = MetricsLog(tmp_path / "train" / "metrics.csv")
    (tmp_path / "train").mkdir()
    for step in (1, 2, 3):
        log.write({"step": step, "epoch": 0, "loss": 0.5 / step, "kl": 0.01 * step, "reward": 0.1 * step, "grad_norm": 1.0})
    assert main(["report", str(tmp_path / "train")]) == 0
    data = page_data((tmp_path / "train" / "report.html").read_text(encoding="utf-8"))
    metrics = data["figures"]["metrics"]
    assert {t["name"] for t in metrics["data"]} == {"loss", "kl", "reward", "grad_norm"}
    assert "KL to the reference" in [a["text"] for a in metrics["layout"]["annotations"]]
    assert data["tasks"] == []


def test_curves_html_for_other_scripts(tmp_path):
    curves = {"mcts": [{"budget": 200, "solve_rate": 0.4, "tokens": 180}, {"budget": 100, "solve_rate": 0.3, "tokens": 90}],
              "<b>sampling</b>": [{"budget": 100, "solve_rate": 0.2, "tokens": 100}]}
    page = curves_html(curves, tmp_path / "curves.html").read_text(encoding="utf-8")
    fig = page_data(page)["figures"]["curves"]
    validate_with_plotly(fig)
    assert {t["name"] for t in fig["data"]} == {"mcts", "&lt;b&gt;sampling&lt;/b&gt;"}
    assert [t["x"] for t in fig["data"] if t["name"] == "mcts"][0] == [100, 200]


def test_not_a_run_directory_is_one_clear_error(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    out = capsys.readouterr().out
    assert str(tmp_path) in out.replace("\n", "") and "mcts-llm search" in out


def test_without_plotly_the_error_names_the_extra(tmp_path, monkeypatch):
    run = write_run(tmp_path / "run", {"a": grown_tree(10)})
    monkeypatch.setitem(sys.modules, "plotly.graph_objects", None)
    monkeypatch.setattr("mcts.report.figures._TREE_TEMPLATE", None)
    with pytest.raises(ImportError, match=r"mcts-llm\[plot\]"):
        build_report(run, tmp_path / "r.html")


# --- a real search run, its page, and the page in a browser ----------------------------------------


@pytest.fixture(scope="module")
def search_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "run"
    assert main(["search", "--num-tasks", "4", "--simulations", "16", "--seed", "3", "--out", str(out),
                 "--min-free-mb", "0"]) == 0
    return out


@pytest.mark.slow
def test_report_of_a_real_search_run(search_run, tmp_path, capsys):
    assert main(["report", str(search_run), "-o", str(tmp_path / "r.html"), "--max-nodes", "12"]) == 0
    assert str(tmp_path / "r.html") in capsys.readouterr().out
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert page.count("plotly.js v") >= 1 and "<script src" not in page  # inlined, nothing fetched
    data = page_data(page)
    summary = json.loads((search_run / "summary.json").read_text())
    assert len(data["tasks"]) == summary["tasks"] == 4
    for task, trace in zip(data["tasks"], data["trees"]):
        validate_with_plotly(trace)
        assert trace["type"] == "icicle" and len(trace["ids"]) == len(trace["customdata"]) == task["shown"]
        assert task["shown"] <= task["total"] and (task["total"] <= 12 or task["shown"] < task["total"])
        outlined = [label for label, width in zip(trace["labels"], trace["marker"]["line"]["width"]) if width == 3]
        if task["solved"]:  # the outlined path is the task's answer, ending in a solved step
            assert outlined[-1].startswith("✓") and task["best"].endswith(outlined[-1][2:])
    assert any(t["solved"] for t in data["tasks"]) and not all(t["solved"] for t in data["tasks"])
    weights = data["figures"]["weights"]
    validate_with_plotly(weights)
    assert [t["name"] for t in weights["data"]] == list(summary["teacher_probabilities"])
    assert weights["layout"]["shapes"][0]["y0"] == 0.05  # [search.weights] floor of the run

    assert main(["show", str(search_run), "--html", str(tmp_path / "s.html")]) == 0
    assert (tmp_path / "s.html").stat().st_size > 1_000_000


def chrome_driver(tmp_path: Path):
    """Headless Chromium through Debian's chromedriver (never a downloaded one); skips when absent."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip(f"needs {CHROMIUM} and {CHROMEDRIVER}: apt-get install -y chromium chromium-driver")
    webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium: pip install 'mcts-llm[test]'")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tempfile.mkdtemp(dir=tmp_path, prefix='chromium-')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)


@pytest.mark.slow
def test_the_page_in_headless_chromium(search_run, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select, WebDriverWait

    page = build_report(search_run, tmp_path / "report.html")
    tasks = page_data(page.read_text(encoding="utf-8"))["tasks"]
    driver = chrome_driver(tmp_path)
    try:
        driver.get(page.as_uri())
        wait = WebDriverWait(driver, 30)
        tree = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#tree.js-plotly-plot"))
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#tree g.slice"))
        weights = driver.find_element(By.CSS_SELECTOR, "#fig-weights.js-plotly-plot")
        for element in (tree, weights):
            assert element.size["width"] > 0 and element.size["height"] > 0
        assert len(driver.find_elements(By.CSS_SELECTOR, "#fig-weights .scatterlayer .trace")) == 3

        first = tree.get_attribute("data-task")
        assert first == tasks[0]["id"]
        first_labels = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#tree g.slice text")]
        Select(driver.find_element(By.ID, "task-list")).select_by_value("2")
        wait.until(lambda d: d.find_element(By.ID, "tree").get_attribute("data-task") == tasks[2]["id"])
        assert tasks[2]["id"] in driver.find_element(By.ID, "task-title").text
        assert [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#tree g.slice text")] != first_labels

        search = driver.find_element(By.ID, "task-search")
        search.send_keys(tasks[3]["id"])
        assert [o.get_attribute("value") for o in driver.find_elements(By.CSS_SELECTOR, "#task-list option")] == ["3"]
        search.send_keys(Keys.BACKSPACE * len(tasks[3]["id"]))
        assert len(driver.find_elements(By.CSS_SELECTOR, "#task-list option")) == len(tasks)
        driver.find_element(By.ID, "failed-only").click()
        shown = driver.find_elements(By.CSS_SELECTOR, "#task-list option")
        assert [o.get_attribute("value") for o in shown] == [str(i) for i, t in enumerate(tasks) if not t["solved"]]

        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert not errors, f"console errors: {errors}"
        shot = tmp_path / "report.png"
        assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 0
        print(f"screenshot: {shot}")
    finally:
        driver.quit()
