"""Declarative validation (pandera, great-expectations) and the quarantine of failing rows."""
