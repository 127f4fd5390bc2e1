"""What the Review tab shows after a refused decision: the ``.failure`` step of its buttons.

A refusal's toast fades within seconds, and the status line would go on saying "Saved: ..."
about the previous photo as if this decision had gone through. So the status line says
"Not saved" with the reason wherever the page's own fields give it (:func:`check_choice`,
which :func:`~mushroom.ui.review_handlers.act` checks first, so both say the same), and
what the expert typed stays in its box. When another expert's vote changed the label on
screen, the photo is shown again as it stands now, with the typed note kept.
"""

from __future__ import annotations

from mushroom.layout import misspelt
from mushroom.review_filters import MODES
from mushroom.review_nav import History
from mushroom.taxonomy import GENERA, canonical_genus
from mushroom.ui import UserError, clip
from mushroom.ui.review_handlers import (ITEM_OUTPUTS, NO_PHOTO, VOTES, ReviewContext, queue_row,
                                         render, require)
from mushroom.ui.review_view import md_text

KEPT = "What you typed is still in its box."
ELSEWHERE = "The message at the top of the page says why"
"""The reason of a refusal the page's fields do not explain (e.g. a photo that no longer
decodes, or an expert's 50 decisions on one photo): the toast has it."""


def check_choice(kind: str, image_id: str | None, genus: str | None, species: str | None,
                 note: str | None) -> None:
    """Refuse a decision that the page's own fields make impossible: no photo open, an empty
    note, a Save without a genus or with a species that is not a binomial of it.

    Raises:
        UserError: the reason, in words the expert can act on.
    """
    from mushroom.taxonomy import validate_species

    if not image_id:
        raise UserError(NO_PHOTO, title="Not saved")
    if kind == "note" and not (note or "").strip():
        raise UserError("Type the note in the Note box first.", title="Not saved")
    if kind != "save":
        return
    genus = canonical_genus(genus)  # typed into the box (or sent by a client) in any case
    if genus not in GENERA:
        raise UserError(f"Choose a genus to save (one of {', '.join(GENERA)}), not "
                        f"{clip(genus)!r}{misspelt(genus or '')}.", title="Not saved")
    if (species or "").strip():
        try:
            validate_species(genus, species)
        except ValueError as err:
            raise UserError(str(err), title="Not saved") from err


def check_confirm(genus: str | None, species: str | None, label: str, own: str | None) -> None:
    """Refuse a Confirm while the genus or species box holds another name than the photo's
    ``label`` and species ``own`` shown with it: Confirm votes for what is shown, so the name
    chosen would be dropped and the label the expert just rejected voted for (``c`` pressed
    for ``r``). An empty box chooses nothing; ``own`` None (not known: another vote changed
    the label since) checks the genus only, and the store refuses the stale vote.

    Raises:
        UserError: the name chosen, and which button votes for it.
    """
    from mushroom.taxonomy import canonical_species

    chosen = canonical_genus((genus or "").strip()) or label
    typed = canonical_species(species or "")
    if chosen == label and (own is None or typed in ("", own)):
        return
    what = typed if typed not in ("", own) else chosen
    raise UserError(f"Confirm votes for the label shown, {own or label}, but the boxes say "
                    f"{clip(what)}: press Save genus/species to vote for that, or put the "
                    "boxes back to confirm", title="Not saved")


def after_refusal(ctx: ReviewContext, kind: str, user: str | None, image_id: str | None,
                  genus: str | None, species: str | None, note: str | None,
                  seen: tuple[str, str] | None, history: History | None = None,
                  filter_genus: str = "All", mode: str = MODES[0]) -> list:
    """The item outputs after ``act`` refused a ``kind`` decision with these fields (and
    the filters on the page, which the progress line follows).

    Returns:
        The photo again as it stands when another expert's vote changed its label (see
        :func:`show_if_stale`); otherwise every output left as it is but the status line,
        which says "Not saved" and why.
    """
    from mushroom.labels import StoreError

    kept = f" {KEPT}" if (species or "").strip() or (note or "").strip() else ""
    try:
        require(user)
        check_choice(kind, image_id, genus, species, note)
        if kind == "confirm":
            check_confirm(genus, species, *shown_label(ctx, image_id, seen))
    except UserError as err:
        reason = md_text(err.text.rstrip("."))  # it quotes what was typed
        return _status_only(f"**Not saved.** {reason[:1].upper()}{reason[1:]}.{kept}", history)
    except StoreError:  # the refusal's own toast names the row to fix
        return _status_only(f"**Not saved.** {ELSEWHERE}.{kept}", history)
    again = show_if_stale(ctx, kind, user, image_id, note, seen, history, filter_genus, mode,
                          chosen=(genus, species))
    return again if again is not None else _status_only(f"**Not saved.** {ELSEWHERE}.{kept}",
                                                        history)


