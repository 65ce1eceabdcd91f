"""The APIs on top of the world: PettingZoo (parallel and AEC) and the batched VecEnv."""
