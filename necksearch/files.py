"""Writing the files a run keeps so that a failed write (a full disk, Ctrl-C) never leaves half of one, and
naming a file by its content."""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from necksearch.errors import NeckSearchError


def file_sha256(path: Path) -> str:
    """sha256 hex of the file's bytes: what it holds, wherever it is."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it over ``path`` (atomic on POSIX): the
    old content stays whole until the new is complete; the temporary file goes when the write fails."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


@contextmanager
def dir_written_whole(out: Path, force: bool) -> Iterator[Path]:
    """A new directory beside ``out`` for the block to fill, renamed to ``out`` when the block succeeds and
    deleted when it fails, so ``out`` is never half-written; a non-empty ``out`` is replaced only with ``force``."""
    _check_target(out, force)
    temp = _temp_dir_beside(out)
    try:
        yield temp
        _swap_in(temp, out)
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def _check_target(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise NeckSearchError(f"{out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise NeckSearchError(f"{out} exists and is not empty; pass --force (force=True) to replace it")


def make_dir(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise NeckSearchError(f"cannot create the directory {path}: {err.strerror}") from None


def _temp_dir_beside(out: Path) -> Path:
    make_dir(out.parent)
    try:
        temp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    except OSError as err:
        raise NeckSearchError(f"cannot write in the directory {out.parent}: {err.strerror}") from None
    temp.chmod(0o755)
    return temp


def _swap_in(new: Path, out: Path) -> None:
    """Rename ``new`` to ``out``; an existing ``out`` is moved aside first and deleted after."""
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    if out.exists():
        os.replace(out, old)
    os.replace(new, out)
    shutil.rmtree(old)
