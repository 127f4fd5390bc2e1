"""Gradio Blocks builders for the app's tabs; ``app.py`` only arranges them.

Shared pieces live here: the safety disclaimer every page shows, and the launch settings
(queue, upload limit) so that ``app.py``, the tests and the benchmark serve the same app.
"""

from __future__ import annotations

DISCLAIMER = (
    "**Never eat a wild mushroom because an app said so.** This model recognizes 9 genera "
    "from photos and makes mistakes; every genus it knows holds toxic species. Deadly "
    "mushrooms can look like edible ones. Ask an expert mycologist before eating anything "
    "you picked; in an emergency call your poison control centre."
)
"""Shown at the top of every page, above the tabs."""

QUEUE = {"default_concurrency_limit": 4, "max_size": 64}
"""``demo.queue`` settings: 4 events run at once (the model itself runs one batch at a time
behind a lock, so more would only queue inside torch); at most 64 wait, then new ones are
refused with "queue is full" rather than piling up memory on a 2-vCPU Space."""

HEAD = """<script>
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
</script>"""
"""Inserted into the page's ``<head>``."""

DRAWABLE = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".avif", ".bmp"}
"""File endings every browser draws; other photos (HEIC in Chromium, TIFF) are shown as a
decoded copy, or they would sit in the page as a blank box."""

MAX_FILE_SIZE = "25mb"
"""Largest upload accepted; phone photos are 2-12 MB."""
