"""Training metrics: one CSV row per optimiser step, and a PNG with one panel per metric."""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping
from pathlib import Path


class MetricsLog:
    """Appends rows to ``path`` (CSV with a header). Columns are fixed by the first row written,
    or by the existing file's header when resuming."""

    def __init__(self, path: str | Path, *, keep_steps: int | None = None) -> None:
        """``keep_steps``: when resuming from the checkpoint of that step, rows of later steps (written
        after it, before a crash) are dropped so that they are not repeated."""
        self.path = Path(path)
        self.columns: list[str] | None = None
        if self.path.is_file() and self.path.stat().st_size:
            with self.path.open(newline="") as handle:
                rows = list(csv.reader(handle))
            self.columns = rows[0] if rows else None
            if keep_steps is not None and self.columns and "step" in self.columns:
                at = self.columns.index("step")
                kept = [rows[0]] + [r for r in rows[1:] if len(r) == len(self.columns) and float(r[at]) <= keep_steps]
                if len(kept) != len(rows):
                    tmp = self.path.with_suffix(".csv.tmp")
                    with tmp.open("w", newline="") as handle:
                        csv.writer(handle).writerows(kept)
                    tmp.replace(self.path)

    def write(self, row: Mapping[str, float]) -> None:
        new_file = self.columns is None
        if new_file:
            self.columns = list(row)
        missing = [c for c in self.columns if c not in row]
        if missing:
            raise ValueError(f"metrics row lacks columns {missing} of {self.path}")
        with self.path.open("a", newline="") as handle:
            writer = csv.writer(handle)
            if new_file:
                writer.writerow(self.columns)
            writer.writerow([row[c] for c in self.columns])
            handle.flush()
            os.fsync(handle.fileno())

    def read(self) -> dict[str, list[float]]:
        if not self.path.is_file():
            return {}
        with self.path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        return {c: [float(r[c]) for r in rows] for c in (rows[0].keys() if rows else ())}


def plot_metrics(csv_path: str | Path, png_path: str | Path, x: str = "step") -> Path:
    """One small panel per column of the CSV against ``x``; returns the PNG path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = MetricsLog(csv_path).read()
    columns = [c for c in data if c != x]
    if not columns:
        raise ValueError(f"{csv_path} holds no metric rows to plot")
    cols = min(3, len(columns))
    rows = -(-len(columns) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.8 * rows), squeeze=False)
    for ax, name in zip(axes.flat, columns):
        ax.plot(data[x], data[name], marker="." if len(data[x]) < 50 else None)
        ax.set_title(name)
        ax.set_xlabel(x)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(columns):]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(png_path, dpi=100)
    plt.close(fig)
    return Path(png_path)
