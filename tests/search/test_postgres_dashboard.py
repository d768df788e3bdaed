"""A search whose study lives in a real PostgreSQL server, watched through ``necksearch dashboard``;
and the dashboard's refusals (fast: no server, no search)."""
from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from necksearch.cli import main
from necksearch.search.core.settings import SearchSettings

DASHBOARD_START_S = 60
SEARCH_TIMEOUT_S = 1200


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get_json(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200, url
        return json.loads(response.read().decode("utf-8"))


def _wait_for(url: str, process: subprocess.Popen, log: Path):
    deadline = time.monotonic() + DASHBOARD_START_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the dashboard exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        try:
            return _get_json(url)
        except (urllib.error.URLError, ConnectionError, socket.timeout):
            time.sleep(0.5)
    pytest.fail(f"the dashboard did not answer {url} within {DASHBOARD_START_S} s:\n{log.read_text(errors='replace')}")


@pytest.mark.slow
def test_search_in_postgres_served_by_dashboard(postgres_url, search_data_root, tmp_path):
    import optuna

    name = "pg-search"
    runs_dir = tmp_path / "runs"
    command = [sys.executable, "-m", "necksearch", "search", "--name", name, "--runs-dir", str(runs_dir),
               "--num-trials", "2", "--max-concurrent", "2", "--epochs", "1", "--image-size", "64",
               "--data-root", str(search_data_root), "--fixed-points", "fpn,pafpn", "--scheduler", "none",
               "--storage", postgres_url]
    search = subprocess.run(command, capture_output=True, text=True, timeout=SEARCH_TIMEOUT_S)
    assert search.returncode == 0, f"search failed ({search.returncode}):\n{search.stdout[-3000:]}\n{search.stderr[-3000:]}"

    # The study is in PostgreSQL (nothing in the run directory's default SQLite file), with 2 trained trials.
    assert not (runs_dir / name / "study.db").exists()
    from necksearch.search.core.storage import open_storage, storage_url
    study = optuna.load_study(study_name=name, storage=open_storage(storage_url(postgres_url, runs_dir)))
    trials = study.get_trials(deepcopy=False)
    assert len(trials) == 2
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials), [t.state for t in trials]
    assert sorted(t.user_attrs["fixed_point"] for t in trials) == ["fpn", "pafpn"]
    for trial in trials:
        assert len(trial.user_attrs["graph_hash"]) >= 8
        assert trial.user_attrs["fidelity"]["epochs"] == 1 and trial.user_attrs["fidelity"]["image_size"] == 64
    hashes = {t.number: t.user_attrs["graph_hash"] for t in trials}
    assert len(set(hashes.values())) == 2

    # The run directory leads the dashboard to the same storage (search.json keeps --storage).
    from necksearch.search.dashboard import resolve_target
    target = resolve_target(str(runs_dir / name), None)
    assert target.url == storage_url(postgres_url, runs_dir) and target.study_names == [name]

    port = _free_port()
    log = tmp_path / "dashboard.log"
    with open(log, "w") as out:
        dashboard = subprocess.Popen([sys.executable, "-m", "necksearch", "dashboard", "--storage", postgres_url,
                                      "--port", str(port)], stdout=out, stderr=subprocess.STDOUT)
    try:
        studies = _wait_for(f"http://127.0.0.1:{port}/api/studies", dashboard, log)["study_summaries"]
        ours = [s for s in studies if s["study_name"] == name]
        assert len(ours) == 1, studies
        detail = _get_json(f"http://127.0.0.1:{port}/api/studies/{ours[0]['study_id']}")
        served = {t["number"]: {a["key"]: a["value"] for a in t["user_attrs"]} for t in detail["trials"]}
        assert sorted(served) == sorted(hashes)
        for number, graph_hash in hashes.items():
            assert served[number]["graph_hash"] == graph_hash
            assert served[number]["fixed_point"] in ("fpn", "pafpn")
        assert all(t["state"] == "Complete" for t in detail["trials"])
    finally:
        dashboard.send_signal(signal.SIGINT)  # Ctrl-C
        try:
            returncode = dashboard.wait(timeout=30)
        except subprocess.TimeoutExpired:
            dashboard.kill()
            dashboard.wait()
            returncode = None
    text = log.read_text(errors="replace")
    assert returncode == 0, text
    assert f"optuna-dashboard for {name} at http://127.0.0.1:{port}/" in text


# ---------------------------------------------------------------------- refusals: exit 2, one line


@pytest.fixture
def quiet_optuna():
    """Optuna logs study creation to the stderr these tests read; keep it to warnings while they make studies."""
    import optuna
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    yield optuna
    optuna.logging.set_verbosity(level)


def _refused(capsys, argv, *fragments):
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert "optuna-dashboard for" not in out  # a refused dashboard never says where it serves
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("necksearch: error: "), err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def test_dashboard_refuses_a_directory_that_is_not_a_run(tmp_path, capsys):
    _refused(capsys, ["dashboard", str(tmp_path)], "not a search run directory", "search.json")
    _refused(capsys, ["dashboard", str(tmp_path / "missing")], "not a search run directory")


def test_dashboard_needs_exactly_one_of_run_dir_and_storage(tmp_path, capsys):
    _refused(capsys, ["dashboard"], "exactly one")
    _refused(capsys, ["dashboard", str(tmp_path), "--storage", str(tmp_path / "study.db")], "exactly one")


