"""Benchmarks: run with `make bench` (optionally with DATABASE_URL for PostgreSQL); results in RESULTS.md."""
