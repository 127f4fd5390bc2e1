"""The HTML cards of an answer: the verdict (headline, prediction set, P(poisonous) against
tau, reasons, notes), the crop note of a wide photo, the card that says why a photo got
no answer, and a find's per-photo table. Identify and Find draw every answer with these, from
the API's JSON.
"""

from __future__ import annotations

import html

from mushroom import set_note
from mushroom.percent import pct, pct_pair
from mushroom.ui.bars import genus_bars
from mushroom.verdict import MESSAGES

WIDE_PHOTO = 0.5  # centre_share below this (a photo over twice as wide as tall, or tall as
# wide) gets the crop note: a phone's 16:9 shows the model 56% of it, a panorama 10-30%
LEVEL_STYLE = {  # level -> (title, background, border)
    "poisonous": ("POISONOUS GENUS LIKELY: do not eat", "#fde2e1", "#c0392b"),
    "uncertain": ("UNCERTAIN: treat as poisonous", "#fff1d6", "#d68910"),
    "not_recognized": ("NOT RECOGNIZED", "#ececec", "#666666"),
    "edible_genus": ("Genus with edible AND toxic species", "#e4f1fb", "#2471a3"),
}
POSSIBLY_POISONOUS = "POSSIBLY POISONOUS: do not eat"  # title when an edible genus leads


def error_card(message: str, subject: str = "this photo", what: str = "answer",
               live: bool = True) -> str:
    """HTML that says why a photo got no answer (or no heatmap); shown in that one's place.

    ``live=False`` for the verdict boxes, which are live regions themselves (page.HEAD):
    an alert inside one would be read out twice.
    """
    role = ' role="alert"' if live else ""
    return (f'<div class="photo-error"{role} style="border:2px solid #666;'
            'border-radius:10px;padding:10px 14px;background:#f4f4f4;color:#111">'
            f'<b>No {what} for {subject}.</b> {html.escape(message)}</div>')


def render(result: dict | None, title: str = "Most likely genera") -> tuple[str, str]:
    """The /identify JSON -> (genus bars HTML, verdict card HTML)."""
    if not result:
        return "", ""
    bars = genus_bars([(item["genus"], item["probability"]) for item in result["top_k"]], title)
    card = verdict_card(result["verdict"], result.get("prediction_set"), result.get("coverage"))
    return bars, card + crop_note(result.get("centre_share"))


def is_wide(share: float | None) -> bool:
    """Whether a photo's ``centre_share`` gets a crop note (None: not known, no note)."""
    return share is not None and share < WIDE_PHOTO


def crop_note(share: float | None) -> str:
    """HTML saying that the model saw only the centre square of a wide or tall photo, or ''.

    A panorama's centre square is a sliver of it: with the mushroom off to one side the
    answer was "no mushroom found", and nothing on the card said where the model had looked.
    """
    if not is_wide(share):
        return ""
    return (f'<p class="crop-note" style="margin:6px 0 0">The model looked only at the centre '
            f'square of this photo ({pct(share)} of it): if the mushroom is not in the '
            'middle, crop the photo around it and try again.</p>')


def find_crop_note(shares: list[tuple[str, float | None]]) -> str:
    """HTML naming the photos of a find of which the model saw only the centre square, or ''.

    ``shares``: (the photo's file name, or '' when unknown; its centre_share) for each photo,
    in order. The Identify card's note is per photo; on a find's card it names the photos, or
    a panorama among five would pass unremarked (the per-photo table is in a closed accordion).
    """
    wide = [f"photo {i} ({html.escape(name) + ', ' if name else ''}{pct(share)} of it)"
            for i, (name, share) in enumerate(shares, 1) if is_wide(share)]
    if not wide:
        return ""
    which = wide[0] if len(wide) == 1 else f"{', '.join(wide[:-1])} and {wide[-1]}"
    one = "it" if len(wide) == 1 else "one of them"
    return (f'<p class="crop-note" style="margin:6px 0 0">The model looked only at the centre '
            f'square of {which}: if the mushroom is not in the middle of {one}, crop that '
            'photo around it and try again.</p>')


def outside_set(verdict: dict, prediction_set: list[str] | None) -> list[str]:
    """The poisonous genera a "poisonous" headline names (the verdict's ``warned_genera``)
    that ``prediction_set`` leaves out, in the headline's order ([] without sets); see
    :mod:`mushroom.set_note`."""
    return set_note.outside_set(verdict["level"], verdict.get("warned_genera") or [],
                                prediction_set)


def set_line(prediction_set: list[str] | None, coverage: float | None,
             warned: list[str] | None = None, fired: bool = True) -> str:
    """'Plausible genera: Russula, Lactarius' with its coverage, as HTML ('' without sets).

    ``warned``: the poisonous genera the headline names outside the set (:func:`outside_set`),
    said right after it; ``fired`` as for :func:`mushroom.set_note.outside_note`.
    """
    if prediction_set is None or coverage is None:
        return ""
    if not prediction_set:
        text = "No genus is plausible enough to name."
    else:
        noun = "genus" if len(prediction_set) == 1 else "genera"
        text = f"Plausible {noun}: {', '.join(prediction_set)}"
    note = set_note.outside_note(warned or [], fired)
    note = f' <span class="set-note">{html.escape(note)}</span>' if note else ""
    return (f'<p class="prediction-set" style="margin:4px 0"><b>{html.escape(text)}</b> '
            f'({coverage:.0%} prediction set: it holds the true genus for about '
            f'{coverage:.0%} of photos of each genus){note}</p>')


