"""The HTML page: one self-contained file with plotly.js inlined once, the figures as JSON, and the
small picker script (``page.js``). Every piece of text from the run is escaped here."""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from importlib import resources

from mcts.report.figures import plotly_modules

STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table.kv td { padding: 2px 12px 2px 0; vertical-align: top; } table.kv td:first-child { color: #666; }
#tasks { display: flex; gap: 1.5em; align-items: flex-start; }
#picker { flex: 0 0 16em; } #picker input[type=search] { width: 100%; box-sizing: border-box; }
#task-list { width: 100%; height: 30em; margin-top: .5em; font-family: monospace; }
#task-detail { flex: 1 1 auto; min-width: 0; }
#task-info td { white-space: pre-wrap; font-family: monospace; font-size: .9em; }
.plot { width: 100%; min-height: 300px; } .note { color: #666; font-size: .9em; }
pre { background: #f6f6f6; padding: .8em; overflow: auto; max-height: 30em; }
"""

TASKS_SECTION = """
<h2>Tasks</h2>
<div id="tasks">
  <div id="picker">
    <input type="search" id="task-search" placeholder="search task id">
    <label><input type="checkbox" id="failed-only"> failed only</label>
    <select id="task-list" size="20"></select>
    <div id="task-count" class="note"></div>
  </div>
  <div id="task-detail">
    <h2 id="task-title"></h2>
    <table id="task-info" class="kv"></table>
    <p class="note">Icicle of the search tree: tiles sized by visits (unvisited: half a visit), coloured by Q;
    the best path (the task's answer, else the most visited) has a dark outline; ✓ solved end, ✗ unsolved end,
    ⊘ pruned by the judge. Hover a tile for its numbers; click it to zoom in. {rule}</p>
    <p id="tree-note" class="note"></p>
    <div id="tree" class="plot"></div>
  </div>
</div>
"""


def kv_table(rows: Iterable[tuple[str, object]]) -> str:
    """A two-column table; keys and values are escaped."""
    body = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(_fmt(v))}</td></tr>" for k, v in rows)
    return f'<table class="kv">{body}</table>'


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {_fmt(v)}" for k, v in value.items()) or "-"
    return "-" if value is None else str(value)


def figure_div(name: str, title: str) -> str:
    """A heading and an empty div that page.js fills with figure ``name``."""
    return f'<h2>{html.escape(title)}</h2><div id="fig-{html.escape(name)}" class="plot"></div>'


def tasks_section(rule: str) -> str:
    return TASKS_SECTION.replace("{rule}", html.escape(rule))


def details(summary: str, text: str) -> str:
    return f"<details><summary>{html.escape(summary)}</summary><pre>{html.escape(text)}</pre></details>"


def render_page(title: str, body: str, data: Mapping) -> str:
    """The whole document. ``data`` (figures, tasks, trees) is embedded as inert JSON that
    plotly's encoder made safe inside a script element (``<``, ``>`` and ``/`` escaped)."""
    _, _, pio = plotly_modules()
    from plotly.offline import get_plotlyjs

    script = resources.files("mcts.report").joinpath("page.js").read_text(encoding="utf-8")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style>"
        f"<script>{get_plotlyjs()}</script></head>\n<body>\n<h1>{html.escape(title)}</h1>\n{body}\n"
        f'<script type="application/json" id="report-data">{pio.json.to_json_plotly(dict(data))}</script>\n'
        f"<script>{script}</script>\n</body></html>\n"
    )
