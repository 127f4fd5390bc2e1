"""Leaving the page for a slow address: the page no longer reloads itself on the way out.

Gradio's page (6.31, ``Index-*.js``) closes its connection to the server on
``beforeunload``, which the browser fires when a navigation *starts*, before the new
address has answered. An event still pending then fails with "Connection errored out",
which the page takes for a lost connection: it asks the server every 2 s whether it is back
(``/gradio_api/app_id``) and, as soon as it is, calls ``window.location.reload()``, which
cancels the navigation still waiting for its answer. So the "Sign in with Hugging Face"
button (Gradio's ``/login/huggingface`` fetches the provider's OpenID configuration, then
the provider's own sign-in page loads: seconds on a loaded Space or a phone network)
brought the expert back to the Review tab signed out, without a word, whenever one of the
page's events was still pending (its load events on a busy server); so did a slow link.

Gradio adds the page's ``<head>`` after its own listener, and ``window`` calls its listeners
in the order they were added, capturing or not (Chromium), so the close cannot be stopped.
:data:`LEAVING`, a script for the ``<head>``, answers the page's "is the server back?"
requests "no" instead, for :data:`LEAVE_GRACE_MS` after a ``beforeunload`` (Gradio asks
again every 2 s): a navigation that commits in that time replaces the page as it should;
one that never does (a cancelled or failed load, a download) gets the old reload after it,
which heals the page Gradio closed.
A page restored from the back-forward cache asks at once.

While it leaves, the page also hides Gradio's "Connection to the server was lost" (and
"Connection errored out") toasts: they are Gradio's own doing, not the server's, and they
sat on the old page for as long as the provider took to answer, telling the expert who had
just pressed "Sign in" that the app was broken (the browser's own loading sign is what shows).
"""

from __future__ import annotations

LEAVE_GRACE_MS = 30_000
"""How long after the page starts leaving its reconnect checks fail (ms)."""

LEAVING = """<script>
(() => {
  let leftAt = -Infinity;
  const leaving = () => Date.now() - leftAt < %(grace)d;
  const closedByGradio = ["Connection to the server was lost", "Connection errored out"];
  const hideClosedToasts = () => {
    if (!leaving()) { toasts.disconnect(); return; }
    document.querySelectorAll('[data-testid="toast-body"]').forEach((toast) => {
      if (closedByGradio.some((text) => (toast.textContent || "").includes(text))) {
        (toast.closest(".toast-item") || toast).style.display = "none";
      }
    });
  };
  // Its callbacks run before the next paint, so a hidden toast is never drawn.
  const toasts = new MutationObserver(hideClosedToasts);
  window.addEventListener("beforeunload", () => {
    leftAt = Date.now();
    toasts.observe(document.body, {subtree: true, childList: true, characterData: true});
  });
  window.addEventListener("pageshow", (event) => { if (event.persisted) leftAt = -Infinity; });
  const reconnectCheck = (input) => {
    try {
      // Gradio's client passes a URL object; a Request has .url; both print as the address
      const url = new URL(input instanceof Request ? input.url : String(input), location.href);
      return url.pathname.endsWith("/gradio_api/app_id");
    } catch (e) { return false; }
  };
  const fetchBefore = window.fetch;
  window.fetch = function (input, init) {
    // Answered "no server" (Gradio then asks again 2 s later): held instead, every check
    // piled up would be let go at once, and each would reload the page, cancelling the last.
    if (reconnectCheck(input) && leaving()) {
      return Promise.reject(new TypeError("the page is leaving"));
    }
    return fetchBefore.call(this, input, init);
  };
})();
</script>
""" % {"grace": LEAVE_GRACE_MS}
"""Page script: reconnect checks fail while the page is leaving (see the module's doc)."""
