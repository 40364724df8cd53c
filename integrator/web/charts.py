"""Inline SVG bar charts for the survey results (no chart library, no script): each chart has a
title and a text alternative, and every bar is labelled with its number. Callers pass only
figures that `domain.surveys.shown` allows."""

from __future__ import annotations

from html import escape

from markupsafe import Markup

BAR_H, GAP, LABEL_W, WIDTH = 22, 6, 190, 520
COLOURS = ("#0b5cad", "#8a5a00")  # before / after (or a single series); both 4.5:1 on white


def bars(title: str, labels: list[str], series: list[tuple[str, list[int]]]) -> Markup:
    """Horizontal bars: one row per label, one bar per series, each labelled with its count."""
    total = [max(sum(values), 1) for _, values in series]
    rows = len(labels) * len(series)
    height = rows * (BAR_H + GAP) + len(labels) * GAP + 30
    scale = WIDTH - LABEL_W - 60
    desc = "; ".join(f"{lab}: " + ", ".join(f"{name} {vals[i]}" for name, vals in series)
                     for i, lab in enumerate(labels))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" role="img" '
             f'aria-label="{escape(title)}: {escape(desc)}" class="chart">',
             f"<title>{escape(title)}</title>"]
    y = 4
    for i, lab in enumerate(labels):
        parts.append(f'<text x="0" y="{y + BAR_H - 6}" font-size="13">{escape(lab if len(lab) <= 26 else lab[:25] + "…")}</text>')
        for k, (name, values) in enumerate(series):
            w = round(scale * values[i] / total[k])
            colour = COLOURS[k % len(COLOURS)]
            parts.append(f'<rect x="{LABEL_W}" y="{y}" width="{w}" height="{BAR_H}" fill="{colour}"/>')
            parts.append(f'<text x="{LABEL_W + w + 4}" y="{y + BAR_H - 6}" font-size="13">'
                         f'{values[i]}{(" (" + escape(name) + ")") if len(series) > 1 else ""}</text>')
            y += BAR_H + GAP
        y += GAP
    parts.append("</svg>")
    # Every text in it went through escape() above; the numbers are ints.
    return Markup("".join(parts))  # noqa: S704
