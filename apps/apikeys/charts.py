"""Accessible SVG charts of one key's usage: requests per day, errors by type, latency
(p50 and p95, split into queue wait and inference) and the month's quota burn-down.

Pure functions returning SVG text, built on ``apps/core/charts.py``: each chart
has ``role="img"``, a ``<title>`` and a ``<desc>`` that states the figures in words, text
labels on its axes, and a ``<title>`` tooltip on every bar and point. Colours come from
``currentColor`` and CSS classes (``chart-ok``, ``chart-error``, ``chart-queue``,
``chart-inference``, ``chart-actual``, ``chart-ideal``; static/css/keys.css), never
``style`` attributes, so they pass the strict Content-Security-Policy when inlined and
follow dark mode. Series differ in lightness and are separated by a gap, not only by hue;
the pages also show every figure in a table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _

from apps.core.charts import nice_ceiling, svg_id, svg_open

WIDTH = 360


def intervals(ceiling: float) -> int:
    """Grid intervals that give round tick values: 20 -> 5, 10, 15, 20; 10 -> 2, 4, ... 10."""
    leading = ceiling / 10 ** math.floor(math.log10(ceiling))
    return 4 if math.isclose(leading, 2) else 5


def _grid_and_ticks(ceiling: float, *, left: float, top: float, plot_w: float, plot_h: float) -> list[str]:
    n = intervals(ceiling)
    out = ['<g class="chart-grid" stroke="currentColor" stroke-opacity="0.15" stroke-width="1">']
    for i in range(n + 1):
        gy = round(top + plot_h * i / n, 2)
        out.append(f'<line x1="{left}" y1="{gy}" x2="{left + plot_w}" y2="{gy}"/>')
    out.append('</g><g class="chart-ticks" font-size="11">')
    for i in range(n + 1):
        gy = round(top + plot_h * (1 - i / n), 2)
        out.append(f'<text x="{left - 6}" y="{gy + 4}" text-anchor="end">{compact(ceiling * i / n)}</text>')
    out.append("</g>")
    return out


def compact(value: float) -> str:
    """A short axis label: 950, 1.5k, 10k, 2M."""
    for size, suffix in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")):
        if abs(value) >= size:
            scaled = value / size
            return f"{scaled:.1f}".rstrip("0").rstrip(".") + suffix
    return f"{value:.1f}".rstrip("0").rstrip(".") if value % 1 else str(int(value))


@dataclass(frozen=True)
class Series:
    name: str
    css_class: str
    values: Sequence[float | None]


def _legend(series: Sequence[Series], y: float, left: float) -> str:
    parts, x = ['<g class="chart-legend" font-size="11">'], left
    for item in series:
        parts.append(f'<rect class="{item.css_class}" x="{x}" y="{y - 9}" width="10" height="10" rx="2"/>')
        parts.append(f'<text x="{x + 14}" y="{y}">{escape(item.name)}</text>')
        x += 24 + 7 * len(item.name)
    parts.append("</g>")
    return "".join(parts)


def stacked_bars_svg(
    *, title: str, desc: str, labels: Sequence[str], series: Sequence[Series], unit: str, y_label: str
) -> str:
    """One bar per label (a day), its segments stacked bottom-up in ``series`` order.

    ``unit`` follows each figure in the tooltips ("ms", or "" for counts). Missing values
    (None) count as 0 and read "no data" in the tooltip.
    """
    height, left, right, top, bottom = 220, 40, 8, 12, 52
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    ident = svg_id("bars", [title, list(labels), [[s.name, list(s.values)] for s in series]])
    totals = [sum(s.values[i] or 0 for s in series) for i in range(len(labels))]
    ceiling = nice_ceiling(max(totals, default=0))
    if not unit:  # counts: whole-number ticks
        ceiling = max(ceiling, 5)
    out = svg_open(ident, width=WIDTH, height=height, title=title, desc=desc, css_class="chart chart-bars")
    out += _grid_and_ticks(ceiling, left=left, top=top, plot_w=plot_w, plot_h=plot_h)
    out.append(
        f'<text x="12" y="{top + plot_h / 2}" text-anchor="middle" font-size="11" '
        f'transform="rotate(-90 12 {top + plot_h / 2})">{escape(y_label)}</text>'
    )
    count = max(len(labels), 1)
    slot = plot_w / count
    bar = max(min(slot * 0.7, 40), 2)
    out.append('<g class="chart-bars-data">')
    for i, label in enumerate(labels):
        x = round(left + slot * i + (slot - bar) / 2, 2)
        base: float = top + plot_h
        parts = [
            f"{s.name}: {_figure(s.values[i], unit)}" if s.values[i] is not None else f"{s.name}: {_('no data')}"
            for s in series
        ]
        tip = f"{label}: " + ", ".join(parts)
        # One group per day: its tooltip also covers a day without requests, through a
        # transparent target as tall as the plot.
        out.append(f"<g><title>{escape(tip)}</title>")
        out.append(
            f'<rect class="chart-target" x="{round(left + slot * i, 2)}" y="{top}" width="{round(slot, 2)}" '
            f'height="{plot_h}" fill-opacity="0"/>'
        )
        for item in series:
            value = item.values[i] or 0
            if value <= 0:
                continue
            h = plot_h * value / ceiling
            base -= h
            out.append(
                f'<rect class="{item.css_class}" x="{x}" y="{round(base, 2)}" width="{round(bar, 2)}" '
                f'height="{round(h, 2)}"/>'
            )
        out.append("</g>")
    out.append("</g>")
    out.append(
        f'<line class="chart-axis" x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        'stroke="currentColor" stroke-width="1"/>'
    )
    # Day labels: the first, the last and about every seventh in between.
    step = max(1, round(count / 5))
    shown = sorted({0, count - 1, *range(0, count, step)}) if labels else []
    if len(shown) > 1 and shown[-1] - shown[-2] < step / 2:
        shown.pop(-2)
    out.append('<g class="chart-ticks" font-size="11">')
    for i in shown:
        cx = round(left + slot * i + slot / 2, 2)
        anchor = "end" if i == count - 1 and count > 1 else "middle"
        if anchor == "end":
            cx = left + plot_w
        out.append(f'<text x="{cx}" y="{top + plot_h + 16}" text-anchor="{anchor}">{escape(labels[i])}</text>')
    out.append("</g>")
    out.append(_legend(series, height - 12, left))
    out.append("</svg>")
    return "\n".join(out)


def horizontal_bars_svg(*, title: str, desc: str, items: Sequence[tuple[str, int]], empty: str) -> str:
    """One labelled bar per item (an error type) with its count at the end."""
    row, top = 28, 12
    height = top + row * max(len(items), 1) + 12
    ident = svg_id("hbars", [title, list(items)])
    out = svg_open(ident, width=WIDTH, height=height, title=title, desc=desc, css_class="chart chart-hbars")
    if not items:
        out.append(f'<text x="{WIDTH / 2}" y="{height / 2 + 4}" text-anchor="middle">{escape(empty)}</text></svg>')
        return "\n".join(out)
    label_w = min(170, max(70, 7 * max(len(label) for label, _count in items) + 12))
    left, right = label_w, 48
    plot_w = WIDTH - left - right
    largest = max(count for _label, count in items) or 1
    for i, (label, count) in enumerate(items):
        y = top + row * i
        w = max(plot_w * count / largest, 2)
        out.append(f'<text x="{left - 8}" y="{y + 17}" text-anchor="end" font-size="11">{escape(label)}</text>')
        out.append(
            f'<rect class="chart-error" x="{left}" y="{y + 4}" width="{round(w, 2)}" height="{row - 10}" rx="2">'
            f"<title>{escape(label)}: {escape(number_format(count, force_grouping=True))}</title></rect>"
        )
        out.append(f'<text x="{round(left + w + 6, 2)}" y="{y + 17}" font-size="11">{number_format(count)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def burn_down_svg(
    *, title: str, desc: str, limit: int, days_in_month: int, points: Sequence[tuple[int, int]], labels: dict[str, str]
) -> str:
    """Quota left (y, 0..limit) over the days of the month (x, 0..days_in_month).

    ``points`` are ``(day of month, inputs left at its end)``; the line starts at the full
    quota on day 0. A dashed line shows the even pace that would last the month.
    """
    height, left, right, top, bottom = 220, 44, 12, 12, 60
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    ident = svg_id("burn", [title, limit, days_in_month, list(points)])
    ceiling = max(nice_ceiling(limit), 5) if limit > 0 else 5.0

    def x(day: float) -> float:
        return round(left + plot_w * day / days_in_month, 2)

    def y(value: float) -> float:
        return round(top + plot_h * (1 - value / ceiling), 2)

    out = svg_open(ident, width=WIDTH, height=height, title=title, desc=desc, css_class="chart chart-burn-down")
    out += _grid_and_ticks(ceiling, left=left, top=top, plot_w=plot_w, plot_h=plot_h)
    out.append('<g class="chart-ticks" font-size="11">')
    for day in sorted({1, *range(5, days_in_month, 5), days_in_month}):
        out.append(f'<text x="{x(day)}" y="{top + plot_h + 16}" text-anchor="middle">{day}</text>')
    out.append("</g>")
    out.append(
        f'<text x="{left + plot_w / 2}" y="{top + plot_h + 34}" text-anchor="middle" font-size="11">'
        f"{escape(labels['x'])}</text>"
    )
    out.append(
        f'<text x="12" y="{top + plot_h / 2}" text-anchor="middle" font-size="11" '
        f'transform="rotate(-90 12 {top + plot_h / 2})">{escape(labels["y"])}</text>'
    )
    out.append(
        f'<g class="chart-axes" stroke="currentColor" stroke-width="1"><line x1="{left}" y1="{top}" x2="{left}" '
        f'y2="{top + plot_h}"/><line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}"/></g>'
    )
    out.append(
        f'<line class="chart-ideal" x1="{x(0)}" y1="{y(limit)}" x2="{x(days_in_month)}" y2="{y(0)}" '
        'stroke="currentColor" stroke-width="1.5" stroke-dasharray="6 4"/>'
    )
    if points:
        line = " ".join(f"{x(d)},{y(v)}" for d, v in [(0, limit), *points])
        out.append(
            f'<polyline class="chart-actual" points="{line}" fill="none" stroke="currentColor" stroke-width="2.5" '
            'stroke-linejoin="round"/>'
        )
        out.append('<g class="chart-actual-points">')
        radius = 3 if len(points) <= 12 else 2
        for d, v in points:
            tip = labels["point"] % {"day": d, "left": number_format(v, force_grouping=True)}
            out.append(f'<circle cx="{x(d)}" cy="{y(v)}" r="{radius}"><title>{escape(tip)}</title></circle>')
        out.append("</g>")
    ly = height - 12
    out.append(
        f'<g class="chart-legend" font-size="11"><line class="chart-actual" x1="{left}" y1="{ly - 4}" '
        f'x2="{left + 22}" y2="{ly - 4}" stroke="currentColor" stroke-width="2.5"/>'
        f'<text x="{left + 28}" y="{ly}">{escape(labels["actual"])}</text>'
        f'<line class="chart-ideal" x1="{left + 140}" y1="{ly - 4}" x2="{left + 162}" y2="{ly - 4}" '
        f'stroke="currentColor" stroke-width="1.5" stroke-dasharray="6 4"/>'
        f'<text x="{left + 168}" y="{ly}">{escape(labels["ideal"])}</text></g>'
    )
    out.append("</svg>")
    return "\n".join(out)


def _figure(value: float | None, unit: str) -> str:
    if value is None:
        return _("no data")
    text = number_format(round(value, 1), force_grouping=True) if unit else number_format(value, force_grouping=True)
    return f"{text} {unit}" if unit else text


# ---------------------------------------------------------------------------------------
# The four charts of the usage page, with their words
# ---------------------------------------------------------------------------------------
def usage_charts(usage: Any) -> dict[str, str]:
    """SVG text of the usage page's charts for a ``selectors.KeyUsage``."""
    days = usage.days
    # Axis labels and tooltips short ("11/5") in every language; <desc> uses the locale's
    # month-day format.
    labels = [date_format(d.day, "n/j") for d in days]
    busiest = max(days, key=lambda d: (d.requests, d.day))
    if usage.total_requests:
        requests_desc = _(
            "%(requests)s requests in the last %(days)s days, %(errors)s of them errors; "
            "the busiest day was %(day)s with %(most)s."
        ) % {
            "requests": number_format(usage.total_requests, force_grouping=True),
            "days": len(days),
            "errors": number_format(usage.total_errors, force_grouping=True),
            "day": date_format(busiest.day, "MONTH_DAY_FORMAT"),
            "most": number_format(busiest.requests, force_grouping=True),
        }
    else:
        requests_desc = _("No requests in the last %(days)s days.") % {"days": len(days)}
    charts = {
        "requests": stacked_bars_svg(
            title=_("Requests per day"),
            desc=requests_desc,
            labels=labels,
            series=[
                Series(_("successful"), "chart-ok", [d.ok_count for d in days]),
                Series(_("errors"), "chart-error", [d.error_count for d in days]),
            ],
            unit="",
            y_label=_("requests"),
        )
    }
    errors = usage.errors_by_type
    errors_desc = (
        "; ".join(f"{name}: {number_format(count, force_grouping=True)}" for name, count in errors)
        if errors
        else _("No errors in the last %(days)s days.") % {"days": len(days)}
    )
    charts["errors"] = horizontal_bars_svg(
        title=_("Errors by type"), desc=errors_desc, items=errors, empty=_("No errors")
    )
    for level in ("p50", "p95"):
        queue = [getattr(d, f"{level}_queue_ms") for d in days]
        inference = [getattr(d, f"{level}_inference_ms") for d in days]
        known = [(q or 0) + (i or 0) for q, i in zip(queue, inference, strict=True) if q is not None or i is not None]
        if known:
            desc = _(
                "%(level)s latency per day, split into queue wait and inference: from %(low)s ms to %(high)s ms "
                "on the %(count)s days with finished jobs."
            ) % {
                "level": level,
                "low": number_format(round(min(known)), force_grouping=True),
                "high": number_format(round(max(known)), force_grouping=True),
                "count": len(known),
            }
        else:
            desc = _("No finished jobs in the last %(days)s days, so no latency to show.") % {"days": len(days)}
        charts[level] = stacked_bars_svg(
            title=_("%(level)s latency per day") % {"level": level},
            desc=desc,
            labels=labels,
            series=[
                Series(_("queue wait"), "chart-queue", queue),
                Series(_("inference"), "chart-inference", inference),
            ],
            unit="ms",
            y_label=_("milliseconds"),
        )
    points = [(d.day.day, left) for d, (_day, left) in zip(usage.month_days, usage.burn_down, strict=True)]
    used = usage.quota_limit - (points[-1][1] if points else usage.quota_limit)
    charts["burn_down"] = burn_down_svg(
        title=_("Quota left this month"),
        desc=_(
            "%(used)s of %(limit)s inputs used by day %(day)s of %(days)s; %(left)s left. "
            "The dashed line is the even pace that lasts the whole month."
        )
        % {
            "used": number_format(used, force_grouping=True),
            "limit": number_format(usage.quota_limit, force_grouping=True),
            "day": points[-1][0] if points else 0,
            "days": usage.days_in_month,
            "left": number_format(max(usage.quota_limit - used, 0), force_grouping=True),
        },
        limit=usage.quota_limit,
        days_in_month=usage.days_in_month,
        points=points,
        labels={
            "x": _("day of the month"),
            "y": _("inputs left"),
            "actual": _("inputs left"),
            "ideal": _("even pace"),
            "point": _("day %(day)s: %(left)s left"),
        },
    )
    return charts
