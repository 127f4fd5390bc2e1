"""The Review tab's "Remove from list" button: take a mistyped species an expert added off
the list the species box offers. The store appends a row and deletes nothing
(:func:`mushroom.species.retire_species`); this handler only checks the login and shows
the outcome.
"""

from __future__ import annotations

from mushroom.taxonomy import GENERA
from mushroom.ui import UserError, clip
from mushroom.ui.review_handlers import ReviewContext, require, species_update


def retire(ctx: ReviewContext, user: str | None, genus: str, species: str) -> tuple:
    """Retire the species box's current value for the genus chosen beside it.

    Returns:
        (species box with the refreshed choices and no value, status line).

    Raises:
        UserError: no login, no genus or species chosen, or a refusal of the store (a seed
            name, an unknown one, or one still named by a current vote).
    """
    from mushroom.species import retire_species

    user = require(user)
    name = " ".join((species or "").split())
    if genus not in GENERA or not name:
        raise UserError("Choose the genus and, in the species box, the name to remove from "
                        "the list.", title="Not removed")
    try:
        row = retire_species(ctx.labels_dir, genus, name, user)
    except ValueError as err:
        raise UserError(clip(str(err), 400), title="Not removed") from err
    return (species_update(ctx, genus),
            f"Removed “{row.species}” from the {genus} species list (a row in the taxonomy "
            "records it; typing the name again adds it back).")
