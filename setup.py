"""Build step that pyproject.toml cannot declare: the wheel carries the repository's top-level ``search_spaces/``
and ``configs/`` in ``necksearch/_data/`` (package data may only come from inside the package), where
``necksearch.resources`` finds them. Everything else is in pyproject.toml."""
import shutil
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from necksearch.resources import PACKAGED, TOP_LEVEL  # noqa: E402 - torch-free, light


class BuildWithResources(build_py):
    """setuptools' ``build_py``, then the top-level resource folders copied into ``necksearch/_data``."""

    def run(self) -> None:
        super().run()
        for name in TOP_LEVEL:
            shutil.copytree(HERE / name, Path(self.build_lib) / "necksearch" / PACKAGED / name, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


setup(cmdclass={"build_py": BuildWithResources})
