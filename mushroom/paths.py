"""Default locations inside the repository (import-light: no torch, no pandas)."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = REPO_ROOT / "assets" / "model.pt"  # the shipped checkpoint
DEFAULT_LABELS = REPO_ROOT / "labels"  # the expert label store
