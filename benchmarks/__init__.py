"""Benchmarks. Run them from the repository root as modules: ``python -m benchmarks.<name>``."""
import scripts  # noqa: F401  (puts src/ on the module path)
