"""Checkers and helpers shipped for users' own configs and tests."""

from neural_mmo.testing.check import EnvCheckError, check_env
from neural_mmo.testing.invariants import InvariantError, check_invariants
from neural_mmo.testing.scenario import Scenario, parse_map

__all__ = ["EnvCheckError", "InvariantError", "Scenario", "check_env", "check_invariants", "parse_map"]
