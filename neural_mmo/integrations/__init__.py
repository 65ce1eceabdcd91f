"""Adapters for other reinforcement-learning libraries, one module each, each behind its extra:

* :mod:`neural_mmo.integrations.rllib`: an RLlib ``MultiAgentEnv`` (extra ``[rllib]``);
* :mod:`neural_mmo.integrations.torchrl`: a TorchRL env with action masks (extra ``[torchrl]``);
* :mod:`neural_mmo.integrations.sb3`: SuperSuit vector envs for Stable-Baselines3 (extra ``[sb3]``).

Importing this package imports none of those libraries; each module imports its own when it is
imported, and says which extra to install when the library is missing. See docs/integrations.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

FLAT_SLOTS: dict[str, Any] = {
    "agent_names": "slot",
    "observation_format": "flat",
    "action_format": "multidiscrete",
}
"""The PettingZoo env settings every adapter fixes: agents named by slot, flat ``Box``
observations, ``MultiDiscrete`` actions (what these libraries take without adapters of their own)."""


def refuse_fixed(settings: Mapping[str, Any], fixed: Mapping[str, Any], who: str) -> None:
    """A ValueError when ``settings`` sets any key of ``fixed``, which ``who`` sets itself."""
    clash = sorted(set(settings) & set(fixed))
    if clash:
        raise ValueError(
            f"{', '.join(clash)}: {who} fixes these ({', '.join(f'{k}={v!r}' for k, v in fixed.items())})"
        )


def missing(library: str, extra: str, err: ImportError) -> ImportError:
    """The error raised when an integration's library is not installed."""
    return ImportError(f"neural_mmo.integrations needs {library}: pip install 'neural-mmo[{extra}]' ({err})")
