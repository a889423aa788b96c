"""Command-line tools. Run them from the repository root as modules: ``python -m scripts.<name>``.

Importing this package puts ``src/`` on the module path. It is the one place that does so for
scripts and benchmarks (``benchmarks/__init__.py`` imports it); the tests get ``src/`` from
``pytest.ini`` and the main job runs as ``python src/main.py``.
"""
import os
import sys

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
if SRC not in sys.path:
    sys.path.insert(0, SRC)
