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
