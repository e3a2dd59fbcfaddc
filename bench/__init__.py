"""Benchmarks; run with ``./dev bench [name]``."""
