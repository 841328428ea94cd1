"""The agreement dashboard: server-rendered inline SVG charts over the cached project figures.

Reviewers and managers only. The figures come from
annotate.curation.project_agreement.project_agreement (cached per project, recomputed
when answers or resolutions change); this module only turns them into chart
geometry (coordinates, colours, tooltips), so the templates stay plain loops
and no JavaScript chart library is needed. docs/agreement.md explains each
figure.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import json
import math
from pathlib import Path
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import path
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

from annotate.access import project_for
from annotate.curation.project_agreement import CACHE_SECONDS, agreement_or_latest, generation
from annotate.models import Project, Role
from annotate.setup.accounts import display_names

PAGE = "annotate/dashboard/dashboard.html"
# Overall first in near-black, then one colour per guideline version.
SERIES_COLORS = ["#1d2330", "#4c78a8", "#f58518", "#54a24b", "#b279a2", "#e45756", "#72b7b2", "#9d755d", "#bab0ac"]
POSITIVE, NEGATIVE, UNOBSERVED = "#1f7a3a", "#a32020", "#c9ced8"
LABEL_COLUMN = 130  # px for label names left of a chart
HEAT_HIGH = (37, 84, 199)  # the accent colour at full intensity


def _fmt(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _scale(value: float, low: float, high: float, width: float) -> float:
    return round((value - low) / (high - low) * width, 1) if high > low else 0.0


def _heat(share: float) -> str:
    """A colour from white (0) to the accent colour (1)."""
    share = min(max(share, 0.0), 1.0)
    r, g, b = (round(255 - share * (255 - c)) for c in HEAT_HIGH)
    return f"rgb({r},{g},{b})"


def agreement_series(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """Overall plus one series per guideline version, each with its per-label figures and colour."""
    agreement = figures["agreement"]
    blocks = [("All versions", agreement["overall"])] + [(f"v{b['version']}", b) for b in agreement["by_version"]]
    return [
        {"name": name, "color": SERIES_COLORS[index % len(SERIES_COLORS)], "block": block}
        for index, (name, block) in enumerate(blocks)
    ]


def interval_chart(figures: dict[str, Any], metric: str, *, width: int = 400) -> dict[str, Any]:
    """A dot-and-whisker chart of one metric ("kappa" or "alpha") per label, one dot per series.

    The axis runs from the lowest interval end (at most 0, at least -1) to 1.
    A label a version did not ask, or with too few units, has no dot.
    """
    series = agreement_series(figures)
    lows = [
        bound
        for s in series
        for row in s["block"]["per_label"]
        for bound in (row[metric], (row[f"{metric}_ci"] or [None])[0])
        if bound is not None
    ]
    low = max(-1.0, min([0.0, *lows]))
    low = -1.0 if low < -0.8 else float(int(low * 5 - 0.999)) / 5  # round down to a multiple of 0.2
    band = max(16, 7 * len(series) + 6)
    rows = []
    for index, name in enumerate(figures["labels"]):
        top = index * band
        dots = []
        for position, s in enumerate(series):
            row = s["block"]["per_label"][index]
            value, interval = row[metric], row[f"{metric}_ci"]
            if value is None:
                continue
            y = top + 4 + position * 7 + 3
            ci_low, ci_high = interval if interval and None not in interval else (value, value)
            dots.append(
                {
                    "x": _scale(value, low, 1.0, width),
                    "x1": _scale(max(ci_low, low), low, 1.0, width),
                    "x2": _scale(min(ci_high, 1.0), low, 1.0, width),
                    "y": y,
                    "color": s["color"],
                    "title": f"{name} · {s['name']}: {metric} {_fmt(value)} "
                    f"[{_fmt(interval[0] if interval else None)}, {_fmt(interval[1] if interval else None)}], "
                    f"{row['n_units']} units",
                }
            )
        rows.append({"name": name, "y": top + band / 2 + 4, "top": top, "dots": dots, "even": index % 2 == 0})
    ticks = []
    tick = low
    while tick <= 1.0001:
        ticks.append({"x": _scale(tick, low, 1.0, width), "text": f"{tick:.1f}".replace("-0.0", "0.0")})
        tick = round(tick + 0.2, 1)
    height = band * len(rows)
    return {
        "metric": metric,
        "band": band,
        "width": width,
        "left": LABEL_COLUMN,
        "total_width": LABEL_COLUMN + width + 12,
        "height": height,
        "total_height": height + 28,
        "zero": _scale(0.0, low, 1.0, width),
        "ticks": ticks,
        "rows": rows,
        "legend": [{"name": s["name"], "color": s["color"]} for s in series],
    }


def version_summary(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """Pooled and macro kappa with intervals, per series, for the table above the charts."""
    return [
        {
            "name": s["name"],
            "color": s["color"],
            "pooled": s["block"]["pooled"],
            "macro": s["block"]["macro"],
            "n_items": s["block"]["n_items"],
        }
        for s in agreement_series(figures)
    ]


def label_table(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per label with its figures in every series, for the table under the charts."""
    series = agreement_series(figures)
    return [
        {"name": name, "cells": [s["block"]["per_label"][index] for s in series]}
        for index, name in enumerate(figures["labels"])
    ]


