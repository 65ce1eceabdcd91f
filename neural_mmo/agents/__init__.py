"""Scripted policies. Each maps a batch of observations (``{key: [n, ...]}``, the VecEnv layout)
to actions ``int32 [n, n_heads]``; :func:`act_dict` adapts them to PettingZoo dicts. :class:`Player`
(and :func:`play`) is the loop that plays any policy in a VecEnv."""

from neural_mmo.agents.base import Policy, act_dict, make_policy
from neural_mmo.agents.fighter import FighterPolicy
from neural_mmo.agents.forager import ForagerPolicy
from neural_mmo.agents.merchant import MerchantPolicy
from neural_mmo.agents.play import Player, play, record_scripted_run
from neural_mmo.agents.random import RandomPolicy

POLICIES = {
    "random": RandomPolicy,
    "forager": ForagerPolicy,
    "fighter": FighterPolicy,
    "merchant": MerchantPolicy,
}

__all__ = [
    "POLICIES",
    "FighterPolicy",
    "ForagerPolicy",
    "MerchantPolicy",
    "Player",
    "Policy",
    "RandomPolicy",
    "act_dict",
    "make_policy",
    "play",
    "record_scripted_run",
]
