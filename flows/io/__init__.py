"""Adapters: reading sources, the persistent index, atomic publishing."""
