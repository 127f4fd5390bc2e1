"""The page's look: the CSS and scripts in its ``<head>`` and its theme.

Kept apart from :mod:`mushroom.ui`'s shared helpers: ``app.py`` passes both to
``demo.launch`` and nothing else reads them.
"""

from __future__ import annotations

import gradio as gr

HEAD = """<style>
/* Verdict cards keep their pale backgrounds in dark mode, so their text must stay dark:
   Gradio's dark theme colours p, li and b itself (white on pale yellow, unreadable). */
.verdict, .verdict *, .photo-error, .photo-error * { color: #111 !important; }
.dark .poison-tag { color: #ff8a7a !important; }  /* the light theme's red is too dark here */
/* The votes table: headers never break inside a word ("exper t"); long cells wrap. */
#review-votes th, #review-votes th * {
  word-break: keep-all !important; overflow-wrap: normal !important; }
/* Gradio's radios, checkboxes and sliders (k, Samples) show no focus ring; keyboard users
   must see where they are. */
input[type=radio]:focus-visible, input[type=checkbox]:focus-visible,
input[type=range]:focus-visible { outline: 3px solid #2471a3 !important; outline-offset: 2px; }
/* The selected tab's name and underline were the accent orange on white, 2.8:1: one shade
   darker, as on the primary buttons (5.2:1). Dark mode's orange on near-black reads at 6.8:1. */
body:not(.dark) button[role=tab].selected { color: var(--primary-700) !important; }
body:not(.dark) button[role=tab].selected::after {
  background-color: var(--primary-700) !important; }
/* The API response panel's JSON: Gradio's one set of syntax colours for both themes put keys,
   strings and commas at 2.1-2.9:1 on white and numbers at 4.1:1 in dark mode. The same hues,
   darker on light and lighter on dark, read at 4.5:1 or more. */
.json-node { --text-color: #9a3412 !important; --string-color: #9b2c10 !important;
  --number-color: #1f5f75 !important; --bracket-color: #2f5757 !important;
  --square-bracket-color: #a3303c !important; --punctuation-color: #3b5e5d !important;
  --line-number-color: #555c63 !important; }
.dark .json-node { --text-color: #f0a58c !important; --string-color: #e6b39c !important;
  --number-color: #a3cbd8 !important; --bracket-color: #9fc4c4 !important;
  --square-bracket-color: #ec9aa1 !important; --punctuation-color: #b4d6d5 !important;
  --line-number-color: #aab1b8 !important; }
/* Explain's refusal box sits between the button and the heatmap: with no refusal it took
   a blank band the height of a line between them. */
#explain-refusal:not(:has(.photo-error)), #find-explain-refusal:not(:has(.photo-error)) {
  display: none !important; }
/* The find's "Remove <file>" x is 7 px wide, and a finger that misses it lands on the
   download link beside it: a transparent margin makes a 35 x 44 px target, layout unchanged. */
#find-photos .label-clear-button { position: relative; }
#find-photos .label-clear-button::after { content: ""; position: absolute; inset: -12px -14px; }
/* On a phone the Review tab's empty LIME box (300 px) pushed the photo's label and buttons
   below the fold: hide it until a heatmap is on its way (its progress shows) or there. */
@media (max-width: 640px) {
  #review-lime:has(> [aria-label="Empty value"]):not(:has(
      > [data-testid=status-tracker]:not(.hide))) { display: none !important; }
  /* The votes table's five columns get about 65 px each on a phone, and Gradio pads its
     cells widely in a wide monospace font: "alice" broke into "ali ce", "relabel" into
     "relabe l" and a note into a column of single words. Thin padding and the page's own
     font give the text the width; words break only when one is wider than its column. */
  #review-votes th, #review-votes td { padding: 0 !important; }
  #review-votes .cell-wrap { padding: 4px 3px !important; font-family: var(--font) !important;
    font-size: 13px !important; overflow-wrap: break-word !important;
    word-break: normal !important; }
  #review-votes th .cell-wrap { font-size: 11px !important; padding: 4px 1px !important; }
  /* the column menu (sort, filter) took the header's room; the table is a few rows long */
  #review-votes .cell-menu-button { display: none !important; }
  /* The find's per-photo table: wide cell padding pushed its P(poisonous genus) column off
     a 360 px screen; narrower ones scroll it sideways (cards.photo_table). */
  #find-table th, #find-table td { padding: 4px 5px !important; font-size: 13px !important; }
  #find-table table { margin: 0 !important; }
  /* Toasts drop from the top, where after a refused Save they covered the very genus and
     species boxes the message asks to fix: on a phone they rise from the bottom instead. */
  .toast-wrap { top: auto !important; bottom: var(--size-3) !important; } }
</style>
<script>
// A browser that cannot decode HEIC (Chromium on Linux) gives IMG_1234.HEIC no MIME type, and
// Gradio's photo box, which takes only image/*, then drops it without a word. Name the type
// before Gradio looks (capture phase); the server decodes the file.
document.addEventListener("change", (event) => {
  const input = event.target;
  if (!(input instanceof HTMLInputElement) || input.type !== "file" || !input.files) return;
  const untyped = (f) => !f.type && /[.](heic|heif|avif)$/i.test(f.name);
  if (![...input.files].some(untyped)) return;
  const typed = new DataTransfer();
  for (const f of input.files) {
    const ext = f.name.split(".").pop().toLowerCase();
    typed.items.add(untyped(f) ? new File([f], f.name, {type: `image/${ext}`,
                                                        lastModified: f.lastModified}) : f);
  }
  input.files = typed.files;
}, true);
// On a phone the photo box fills the screen and the verdict lands below it. Bring a new
// verdict card, or the message saying why there is none, into view when it appears off
// screen (narrow screens only; desktop shows both). The card may also come as a new class
// on the box's "Identifying this photo…" div, which Gradio patches in place, not anew.
new MutationObserver((records) => {
  if (window.innerWidth > 768) return;
  const CARD = ".verdict, .photo-error";
  const became = (r) => r.type === "attributes" && r.target.matches(CARD) &&
    !(r.oldValue || "").split(" ").some((c) => c === "verdict" || c === "photo-error");
  for (const r of records) for (const n of became(r) ? [r.target] : r.addedNodes) {
    const card = n instanceof Element &&
      (n.matches(CARD) ? n : n.querySelector && n.querySelector(CARD));
    if (!card || !card.closest("#verdict, #find-verdict")) continue;
    const box = card.getBoundingClientRect();
    if (box.top < 0 || box.top > window.innerHeight * 0.6) {
      window.scrollBy({top: box.top - 8, behavior: "smooth"});
    }
    return;
  }
}).observe(document.documentElement, {childList: true, subtree: true, attributes: true,
                                      attributeFilter: ["class"], attributeOldValue: true});
// The verdict boxes are live regions from the first render: an edible verdict's card came with
// its own role=status, which many screen readers skip (they watch only regions already on the
// page). One scheme for every level, assertive and atomic, the cards carrying no role: a
// poisonous verdict is read at once and once only (an alert inside an assertive region is read
// twice), and an edible one is the answer just asked for, so interrupting costs nothing. The
// region is the box's HTML, not the whole block: its "queue: 1/1 | 0.4s" timer would be read.
new MutationObserver(() => {
  for (const box of document.querySelectorAll(
      "#verdict .prose:not([aria-live]), #find-verdict .prose:not([aria-live])")) {
    box.setAttribute("aria-live", "assertive");
    box.setAttribute("aria-atomic", "true");
  }
}).observe(document.documentElement, {childList: true, subtree: true});
// Review on a phone: after a vote the next photo loads far above the buttons, so the expert
// would vote again on a photo never seen. Bring the new photo's header into view.
let lastReviewHeader = "";
new MutationObserver(() => {
  const header = document.querySelector("#review-label");
  const match = header && header.innerText.match(/id +([0-9a-f]{16})/);
  const text = match ? match[1] : "";  // the photo's id: a new photo, not a new vote count
  if (!text || text === lastReviewHeader) return;
  const first = lastReviewHeader === "";
  lastReviewHeader = text;
  if (!first && window.innerWidth <= 768) {
    document.querySelector("#review-photo").scrollIntoView({block: "start"});
  }
}).observe(document.documentElement, {childList: true, subtree: true, characterData: true});
// Gradio names the find's "add more photos" button with its untranslated key "common.upload",
// which screen readers read out and a mouse shows on hover.
new MutationObserver(() => {
  for (const b of document.querySelectorAll('button[aria-label="common.upload"]')) {
    b.setAttribute("aria-label", "Add more photos");
    b.title = "Add more photos";
  }
}).observe(document.documentElement, {childList: true, subtree: true, attributes: true,
                                      attributeFilter: ["aria-label"]});
// Gradio names every file's x in a list "Remove this file": with several photos in the find a
// screen reader heard one name for all. Name each by its row's file; Gradio reuses rows when
// one is removed, so the names follow every change of the list's text too.
new MutationObserver(() => {
  for (const b of document.querySelectorAll(".file-preview .label-clear-button")) {
    const row = b.closest("tr");
    const part = (c) => (row && row.querySelector(c) || {}).textContent || "";
    const file = (part(".stem") + part(".ext")).trim();
    const name = file ? `Remove ${file}` : "Remove this file";
    if (b.getAttribute("aria-label") !== name) b.setAttribute("aria-label", name);
  }
}).observe(document.documentElement, {childList: true, subtree: true, characterData: true});
// Gradio renders every image with alt="": screen readers skip the photo and the heatmap.
// Name them by the box they sit in.
const ALT = {"photo": "The uploaded mushroom photo",
             "heatmap": "LIME heatmap: cyan regions support the genus, red regions oppose it",
             "find-heatmap": "LIME heatmap of the chosen photo: cyan regions support the "
                             + "genus, red regions oppose it",
             "review-photo": "The photo under review", "find-gallery": "A photo of the find"};
// A heatmap's legend (genus, probability, fit) is drawn into it: its alt is the legend as a
// sentence, which Explain puts, hidden, in the refusal box above it (explaining.explain_in_place)
// or, on Review, in the caption under it (review_tools.explain_for_page).
const LEGEND_TEXT = {"heatmap": "#explain-refusal .heatmap-alt",
                     "find-heatmap": "#find-explain-refusal .heatmap-alt",
                     "review-lime": "#review-lime-note .heatmap-alt"};
// On "load" only (capture phase: load does not bubble): a file the browser cannot draw
// keeps alt="", or its alt text would be printed over the empty photo box.
document.addEventListener("load", (event) => {
  const img = event.target;
  if (!(img instanceof HTMLImageElement)) return;
  for (const [id, source] of Object.entries(LEGEND_TEXT)) {
    const legend = img.closest(`#${id}`) && document.querySelector(source);
    if (legend) { img.setAttribute("alt", legend.textContent); return; }  // each new heatmap
  }
  if (img.alt) return;
  for (const [id, text] of Object.entries(ALT)) {
    if (img.closest(`#${id}`)) img.setAttribute("alt", text);
  }
}, true);
document.addEventListener("error", (event) => {
  if (event.target instanceof HTMLImageElement) event.target.setAttribute("alt", "");
}, true);
// Each tab has its own address (?tab=review): a bookmark or a shared link opens it, and the
// Hugging Face sign-in, which comes back to the address it left, lands on Review again.
// "tab" goes first because that sign-in keeps only the first query parameter.
document.addEventListener("click", (event) => {
  const tab = event.target instanceof Element &&
    event.target.closest("button[role=tab][data-tab-id]");
  if (!tab) return;
  const rest = new URLSearchParams(location.search);
  rest.delete("tab");
  const query = [`tab=${encodeURIComponent(tab.dataset.tabId)}`, rest.toString()];
  history.replaceState(null, "", "?" + query.filter(Boolean).join("&") + location.hash);
}, true);
</script>"""
"""Inserted into the page's ``<head>``."""

