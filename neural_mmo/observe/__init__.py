"""Observations: one layout spec (spaces, buffers, docs) and the numba encoders that fill them."""

from neural_mmo.observe.layout import EntityColumn, ObsLayout, TileChannel

__all__ = ["EntityColumn", "ObsLayout", "TileChannel"]
