"""Report figures. Uses matplotlib's object API on the Agg canvas, so no display is needed
and no global pyplot state is touched (safe inside the Gradio server and tests)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mushroom.atomic import write_atomic


def plot_confusion_matrix(cm: np.ndarray | list, classes: Sequence[str], path: str | Path,
                          title: str = "Confusion matrix") -> Path:
    """Write a confusion matrix PNG: colour = share of the true row, text = photo count.

    Row-normalized colour keeps rare genera (13 Entoloma vs 892 Amanita) as readable as
    common ones; the counts stay visible so nobody mistakes 1/1 for 100/100.

    Args:
        cm: (C, C) counts, rows = true class, columns = predicted class.
        classes: class names in row/column order.
        path: PNG file to write (whole or not at all); parent folders are created.
        title: figure title.

    Returns:
        The written path.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    cm = np.asarray(cm, dtype=float)
    rows = cm.sum(axis=1, keepdims=True)
    share = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
    n = len(classes)
    side = 1.6 + 0.62 * n
    fig = Figure(figsize=(side + 1.2, side), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    image = ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of true class")
    _write_counts(ax, cm, share)
    _label_axes(ax, classes, rows[:, 0], title)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # the format is named: the temp file's name ends in .tmp, not .png
    return write_atomic(path, lambda f: fig.savefig(f, format="png"))


def _write_counts(ax, cm: np.ndarray, share: np.ndarray) -> None:
    """Write each non-zero cell's photo count, white on the dark (over half) cells."""
    n = len(cm)
    for i in range(n):
        for j in range(n):
            if cm[i, j]:
                ax.text(j, i, f"{int(cm[i, j])}", ha="center", va="center", fontsize=8,
                        color="white" if share[i, j] > 0.5 else "black")


def _label_axes(ax, classes: Sequence[str], totals: np.ndarray, title: str) -> None:
    """Name the genera on both axes (each true row with its photo count) and the title."""
    n = len(classes)
    ax.set_xticks(range(n), labels=list(classes), rotation=45, ha="right")
    ax.set_yticks(range(n), labels=[f"{c} ({int(r)})" for c, r in zip(classes, totals)])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true (photos)")
    ax.set_title(title)
