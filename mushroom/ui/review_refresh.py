"""The Review tab's periodic refresh: other experts' votes show up without a click.

A ``gr.Timer`` (active only while an expert is signed in) ticks every
:func:`refresh_seconds`; each tick recomputes the progress line and the votes of the photo
on screen, and when another vote changed that photo's label since it was shown, says so on
the status line. It also keeps the expert's hold on that photo
(:mod:`mushroom.ui.review_holds`), so the queue goes on handing it to nobody else, and
updates the header's line naming the other experts who have it open ("alice has this photo
open"), its line on labelled near-duplicates (:mod:`mushroom.review_near`) and what it says
of the votes (their count, the dispute state, the flags), the only parts of the header it
touches: its genus and species stay the label the page's Confirm refers to. It never
re-renders the photo or the genus, species and note boxes: the expert may be typing.
Values equal to what the page shows come back as None, so a quiet tick changes nothing on
the page.

A tick lands in a hidden JSON box, and :data:`APPLY_JS` then copies it onto the page in
the browser, only when the page still shows the photo and filters the tick was computed
for. A tick runs beside the expert's own events: one computed while their Confirm moved
the page on would otherwise put the old photo's votes, and a notice about their own vote,
under the next photo.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import gradio as gr

from mushroom.settings import env_number
from mushroom.ui import UserError
from mushroom.ui.review_handlers import ReviewContext, require
from mushroom.ui.review_view import md_text, progress_text, votes_table, with_votes

if TYPE_CHECKING:
    import pandas as pd

REFRESH_S = 15.0
"""Seconds between ticks. An expert spends tens of seconds on a photo, so a colleague's vote
shows well before they decide, while each signed-in page costs the server one cheap event
(a few ms: see README "Scale") per interval rather than a steady stream."""

NOTICE = "**Label changed meanwhile**"
"""How the tick's notice starts on the status line (so a later tick can take it back)."""


_VOTED: dict[str, tuple[str, str]] = {}
"""Each page session (:func:`~mushroom.ui.review_holds.tab_key`) -> the ``seen`` its latest
vote was cast with: the very object its session state holds until the page shows a photo
anew (Gradio hands a ``gr.State`` value to every event by reference, and each showing of
a photo makes a new one), so an equal ``seen`` shown again later is not mistaken for it."""
VOTED_TABS = 10_000
"""Sessions :data:`_VOTED` remembers at most (the oldest are forgotten first)."""


@contextmanager
def voting(seen: tuple[str, str] | None) -> Iterator[None]:
    """Around this page session's vote on the photo and label ``seen`` (None: a vote on no
    photo shown): until the page shows a photo anew, its ticks leave the status line alone.
    A tick that runs after the vote is stored and before its answer lands still has
    ``seen``, and would put a notice of this very vote, "from another tab", on the page
    before the vote's "Saved" (a loaded server). Set before the vote is stored, so no tick
    finds the vote without it; taken back when the vote fails, so a notice of another
    expert's vote is not held back."""
    from mushroom.ui.review_holds import this_tab

    tab = this_tab()
    if not tab or not seen:  # a direct call, or nothing shown: no page to keep quiet
        yield
        return
    before = _VOTED.pop(tab, None)
    _VOTED[tab] = seen
    while len(_VOTED) > VOTED_TABS:
        _VOTED.pop(next(iter(_VOTED)), None)
    try:
        yield
    except BaseException:
        _VOTED.pop(tab, None)
        if before is not None:
            _VOTED[tab] = before
        raise


def _own_vote(seen: tuple[str, str] | None) -> bool:
    """Whether this page session voted with the ``seen`` it still holds (see :func:`voting`):
    the page has not shown a photo anew since, so the vote's answer has not landed."""
    from mushroom.ui.review_holds import this_tab

    return seen is not None and _VOTED.get(this_tab()) is seen


