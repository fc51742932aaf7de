"""The report's charts, built with plotly and handed to the page as plotly figure JSON (dicts).

plotly is imported lazily (``plotly_modules``) so that the rest of mcts-llm runs without it; the
error names the extra to install.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from mcts.report.runfiles import WeightsTable
from mcts.report.trees import DrawnTree

TREE_HOVER = (
    "<b>%{customdata[0]}</b><br>teachers: %{customdata[1]}<br>"
    "prior %{customdata[2]} · visits %{customdata[3]} · Q %{customdata[4]}<br>"
    "reward %{customdata[5]} (%{customdata[6]})<br>judge %{customdata[7]} · %{customdata[8]}<extra></extra>"
)
METRIC_TITLES = {
    "loss": "loss", "kl": "KL to the reference", "reward": "reward", "greedy": "greedy solve rate",
    "greedy_solve_rate": "greedy solve rate", "solve_rate": "solve rate", "clip_fraction": "clip fraction",
    "grad_norm": "gradient norm", "value_loss": "value loss",
}
X_COLUMNS = ("round", "step", "budget")


def plotly_modules():
    """(plotly.graph_objects, plotly.subplots, plotly.io); ImportError naming the extra when missing."""
    try:
        import plotly.graph_objects as go
        import plotly.io as pio
        from plotly import subplots
    except ImportError as err:
        raise ImportError(
            "the HTML report needs plotly: pip install 'mcts-llm[plot]' (or pip install 'plotly>=5')"
        ) from err
    return go, subplots, pio


_TREE_TEMPLATE: dict | None = None


def _tree_template() -> dict:
    """The icicle trace's fixed settings, validated by plotly once per process."""
    global _TREE_TEMPLATE
    if _TREE_TEMPLATE is None:
        go, _, _ = plotly_modules()
        _TREE_TEMPLATE = go.Icicle(
            branchvalues="total", hovertemplate=TREE_HOVER, tiling=dict(orientation="h"), pathbar=dict(visible=True),
            sort=False, marker=dict(colorscale="RdYlGn", showscale=True, colorbar=dict(title=dict(text="Q"), thickness=12)),
        ).to_plotly_json()
    return _TREE_TEMPLATE


def tree_trace(drawn: DrawnTree, q_range: tuple[float, float]) -> dict:
    """One task's tree as a plotly icicle trace: tiles sized by visits, coloured by Q, the best path
    outlined. The per-node arrays go into the validated template (``go.Icicle`` per task costs ~10 ms
    of validation, a tenth of a 1,000-task report's build time); the tests validate a whole trace."""
    template = _tree_template()
    marker = dict(template["marker"], colors=drawn.q, cmin=q_range[0], cmax=q_range[1],
                  line=dict(width=[3 if b else 0.5 for b in drawn.best], color=["#1a1a1a" if b else "#ffffff" for b in drawn.best]))
    return dict(template, ids=drawn.ids, parents=drawn.parents, labels=drawn.labels, values=drawn.values,
                customdata=drawn.hover, marker=marker)


def tree_layout() -> dict:
    go, _, _ = plotly_modules()
    return go.Layout(margin=dict(t=30, l=5, r=5, b=5), height=560).to_plotly_json()


def weights_figure(table: WeightsTable, floor: float | None) -> dict:
    """Teacher probabilities after each finished task, one line per teacher, the floor dashed."""
    go, _, _ = plotly_modules()
    fig = go.Figure()
    x = [i + 1 for i in table.task_index]
    for name in table.names:
        fig.add_trace(go.Scatter(x=x, y=table.probs[name], mode="lines+markers" if len(x) <= 60 else "lines", name=name,
                                 text=table.task_ids, hovertemplate="%{text}: %{y:.3f}"))
    if floor is not None:
        fig.add_hline(y=floor, line_dash="dash", line_color="#888", annotation_text=f"floor {floor:g}",
                      annotation_position="bottom right")
    fig.update_layout(title="teacher weights", xaxis_title="tasks finished", yaxis_title="probability",
                      yaxis_range=[0, 1], height=380, margin=dict(t=50, l=50, r=20, b=40))
    return fig.to_plotly_json()


def series_figure(columns: Mapping[str, Sequence[float]], title: str, x_name: str | None = None) -> dict:
    """One small panel per column against ``x_name`` (first of round/step/budget present, else the row)."""
    go, subplots, _ = plotly_modules()
    x_name = x_name or next((c for c in X_COLUMNS if c in columns), None)
    names = [c for c in columns if c != x_name and c != "epoch" and any(not math.isnan(v) for v in columns[c])]
    if not names:
        raise ValueError(f"{title}: no numeric columns to plot besides {x_name!r}")
    x = list(columns[x_name]) if x_name else list(range(1, len(next(iter(columns.values()))) + 1))
    cols = min(3, len(names))
    rows = -(-len(names) // cols)
    fig = subplots.make_subplots(rows=rows, cols=cols, subplot_titles=[METRIC_TITLES.get(n, n) for n in names])
    for k, name in enumerate(names):
        fig.add_trace(go.Scatter(x=x, y=list(columns[name]), mode="lines+markers" if len(x) <= 60 else "lines",
                                 name=name, showlegend=False), row=k // cols + 1, col=k % cols + 1)
        fig.update_xaxes(title_text=x_name or "row", row=k // cols + 1, col=k % cols + 1)
    fig.update_layout(title=title, height=260 * rows + 60, margin=dict(t=70, l=50, r=20, b=40))
    return fig.to_plotly_json()


def curves_figure(curves: Mapping[str, Sequence[Mapping[str, float]]]) -> dict:
    """Solve rate (and every other numeric field) against budget, one line per method."""
    go, subplots, _ = plotly_modules()
    fields = sorted({k for points in curves.values() for p in points for k, v in p.items()
                     if k != "budget" and isinstance(v, (int, float)) and not isinstance(v, bool)},
                    key=lambda k: (k != "solve_rate", k))
    if not fields:
        raise ValueError("curves hold no numeric fields besides 'budget'; expected e.g. {'budget', 'solve_rate', 'tokens'}")
    cols = min(2, len(fields))
    rows = -(-len(fields) // cols)
    fig = subplots.make_subplots(rows=rows, cols=cols, subplot_titles=fields)
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
    for m, (method, points) in enumerate(curves.items()):
        points = sorted((p for p in points if "budget" in p), key=lambda p: p["budget"])
        for k, name in enumerate(fields):
            fig.add_trace(go.Scatter(x=[p["budget"] for p in points], y=[p.get(name) for p in points], name=str(method),
                                     legendgroup=str(method), showlegend=k == 0, mode="lines+markers",
                                     line_color=palette[m % len(palette)]),
                          row=k // cols + 1, col=k % cols + 1)
            fig.update_xaxes(title_text="budget", row=k // cols + 1, col=k % cols + 1)
    fig.update_layout(title="search quality against budget", height=320 * rows + 80)
    return fig.to_plotly_json()