def judgments_chart(figures: dict[str, Any], *, width: int = 760) -> dict[str, Any]:
    """Stacked bars per label: positive, negative and unobserved answers, per annotation asked."""
    rows = figures["judgments"]
    most = max([row["asked"] for row in rows] + [1])
    band = 18
    bars = []
    for index, row in enumerate(rows):
        x = 0.0
        parts = []
        for key, color in (("positive", POSITIVE), ("negative", NEGATIVE), ("unobserved", UNOBSERVED)):
            w = _scale(row[key], 0, most, width)
            parts.append({"x": x, "w": w, "color": color, "title": f"{row['label']}: {row[key]} {key}"})
            x += w
        bars.append({"name": row["label"], "y": index * band, "parts": parts, "end": x, "row": row})
    return {
        "width": width,
        "left": LABEL_COLUMN,
        "total_width": LABEL_COLUMN + width + 170,
        "band": band,
        "height": band * len(rows),
        "bars": bars,
    }


def cardinality_chart(figures: dict[str, Any], *, width: int = 360, height: int = 120) -> dict[str, Any]:
    """Bars of how many items carry 0, 1, 2, ... labels by consensus."""
    histogram = figures["cardinality"]["histogram"]
    last = max([k for k, n in enumerate(histogram) if n] + [0])
    counts = histogram[: last + 1] or [0]
    most = max([*counts, 1])
    step = width / len(counts)
    bars = [
        {
            "x": round(k * step + 1, 1),
            "w": round(max(step - 2, 1), 1),
            "h": _scale(n, 0, most, height),
            "y": round(height - _scale(n, 0, most, height), 1),
            "mid": round(k * step + step / 2, 1),
            "k": k,
            "title": f"{n} item{'s' if n != 1 else ''} with {k} label{'s' if k != 1 else ''}",
        }
        for k, n in enumerate(counts)
    ]
    return {"width": width, "height": height, "bars": bars, "most": most}


