"""Where a study lives: an SQLite file, a PostgreSQL (or any SQLAlchemy) URL, or an Optuna journal file.

``--storage`` takes one of

* ``sqlite:///abs/path.db`` or a path ending in ``.db`` / ``.sqlite`` / ``.sqlite3`` — one machine;
* ``postgresql://user@host:5432/db`` (any SQLAlchemy URL; without a ``+driver``, psycopg2) — a cluster;
  keep the password out of the URL (``~/.pgpass`` or ``PGPASSWORD``): the URL is stored in ``search.json``;
* a path ending in ``.log`` / ``.journal`` / ``.jsonl`` — Optuna's journal file, for a shared
  filesystem (NFS) without a database server.

Without ``--storage`` the study is ``RUN_DIR/study.db``. Ray's ``OptunaSearch`` wants a storage object,
not a URL (env-notes), hence :func:`open_storage`.
"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Optional

from necksearch.errors import NeckSearchError

DEFAULT_FILE = "study.db"
SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
JOURNAL_SUFFIXES = (".log", ".journal", ".jsonl")
URL_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql")


def storage_url(spec: Optional[str], run_dir: Path) -> str:
    """The canonical form of ``--storage`` (``RUN_DIR/study.db`` when ``None``): a URL or an absolute journal path."""
    if spec is None:
        return f"sqlite:///{(Path(run_dir) / DEFAULT_FILE).resolve()}"
    scheme = spec.split("://", 1)[0].split("+", 1)[0] if "://" in spec else ""
    if scheme:
        if scheme not in URL_SCHEMES:
            raise NeckSearchError(f"--storage {spec!r}: unknown scheme {scheme!r}; use sqlite:///FILE, "
                                  "postgresql://USER@HOST/DB or a journal file (.log)")
        return _with_driver(spec)
    path = Path(spec).expanduser().resolve()
    if path.suffix in SQLITE_SUFFIXES:
        return f"sqlite:///{path}"
    if path.suffix in JOURNAL_SUFFIXES:
        return str(path)
    raise NeckSearchError(f"--storage {spec!r}: not a URL, and a file needs a suffix "
                          f"{'/'.join(SQLITE_SUFFIXES)} (SQLite) or {'/'.join(JOURNAL_SUFFIXES)} (journal)")


def open_storage(url: str) -> Any:
    """An Optuna storage object for :func:`storage_url`'s result; a clear error if it cannot be reached."""
    import optuna
    if "://" not in url:
        from optuna.storages.journal import JournalFileBackend
        Path(url).parent.mkdir(parents=True, exist_ok=True)
        return optuna.storages.JournalStorage(JournalFileBackend(url))
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    try:
        return optuna.storages.RDBStorage(url, engine_kwargs=_engine_kwargs(url))
    except Exception as err:  # noqa: BLE001 - SQLAlchemy and drivers raise many kinds
        raise NeckSearchError(f"--storage {redact(url)}: cannot open the study storage: "
                              f"{type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}") from None


def check_storage(url: str, study_name: str, resume: bool) -> None:
    """Before anything is written: a local storage file that exists must be an Optuna storage, and must not hold
    a study of this name unless resuming (it would be another search's) — nor lack it when resuming. Server
    storages (PostgreSQL) are checked when opened."""
    names = _local_study_names(url)
    if names is None:
        return
    shown = redact(url)
    if not resume and study_name in names:
        raise NeckSearchError(f"--storage {shown} already holds a study named {study_name!r} (another search's): "
                              "choose another --name, or continue that search with --resume")
    if resume and study_name not in names:
        raise NeckSearchError(f"--resume: {shown} holds no study named {study_name!r} "
                              f"(it holds {', '.join(sorted(names)) or 'none'})")


def _local_study_names(url: str) -> Optional[set]:
    """Study names in an existing SQLite or journal file (``None``: nothing local to read, or no file yet)."""
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        return _sqlite_study_names(path) if path.is_file() else None
    if "://" not in url and Path(url).is_file():
        import optuna
        from optuna.storages.journal import JournalFileBackend
        try:
            storage = optuna.storages.JournalStorage(JournalFileBackend(url))
            return {study.study_name for study in storage.get_all_studies()}
        except Exception as err:  # noqa: BLE001 - a damaged or foreign file
            raise NeckSearchError(f"--storage {url}: not an Optuna journal file ({type(err).__name__}: "
                                  f"{str(err).strip().splitlines()[0] if str(err).strip() else ''})") from None
    return None


def _sqlite_study_names(path: Path) -> set:
    """Read-only: the studies of an Optuna SQLite file; another kind of database is refused, never altered."""
    import sqlite3
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if not tables:
                return set()
            if "studies" not in tables or "version_info" not in tables:
                raise NeckSearchError(f"--storage {path}: an SQLite database of something else (tables "
                                      f"{', '.join(sorted(tables)[:5])}), not an Optuna study storage; give a new "
                                      "file or an Optuna one")
            return {row[0] for row in db.execute("SELECT study_name FROM studies")}
    except sqlite3.DatabaseError as err:
        raise NeckSearchError(f"--storage {path}: not an SQLite database ({err})") from None


def _with_driver(url: str) -> str:
    """PostgreSQL URLs without a driver get psycopg2 (the one installed; SQLAlchemy 2.1 would pick psycopg 3),
    and ``postgres://`` (Heroku style, refused by SQLAlchemy) is read as ``postgresql://``."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix):]
    return url


def redact(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for messages and stored settings shown to users)."""
    if "://" not in url or "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}{':***' if ':' in credentials else ''}@{host}"


def _engine_kwargs(url: str) -> dict:
    # Concurrent writers (driver plus dashboard) on SQLite: wait for the lock instead of failing.
    return {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {"pool_pre_ping": True}


def load_study(name: str, storage: Any, where: str) -> Any:
    """The existing study ``name`` of ``storage``; ``NeckSearchError`` naming ``where`` when it holds none."""
    import optuna

    from necksearch.search.core.study import quiet_optuna
    try:
        with quiet_optuna():
            return optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        raise NeckSearchError(f"{where} holds no study {name!r}") from None