def _poison_line(verdict: dict) -> str:
    """P(poisonous genus) against tau, in words and as a meter."""
    esc = html.escape
    p, tau = verdict["poison_probability"], verdict["threshold"]
    p_text, tau_text = pct_pair(p, tau)
    return ('<p style="margin:4px 0">P(poisonous genus) = '
            f'<b>{esc(p_text)}</b> (flagged at &ge; {esc(tau_text)}) <meter min="0" max="1" '
            f'low="{tau}" high="{tau}" optimum="0" value="{p}" aria-label="P(poisonous genus) '
            f'{esc(p_text)}, flagged at {esc(tau_text)} or more"></meter></p>')


def verdict_card(verdict: dict, prediction_set: list[str] | None = None,
                 coverage: float | None = None) -> str:
    """HTML for the verdict: headline, prediction set, P(poisonous) against tau, reasons, notes.

    A photo the model does not recognize shows neither a set nor P(poisonous): both are
    computed from genus probabilities that mean nothing for it.
    """
    title, background, border = LEVEL_STYLE[verdict["level"]]
    if verdict["level"] == "poisonous" and not verdict["message"].startswith(
            MESSAGES["poisonous"]):
        # An edible genus leads and the poison sum fired: "poisonous genus likely" over
        # "most likely Boletus" would contradict the headline under it. (A find whose
        # poisonous top genus one photo disputes says so after that headline: still likely.)
        title = POSSIBLY_POISONOUS
    esc = html.escape
    warned = outside_set(verdict, prediction_set)
    flagged = verdict["poison_probability"] >= verdict["threshold"]
    # the API's reasons carry the same note (mushroom.set_note): said once, after the set
    said = set_note.outside_note(warned, flagged, set_note.IN_REASONS)
    numbers = "" if verdict["level"] == "not_recognized" else (
        set_line(prediction_set, coverage, warned, flagged) + _poison_line(verdict))
    notes = verdict.get("notes") or {}
    rows = [f"<li>{esc(r)}</li>" for r in verdict.get("reasons", []) if not said or r != said]
    if notes:
        rows.append(f"<li><b>Edibility range:</b> {esc(notes['edibility'])}</li>")
        rows.append(f"<li><b>Dangerous lookalikes:</b> {esc(notes['lookalikes'])}</li>")
    # No role of its own: the box it goes into is the live region (mushroom.ui.page.HEAD).
    return (
        f'<div class="verdict verdict-{esc(verdict["level"])}" style="background:{background};'
        f'border:3px solid {border};border-radius:10px;padding:12px 16px;color:#111">'
        # a heading, looks unchanged: screen reader users jump by headings past the form
        f'<h2 style="font-size:1.3em;font-weight:700;margin:0;padding:0;line-height:1.3">'
        f'{esc(title)}</h2>'
        f'<p style="font-size:1.1em;margin:6px 0">{esc(verdict["message"])}</p>{numbers}'
        f'<ul style="margin:4px 0 0 18px">{"".join(rows)}</ul></div>')


LEVEL_WORDS = {"poisonous": "do not eat", "uncertain": "uncertain: do not eat",
               "edible_genus": "has toxic species too", "not_recognized": "not recognized"}
"""A photo's verdict level in a caption's few words (the API keeps the level codes)."""


def photo_caption(i: int, result: dict) -> str:
    """'Photo 2: Amanita 97%, do not eat' for the per-photo gallery and table."""
    verdict = result["verdict"]
    if not result["top_k"]:
        return f"Photo {i}: not recognized (left out of the genus vote)"
    top = result["top_k"][0]
    return f"Photo {i}: {top['genus']} {pct(top['probability'])}, {LEVEL_WORDS[verdict['level']]}"


UNRECOGNIZED_POISON = "photo not recognized: not an identification, but still counted for safety"
"""Under an unrecognized photo's P(poisonous genus) in a find's table: the number still counts
for safety (a volva close-up may look unfamiliar), but beside a genus table it read as one."""


def _recognized(photo: dict) -> bool:
    """Whether the detector recognized a photo of a find (its ``recognized``, else top_k)."""
    return bool(photo.get("recognized", bool(photo["top_k"])))


def _poison_cell(photo: dict) -> str:
    """A photo's P(poisonous genus) cell; an unrecognized photo's says what the number is."""
    p = pct(photo["verdict"]["poison_probability"])
    if _recognized(photo):
        return p
    return f'{p}<br><span class="not-recognized">{html.escape(UNRECOGNIZED_POISON)}</span>'


def photo_table(result: dict) -> str:
    """HTML table of each photo's own answer: top genus, set, verdict and P(poisonous)."""
    esc = html.escape
    rows = []
    for i, photo in enumerate(result["photos"], 1):
        pset = photo.get("prediction_set")
        set_text = "n/a" if pset is None else ", ".join(pset) or "none plausible"
        if not _recognized(photo):  # "none plausible" read as a judgement of the genera
            set_text = "none: not recognized"
        share = photo.get("centre_share")
        crop = (f'<br><span class="crop-note">centre square only ({pct(share)} of the photo)'
                '</span>' if is_wide(share) else "")
        rows.append(f"<tr><td>{esc(photo_caption(i, photo))}{crop}</td><td>{esc(set_text)}</td>"
                    f"<td>{_poison_cell(photo)}</td></tr>")
    # in a box that scrolls sideways: on a narrow phone the last column would be cut off
    return ('<div style="overflow-x:auto"><table class="find-photos"><tr><th>photo</th>'
            f'<th>prediction set</th><th>P(poisonous genus)</th></tr>{"".join(rows)}'
            '</table></div>')
