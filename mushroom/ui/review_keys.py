"""The Review tab's keyboard shortcuts: which key clicks which button, the page script that
clicks it (and brings LIME's box into view when it starts), the hint each button shows on a
desktop, and the list of keys under the buttons.

Kept apart from :mod:`mushroom.ui.review`, which lays out the buttons with the ids in
:data:`KEYS`.
"""

KEYS = {"c": "review-confirm", "r": "review-save", "x": "review-not-mushroom",
        "b": "review-unusable", "n": "review-add-note", "s": "review-skip", "p": "review-reopen",
        "u": "review-undo", "l": "review-explain", "h": "review-previous",
        "f": "review-forward"}
KEYS_JS = """() => {
  if (window.__mushroomReviewKeys) return; window.__mushroomReviewKeys = true;
  const keys = %s;
  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || e.repeat) return;
    const t = e.target, tag = ((t && t.tagName) || "").toLowerCase();
    // Only boxes that take text: a "Show" radio keeps the focus after a click, and the
    // keys must still work then.
    const box = tag === "input" && !["radio", "checkbox", "button", "submit"].includes(t.type);
    if (box || ["textarea", "select"].includes(tag) || (t && t.isContentEditable)) return;
    const el = document.getElementById(keys[e.key.toLowerCase()]);
    const btn = el && (el.tagName === "BUTTON" ? el : el.querySelector("button"));
    if (!btn || btn.disabled || btn.offsetParent === null) return;  // tab hidden or logged out
    e.preventDefault(); btn.click();
  });
  // LIME takes seconds and shows its progress only in the heatmap's box, under the fold on a
  // laptop: from the key or the button, bring the box into view (at once for reduced motion).
  // On a phone the box shows only once asked for: wait a moment for it.
  const showLime = (tries) => {
    const box = document.getElementById("review-lime");
    if (box && box.offsetParent === null && tries > 0) setTimeout(() => showLime(tries - 1), 100);
    if (!box || box.offsetParent === null) return;
    const r = box.getBoundingClientRect();
    if (r.top >= 0 && r.bottom <= window.innerHeight) return;
    const still = matchMedia("(prefers-reduced-motion: reduce)").matches;
    box.scrollIntoView({block: "nearest", behavior: still ? "instant" : "smooth"});
  };
  document.addEventListener("click", (e) => {
    if (e.target instanceof Element && e.target.closest("#review-explain")) showLime(20);
  });
}""" % KEYS
# Each button shows its key ("Confirm [c]") from CSS, so that a phone, which has no keys, shows
# the bare label (and no key list). display: contents keeps the hint in the label's own run of
# text: as a flex item of its own (Gradio's buttons are flex boxes) it lost the space before it.
KEY_HINTS = """<style>
%s
@media (max-width: 640px) {
  %s { content: none; }
  #review-keys { display: none !important; } }
</style>""" % ("\n".join(f'#{elem}::after {{ content: " [{key}]"; display: contents; }}'
                        for key, elem in KEYS.items()),
              ", ".join(f"#{elem}::after" for elem in KEYS.values()))
"""For the page's ``head`` (``app.py``), after :data:`mushroom.ui.page.HEAD`."""
HELP = ("**Keys** (outside text boxes): `c` confirm · `r` save genus/species · `x` not a "
        "mushroom · `b` unusable photo · `n` add note · `s` skip · `p` reopen your last photo · "
        "`u` undo · `l` LIME · `h` previous photo of this session · `f` forward again")
