from setuptools import find_packages, setup

setup(
    name="hopplus",
    version="0.1.0",
    description="PyMARL-style framework for opponent modelling and planning in mixed-motive Markov games",
    python_requires=">=3.10",
    package_dir={"": "src"},
    packages=find_packages("src"),
    py_modules=["main", "run"],
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
                 "ray>=2.9"],  # ray: scripts/sweep.py --backend ray (test_sweep)
        "cluster": ["ray>=2.9"],  # scripts/sweep.py --backend ray
        "dev": ["pyinstrument", "py-spy"],
    },
)