def test_dashboard_refuses_a_storage_that_does_not_exist(tmp_path, capsys):
    for spec in ("study.db", "journal.log"):
        _refused(capsys, ["dashboard", "--storage", str(tmp_path / spec)], "no study storage", spec)
        assert not (tmp_path / spec).exists()  # never created by looking
    _refused(capsys, ["dashboard", "--storage", "redis://127.0.0.1/0"], "unknown scheme")


def test_dashboard_refuses_a_run_without_its_study(tmp_path, capsys):
    SearchSettings(name="never-started", runs_dir=str(tmp_path)).save()
    _refused(capsys, ["dashboard", str(tmp_path / "never-started")], "no study storage", "study.db")


def test_dashboard_refuses_an_unreachable_database(capsys):
    port = _free_port()  # nothing listens there
    _refused(capsys, ["dashboard", "--storage", f"postgresql+psycopg2://nobody@127.0.0.1:{port}/none"],
             "cannot open the study storage")


def test_dashboard_refuses_a_storage_without_studies(tmp_path, capsys, quiet_optuna):
    import optuna
    optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 'empty.db'}")
    _refused(capsys, ["dashboard", "--storage", str(tmp_path / "empty.db")], "holds no study")
    optuna.create_study(study_name="other", storage=f"sqlite:///{tmp_path / 'empty.db'}")
    settings = SearchSettings(name="mine", runs_dir=str(tmp_path), storage=str(tmp_path / "empty.db"))
    settings.save()
    _refused(capsys, ["dashboard", str(settings.run_dir)], "no study 'mine'", "other")


def test_dashboard_refuses_a_port_in_use(tmp_path, capsys, quiet_optuna):
    import optuna
    optuna.create_study(study_name="busy", storage=f"sqlite:///{tmp_path / 's.db'}")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        _refused(capsys, ["dashboard", "--storage", str(tmp_path / "s.db"), "--port", str(port)], "cannot listen")
    _refused(capsys, ["dashboard", "--storage", str(tmp_path / "s.db"), "--port", "70000"], "--port")
    _refused(capsys, ["dashboard", "--storage", str(tmp_path / "s.db"), "--host", "no-such-host.invalid"],
             "--host 'no-such-host.invalid': unknown host")


def test_dashboard_serves_a_run_directory_until_interrupted(tmp_path, monkeypatch, capsys, quiet_optuna):
    """The run directory's study, the line printed, the host and port served on, exit 0."""
    import optuna
    import optuna_dashboard
    from necksearch.search import dashboard
    settings = SearchSettings(name="local", runs_dir=str(tmp_path))
    settings.save()
    optuna.create_study(study_name="local", storage=f"sqlite:///{settings.run_dir / 'study.db'}")
    (settings.run_dir / "artifacts").mkdir()
    calls, stores = [], []
    make_app = optuna_dashboard.wsgi

    def recording_wsgi(storage, artifact_store=None):
        stores.append(artifact_store)
        calls.append(storage)
        return make_app(storage, artifact_store=artifact_store)

    served = []
    monkeypatch.setattr(optuna_dashboard, "wsgi", recording_wsgi)
    monkeypatch.setattr(dashboard, "serve_until_stopped", lambda server: served.append(server.server_address[:2])
                        or server.server_close())
    port = _free_port()
    assert main(["dashboard", str(settings.run_dir), "--port", str(port)]) == 0
    out = capsys.readouterr().out
    assert out.strip() == f"optuna-dashboard for local at http://127.0.0.1:{port}/"
    assert served == [("127.0.0.1", port)]
    assert optuna.get_all_study_names(calls[0]) == ["local"]
    assert isinstance(stores[0], optuna.artifacts.FileSystemArtifactStore)  # the trials' graph drawings


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_signal_during_a_response_stops_the_server(stop):
    """Ctrl-C while a response is being written (what failed CI on 2026-12-07: wsgiref swallowed the
    KeyboardInterrupt and kept serving) and while another connection sends nothing (a browser's preconnect):
    the server returns while that connection is still open (a server that waited on it would never return),
    the socket is closed, the previous signal handlers are back, and the response in progress still reaches its
    client."""
    import os
    import threading
    from necksearch.search.dashboard import listen, serve_until_stopped

    body = b"x" * 100_000

    def app(environ, start_response):
        os.kill(os.getpid(), stop)  # the signal arrives while this request is being answered
        time.sleep(0.5)
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]

    server = listen("127.0.0.1", 0, app)
    port, received = server.server_address[1], []
    idle = socket.create_connection(("127.0.0.1", port))  # connected, sends nothing

    def client():
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
            received.append(response.read())

    before = signal.getsignal(stop)
    asking = threading.Thread(target=client)
    asking.start()
    serve_until_stopped(server)  # returns only because of the signal, with the idle connection still open
    asking.join(timeout=10)
    idle.close()
    assert received == [body]
    assert signal.getsignal(stop) is before
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0  # nothing listens any more


def test_serving_off_the_main_thread_is_refused_and_closes_the_socket():
    import threading
    from necksearch.search.dashboard import listen, serve_until_stopped
    server, raised = listen("127.0.0.1", 0, lambda environ, start_response: []), []

    def off_main():
        try:
            serve_until_stopped(server)
        except RuntimeError as err:
            raised.append(str(err))

    worker = threading.Thread(target=off_main)
    worker.start()
    worker.join(timeout=10)
    assert raised and "main thread" in raised[0] and server.socket.fileno() == -1