def theme() -> gr.themes.Base:
    """Gradio's default theme with text that meets WCAG AA (4.5:1) on its background.

    The default's primary buttons put white on orange-500 (2.8:1) and its hints, slider
    ends and footer in a light grey (1.9:1); one shade darker (lighter in dark mode) fixes
    both without changing the look.

    Its fonts come in regular and bold (700) rather than the default's regular and
    semibold (600): Gradio 6.31 ships Source Sans Pro and IBM Plex Mono SemiBold as
    subsets of a few dozen glyphs (of the letters only A and B, or a and b), so every bold
    word was drawn in two fonts, its A and B from Source Sans and the rest from the
    system's sans ("POSSIBLY" with a small B). The Bold files hold the whole alphabet; a
    600 asks for the nearest heavier face, 700.
    """
    font = [gr.themes.LocalFont("Source Sans Pro", weights=(400, 700)),
            "ui-sans-serif", "system-ui", "sans-serif"]
    mono = [gr.themes.LocalFont("IBM Plex Mono", weights=(400, 700)),
            "ui-monospace", "Consolas", "monospace"]
    return gr.themes.Default(font=font, font_mono=mono).set(
        button_primary_background_fill="*primary_700",
        button_primary_background_fill_hover="*primary_800",
        button_primary_background_fill_dark="*primary_700",
        button_primary_background_fill_hover_dark="*primary_800",
        button_primary_text_color="white", button_primary_text_color_dark="white",
        body_text_color_subdued="*neutral_600", body_text_color_subdued_dark="*neutral_300")
