"""Where necksearch's own files are: the search spaces, the MMDetection configs and the presets.

They are read through :mod:`importlib.resources`, so an installed wheel works from any directory:
``necksearch/presets/`` is package data, and the repository's top-level ``search_spaces/`` and ``configs/``
travel in the wheel as ``necksearch/_data/search_spaces`` and ``necksearch/_data/configs`` (copied there by
the build step in ``setup.py``). In a source checkout (the editable install of ``scripts/setup``) there is no
``_data`` and the top-level folders are read where they are, so an edit there takes effect at once.
Torch-free.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

from necksearch.errors import NeckSearchError

#: The folder of a wheel that holds the top-level resource folders.
PACKAGED = "_data"
#: The repository's top-level folders that a wheel carries.
TOP_LEVEL = ("search_spaces", "configs")


def resource_dir(name: str) -> Path:
    """The folder ``name`` (``search_spaces``, ``configs`` or ``presets``) as a real directory (mmengine reads
    configs and their ``_base_`` files by path)."""
    package = resources.files("necksearch")
    candidates = [package / PACKAGED / name, Path(__file__).resolve().parent.parent / name] \
        if name in TOP_LEVEL else [package / name]
    for candidate in candidates:
        if candidate.is_dir():
            if not isinstance(candidate, Path):
                raise NeckSearchError(f"necksearch's {name}/ is inside an archive ({candidate}); "
                                      "install necksearch unzipped (pip installs wheels unzipped)")
            return candidate
    raise NeckSearchError(f"necksearch's {name}/ is missing (looked in {', '.join(map(str, candidates))}); "
                          "reinstall necksearch")