def refresh_seconds() -> float:
    """The tick interval: ``MUSHROOM_REVIEW_REFRESH_S`` (read when the tab is built; tests
    set a short one) or :data:`REFRESH_S`; a value that is not a number of seconds from 0.1
    to a day is reported on stderr and :data:`REFRESH_S` used (a browser runs a timer
    longer than 24.8 days at once, over and over)."""
    return env_number(None, "MUSHROOM_REVIEW_REFRESH_S", REFRESH_S, minimum=0.1,
                      maximum=86400, unit="seconds")


APPLY_JS = """(tick, current, genus, mode, progress, votes, status, label) => {
  const fresh = tick && tick.image_id === (current || "") && tick.genus === genus
    && tick.mode === mode;
  if (!fresh) return [progress, votes, status, label];
  return [tick.progress ?? progress, tick.votes ? {...votes, data: tick.votes} : votes,
          tick.status != null && tick.header === label ? tick.status : status,
          tick.label != null && tick.label_shown === label ? tick.label : label];
}"""
"""Browser side of a tick: (tick box, photo id, genus filter, mode filter, progress line,
votes table, status line, header) -> the four page values, the tick's where it still
applies (the header and status line only while the page shows the header the tick was
computed for: a vote cast on this page while the tick ran shows the photo anew, and the
tick's notice of that vote would hide its "Saved")."""


def timer_for(user: str | None) -> gr.Timer:
    """The timer switched on while ``user`` is signed in, off otherwise (after a login, a
    Hugging Face sign-in or a logout)."""
    return gr.Timer(active=bool(user))


def tick(ctx: ReviewContext, user: str | None, image_id: str | None, filter_genus: str,
         mode: str, seen: tuple[str, str] | None, progress_shown: str | None,
         votes_shown: list | None, status_shown: str | None,
         label_shown: str | None = None) -> dict:
    """One refresh, for :data:`APPLY_JS`: the photo and filters it was computed for
    (``image_id``, ``genus``, ``mode``, echoed) and the new ``progress`` line, ``votes``
    rows, ``status`` line and ``label`` (the header, with ``label_shown`` echoed), each
    None when the page already shows it. Without a login, or without a queue, all are None
    (a timer left running must not put refusals on the page).

    Args:
        ctx: the tab's photo folder, store and queue cache.
        user: the session's expert.
        image_id: the photo on screen ("" or None when none).
        filter_genus: the genus filter, for the progress line.
        mode: the "Show" filter, for the progress line.
        seen: (image id, label) the page showed that photo with.
        progress_shown: the progress line on the page.
        votes_shown: the votes table on the page (rows of strings).
        status_shown: the status line on the page.
        label_shown: the item header on the page (None or "": leave it alone).
    """
    from mushroom.review_near import near_text
    from mushroom.ui.review_holds import keep_open

    out = {"image_id": image_id or "", "genus": filter_genus, "mode": mode,
           "progress": None, "votes": None, "status": None, "label": None,
           "label_shown": None, "header": label_shown or ""}
    queue = _queue(ctx, user)
    if queue is None:
        return out
    progress = _markdown(progress_text(queue, filter_genus, user, mode))
    out["progress"] = progress if progress != (progress_shown or "") else None
    hit = queue[queue["image_id"] == (image_id or "")]
    if not hit.empty:
        holders = keep_open(ctx.labels_dir, user, image_id)  # on screen: still theirs
        out.update(_photo_changes(ctx, user, image_id, hit.iloc[0]["genus"], seen,
                                  votes_shown, status_shown))
        near = near_text(queue, image_id, md_text)
        out.update(_header_change(label_shown, hit.iloc[0], holders, near))
    return out


