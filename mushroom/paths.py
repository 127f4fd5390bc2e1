"""Default locations inside the repository (import-light: no torch, no pandas)."""

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = REPO_ROOT / "assets" / "model.pt"  # the shipped checkpoint
DEFAULT_LABELS = REPO_ROOT / "labels"  # the expert label store
SPACE_STORAGE = Path("/data")  # where a Hugging Face Space mounts its persistent storage


def on_space(env: dict[str, str] | None = None) -> bool:
    """Whether this process runs on a Hugging Face Space (which sets ``SPACE_ID``)."""
    return bool((os.environ if env is None else env).get("SPACE_ID"))


def space_storage(env: dict[str, str] | None = None,
                  storage: Path | None = None) -> Path | None:
    """The Space's persistent storage, when this is a Space and one is attached and writable.

    A Space's own disk is wiped at every restart and rebuild; only this folder survives.

    Args:
        env: the environment to read (default ``os.environ``).
        storage: where the storage is mounted (default :data:`SPACE_STORAGE`).
    """
    storage = SPACE_STORAGE if storage is None else storage
    if on_space(env) and storage.is_dir() and os.access(storage, os.W_OK):
        return storage
    return None
