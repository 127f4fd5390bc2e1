"""What an expert typed on a photo survives a lost sign-in: the Review tab's draft.

Gradio reloads the whole page when its connection comes back (a laptop woken from sleep,
a dropped network, an app or Space replica restarted), and a session idle for an hour loses
its server-side state; either way the expert is signed out, and the genus, species and
note typed on the photo on screen were gone without a word. :data:`SAVE_JS` keeps a copy
of them in the tab's ``sessionStorage`` (which a reload keeps, and which no other tab or
browser sees); :data:`NOTICE_JS` says on the reloaded page that signing in again brings
them back, and :func:`resume`, the sign-in's first event, shows that photo again with them,
unsaved, when the same expert signs in.
"""

from __future__ import annotations

import json
import re

from mushroom.decision import MAX_NOTE
from mushroom.review_nav import History
from mushroom.taxonomy import GENERA
from mushroom.ui import UserError
from mushroom.ui.review_handlers import (ITEM_OUTPUTS, ReviewContext, queue_row, render, require,
                                         show, species_update)

KEY = "mushroom-review-draft"
"""The ``sessionStorage`` key of the draft."""

SAVE_JS = """() => {
  if (window.__mushroomReviewDraft) return; window.__mushroomReviewDraft = true;
  const value = (sel) => document.querySelector(sel)?.value ?? "";
  setInterval(() => {
    const who = (document.querySelector("#review-who")?.innerText || "")
      .match(/^Signed in as (.+)\\.\\s*$/m);
    const save = document.querySelector("#review-save");
    const label = document.querySelector("#review-label")?.innerText || "";
    const id = label.match(/\\bid ([0-9a-f]{16})\\b/);
    // signed out, or no photo on screen: keep the last draft for the next sign-in
    if (!who || !id || !save || save.offsetParent === null) return;
    // the header's first line: "Genus · Species in force · flagged: ..."
    const top = label.split("\\n")[0].split(" · ").map((part) => part.trim());
    const shown = top[1] && !top[1].startsWith("flagged:") ? top[1] : "";
    sessionStorage.setItem("%(key)s", JSON.stringify({
      user: who[1], image_id: id[1], label: top[0], shown_species: shown,
      genus: value("#review-genus input"), species: value("#review-species input"),
      note: value("#review-note textarea")}));
  }, 1000);
}""" % {"key": KEY}
"""Page script (run once on load): every second while an expert is signed in with a photo
on screen, the photo's id and label and the boxes' contents go to ``sessionStorage``."""

RESUME_JS = """(...inputs) => [...inputs.slice(0, -1), sessionStorage.getItem("%s") || ""]""" % KEY
"""Browser side of :func:`resume`: the draft replaces its last input."""

NOTICE_JS = """(who) => {
  let draft = null;
  try { draft = JSON.parse(sessionStorage.getItem("%s") || "null"); } catch (e) {}
  // what resume() restores: a note, another genus, or a species other than the one in force
  // (a species typed on a photo whose genus is right is the commonest edit of all)
  if (!draft || !((draft.note || "").trim() || (draft.genus && draft.genus !== draft.label) ||
                  (draft.species || "").trim() !== (draft.shown_species || ""))) return who;
  return "**You were signed out** (the page reloaded: the connection dropped or the app " +
    "restarted). Sign in again as **" + draft.user + "**: what you typed on the photo " +
    "you had open is kept, unsaved, and comes back.";
}""" % KEY
"""On page load: the sign-in line says that typed work waits for the next sign-in."""


def typed(raw: str | None, user: str) -> dict | None:
    """The draft of ``user`` from the browser's JSON (None when there is none, another
    expert's, or it is malformed: an API client can send anything)."""
    try:
        draft = json.loads(raw or "null")
    except ValueError:
        return None
    if not isinstance(draft, dict) or draft.get("user") != user:
        return None
    fields = {k: draft.get(k) for k in ("image_id", "label", "genus", "species", "note")}
    if not all(isinstance(v, str) for v in fields.values()):
        return None
    if not re.fullmatch(r"[0-9a-f]{16}", fields["image_id"]):
        return None
    fields["note"] = fields["note"][:MAX_NOTE]
    fields["species"] = fields["species"][:200]
    shown = draft.get("shown_species")  # absent from a draft kept by an older page
    fields["shown_species"] = shown[:200] if isinstance(shown, str) else None
    return fields


def resume(ctx: ReviewContext, user: str | None, image_id: str | None, filter_genus: str,
           mode: str, history: History | None = None, draft: str | None = "") -> list:
    """The first view after a sign-in: :func:`~mushroom.ui.review_handlers.show`, or, when
    ``draft`` holds this expert's genus, species or note typed on a photo that is still in
    the queue, that photo with them back in their boxes, unsaved, the status line saying so.
    """
    user = require(user)
    found = typed(draft, user)
    row = _row(ctx, found["image_id"]) if found is not None else None
    # decided on the queue row, before rendering: a render decodes and holds the photo
    if row is None or not _worth_restoring(found, row["genus"], row["species"] or ""):
        return show(ctx, user, image_id, filter_genus, mode, history)
    out = render(ctx, user, found["image_id"], filter_genus, mode, "", history, keep="trail")
    at = ITEM_OUTPUTS.index
    if out[at("current")] != found["image_id"]:  # it left the queue a moment ago (a rebuild)
        return show(ctx, user, image_id, filter_genus, mode, history)
    label = out[at("seen")][1]
    genus = found["genus"] if found["genus"] in GENERA else label
    out[at("genus")] = genus
    out[at("species")] = species_update(ctx, genus, found["species"])
    out[at("note")] = found["note"]
    changed = (f" Its label changed from {found['label']} to {label} meanwhile."
               if found["label"] in GENERA and found["label"] != label else "")
    out[at("status")] = ("**Restored, not saved yet**: what you typed on this photo before "
                         f"you were signed out.{changed} " + out[at("status")]).strip()
    return out


def _row(ctx: ReviewContext, image_id: str):
    """The queue row of the draft's photo, or None when it has left the queue (or there is
    no queue any more)."""
    try:
        return queue_row(ctx, image_id)
    except UserError:
        return None


def _worth_restoring(found: dict, label: str, species: str) -> bool:
    """Whether the draft holds typing: a note, or a genus or species other than the label
    the page showed when it was kept (else than the photo's ``label`` and ``species`` as it
    now stands, for a draft that does not say). Not the label now: boxes left untouched on a
    photo another vote has relabelled since are no work of the expert's, and a genus typed
    that such a vote has made the label since still waits for the expert's own vote."""
    if found["shown_species"] is not None and found["label"] in GENERA:
        label, species = found["label"], found["shown_species"]
    return bool(found["note"].strip()) or found["species"].strip() != species or (
        found["genus"] in GENERA and found["genus"] != label)

