"""A run directory as one self-contained HTML page (``mcts-llm report``): the run summary, every task's
search tree as a plotly icicle with a task picker, the teacher weights over time, and a training run's
metrics. plotly (the ``plot`` extra) is needed only when a page is built.

``build_report(run_dir, out)`` writes a run's page; ``curves_html(curves, path)`` writes a page of
solve-rate curves for other scripts (e.g. the search-quality benchmark).
"""

from mcts.report.build import build_report, curves_html
from mcts.report.trees import DEFAULT_MAX_NODES

__all__ = ["DEFAULT_MAX_NODES", "build_report", "curves_html"]
