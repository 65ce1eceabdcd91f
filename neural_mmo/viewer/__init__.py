"""The browser viewer: ``neural-mmo serve`` (a live world) and ``neural-mmo view RUN.replay``.

Only this package imports the web server library (``websockets``, the ``[viewer]`` extra).
"""

from neural_mmo.viewer.overlays import OverlayError, WorldView, register_overlay

__all__ = ["OverlayError", "WorldView", "register_overlay"]
