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

MAX_FILE_SIZE = "25mb"
"""Largest upload accepted; phone photos are 2-12 MB."""
