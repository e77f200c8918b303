"""Package discovery: every package under zoo/ and gui/, plus the specs in models/ installed as `zoo.models`.

Everything else is in pyproject.toml; this is the one thing it cannot say (discovery and a mapped folder together).
"""
from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["zoo", "zoo.*", "gui", "gui.*"]) + ["zoo.models"],
    package_dir={"zoo.models": "models"},
)
