"""Signing in and out of the Review tab, and what its set-up still lacks.

Two ways in: a password checked against ``MUSHROOM_EXPERTS`` (:mod:`mushroom.auth`), or on
a Hugging Face Space with OAuth, an account on ``MUSHROOM_EXPERTS_HF``. Each returns the
identity for the session state plus the updates that swap the login box for the work area
(and show the work area's own "Log out" only to password sessions).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import gradio as gr

from mushroom.paths import DEFAULT_LABELS, on_space
from mushroom.ui import UserError, close_error_toasts

if TYPE_CHECKING:
    from mushroom.ui.review_handlers import ReviewContext

# A refused login's toast would stay over the page after a good one (Gradio only fades a
# toast group holding a single message): close the error toasts that speak of the login.
CLEAR_LOGIN_TOASTS = close_error_toasts(r"/wrong password|failed logins|experts are configured/i")


def setup_notes(ctx: ReviewContext) -> str:
    """What is missing before the tab can work, as Markdown ("" when ready)."""
    from mushroom.auth import hf_sign_in_status, load_experts

    experts, problems = load_experts()
    hf_ok, hf_why = hf_sign_in_status()
    notes = [f"- {p}" for p in [*problems, *([hf_why] if hf_why else [])]]
    if not experts and not hf_ok:
        notes.append("- No experts configured: set `MUSHROOM_EXPERTS=name:<hash>` (make one with "
                     "`python -m mushroom labels hash-password NAME`). Every action is refused.")
    if ctx.data_dir is None or not ctx.data_dir.is_dir():
        notes.append("- No photo folder configured: set `MUSHROOM_REVIEW_DATA`.")
    if on_space() and ctx.labels_dir.resolve() == DEFAULT_LABELS.resolve():
        notes.append("- Decisions are kept on this Space's own disk, which is wiped when the "
                     "Space restarts or is rebuilt. Attach persistent storage (mounted at "
                     "`/data`; decisions then go to `/data/labels`) or set `MUSHROOM_LABELS` "
                     "to a lasting folder; until then, download the export after each session.")
    return "\n".join(notes)


def login(ctx: ReviewContext, name: str, password: str, previous: str | None = None):
    """Check a password; on success remember the expert in this session.

    Args:
        ctx: the tab's context.
        name: the expert's login name.
        password: their password.
        previous: the expert this session was signed in as (another one may sign in over
            them without Log out, on a shared computer): a new expert frees the photo the
            previous one held in this tab, rather than leave it held for ten minutes.
    """
    from mushroom.auth import authenticate
    from mushroom.ui.review_holds import release

    try:
        user = authenticate(name, password)
    except PermissionError as err:
        raise UserError(str(err), title="Login refused") from err
    if previous and previous != user:
        release(ctx.labels_dir, previous)
    return (user, f"Signed in as **{user}**.", gr.update(visible=False), gr.update(visible=True),
            gr.update(visible=True))


def hf_login(profile: gr.OAuthProfile | None):
    """On page load after a Hugging Face sign-in: accept allow-listed accounts only."""
    from mushroom.auth import hf_allow_list

    if profile is None:
        return None, gr.update(), gr.update(), gr.update(), gr.update()
    if profile.username not in hf_allow_list():
        return (None, f"Hugging Face account {profile.username} is not on the expert list.",
                gr.update(visible=True), gr.update(visible=False), gr.update())
    # Signing out is the Hugging Face button's "Logout" (it clears the session cookie); a
    # second "Log out" that only forgot the name would sign the expert in again on reload.
    return (f"hf:{profile.username}", f"Signed in as **hf:{profile.username}**.",
            gr.update(visible=False), gr.update(visible=True), gr.update(visible=False))


def logout(ctx: ReviewContext, user: str | None = None):
    """Forget the identity of this session, and the password typed into the page; free the
    photo this tab held (see :mod:`mushroom.ui.review_holds`)."""
    from mushroom.ui.review_holds import release

    release(ctx.labels_dir, user)
    return (None, "Signed out.", gr.update(visible=True), gr.update(visible=False), gr.update(),
            "")


def session_ended(ctx: ReviewContext) -> None:
    """The page's session ended (the tab closed or reloaded, or a Hugging Face sign-out
    reloaded it): free the photo it held at once, rather than leave other experts told
    "alice has this photo open" and steered away from it for up to ten minutes."""
    from mushroom.ui.review_holds import close_tab, this_tab

    close_tab(ctx.labels_dir, this_tab())


def hf_login_button() -> gr.LoginButton | None:
    """A Hugging Face sign-in button, only on a Space with OAuth on and an allow-list."""
    from mushroom.auth import hf_sign_in_status

    ok, why = hf_sign_in_status()
    if why:
        warnings.warn(why, stacklevel=2)
    return gr.LoginButton("Sign in with Hugging Face (experts)") if ok else None
