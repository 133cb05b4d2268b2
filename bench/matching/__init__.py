"""Matching benchmark: data sets, generator, Splink comparison and metrics (see README.md here)."""
