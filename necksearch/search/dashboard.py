"""``necksearch dashboard``: optuna-dashboard on a search's study, during the search or after it.

    necksearch dashboard runs/search/NAME                 # the storage named in NAME/search.json
    necksearch dashboard --storage postgresql://u@db/nas  # any study storage (all its studies)

The storage comes from exactly one of a run directory (``search.json`` → ``SearchSettings.storage``,
``RUN_DIR/study.db`` when none was given) or ``--storage`` (the forms ``necksearch search --storage``
takes). It must exist and hold at least one study: the dashboard never creates an empty SQLite or
journal file. Every trial shows the user attributes listed in ``study.py`` (graph hash, fixed point,
fidelity, epochs reached, why it failed or was pruned); mAP per epoch is the intermediate-value curve.

The server is optuna-dashboard's own (``run_server``: wsgiref, one request at a time), listening on
127.0.0.1 unless ``--host`` says otherwise. The dashboard can change a study (tell trials, delete
studies) and has no authentication, so ``--host 0.0.0.0`` should only be used on a trusted network;
an SSH tunnel (``ssh -L 8080:127.0.0.1:8080 HEAD``) is the safer way to watch a cluster's search.
"""
from __future__ import annotations

import dataclasses
import socket
import sys
from pathlib import Path
from typing import Any, Callable, List, Optional

from necksearch.errors import NeckSearchError
from necksearch.search.core.study import ARTIFACTS, artifact_store
from necksearch.search.core.settings import SearchSettings
from necksearch.search.core.storage import open_storage, redact, storage_url

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
#: Hosts that listen on every interface (reachable from the network).
ALL_INTERFACES = ("0.0.0.0", "::", "")


@dataclasses.dataclass
class DashboardTarget:
    """The storage the dashboard serves: its canonical URL (or journal path), the opened storage, its studies."""

    url: str
    storage: Any
    study_names: List[str]
    artifacts: Optional[Path] = None


def resolve_target(run_dir: Optional[str], storage: Optional[str]) -> DashboardTarget:
    """Open the study storage named by ``run_dir`` or ``storage`` (exactly one), checking it holds studies."""
    if (run_dir is None) == (storage is None):
        raise NeckSearchError("dashboard: give either a search run directory or --storage URL (exactly one of the two)")
    wanted, artifacts = None, None
    if run_dir is not None:
        path = Path(run_dir)
        if not path.is_dir():
            raise NeckSearchError(f"{run_dir} is not a search run directory (not a directory)")
        settings = SearchSettings.load(path)
        url = storage_url(settings.storage, path)  # the default study.db is looked for in the directory given
        wanted = settings.name
        artifacts = path / ARTIFACTS if (path / ARTIFACTS).is_dir() else None
    else:
        url = storage_url(storage, Path.cwd())
    _check_exists(url, f"run directory {run_dir}" if run_dir is not None else "--storage")
    opened = open_storage(url)
    try:
        names = sorted(study.study_name for study in opened.get_all_studies())
    except Exception as err:  # noqa: BLE001 - SQLAlchemy, drivers and journal parsing raise many kinds
        raise NeckSearchError(f"{redact(url)}: cannot read the studies: {type(err).__name__}: {_first_line(err)}") from None
    if not names:
        raise NeckSearchError(f"{redact(url)} holds no study (has a search been started on it?)")
    if wanted is not None and wanted not in names:
        raise NeckSearchError(f"{redact(url)} holds no study {wanted!r} for run directory {run_dir} "
                              f"(it holds {', '.join(names)})")
    return DashboardTarget(url=url, storage=opened, study_names=[wanted] if wanted else names, artifacts=artifacts)


def dashboard_address(host: str, port: int) -> str:
    """``http://HOST:PORT/`` (an IPv6 address in brackets)."""
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def run_dashboard(run_dir: Optional[str], storage: Optional[str], host: str = DEFAULT_HOST,
                  port: int = DEFAULT_PORT, write: Optional[Callable[[str], None]] = None) -> int:
    """Serve optuna-dashboard on the storage until Ctrl-C (then return 0)."""
    say = write or (lambda text: print(text, flush=True))
    if not 1 <= port <= 65535:
        raise NeckSearchError(f"--port must be in 1..65535, got {port}")
    try:
        target = resolve_target(run_dir, storage)
        _check_can_listen(host, port)
        import optuna_dashboard
        say(f"optuna-dashboard for {', '.join(target.study_names)} at {dashboard_address(host, port)}")
        if host in ALL_INTERFACES:
            print(f"necksearch: warning: --host {host or '(empty)'} listens on every interface: anyone who can reach "
                  "this machine can read and change the study", file=sys.stderr, flush=True)
        try:
            store = artifact_store(target.artifacts.parent) if target.artifacts else None  # the trials' graph drawings
            optuna_dashboard.run_server(target.storage, host=host, port=port, artifact_store=store)
        except OSError as err:
            raise NeckSearchError(f"cannot serve on {host}:{port}: {err.strerror or err}") from None
    except KeyboardInterrupt:
        pass
    return 0


def _check_exists(url: str, what: str) -> None:
    """A file storage must exist already: opening it would create an empty one."""
    if url.startswith("sqlite:"):
        path = url[len("sqlite:///"):].split("?", 1)[0] if url.startswith("sqlite:///") else ""
        if not path or path == ":memory:":
            raise NeckSearchError(f"{what}: {url} is an in-memory SQLite database, which holds no study")
    elif "://" in url:
        return  # a database server: open_storage reports it unreachable
    else:
        path = url
    if not Path(path).is_file():
        raise NeckSearchError(f"{what}: no study storage at {path} (no such file)")


def _check_can_listen(host: str, port: int) -> None:
    """Refuse a host that is not this machine's, or a port in use, before saying where the dashboard is."""
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as err:
        raise NeckSearchError(f"--host {host!r}: unknown host: {err.strerror or err}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does
        try:
            probe.bind(address)
        except OSError as err:
            raise NeckSearchError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else ""
