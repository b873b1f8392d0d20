"""The package version, in a level-0 module so that any room can read it without
importing the root package (which imports every room)."""

__version__ = "0.1.0"
