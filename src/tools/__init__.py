"""Orchestration tools behind ``scripts/``: sweeps, result tables, learning-curve plots."""
