"""What the Review tab shows about an item, as text: header, dispute, top-3, votes, status.

Pure formatting over a queue row and the label store; the events live in
:mod:`mushroom.ui.review_handlers` and :mod:`mushroom.ui.review_moves`.
"""

from __future__ import annotations

import re
from pathlib import Path

from mushroom.genus_notes import GENUS_NOTES

_MARKUP = re.compile(r"([\\`*_\[\]<>&~:])")
FLAGGED = " · flagged: "
QUEUED = "Queued because: "


def md_text(text: str) -> str:
    """``text`` an expert typed, to quote inside a Markdown component as it was typed.

    Gradio's Markdown renders HTML and Markdown: a note "check <volva> at the base" showed
    as "check" (the unknown tag swallowed the rest), ``![x](http://...)`` loaded a remote
    image, and a blank line in the note started a heading. Line breaks become spaces (no block can
    start mid-line then), and each mark that can start inline markup is backslash-escaped,
    which CommonMark shows literally: a tag, an entity, emphasis, code, a link or image,
    strikethrough, and the ``:`` of an address the page would make a link of. API clients
    read the status line as this Markdown source.
    """
    return _MARKUP.sub(r"\\\1", " ".join(str(text).split()))


def describe(row, holders: list[str] | None = None, near: str = "") -> str:
    """Markdown header of an item: effective and folder label, why it is queued, its
    labelled near-duplicates (``near``, a :func:`mushroom.review_near.near_text` line) and
    which other experts (``holders``) have it open (the last line: the refresh edits it)."""
    from mushroom.review_hold import open_text

    species = f" · *{row['species']}*" if row["species"] else ""
    return (f"### {row['genus']}{species}{flagged(row)}\n"
            f"Folder: {row['folder_genus']} · `{row['path']}` · id `{row['image_id']}`  \n"
            f"{queued(row)}  \n"
            f"{GENUS_NOTES[row['genus']].lookalikes if row['genus'] in GENUS_NOTES else ''}"
            + (f"  \n{near}" if near else "") + (f"  \n{open_text(holders)}" if holders else ""))


def flagged(row) -> str:
    """" · flagged: ..." when the votes exclude the photo (the end of the header's heading)."""
    return f"{FLAGGED}{row['flags']}" if row["flags"] else ""


def queued(row) -> str:
    """The header's line on why the photo is queued, its vote count and dispute state."""
    from mushroom.review import TIER_NAMES

    return (f"{QUEUED}{TIER_NAMES[int(row['tier'])]} (#{int(row['rank']) + 1}, scores from "
            f"{row['source']}) · {row['votes']} vote(s){dispute(row)}")


def with_votes(header: str, row) -> str:
    """``header`` (a :func:`describe` header on screen) with what it says of the votes set
    from ``row``: the heading's flags, the vote count and the dispute state (the refresh
    tick keeps them in step with the votes table). The heading's genus and species stay as
    shown: they are the label a Confirm on that page refers to, and a change of label is
    the status line's notice."""
    heading, _, body = header.partition("\n")
    lines = [queued(row) + "  " if line.startswith(QUEUED) else line
             for line in body.split("\n")]
    return heading.partition(FLAGGED)[0] + flagged(row) + "\n" + "\n".join(lines)


def dispute(row) -> str:
    """" · **disputed**: ..." when the experts' votes disagree, on the genus or the species
    (the README's tie rule)."""
    if float(row.get("agreement", 1.0)) >= 1.0:
        return ""
    return (f" · **disputed** ({float(row['agreement']):.0%} agree, on the genus or the "
            "species; a tie shows the latest vote, but training leaves the tied genus or "
            "species out): a further opinion settles it")


def top3(row) -> str:
    """The queue's three most probable genera, as bars, titled with where the scores come
    from (out-of-fold scores can disagree with the current model's LIME panel)."""
    from mushroom.review import top_k
    from mushroom.ui.bars import genus_bars

    source = "out-of-fold scores" if row["source"] == "oof" else "the current model"
    return genus_bars(list(top_k(row, 3).items()), f"Queue's top-3 ({source})")


def lime_caption(row, genus: str, probability: float, same_model: bool) -> str:
    """The line under the LIME heatmap: it explains the current model's top genus, while the
    top-3 may come from another model (out-of-fold, or the model the queue was built with),
    which can rank another genus first; e.g. "Amanita >99%" beside "supports Russula".

    Args:
        row: the photo's queue row (``source``, ``model`` and the probabilities).
        genus: the genus the heatmap explains.
        probability: the current model's probability of ``genus``.
        same_model: the current model scored the top-3 too.
    """
    from mushroom.review import top_k
    from mushroom.percent import pct

    head = f"Heatmap of the current model's top genus (**{genus}** {pct(probability)})"
    if same_model:
        return f"{head}; the queue's top-3 comes from the same model."
    source = ("out-of-fold scores (cross-validation: a model that did not train on this photo)"
              if row["source"] == "oof" else
              f"the model the queue was built with (`{row['model']}`; **Build queue** rescores "
              "it with the current one)")
    first = next(iter(top_k(row, 1)))
    ranks = f", which ranks **{first}** first" if first != genus else ""
    return f"{head}; the queue's top-3 comes from {source}{ranks}."


def votes_table(labels_dir: str | Path, image_id: str) -> list[list[str]]:
    """Every decision still in force on the photo: votes, flags and notes."""
    from mushroom.consensus import describe as describe_vote, rows_in_force
    from mushroom.decision import VOTES

    rows = rows_in_force(labels_dir, image_id)
    latest = {r.annotator: r.row_id for r in rows if r.action in VOTES}  # one vote each counts
    return [[r.time[:19].replace("T", " "), r.annotator,
             r.action + (" (replaced)" if r.action in VOTES and latest[r.annotator] != r.row_id
                         else ""),
             "" if r.action == "note" else describe_vote(r), r.note] for r in rows]


