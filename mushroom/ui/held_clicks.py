"""A click that Gradio's page would lose while it cancels an event: held, then clicked again.

A new photo (Identify, Review) or a new list or choice of photos (Find) cancels the
explanation still running for the last one (``cancels=[explaining]``). Gradio's page
(6.31, ``Blocks-*.js``) does that cancel without waiting for it: ``dispatch`` calls
``cancel(dep.cancels)`` unawaited, and ``cancel`` awaits the client's ``/gradio_api/cancel``
and ``/gradio_api/reset`` requests (the server's side also awaits the cancelled task) before
it forgets the event's submission (``clear_submission``) and hides its progress. Until then a
click that starts the event again is judged by ``Ze(trigger_mode, submissions.has(id))``:
"once" skips it, and "always_last" queues it to run when the event's stream ends, which after
a cancel it never was (seen on the Identify and Find tabs). An expert who clicked Explain on
the next photo in that window, a round trip (seconds on a loaded Space or a phone network),
saw the old spinner vanish and no heatmap come.

:data:`HELD_CLICKS` is a script for the page's ``<head>``: it wraps ``window.fetch`` to see
each cancel from its ``/cancel`` request until the answer to its ``/reset``, holds a click
on a button whose events (the click's own and those chained after it with ``.then``) are
being cancelled, before Gradio sees it, and clicks the button again once no cancel of them
is left: one click however many were held, and the cancelled event's heatmap still dropped.
"""

HELD_CLICKS = """<script>
(() => {
  const cancelling = [];  // {event, fn}: a cancel sent, its /reset not answered yet
  const held = new Set();  // ids of the buttons clicked while their events were cancelled
  // The dependencies a click on the element with this id starts: its own, and those run
  // after them (.then, .success): Gradio skips any of them whose last call is pending.
  const started = (id) => {
    const config = window.gradio_config || {}, deps = config.dependencies || [];
    const block = (config.components || []).find((c) => c.props && c.props.elem_id === id);
    const fns = new Set(deps.filter((d) => block && (d.targets || []).some(
      ([target, event]) => target === block.id && event === "click")).map((d) => d.id));
    for (let grew = true; grew;) {
      grew = false;
      for (const d of deps) {
        if (fns.has(d.trigger_after) && !fns.has(d.id)) { fns.add(d.id); grew = true; }
      }
    }
    return fns;
  };
  const busy = (id) => {
    if (!cancelling.length) return false;
    const fns = started(id);
    return cancelling.some((c) => fns.has(c.fn));
  };
  const release = () => {
    for (const id of [...held]) {
      if (busy(id)) continue;
      held.delete(id);
      const button = document.getElementById(id);
      if (button && !button.disabled) button.click();
    }
  };
  // Gradio forgets the submission in the microtasks after /reset's answer: a timeout later
  const done = (event) => {
    const i = cancelling.findIndex((c) => c.event === event);
    if (i >= 0) cancelling.splice(i, 1);
    setTimeout(release);
  };
  const send = window.fetch;
  window.fetch = function (resource, init) {
    const reply = send.apply(this, arguments);
    const step = String((resource && resource.url) || resource).match(
      /\\/gradio_api\\/(cancel|reset)$/);
    if (!step) return reply;
    let body = {};
    try { body = JSON.parse(init.body); } catch (err) { return reply; }  // not Gradio's
    if (step[1] === "cancel") {
      cancelling.push({event: body.event_id, fn: body.fn_index});
      reply.catch(() => done(body.event_id));  // no /reset follows a failed /cancel
    } else {
      reply.then(() => done(body.event_id), () => done(body.event_id));
    }
    return reply;
  };
  // Capture, on the window: before Gradio's own listener on the button
  window.addEventListener("click", (event) => {
    const button = event.target instanceof Element && event.target.closest("button[id]");
    if (!button || !busy(button.id)) return;
    event.stopImmediatePropagation();
    event.preventDefault();
    held.add(button.id);
  }, true);
})();
</script>"""
"""For the page's ``head`` (``app.py``), after :data:`mushroom.ui.page.HEAD`."""