def _header_change(label_shown: str | None, row: pd.Series, holders: list[str],
                   near: str = "") -> dict:
    """The tick's ``label``: the header on screen with what it says of the votes set from the
    photo's queue ``row`` (:func:`~mushroom.ui.review_view.with_votes`), its line naming the
    other experts who have the photo open set to ``holders`` and its line on labelled
    near-duplicates to ``near`` (None when it already says so), and the header it edited
    (``label_shown``), which the page must still show for the edit to apply."""
    from mushroom.review_hold import is_open_line, with_open_line
    from mushroom.review_near import with_near_line

    if not label_shown:
        return {}
    label = with_near_line(with_votes(label_shown, row), near, is_open_line)
    label = _markdown(with_open_line(label, holders))
    return {"label": label, "label_shown": label_shown} if label != label_shown else {}


def _queue(ctx: ReviewContext, user: str | None) -> pd.DataFrame | None:
    """The review queue a tick reports on, or None when it must say nothing: no login, no
    queue built, or a store that cannot be read."""
    from mushroom.labels import StoreError
    from mushroom.review import load_queue

    try:
        require(user)
    except UserError:
        return None
    if ctx.data_dir is None or not ctx.cache.is_file():
        return None
    try:
        return load_queue(ctx.cache, ctx.labels_dir, ctx.cfg)
    except StoreError:  # the expert's next click says why; one toast per tick would pile up
        return None


def _photo_changes(ctx: ReviewContext, user: str, image_id: str, now: str,
                   seen: tuple[str, str] | None, votes_shown: list | None,
                   status_shown: str | None) -> dict:
    """The tick's ``votes`` and ``status`` for the photo on screen (whose label is ``now``),
    each None when the page already shows it."""
    out = {"votes": None, "status": None}
    votes = votes_table(ctx.labels_dir, image_id)
    if votes != [row for row in (votes_shown or []) if any(row)]:
        out["votes"] = votes
    if _own_vote(seen):  # its answer, on its way, says "Saved" and moves the page on
        return out
    status = _markdown(notice(ctx, user, image_id, now, seen))
    if status and status != (status_shown or ""):
        out["status"] = status
    elif not status and (status_shown or "").startswith(NOTICE):
        out["status"] = ""  # the label is back to what the page shows: the notice no longer holds
    return out


def notice(ctx: ReviewContext, user: str, image_id: str, now: str,
           seen: tuple[str, str] | None) -> str:
    """The status line's word that the photo's label is ``now``, no longer the one shown
    (naming whose vote made it so, :func:`changed_by`), or "" when the label on screen still
    holds. ``user``'s own vote counts too: cast in another tab or through the API, it leaves
    this page on the old label, whose Confirm is refused (a tick raced by this page's own
    vote says nothing of it: one computed before the vote's answer, see :func:`voting`,
    and one landing after it, dropped in the browser, see :data:`APPLY_JS`)."""
    if not seen or seen[0] != image_id or seen[1] == now:
        return ""
    return (f"{NOTICE}: {changed_by(ctx, user, image_id, now)} changed this photo's label "
            f"from {seen[1]} to {now}. Go to `{image_id}` to see it as it stands; a Confirm "
            "or Save now would be refused.")


def changed_by(ctx: ReviewContext, user: str, image_id: str, now: str,
               named: bool = True) -> str:
    """Whose vote made ``now`` the photo's label: "bob's vote" ("another expert's vote" when
    not ``named``), "your vote from another tab or the API" (``user``'s own) or "a withdrawn
    vote"."""
    from mushroom.consensus import rows_in_force
    from mushroom.decision import VOTES

    counted = set()
    for r in reversed(rows_in_force(ctx.labels_dir, image_id)):  # latest vote of each first
        if r.action in VOTES and r.annotator not in counted:
            counted.add(r.annotator)
            if not r.flags and r.genus == now:
                if r.annotator == user:
                    return "your vote from another tab or the API"
                return f"{r.annotator}'s vote" if named else "another expert's vote"
    return "a withdrawn vote"


def _markdown(text: str) -> str:
    """``text`` as a Markdown component holds it (Gradio strips its indentation)."""
    return inspect.cleandoc(text)
