"""Adapters for other reinforcement-learning libraries, one module each, each behind its extra:

* :mod:`neural_mmo.integrations.rllib`: an RLlib ``MultiAgentEnv`` (extra ``[rllib]``);
* :mod:`neural_mmo.integrations.torchrl`: a TorchRL env with action masks (extra ``[torchrl]``);
* :mod:`neural_mmo.integrations.sb3`: SuperSuit vector envs for Stable-Baselines3 (extra ``[sb3]``).

Importing this package imports none of those libraries; each module imports its own when it is
imported, and says which extra to install when the library is missing. See docs/integrations.md.
"""

from __future__ import annotations


def missing(library: str, extra: str, err: ImportError) -> ImportError:
    """The error raised when an integration's library is not installed."""
    return ImportError(f"neural_mmo.integrations needs {library}: pip install 'neural-mmo[{extra}]' ({err})")
