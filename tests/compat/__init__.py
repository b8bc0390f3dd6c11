"""Compatibility suite: scripts of the real cmx4mlops repository run through cairn, offline."""
