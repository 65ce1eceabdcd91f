"""Rewards (and later predicates and achievements) computed from the world state and events."""

from neural_mmo.tasks.rewards import RewardFn, SurvivalReward

__all__ = ["RewardFn", "SurvivalReward"]
