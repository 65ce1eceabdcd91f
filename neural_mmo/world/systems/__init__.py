"""Game systems: one module per rule set, each a numba kernel over the state's arrays plus a
thin wrapper that :mod:`neural_mmo.world.step` calls in order."""
