"""The "Review" tab: experts work through the suspicion queue and fix labels.

Foragers never log in: only this tab has a login, and until it succeeds the work area is
hidden and every handler refuses (see :func:`mushroom.ui.review_handlers.require`). Call
:func:`build_review_tab` inside the app's ``gr.Tabs()``.
"""

from __future__ import annotations

import gradio as gr

from mushroom.review_filters import MODES
from mushroom.review_nav import History
from mushroom.taxonomy import GENERA
from mushroom.ui import IMAGE_BUTTONS, bound
from mushroom.ui import review_draft as draft
from mushroom.ui import review_handlers as h
from mushroom.ui import review_moves as moves
from mushroom.ui import review_refresh as refresh
from mushroom.ui import review_refused as refused
from mushroom.ui import review_signin as signin
from mushroom.ui import review_species
from mushroom.ui import review_tools as tools
from mushroom.ui.review_context import context_from_env
from mushroom.ui.review_keys import HELP, KEYS_JS

def build_review_tab(ctx: h.ReviewContext | None = None) -> None:
    """Add the Review tab (components and events) to the enclosing ``gr.Blocks``.

    Args:
        ctx: photo folder, store and model; read from the environment when None.
    """
    ctx = ctx or context_from_env()
    with gr.Tab("Review", id="review"):
        w = {"user": gr.State(None)}
        gr.Markdown("## Expert review\nFix genus labels, add species and flag bad photos. "
                    "Decisions feed the next training run (`manifest --labels labels/`).")
        gr.Markdown(signin.setup_notes(ctx), elem_id="review-setup")
        w["who"] = gr.Markdown("Not signed in. Identifying mushrooms needs no login; "
                               "reviewing does.", label="Sign-in status", show_label=False,
                               elem_id="review-who")
        with gr.Row(visible=True) as w["login_box"]:
            w["name"] = gr.Textbox(label="Expert name", elem_id="review-name", scale=2)
            w["password"] = gr.Textbox(label="Password", type="password",
                                       elem_id="review-password", scale=2)
            w["login"] = gr.Button("Log in", variant="primary", elem_id="review-login", scale=1)
        w["hf"] = signin.hf_login_button()
        with gr.Column(visible=False) as w["work"]:
            w.update(_work_area())
        # Outside the hidden work area, which the page does not mount until a login; it
        # ticks only while an expert is signed in (see _connect_refresh).
        w["timer"] = gr.Timer(refresh.refresh_seconds(), active=False)
        w["tick"] = gr.JSON(visible=False)  # a tick's result, until APPLY_JS places it
        w["draft"] = gr.Textbox(visible=False)  # what was typed, kept by the browser (resume)
    _connect(ctx, w)


def _connect(ctx: h.ReviewContext, w: dict) -> None:
    """Wire every event; each gets an ``api_name`` and re-checks the login server-side."""
    outputs = [w[k] for k in h.ITEM_OUTPUTS]
    # Progress and a refusal show on the status line only: Gradio otherwise covers every
    # output (photo, genus, species...) with an "Error" badge that blocks the very field
    # the message asks the expert to fix.
    one_tracker = {"show_progress_on": w["status"]}
    # No ``cancels`` of a refresh in flight: APPLY_JS already drops a tick computed for
    # another photo, and Gradio answers the cancel of a tick not yet queued with a 422
    # that the browser logs as an error (seen on every few clicks at a short interval).
    _connect_refresh(ctx, w)
    _connect_session(ctx, w, outputs, one_tracker)
    _connect_items(ctx, w, outputs, one_tracker)
    _connect_tools(ctx, w, one_tracker)


