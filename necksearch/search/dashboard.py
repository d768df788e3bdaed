"""``necksearch dashboard``: optuna-dashboard on a search's study, during the search or after it.

    necksearch dashboard runs/search/NAME                 # the storage named in NAME/search.json
    necksearch dashboard --storage postgresql://u@db/nas  # any study storage (all its studies)

The storage comes from exactly one of a run directory (``search.json`` → ``SearchSettings.storage``,
``RUN_DIR/study.db`` when none was given) or ``--storage`` (the forms ``necksearch search --storage``
takes). It must exist and hold at least one study: the dashboard never creates an empty SQLite or
journal file. Every trial shows the user attributes listed in ``study.py`` (graph hash, fixed point,
fidelity, epochs reached, why it failed or was pruned); mAP per epoch is the intermediate-value curve.

The application is optuna-dashboard's (``optuna_dashboard.wsgi``), served by wsgiref one request at a
time on 127.0.0.1 unless ``--host`` says otherwise. It is served here rather than by ``run_server``
because that one stops on the KeyboardInterrupt of Ctrl-C, which wsgiref swallows (and keeps serving)
when it lands while a response is being written; here SIGINT and SIGTERM only set an event, and the
server stops between requests. The dashboard can change a study (tell trials, delete
studies) and has no authentication, so ``--host 0.0.0.0`` should only be used on a trusted network;
an SSH tunnel (``ssh -L 8080:127.0.0.1:8080 HEAD``) is the safer way to watch a cluster's search.
"""
from __future__ import annotations

import dataclasses
import signal
import socket
import sys
import threading
from pathlib import Path
from typing import Any, Callable, List, Optional
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from necksearch.errors import NeckSearchError
from necksearch.search.core.study import ARTIFACTS, artifact_store
from necksearch.search.core.settings import SearchSettings
from necksearch.search.core.storage import open_storage, redact, storage_url

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
#: Hosts that listen on every interface (reachable from the network).
ALL_INTERFACES = ("0.0.0.0", "::", "")
#: The signals that stop the server (Ctrl-C, and what ``kill`` and job schedulers send).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


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
    """Serve optuna-dashboard on the storage until Ctrl-C or SIGTERM (then return 0)."""
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
            app = optuna_dashboard.wsgi(target.storage, artifact_store=store)
            serve_until_stopped(app, host, port)
        except OSError as err:
            raise NeckSearchError(f"cannot serve on {host}:{port}: {err.strerror or err}") from None
    except KeyboardInterrupt:  # Ctrl-C before the server started
        pass
    return 0


class _QuietHostHandler(WSGIRequestHandler):
    """wsgiref's handler without a reverse DNS lookup for each request's log line."""

    def address_string(self) -> str:
        return self.client_address[0]


def serve_until_stopped(app: Callable, host: str, port: int) -> None:
    """Serve the WSGI ``app`` on ``host:port`` until one of ``STOP_SIGNALS`` arrives, then close the socket.

    The server runs in a thread; the signals (handled on the main thread, which must call this) only set
    an event, so a request being answered is finished before the server stops.
    """
    server_class = WSGIServer
    if ":" in host:  # an IPv6 address
        server_class = type("WSGIServer6", (WSGIServer,), {"address_family": socket.AF_INET6})
    server = make_server(host, port, app, server_class=server_class, handler_class=_QuietHostHandler)
    stop = threading.Event()
    previous = {number: signal.signal(number, lambda *_: stop.set()) for number in STOP_SIGNALS}
    serving = threading.Thread(target=server.serve_forever, name="dashboard", daemon=True)
    try:
        serving.start()
        while not stop.wait(0.5):
            pass
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if serving.is_alive():
            server.shutdown()
        server.server_close()


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