# What the progress line adds, and what an empty list says, for each "Show" mode; {where}
# is " in <genus>" under a genus filter. Modes without a count are covered by "Reviewed".
MODE_COUNTS = {"needs a second opinion": "{n} need{s} a second opinion", "disputed": "{n} disputed"}
EMPTY = {"unreviewed": "Every photo{where} has a vote: nothing unreviewed left.",
         "unreviewed by me": "You have voted on every photo{where}.",
         "needs a second opinion": "No photo{where} needs a second opinion: none has exactly "
                                   "one vote from another expert.",
         "disputed": "No disputed photos{where}: the votes on every reviewed photo agree.",
         "all": "No photos{where} in the queue."}


def progress_text(queue, genus: str, user: str, mode: str = "all") -> str:
    """'Reviewed r / t' overall, for the genus filter, by this expert, and how many photos
    the chosen mode holds when that is not implied (e.g. "3 disputed")."""
    from mushroom.review_filters import select

    done = int((queue["votes"] > 0).sum())
    text = f"Reviewed **{done} / {len(queue)}**"
    if genus not in ("", "All"):
        sub = queue[queue["genus"] == genus]
        text += f" · {genus}: {int((sub['votes'] > 0).sum())} / {len(sub)}"
    mine = int(queue["reviewers"].str.split(";").map(lambda n: user in n).sum())
    text += f" · by you: {mine}"
    if mode in MODE_COUNTS:
        n = len(select(queue, genus, mode, user))
        count = MODE_COUNTS[mode].format(n=n, s="s" if n == 1 else "")
        text += f" · **{count}{_where(genus)}**"
    return text


def empty_text(mode: str, genus: str) -> str:
    """What the item area says when no photo matches the filters, in the mode's terms."""
    return EMPTY.get(mode, "Nothing matches these filters.").format(where=_where(genus))


def detour_text(inside: bool, genus: str, mode: str) -> str:
    """What the status line adds after Reopen, Undo or Go to: whether the photo matches the
    filters the page still shows, and where moving on leads (see
    :func:`mushroom.ui.review_handlers.advance`)."""
    if inside:
        return " A decision or Skip takes you back to where you were in the queue."
    return (f" This photo is outside your filters ({_filters(genus, mode)}); a decision or "
            "Skip takes you back to where you were in them.")


def outside_text(genus: str, mode: str) -> str:
    """What the status line adds when a step along the session's trail (Previous, Forward,
    moving on after *Previous*), a refused stale vote, a note or a rebuilt queue shows a
    photo the filters on the page do not match."""
    return f" This photo is outside your filters ({_filters(genus, mode)})."


def kept_text(keep: str | None, inside: bool, genus: str, mode: str) -> str:
    """What the status line adds about a photo that
    :func:`~mushroom.ui.review_handlers.render` kept on screen for the reason ``keep``
    (None: it kept none): after a detour, :func:`detour_text`; otherwise (a step along the
    trail, a note, a rebuilt queue) :func:`outside_text` when the photo lies outside the
    filters."""
    if keep == "detour":
        return detour_text(inside, genus, mode)
    return outside_text(genus, mode) if keep and not inside else ""


def _filters(genus: str, mode: str) -> str:
    return " · ".join(([genus] if genus not in ("", "All") else []) + [f"Show: {mode}"])


def _where(genus: str) -> str:
    return f" in {genus}" if genus not in ("", "All") else ""


def decision_words(d, before: str = "") -> str:
    """A decision in words, e.g. "relabelled Boletus → Russula emetica".

    Args:
        d: the decision (a :class:`mushroom.decision.Decision`).
        before: the species in force before it ("" when none or unknown): a relabel
            within one genus sets or changes only the species, and says so.
    """
    if d.action == "relabel" and d.genus == d.previous_genus:
        return (f"species changed: {before} → {d.species}" if before
                else f"species set: {d.species}")
    return {"confirm": f"confirmed {d.species or d.genus}",
            "relabel": f"relabelled {before or d.previous_genus} → {d.species or d.genus}",
            "flag": "flagged as " + " and ".join(f.replace("_", " ") for f in d.flags),
            "note": f"note added: “{md_text(d.note[:80])}”"}.get(d.action, d.action)


def saved_text(d, typed_species: str = "", before: str = "") -> str:
    """The status line after a decision, in words: what was recorded on which photo, and
    the author citation dropped from ``typed_species`` (the species as the expert typed it),
    if it had one; ``before`` is the species in force before it (see :func:`decision_words`)."""
    from mushroom.authority import split_authority

    cited = split_authority(typed_species)[1] if d.species else ""
    dropped = (f" Author citation “{md_text(cited)}” dropped: the list keeps the bare name."
               if cited else "")
    return f"Saved: {decision_words(d, before)} (`{d.path}`).{dropped}"


SKIPPED_BACK = ("Skipped, but it comes back: no other photo under your filters is waiting (the "
                "rest are done, or open on another expert's screen). Vote on it, or change "
                "the filters.")
"""The status line when Skip hands out the very photo skipped: the last one left."""

SKIPPED_BACK_DISPUTED = ("Skipped, but it comes back: it is the only disputed photo left under "
                         "your filters (the rest are settled, or open on another expert's "
                         "screen), and your vote is already in it: another expert's vote "
                         "settles it. Change the filters to go on.")
""":data:`SKIPPED_BACK` in *Show: disputed* when the expert's own vote is one side of the
dispute: voting again would only flip it, so "Vote on it" misled."""
