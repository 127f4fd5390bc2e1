"""The Review tab's "Remove from list" button: take a mistyped species an expert added off
the list the species box offers. The store appends a row and deletes nothing
(:func:`mushroom.species.retire_species`); this handler checks the login and asks for a
confirmation first, since one click changes every expert's list.

The first click *arms* the button: it turns into "Confirm: remove “X”" and the status line
says what will happen. A second click on the same genus and name within :data:`ARM_S`
seconds removes it; any other click, another name in the species or genus box, or the time
running out disarms it. The armed name lives in the session's server-side state, so an API
client confirms the same way (a second call in its session), or at once with
``confirm=True``.
"""

from __future__ import annotations

import time

import gradio as gr

from mushroom.taxonomy import GENERA, canonical_genus
from mushroom.ui import UserError, bound, clip
from mushroom.ui.review_handlers import ReviewContext, require, species_update

ARM_S = 10.0
"""Seconds the armed button waits for its confirming click: long enough to read the status
line, short enough that a later stray click cannot confirm."""
IDLE = "Remove from list"
OTHER_CLICKS = ("confirm", "save", "not_mush", "unusable", "add_note", "skip", "reopen", "undo",
                "explain", "previous", "forward", "goto", "refresh", "build", "export", "logout")
"""The tab's other buttons: a click on any of them disarms "Remove from list"."""


def widgets() -> dict[str, gr.components.Component]:
    """The hidden parts of the button: the API's ``confirm`` argument (the page always sends
    False), the armed (genus, name, time) and the timer that disarms it."""
    return {"retire_confirm": gr.Checkbox(False, visible=False, label="Confirm removal"),
            "retire_armed": gr.State(None),
            "retire_timer": gr.Timer(1.0, active=False)}


def connect(ctx: ReviewContext, w: dict, one_tracker: dict) -> None:
    """Wire the button, its confirmation timer and the events that disarm it."""
    button = [w["retire_armed"], w["retire"]]
    clicked = w["retire"].click(
        bound(retire, ctx), [w["user"], w["genus"], w["species"], w["retire_confirm"],
                             w["retire_armed"]],
        [w["species"], w["status"], *button], api_name="review_retire_species", **one_tracker)
    clicked.success(lambda armed: gr.Timer(active=armed is not None), w["retire_armed"],
                    w["retire_timer"], api_name="review_retire_timer", api_visibility="private",
                    queue=False, show_progress="hidden")
    clicked.failure(disarm, w["retire_armed"], [*button, w["retire_timer"]],
                    api_name="review_retire_refused", api_visibility="private", queue=False,
                    show_progress="hidden")
    w["retire_timer"].tick(expire, w["retire_armed"], [*button, w["retire_timer"], w["status"]],
                           api_name="review_retire_expire", api_visibility="private",
                           queue=False, show_progress="hidden")
    others = [w[k].click for k in OTHER_CLICKS] + [
        w["genus"].change, w["species"].change, w["filter_genus"].change, w["mode"].change,
        w["goto_name"].submit]
    gr.on(others, disarm, w["retire_armed"], [*button, w["retire_timer"]],
          api_name="review_retire_disarm", api_visibility="private", queue=False,
          show_progress="hidden")


def retire(ctx: ReviewContext, user: str | None, genus: str, species: str,
           confirm: bool = False, armed: tuple | None = None) -> tuple:
    """Arm the removal of the species box's value for the genus chosen beside it or, when
    it is armed for that name (or ``confirm``), remove it from every expert's list.

    Returns:
        (species box, status line, armed state, button): after a removal the box has the
        refreshed choices and no value; after arming it is left as it is.

    Raises:
        UserError: no login, no genus or species chosen, or a refusal of the store (a seed
            name, an unknown one, or one still named by a current vote), on the first click
            already.
    """
    from mushroom.species import check_retire, retire_species

    user = require(user)
    name, genus = " ".join((species or "").split()), canonical_genus(genus)
    if genus not in GENERA or not name:
        raise UserError("Choose the genus and, in the species box, the name to remove from "
                        "the list.", title="Not removed")
    try:
        name = check_retire(ctx.labels_dir, genus, name)  # refused now, not after a confirm
        now = time.monotonic()
        if not (confirm or armed_for(armed, genus, name, now)):
            return (gr.skip(), armed_text(genus, name), (genus, name, now),
                    gr.update(value=f"Confirm: remove “{name}”", variant="stop"))
        row = retire_species(ctx.labels_dir, genus, name, user)
    except ValueError as err:
        raise UserError(clip(str(err), 400), title="Not removed") from err
    return (species_update(ctx, genus),
            f"Removed “{row.species}” from the {genus} species list (a row in the taxonomy "
            "records it; typing the name again adds it back).", None, _idle())


def armed_for(armed: tuple | None, genus: str, name: str, now: float) -> bool:
    """Whether ``armed`` (genus, name, time) confirms removing ``name`` of ``genus`` now."""
    return armed is not None and tuple(armed[:2]) == (genus, name) and \
        0 <= now - armed[2] <= ARM_S


def armed_text(genus: str, name: str) -> str:
    """The status line of an armed button: what a second click does, and what cancels it."""
    return (f"Remove “{name}” from every expert's {genus} species list? Press **Confirm: "
            f"remove “{name}”** within {ARM_S:g} s to do it (a row in the taxonomy records "
            "it; nothing else is deleted); any other click cancels.")


def disarm(armed: tuple | None) -> tuple:
    """(armed state, button, timer) back to the plain button; unchanged when not armed."""
    if armed is None:
        return gr.skip(), gr.skip(), gr.skip()
    return None, _idle(), gr.Timer(active=False)


def expire(armed: tuple | None) -> tuple:
    """The timer's tick: (armed state, button, timer, status line), disarmed once
    :data:`ARM_S` has passed without the confirming click."""
    if armed is None:
        return gr.skip(), gr.skip(), gr.Timer(active=False), gr.skip()
    if time.monotonic() - armed[2] <= ARM_S:
        return gr.skip(), gr.skip(), gr.skip(), gr.skip()
    return (None, _idle(), gr.Timer(active=False),
            f"Not removed: “{armed[1]}” was not confirmed within {ARM_S:g} s; it stays on the "
            "list.")


def _idle():
    return gr.update(value=IDLE, variant="secondary")
