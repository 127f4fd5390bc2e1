"""Genus probability bars as HTML, printed with :func:`mushroom.verdict.pct`.

``gr.Label`` rounds to whole percents, so a poisonous genus the verdict "cannot rule out"
read "Entoloma 0%" beside it, and a 99.97 % photo read "100%". These bars print the same
numbers as the verdict card ("0.21%", ">99%") and tag the poisonous genera.
"""

from __future__ import annotations

import html

from mushroom.taxonomy import POISONOUS
from mushroom.verdict import pct

# One grid for all rows (each row is display:contents), so the bars line up even when a
# "poisonous genus" tag widens one name.
GRID = ("display:grid;grid-template-columns:max-content 1fr 4.5em;align-items:center;"
        "gap:6px 8px")


def genus_bars(probs: list[tuple[str, float]], title: str) -> str:
    """HTML of one bar per ``(genus, probability)``, in the order given, under ``title``.

    Returns "" for no genera, so an emptied output shows nothing rather than a bare title.
    """
    if not probs:
        return ""
    esc = html.escape
    rows = []
    for genus, p in probs:
        tag = (' <span class="poison-tag" style="color:#c0392b;font-size:0.8em">poisonous '
               'genus</span>') if genus in POISONOUS else ""
        rows.append(
            f'<div class="genus-bar" style="display:contents">'
            f'<span class="genus">{esc(genus)}{tag}</span>'
            f'<meter min="0" max="1" value="{float(p):.6f}" style="width:100%"></meter>'
            f'<span class="p" style="text-align:right">{esc(pct(float(p)))}</span></div>')
    return (f'<div class="genus-bars"><div style="font-weight:600;margin-bottom:4px">'
            f'{esc(title)}</div><div style="{GRID}">{"".join(rows)}</div></div>')
