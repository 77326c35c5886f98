"""newsdq: turn a stream of scraped news articles into a clean, validated dataset."""

__version__ = "0.1.0"
