"""Genus probability bars as HTML, printed with :func:`mushroom.percent.pct`.

``gr.Label`` rounds to whole percents, so a poisonous genus the verdict "cannot rule out"
read "Entoloma 0%" beside it, and a 99.97 % photo read "100%". These bars print the same
numbers as the verdict card ("0.21%", ">99%") and tag the poisonous genera. The bars are
plain divs, not ``<meter>``: Chromium paints a full meter green, and a green ">99%" bar
under "Amanita" reads as "good". Poisonous genera get red bars, the others blue.
"""

from __future__ import annotations

import html

from mushroom.taxonomy import POISONOUS
from mushroom.percent import pct

# One grid for all rows (each row is display:contents), so the bars line up even when a
# "poisonous genus" tag widens one name.
GRID = ("display:grid;grid-template-columns:max-content 1fr 4.5em;align-items:center;"
        "gap:6px 8px")


POISON_RED, OTHER_BLUE = "#c0392b", "#2471a3"


def bar(genus: str, p: float) -> str:
    """One accessible bar (role "meter", named "Amanita, poisonous genus: 97%")."""
    color = POISON_RED if genus in POISONOUS else OTHER_BLUE
    name = f"{genus}{', poisonous genus' if genus in POISONOUS else ''}: {pct(p)}"
    return (f'<div class="bar" role="meter" aria-label="{html.escape(name)}" aria-valuemin="0" '
            f'aria-valuemax="100" aria-valuenow="{100 * p:.2f}" style="height:0.9em;'
            f'background:rgba(128,128,128,0.25);border-radius:4px;overflow:hidden">'
            f'<div style="width:{100 * p:.2f}%;height:100%;background:{color}"></div></div>')


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
            f'<span class="genus">{esc(genus)}{tag}</span>{bar(genus, float(p))}'
            f'<span class="p" style="text-align:right">{esc(pct(float(p)))}</span></div>')
    # the title is a heading, as the verdict card's (screen readers jump by headings)
    return (f'<div class="genus-bars"><div role="heading" aria-level="2" '
            f'style="font-weight:600;margin-bottom:4px">'
            f'{esc(title)}</div><div style="{GRID}">{"".join(rows)}</div></div>')
