"""Standalone, accessible SVG charts of a model version: training curve, confusion matrix.

Pure functions returning SVG text. Each chart has ``role="img"``, a ``<title>`` and a
``<desc>`` that states the figures in words, and text labels on its axes. Colours come from
``currentColor`` and presentation attributes (no ``style`` attributes, no ``<style>``
element, no script), so the charts follow the page's text colour in dark mode and pass a
strict Content-Security-Policy when inlined; CSS classes (``chart-loss``,
``chart-accuracy``, ``chart-cell``...) let the site's stylesheet recolour them. The two
curves also differ in dash pattern and marker, not only in colour.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape

from apps.core.charts import nice_ceiling, svg_attr, svg_id, svg_open


def training_curve_svg(history: Sequence[dict[str, Any]], *, title: str = "Training curve") -> str:
    """Train loss (left axis, solid) and eval accuracy (right axis 0-1, dashed) over steps.

    ``history`` is ``ModelVersion.metrics["history"]``: ``{"step", "train_loss",
    "eval_accuracy"?}`` points. An empty history gives a chart that says so.
    """
    width, height = 640, 320
    left, right, top, bottom = 64, 64, 40, 56
    plot_w, plot_h = width - left - right, height - top - bottom
    ident = svg_id("curve", list(history))
    losses = [(p["step"], float(p["train_loss"])) for p in history if p.get("train_loss") is not None]
    accuracies = [(p["step"], float(p["eval_accuracy"])) for p in history if p.get("eval_accuracy") is not None]
    if accuracies:
        best_step, best_accuracy = max(accuracies, key=lambda sa: (sa[1], -sa[0]))
        desc = (
            f"Train loss from {losses[0][1]:.3f} to {losses[-1][1]:.3f} and eval accuracy from "
            f"{accuracies[0][1]:.1%} to {accuracies[-1][1]:.1%} over {history[-1]['step']} steps; "
            f"best eval accuracy {best_accuracy:.1%} at step {best_step}."
            if losses
            else f"Eval accuracy over {history[-1]['step']} steps; best {best_accuracy:.1%} at step {best_step}."
        )
    else:
        desc = "No training history was recorded."
    out = svg_open(ident, width=width, height=height, title=title, desc=desc, css_class="chart chart-training-curve")
    out.append(
        f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="14" font-weight="600">{escape(title)}</text>'
    )
    if not history:
        out.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle">No training history</text></svg>')
        return "\n".join(out)
    max_step = max(p["step"] for p in history) or 1
    max_loss = nice_ceiling(max((loss for _, loss in losses), default=1.0))

    def x(step: float) -> float:
        return round(left + plot_w * step / max_step, 2)

    def y_loss(loss: float) -> float:
        return round(top + plot_h * (1 - loss / max_loss), 2)

    def y_acc(accuracy: float) -> float:
        return round(top + plot_h * (1 - accuracy), 2)

    # Grid and axes.
    out.append('<g class="chart-grid" stroke="currentColor" stroke-opacity="0.15" stroke-width="1">')
    for i in range(6):
        gy = top + plot_h * i / 5
        out.append(f'<line x1="{left}" y1="{gy}" x2="{left + plot_w}" y2="{gy}"/>')
    out.append("</g>")
    out.append(
        f'<g class="chart-axes" stroke="currentColor" stroke-width="1"><line x1="{left}" y1="{top}" x2="{left}" '
        f'y2="{top + plot_h}"/><line x1="{left + plot_w}" y1="{top}" x2="{left + plot_w}" y2="{top + plot_h}"/>'
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}"/></g>'
    )
    out.append('<g class="chart-ticks" font-size="11">')
    for i in range(6):
        gy = top + plot_h * (1 - i / 5)
        out.append(f'<text x="{left - 6}" y="{gy + 4}" text-anchor="end">{max_loss * i / 5:.2f}</text>')
        out.append(f'<text x="{left + plot_w + 6}" y="{gy + 4}">{i * 20}%</text>')
    for i in range(5):
        step = round(max_step * i / 4)
        out.append(f'<text x="{x(step)}" y="{top + plot_h + 16}" text-anchor="middle">{step}</text>')
    out.append("</g>")
    out.append(f'<text x="{left + plot_w / 2}" y="{height - 22}" text-anchor="middle">Training step</text>')
    out.append(
        f'<text x="16" y="{top + plot_h / 2}" text-anchor="middle" transform="rotate(-90 16 {top + plot_h / 2})">'
        "Train loss</text>"
    )
    out.append(
        f'<text x="{width - 14}" y="{top + plot_h / 2}" text-anchor="middle" '
        f'transform="rotate(90 {width - 14} {top + plot_h / 2})">Eval accuracy</text>'
    )
    if losses:
        points = " ".join(f"{x(s)},{y_loss(v)}" for s, v in losses)
        out.append(
            f'<polyline class="chart-loss" points="{points}" fill="none" stroke="currentColor" stroke-width="2" '
            'stroke-linejoin="round"/>'
        )
    if accuracies:
        points = " ".join(f"{x(s)},{y_acc(v)}" for s, v in accuracies)
        out.append(
            f'<polyline class="chart-accuracy" points="{points}" fill="none" stroke="currentColor" stroke-width="2" '
            'stroke-dasharray="6 4" stroke-linejoin="round"/>'
        )
        out.append('<g class="chart-accuracy-points">')
        for s, v in accuracies:
            out.append(f'<circle cx="{x(s)}" cy="{y_acc(v)}" r="3"><title>step {s}: {v:.1%}</title></circle>')
        out.append("</g>")
    # Legend, below the plot.
    ly = height - 6
    out.append(
        f'<g class="chart-legend" font-size="11"><line x1="{left}" y1="{ly - 4}" x2="{left + 24}" y2="{ly - 4}" '
        f'stroke="currentColor" stroke-width="2"/><text x="{left + 30}" y="{ly}">train loss</text>'
        f'<line x1="{left + 130}" y1="{ly - 4}" x2="{left + 154}" y2="{ly - 4}" stroke="currentColor" '
        f'stroke-width="2" stroke-dasharray="6 4"/><circle cx="{left + 142}" cy="{ly - 4}" r="3"/>'
        f'<text x="{left + 160}" y="{ly}">eval accuracy</text></g>'
    )
    out.append("</svg>")
    return "\n".join(out)


def confusion_matrix_svg(
    matrix: Sequence[Sequence[int]], labels: Sequence[str], *, title: str = "Confusion matrix"
) -> str:
    """A labelled grid: rows are the true label, columns the predicted one, with counts.

    Cells are shaded by their share of the row (the recall view), at most 40 % opacity so
    the count stays readable in light and dark themes; the diagonal is in bold.
    """
    n = len(labels)
    if len(matrix) != n or any(len(row) != n for row in matrix):
        raise ValueError("the matrix must be square with one row and column per label")
    cell = max(44, min(90, 360 // max(1, n)))
    label_w = max(70, min(160, 8 * max((len(label) for label in labels), default=4) + 16))
    left, top = label_w + 28, 72
    width = left + cell * n + 16
    height = top + cell * n + 28
    ident = svg_id("cm", [list(map(list, matrix)), list(labels)])
    total = sum(sum(row) for row in matrix)
    correct = sum(matrix[i][i] for i in range(n))
    parts = [f"{labels[i]}: {matrix[i][i]} of {sum(matrix[i])} right" for i in range(n)]
    desc = f"Rows are the true label, columns the predicted label. {correct} of {total} correct. " + "; ".join(parts)
    out = svg_open(
        ident, width=width, height=height, title=title, desc=desc + ".", css_class="chart chart-confusion-matrix"
    )
    out.append(
        f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="600">{escape(title)}</text>'
    )
    out.append(f'<text x="{left + cell * n / 2}" y="42" text-anchor="middle" font-size="11">Predicted label</text>')
    out.append(
        f'<text x="12" y="{top + cell * n / 2}" text-anchor="middle" font-size="11" '
        f'transform="rotate(-90 12 {top + cell * n / 2})">True label</text>'
    )
    for j, label in enumerate(labels):
        out.append(
            f'<text class="chart-label" x="{left + cell * j + cell / 2}" y="{top - 10}" text-anchor="middle" '
            f'font-size="11">{escape(label)}</text>'
        )
    for i, label in enumerate(labels):
        out.append(
            f'<text class="chart-label" x="{left - 8}" y="{top + cell * i + cell / 2 + 4}" text-anchor="end" '
            f'font-size="11">{escape(label)}</text>'
        )
        row_total = sum(matrix[i]) or 1
        for j in range(n):
            count = int(matrix[i][j])
            share = count / row_total
            cx, cy = left + cell * j, top + cell * i
            kind = "chart-cell chart-cell-correct" if i == j else "chart-cell"
            out.append(
                f'<rect class="{kind}" x="{cx}" y="{cy}" width="{cell}" height="{cell}" fill="currentColor" '
                f'fill-opacity="{0.4 * share:.3f}" stroke="currentColor" stroke-opacity="0.3">'
                f"<title>true {svg_attr(label)}, predicted {svg_attr(labels[j])}: "
                f"{count} ({share:.0%} of the row)</title>"
                "</rect>"
            )
            weight = ' font-weight="700"' if i == j else ""
            out.append(
                f'<text x="{cx + cell / 2}" y="{cy + cell / 2 + 5}" text-anchor="middle" font-size="14"{weight}>'
                f"{count}</text>"
            )
    out.append("</svg>")
    return "\n".join(out)