def shown_label(ctx: ReviewContext, image_id: str, seen: tuple[str, str] | None
                ) -> tuple[str, str | None]:
    """(genus, species) the photo ``image_id`` is shown with: the genus the page showed
    (``seen``; an API client that was shown none: the label as it stands) and its species,
    None when another vote changed the label since (the species shown is not known)."""
    row = queue_row(ctx, image_id)
    label = seen[1] if seen and seen[0] == image_id else row["genus"]
    return label, (row["species"] or "") if label == row["genus"] else None


def show_if_stale(ctx: ReviewContext, kind: str, user: str, image_id: str, note: str | None,
                  seen: tuple[str, str] | None, history: History | None = None,
                  filter_genus: str = "All", mode: str = MODES[0],
                  chosen: tuple[str | None, str | None] = (None, None)) -> list | None:
    """When another expert's vote changed the label on screen since ``seen``, the photo as it
    stands now, so that what the refusal asks ("look at it again") is what the page shows,
    with the expert's typed note kept in its box, and for a Save the genus and species
    ``chosen`` in theirs (a Save now votes for them; replaced by the new label, one more
    Save voted for it with the note); None otherwise. The photo stays even when that vote
    took it out of the filters (the status line then says so). Notes and flags are never
    refused for a label change (saying so would give the wrong reason)."""
    if kind not in VOTES or not seen or seen[0] != image_id:
        return None
    from mushroom.labels import StoreError

    try:
        now = queue_row(ctx, image_id)["genus"]
    except (UserError, StoreError):  # the refusal's own toast already says why
        return None
    if now == seen[1]:
        return None
    from mushroom.ui.review_refresh import changed_by

    kept = " Your note is still in its box, not saved." if (note or "").strip() else ""
    who = changed_by(ctx, user, image_id, now, named=False)
    out = render(ctx, user, image_id, filter_genus, mode,
                 f"**Not saved**: {who} changed the label from {seen[1]} to {now}. Here is "
                 f"the photo as it stands now.{kept}", history, keep="trail")
    if kept:
        out[ITEM_OUTPUTS.index("note")] = note
    return _keep_choice(ctx, out, chosen) if kind == "save" else out


def _keep_choice(ctx: ReviewContext, out: list, chosen: tuple[str | None, str | None]) -> list:
    """``out`` (a refused Save's photo shown again) with the genus and species the expert
    chose back in their boxes, and the status line naming them, when they differ from the
    label now shown (``check_choice`` has passed: the genus is one of the nine)."""
    import gradio as gr

    from mushroom.taxonomy import canonical_species
    from mushroom.ui.review_handlers import species_update

    at = ITEM_OUTPUTS.index
    genus, species = canonical_genus(chosen[0]), canonical_species(chosen[1] or "")
    row = queue_row(ctx, out[at("current")])
    if genus not in GENERA or (genus, species) == (row["genus"], row["species"] or ""):
        return out
    out[at("genus")] = gr.update(value=genus)
    out[at("species")] = species_update(ctx, genus, species)
    out[at("status")] += (f" What you chose, {md_text(species or genus)}, is still in the boxes:"
                          " Save votes for it.")
    return out


def _status_only(status: str, history: History | None) -> list:
    """Outputs that leave the photo and every box as they are and only say ``status``."""
    from mushroom.ui.review_moves import unchanged

    return unchanged(status, history)
