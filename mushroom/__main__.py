"""``python -m mushroom ...``: see :mod:`mushroom.cli`."""

from mushroom.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
