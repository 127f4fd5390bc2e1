"""Mushroom: a genus recognizer for foragers and mycologists.

The package is split one concept per module (see README "Map of the code").
Importing it is cheap: torch and friends load only in the modules that need them.
"""

__version__ = "0.1.0"