def heatmap(figures: dict[str, Any], *, size: int = 560) -> dict[str, Any]:
    """Co-occurrence of consensus positives: cell (row, column) is shaded by P(column | row).

    Shades are relative to the largest off-diagonal share, so weak but real
    patterns stay visible; the legend gives that share. The diagonal holds
    each label's own count, in grey, so a common label does not paint its
    whole row dark. Cells large enough to read carry their count.
    """
    names = figures["labels"]
    counts = figures["cooccurrence"]
    n = len(names)
    cell = max(8, min(36, size // max(n, 1)))
    shares = [[counts[r][c] / counts[r][r] if counts[r][r] else 0.0 for c in range(n)] for r in range(n)]
    darkest = max([shares[r][c] for r in range(n) for c in range(n) if r != c] + [0.0])
    cells = []
    for r in range(n):
        for c in range(n):
            count, share, diagonal = counts[r][c], shares[r][c], r == c
            cells.append(
                {
                    "x": c * cell,
                    "y": r * cell,
                    "fill": "#e8ebf0" if diagonal else _heat(share / darkest if darkest else 0.0),
                    "dark": not diagonal and darkest > 0 and share / darkest > 0.6,
                    "count": count,
                    "title": f"{names[r]}: {count} items"
                    if diagonal
                    else f"{names[r]} and {names[c]}: {count} items ({share:.0%} of {names[r]})",
                }
            )
    return {
        "names": [{"name": name, "at": i * cell + cell / 2} for i, name in enumerate(names)],
        "cell": cell,
        "numbers": cell >= 26,
        "left": LABEL_COLUMN,
        "top": 110,
        "side": cell * n,
        "cells": cells,
        # Rotated column names lean right beyond the last column.
        "width": LABEL_COLUMN + cell * n + 90,
        "height": 110 + cell * n + 4,
        "darkest": darkest,
    }


def progress_chart(figures: dict[str, Any], *, width: int = 900, height: int = 140) -> dict[str, Any]:
    """Bars of annotations per day, with the running total as a line on its own scale."""
    days = figures["progress"]
    if not days:
        return {"days": [], "width": width, "height": height}
    most = max(day["annotations"] + day["skipped"] for day in days) or 1
    total = sum(day["annotations"] for day in days) or 1
    step = width / len(days)
    bars, points, running = [], [], 0
    for index, day in enumerate(days):
        running += day["annotations"]
        h = _scale(day["annotations"], 0, most, height)
        bars.append(
            {
                "x": round(index * step, 1),
                "w": round(max(step - 1, 0.5), 1),
                "y": round(height - h, 1),
                "h": h,
                "title": f"{day['day']}: {day['annotations']} annotations, {day['skipped']} skipped",
            }
        )
        points.append(f"{round(index * step + step / 2, 1)},{round(height - _scale(running, 0, total, height), 1)}")
    # Date labels at least 70 px apart, always including the last day. The
    # year is left out when every day falls in the same year.
    short = len({day["day"][:4] for day in days}) == 1
    every = max(1, math.ceil(70 / step))
    picked = range((len(days) - 1) % every, len(days), every)
    labels = [{"x": round(i * step + step / 2, 1), "text": days[i]["day"][5 if short else 0 :]} for i in picked]
    return {
        "days": days,
        "width": width,
        "height": height,
        "bars": bars,
        "line": " ".join(points),
        "labels": labels,
        "most": most,
        "total": running,
    }


def people_names(figures: dict[str, Any]) -> dict[int, str]:
    """The names pages show for the annotators in the figures, which keep stable usernames (docs/projects.md)."""
    ids = {row["user_id"] for row in figures["annotators"] if "user_id" in row}
    ids |= {user_id for pair in figures["annotator_pairs"] for user_id in pair.get("annotators", ())}
    return display_names(ids)


def annotator_rows(figures: dict[str, Any], names: dict[int, str]) -> dict[str, list[dict[str, Any]]]:
    """The per-annotator and per-pair rows with each person's shown name; an unknown id keeps its username."""
    people = [{**row, "name": names.get(row.get("user_id", -1), row["username"])} for row in figures["annotators"]]
    pairs = [
        {
            **pair,
            "names": [
                names.get(user_id, username)
                for user_id, username in zip(pair.get("annotators", ()), pair["usernames"], strict=False)
            ],
        }
        for pair in figures["annotator_pairs"]
    ]
    return {"annotators": people, "pairs": pairs}


def figures_context(project: Project, figures: dict[str, Any], names: dict[int, str]) -> dict[str, Any]:
    return {
        "people": annotator_rows(figures, names),
        "project": project,
        "computed_at": datetime.datetime.fromisoformat(figures["computed_at"]),
        "figures": figures,
        "overall": figures["agreement"]["overall"],
        "summary": version_summary(figures),
        "kappa_chart": interval_chart(figures, "kappa"),
        "alpha_chart": interval_chart(figures, "alpha"),
        "series": agreement_series(figures),
        "label_table": label_table(figures),
        "judgments": judgments_chart(figures),
        "cardinality": cardinality_chart(figures),
        "heatmap": heatmap(figures),
        "progress": progress_chart(figures),
        "colors": {"positive": POSITIVE, "negative": NEGATIVE, "unobserved": UNOBSERVED},
    }


@functools.cache
def templates_fingerprint() -> str:
    """A hash of the dashboard templates, so cached HTML from older templates is never served after a deploy."""
    folder = Path(__file__).resolve().parent.parent.parent / "templates" / "annotate" / "dashboard"
    digest = hashlib.sha1()
    for template in sorted(folder.glob("*.html")):
        digest.update(template.read_bytes())
    return digest.hexdigest()[:12]


def figures_html(project: Project, figures: dict[str, Any]) -> str:
    """The rendered charts and tables, cached per project generation.

    Rendering some ten thousand SVG template nodes takes a few hundred
    milliseconds, more than everything else in a warm request, so the HTML
    is cached next to the figures under the same generation. It holds
    nothing that depends on who asks: the page around it carries the user.
    The annotators' shown names are part of the key, so a renamed person
    shows under the new name at once.
    """
    names = people_names(figures)
    named = hashlib.sha1(json.dumps(sorted(names.items())).encode()).hexdigest()[:12]
    key = f"tagwise:dashboard-html:{project.pk}:{figures['generation']}:{templates_fingerprint()}:{named}"
    html = cache.get(key)
    if html is None:
        html = render_to_string(f"{PAGE}#figures", figures_context(project, figures, names))
        cache.set(key, html, CACHE_SECONDS)
    return html


@login_required
@require_GET
def dashboard_page(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = project_for(request.user, project_id, Role.REVIEWER)
    figures, fresh = agreement_or_latest(project=project, current=generation(project=project))
    context = {
        "project": project,
        "role": role,
        # The fragment was rendered (and escaped) by our own template.
        "figures_html": mark_safe(figures_html(project, figures)),
        "fresh": fresh,
        "computed_at": datetime.datetime.fromisoformat(figures["computed_at"]),
    }
    # While the worker recounts, the page polls for the figures part alone.
    return render(request, f"{PAGE}#live" if request.htmx else PAGE, context)


urlpatterns = [
    path("projects/<int:project_id>/agreement/", dashboard_page, name="dashboard"),
]