def _connect_session(ctx: h.ReviewContext, w: dict, outputs: list, one_tracker: dict) -> None:
    """Log in and out (password or Hugging Face), switching the refresh timer with them."""
    shown = [w["user"], w["current"], w["filter_genus"], w["mode"], w["history"]]
    swap = [w["user"], w["who"], w["login_box"], w["work"], w["logout"]]
    logged_in = gr.on([w["login"].click, w["password"].submit], bound(signin.login, ctx),
                      [w["name"], w["password"], w["user"]], swap, api_name="review_login",
                      show_progress_on=w["who"])
    logged_in.success(bound(draft.resume, ctx), [*shown, w["draft"]], outputs,
                      js=draft.RESUME_JS, api_name="review_open", api_visibility="undocumented",
                      **one_tracker)
    logged_in.success(None, None, None, js=signin.CLEAR_LOGIN_TOASTS,
                      api_name="review_clear_toasts", api_visibility="private")
    logged_in.success(refresh.timer_for, w["user"], w["timer"], api_name="review_timer_login",
                      api_visibility="private")
    w["logout"].click(bound(signin.logout, ctx), w["user"], [*swap, w["password"]],
                      api_name="review_logout").then(
        refresh.timer_for, w["user"], w["timer"], api_name="review_timer_logout",
        api_visibility="private")
    root = gr.context.Context.root_block
    if root is not None:
        # Gradio gives an unload event no api_name (nor any client a way to call it).
        root.unload(bound(signin.session_ended, ctx))
        root.load(None, None, None, js=draft.SAVE_JS, api_name="review_draft_keep",
                  api_visibility="private")
        root.load(None, w["who"], w["who"], js=draft.NOTICE_JS, api_name="review_draft_notice",
                  api_visibility="private")
        if w["hf"] is not None:  # the OAuth round trip reloads the page: check who came back
            root.load(signin.hf_login, None, swap, api_name="review_hf_login").then(
                refresh.timer_for, w["user"], w["timer"], api_name="review_timer_hf",
                api_visibility="private")


def _connect_items(ctx: h.ReviewContext, w: dict, outputs: list, one_tracker: dict) -> None:
    """Show, filter, build, decide and move through the queue: the events that change the
    photo on screen."""
    filters = [w["filter_genus"], w["mode"]]
    shown = [w["user"], w["current"], *filters, w["history"]]
    w["refresh"].click(bound(h.show, ctx), shown, outputs, api_name="review_show", **one_tracker)
    gr.on([w["filter_genus"].change, w["mode"].change], bound(h.show, ctx), shown, outputs,
          api_name="review_filter", api_visibility="undocumented", **one_tracker)
    typed = [w["current"], w["genus"], w["species"], w["note"], w["seen"]]  # kept on screen
    w["build"].click(bound(tools.build, ctx), [w["user"], *filters, w["history"], *typed], outputs,
                     api_name="review_build", concurrency_limit=1, concurrency_id="review_build",
                     show_progress_on=w["progress"])  # one bar, not one over every field
    item = [w["user"], w["current"], w["genus"], w["species"], w["note"], *filters, w["seen"],
            w["history"]]
    for kind, button, what in (("confirm", "confirm", "Vote for the photo's current label"),
                               ("save", "save", "Vote for the chosen genus and species"),
                               ("not_a_mushroom", "not_mush", "Flag the photo: not a mushroom"),
                               ("unusable", "unusable", "Flag the photo as unusable"),
                               ("note", "add_note", "Add a note to the photo (no vote)")):
        w[button].click(bound(h.act, ctx, kind), item, outputs, api_name=f"review_{kind}",
                        api_description=f"{what}; sign-in required.", **one_tracker).failure(
            bound(refused.after_refusal, ctx, kind),
            [w["user"], w["current"], w["genus"], w["species"], w["note"], w["seen"],
             w["history"], *filters], outputs, api_name=f"review_{kind}_refused",
            api_visibility="private")
    w["skip"].click(bound(h.skip, ctx), shown, outputs, api_name="review_skip", **one_tracker)
    w["reopen"].click(bound(moves.reopen, ctx), [w["user"], *filters, w["history"]], outputs,
                      api_name="review_reopen", **one_tracker)
    w["undo"].click(bound(moves.undo, ctx), [w["user"], *filters, w["history"]], outputs,
                    api_name="review_undo", **one_tracker)
    for name in ("previous", "forward"):
        w[name].click(bound(getattr(moves, name), ctx), [w["user"], w["history"], *filters],
                      outputs, api_name=f"review_{name}", **one_tracker)
    gr.on([w["goto"].click, w["goto_name"].submit], bound(moves.go_to, ctx),
          [w["user"], w["goto_name"], w["history"], *filters], outputs, api_name="review_go_to",
          **one_tracker)


