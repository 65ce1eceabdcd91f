"""The world: pure data and rules. Imports nothing from the layers above it."""
