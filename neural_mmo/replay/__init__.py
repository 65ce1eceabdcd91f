"""Replays: a versioned binary record of one world, tick by tick (format: ``docs/replay.md``).

Write with :class:`ReplayWriter` (one episode) or :class:`EpisodeRecorder` (a file per episode),
or pass ``record="run.replay"`` to :func:`neural_mmo.parallel_env` / ``--record`` to
``neural-mmo run``. Read with :class:`ReplayReader`; render with ``neural-mmo video``.
"""

from neural_mmo.replay.format import FORMAT_VERSION, MAGIC, ReplayError, config_from_toml_text
from neural_mmo.replay.reader import ReplayReader
from neural_mmo.replay.writer import EpisodeRecorder, ReplayWriter, episode_path

__all__ = [
    "FORMAT_VERSION",
    "MAGIC",
    "EpisodeRecorder",
    "ReplayError",
    "ReplayReader",
    "ReplayWriter",
    "config_from_toml_text",
    "episode_path",
]