def _connect_tools(ctx: h.ReviewContext, w: dict, one_tracker: dict) -> None:
    """LIME, export, the species list and the keyboard shortcuts."""
    lime = {"concurrency_id": "lime", "concurrency_limit": 1}
    # API clients get refusals as errors; the page shows them in the caption's place
    gr.on([], bound(tools.explain, ctx), [w["user"], w["current"]], [w["lime"], w["lime_note"]],
          api_name="review_explain", **lime)
    explained = gr.State()  # the last heatmap and caption, shown only on the photo they are of
    explaining = w["explain"].click(bound(tools.explain_stamped, ctx), [w["user"], w["current"]],
                                    explained, api_name="review_explain_page",
                                    api_visibility="private", show_progress_on=w["lime"], **lime)
    explaining.then(tools.show_explained, [explained, w["current"]], [w["lime"], w["lime_note"]],
                    api_name="review_explain_show", **tools.PLACE)
    # A heatmap still on its way is for the photo the expert left: it would land on the next
    w["current"].change(None, None, None, cancels=[explaining], api_name="review_drop_lime",
                        api_visibility="private")
    for name, fn in (("export", tools.export), ("store", tools.download_store)):
        # The toast says why ("Nothing to download"); the box had kept a bare "Error" badge
        w[name].click(bound(fn, ctx), [w["user"]], w["download"], api_name=f"review_{name}"
                      ).failure(lambda: None, None, w["download"], queue=False,
                                api_name=f"review_{name}_refused", api_visibility="private")
    # .input, not .change: showing a photo sets the genus too, and must keep its species
    w["genus"].input(bound(h.species_for, ctx), [w["user"], w["genus"]], w["species"],
                     api_name="review_species_choices")
    review_species.connect(ctx, w, one_tracker)  # asks for a confirmation first
    root = gr.context.Context.root_block
    if root is not None:
        root.load(None, None, None, js=KEYS_JS, api_name="review_keys", api_visibility="private")


def _connect_refresh(ctx: h.ReviewContext, w: dict):
    """The timer's tick: progress, votes, a stale-label notice and the header's vote count,
    dispute, flags and lines on near-duplicates and on who else has the photo open, nothing
    the expert types into (see :mod:`mushroom.ui.review_refresh`)."""
    shown = [w["progress"], w["votes"], w["status"], w["label"]]
    event = w["timer"].tick(
        bound(refresh.tick, ctx),
        [w["user"], w["current"], w["filter_genus"], w["mode"], w["seen"], *shown], w["tick"],
        api_name="review_tick", api_visibility="undocumented", show_progress="hidden",
        queue=False)  # a background refresh must never meet "queue is full" under load
    event.then(None, [w["tick"], w["current"], w["filter_genus"], w["mode"], *shown], shown,
               js=refresh.APPLY_JS, api_name="review_tick_apply", api_visibility="private",
               show_progress="hidden")


def _work_area() -> dict[str, gr.components.Component]:
    """Filters, progress, the item view and the action buttons; returns them by name."""
    w = _filter_row()
    # Labels that are never shown name these outputs on the API page (else "value_60").
    w["progress"] = gr.Markdown(label="Queue progress", show_label=False,
                                elem_id="review-progress")
    w["current"] = gr.Textbox(label="Image id", visible=False, elem_id="review-current")
    w["seen"] = gr.State(None)  # (image id, label) on screen: a vote must refer to it
    w["history"] = gr.State(History())  # the photos this session showed, for Previous/Forward
    with gr.Row():
        with gr.Column(scale=3):
            w["photo"] = gr.Image(label="Photo", type="pil", interactive=False, height=420,
                                  buttons=IMAGE_BUTTONS, elem_id="review-photo")
            w["lime"] = gr.Image(label="LIME of the current model's top genus (cyan supports, "
                                       "red opposes)",
                                 type="pil", interactive=False, height=300,
                                 buttons=IMAGE_BUTTONS, elem_id="review-lime")
            # which model and genus the heatmap explains, when the top-3 came from another
            w["lime_note"] = gr.Markdown(label="What the heatmap explains", show_label=False,
                                         elem_id="review-lime-note")
        with gr.Column(scale=2):
            w.update(_item_panel())
    with gr.Row():
        w["export"] = gr.Button("Export consensus CSV", elem_id="review-export", scale=0,
                                min_width=240)
        # the raw store, for train --labels elsewhere: a Space's own disk forgets it
        w["store"] = gr.Button("Download label store (zip)", elem_id="review-store", scale=0,
                               min_width=300)
        w["download"] = gr.File(label="Download", interactive=False, height=90,
                                elem_id="review-download")
    return w


