"""Installs the dependencies only. The code runs from the checkout, as in PyMARL:
``python src/main.py`` for runs, ``python -m scripts.<name>`` / ``python -m benchmarks.<name>``
for tools, ``python -m pytest`` for the tests. Nothing importable is installed, so the generic
package names under ``src/`` (``utils``, ``modules``, ``envs``, ...) never reach site-packages."""
from setuptools import setup

setup(
    name="hopplus",
    version="0.1.0",
    description="PyMARL-style framework for opponent modelling and planning in mixed-motive Markov games",
    python_requires=">=3.10",
    packages=[],          # explicit: no automatic discovery of src/ packages
    py_modules=[],
    install_requires=[
        "torch>=2.2,<2.14",
        "numpy>=1.24",
        "setuptools<82",
        "sacred==0.8.7",
        "munch>=2.5",
        "pyyaml>=6",
        "pettingzoo>=1.24",
        "gymnasium>=0.29",
        "tensorboard>=2.14",
        "matplotlib>=3.7",
        "imageio>=2.31",
    ],
    extras_require={
        "test": ["pytest>=7", "hypothesis>=6", "pygame>=2.5", "scipy>=1.10",  # pygame, scipy: PettingZoo pursuit (adapter test)
                 "ray>=2.9"],  # ray: python -m scripts.sweep --backend ray (test_sweep)
        "cluster": ["ray>=2.9"],  # python -m scripts.sweep --backend ray
        "dev": ["pyinstrument", "py-spy"],
    },
)
