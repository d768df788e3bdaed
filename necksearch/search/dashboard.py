"""``necksearch dashboard``: optuna-dashboard on a search's study, during the search or after it.

    necksearch dashboard runs/search/NAME                 # the storage named in NAME/search.json
    necksearch dashboard --storage postgresql://u@db/nas  # any study storage (all its studies)

The storage comes from exactly one of a run directory (``search.json`` → ``SearchSettings.storage``,
``RUN_DIR/study.db`` when none was given) or ``--storage`` (the forms ``necksearch search --storage``
takes). It must exist and hold at least one study: the dashboard never creates an empty SQLite or
journal file. Every trial shows the user attributes listed in ``study.py`` (graph hash, fixed point,
fidelity, epochs reached, why it failed or was pruned); mAP per epoch is the intermediate-value curve.

The application is optuna-dashboard's (``optuna_dashboard.wsgi``), served by wsgiref (a thread per
connection) on 127.0.0.1 unless ``--host`` says otherwise. It is served here rather than by its
``run_server`` because that one stops on the KeyboardInterrupt of Ctrl-C, which wsgiref swallows (and
keeps serving) when it lands while a response is being written: here SIGINT and SIGTERM are noted by
the main thread, which stops the server. The dashboard can change a study (tell trials, delete
studies) and has no authentication, so ``--host 0.0.0.0`` should only be used on a trusted network;
an SSH tunnel (``ssh -L 8080:127.0.0.1:8080 HEAD``) is the safer way to watch a cluster's search.
"""
from __future__ import annotations

import dataclasses
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from socketserver import ThreadingMixIn
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
        import optuna_dashboard
        store = artifact_store(target.artifacts.parent) if target.artifacts else None  # the trials' graph drawings
        server = listen(host, port, optuna_dashboard.wsgi(target.storage, artifact_store=store))
        say(f"optuna-dashboard for {', '.join(target.study_names)} at {dashboard_address(host, port)}")
        if host in ALL_INTERFACES:
            print(f"necksearch: warning: --host {host or '(empty)'} listens on every interface: anyone who can reach "
                  "this machine can read and change the study", file=sys.stderr, flush=True)
        serve_until_stopped(server)
    except KeyboardInterrupt:  # Ctrl-C before the server started
        pass
    return 0


class _QuietHostHandler(WSGIRequestHandler):
    """wsgiref's handler without a reverse DNS lookup for each request's log line."""

    def address_string(self) -> str:
        return self.client_address[0]


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    """wsgiref's server answering each connection on a daemon thread of its own: a connection that sends nothing
    (a browser's preconnect) holds up neither the other requests nor a stop."""

    daemon_threads = True


def listen(host: str, port: int, app: Callable) -> WSGIServer:
    """The WSGI ``app``'s server bound to ``host:port`` in the address family the host resolves to (not yet
    serving); an unknown host or a port that cannot be listened on is refused in one line."""
    try:
        family = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]
    except socket.gaierror as err:
        raise NeckSearchError(f"--host {host!r}: unknown host: {err.strerror or err}") from None
    server_class = type("DashboardServer", (_ThreadingWSGIServer,), {"address_family": family})
    try:
        return make_server(host, port, app, server_class=server_class, handler_class=_QuietHostHandler)
    except OSError as err:
        raise NeckSearchError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None


def serve_until_stopped(server: WSGIServer) -> None:
    """Serve until one of ``STOP_SIGNALS`` arrives (or the server's thread ends), then stop and close the socket.

    Runs on the main thread, where Python delivers signals. The handlers only append to a list (no lock, so a
    signal can never wait on a lock its own thread holds) and the main thread polls it; ``serve_forever`` runs on
    a thread of its own, so a stop never waits on a request. A response being written at the stop goes on in its
    daemon thread while the process lives.
    """
    if threading.current_thread() is not threading.main_thread():
        server.server_close()
        raise RuntimeError("serve_until_stopped must run on the main thread, where signals are delivered")
    received: List[int] = []
    serving = threading.Thread(target=server.serve_forever, name="dashboard", daemon=True)
    previous = {}
    try:
        for number in STOP_SIGNALS:
            previous[number] = signal.signal(number, lambda number, frame: received.append(number))
        serving.start()
        while not received and serving.is_alive():
            time.sleep(0.2)
    finally:
        for number, handler in previous.items():
            signal.signal(number, signal.SIG_DFL if handler is None else handler)  # None: set outside Python
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


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else ""
