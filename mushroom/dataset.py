"""The map-style dataset training and evaluation read photos through.

:mod:`mushroom.data` cleans, groups and splits photos into a manifest; this serves the
manifest's rows to a ``DataLoader`` through a transform from :mod:`mushroom.presets`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd


class PhotoDataset:
    """Map-style dataset over manifest rows: ``(tensor, genus_index)``.

    Args:
        root: the photo root the manifest paths are relative to.
        frame: manifest rows to serve.
        classes: class order; ``genus`` values are mapped to indices in it.
        transform: PIL -> tensor transform (see :mod:`mushroom.presets`).
    """

    def __init__(self, root: str | Path, frame: pd.DataFrame, classes: tuple[str, ...],
                 transform):
        self.root = Path(root)
        self.paths = list(frame["path"])
        self.targets = [classes.index(g) for g in frame["genus"]]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int):
        from mushroom.imageio import open_image

        return self.transform(open_image(self.root / self.paths[i])), self.targets[i]