def _filter_row() -> dict[str, gr.components.Component]:
    """The top row: Log out, the genus and "Show" filters, Open queue and Build queue;
    returns them by name."""
    w = {}
    with gr.Row():
        w["logout"] = gr.Button("Log out", size="sm", elem_id="review-logout", scale=0)
        w["filter_genus"] = gr.Dropdown(["All", *GENERA], value="All", label="Genus",
                                        elem_id="review-filter-genus")
        # Wide enough that on a phone it takes a line of its own rather than squeezing each
        # choice into two lines beside the genus box.
        w["mode"] = gr.Radio(list(MODES), value=MODES[0], label="Show", elem_id="review-mode",
                             scale=3, min_width=300)
        # API clients can send any string: refuse an unknown mode by listing the valid ones
        # (Gradio's own check prints Python types) and without a server traceback.
        w["mode"].preprocess = h.mode_value
        w["refresh"] = gr.Button("Open queue", elem_id="review-refresh", scale=0)
        w["build"] = gr.Button("Build queue", elem_id="review-build", scale=0)
    return w


def _item_panel() -> dict[str, gr.components.Component]:
    """Beside the photo: its label, the model's top 3, the votes, the genus, species and note
    boxes, the action buttons and the status line; returns them by name."""
    w = {}
    w["label"] = gr.Markdown(label="Current label", show_label=False,
                             elem_id="review-label")
    w["top3"] = gr.HTML(label="Model top 3", show_label=False, elem_id="review-top3")
    w["votes"] = gr.Dataframe(headers=["time (UTC)", "expert", "action", "vote", "note"],
                              label="Votes and notes", interactive=False, wrap=True,
                              type="array",  # rows of strings, as votes_table makes
                              # Gradio sizes columns to their unwrapped text otherwise: the
                              # vote and note columns went off the side, out of sight;
                              # at 14% a 320 px phone cut the header "expert" to "exper"
                              column_widths=["21%", "18%", "20%", "21%", "20%"],
                              elem_id="review-votes")
    w["genus"] = gr.Dropdown(list(GENERA), label="Genus", elem_id="review-genus",
                             allow_custom_value=True)  # the store validates it
    with gr.Row(equal_height=True):
        w["species"] = gr.Dropdown([""], value="", allow_custom_value=True,
                                   label="Species (pick, or type a new binomial)",
                                   elem_id="review-species", scale=4)
        # a mistyped addition would otherwise stay in every expert's list
        w["retire"] = gr.Button("Remove from list", size="sm", scale=1, min_width=90,
                                elem_id="review-retire-species")
    w.update(review_species.widgets())
    # The API page would list only the current choices ('') for a field that takes any
    # binomial; say "string" (the store validates it against the genus).
    w["species"].api_info = lambda: {"type": "string"}
    w["note"] = gr.Textbox(label="Note", lines=2, elem_id="review-note")
    w.update(_buttons())
    w["status"] = gr.Markdown(label="Status", show_label=False, elem_id="review-status")
    gr.Markdown(HELP, elem_id="review-keys")
    return w


def _buttons() -> dict[str, gr.Button]:
    """The action buttons, whose ids the keyboard shortcuts click (each key shows on its
    label from :data:`mushroom.ui.review_keys.KEY_HINTS`), and the "Go to" box."""
    with gr.Row():
        b = {"confirm": gr.Button("Confirm", variant="primary", elem_id="review-confirm"),
             "save": gr.Button("Save genus/species", variant="primary",
                               elem_id="review-save")}
    with gr.Row():
        b["not_mush"] = gr.Button("Not a mushroom", elem_id="review-not-mushroom")
        b["unusable"] = gr.Button("Unusable photo", elem_id="review-unusable")
        b["add_note"] = gr.Button("Add note", elem_id="review-add-note")
    with gr.Row():
        b["skip"] = gr.Button("Skip", elem_id="review-skip")
        b["reopen"] = gr.Button("Reopen last", elem_id="review-reopen")
        b["undo"] = gr.Button("Undo", elem_id="review-undo")
        b["explain"] = gr.Button("LIME", elem_id="review-explain")
    with gr.Row():
        b["previous"] = gr.Button("Previous", elem_id="review-previous")
        b["forward"] = gr.Button("Forward", elem_id="review-forward")
    with gr.Row(equal_height=True):  # a one-line box beside its button, no frame above it
        b["goto_name"] = gr.Textbox(label="Go to photo", show_label=False, container=False,
                                    placeholder="Go to photo: abc.jpg, Amanita/abc.jpg or "
                                    "image id", elem_id="review-goto-name", scale=3)
        b["goto"] = gr.Button("Go to", elem_id="review-goto", scale=1, min_width=80)
    return b
