"""The CLI against a hostile user, one case per class: each ends in one line naming the option or file, exit 2,
before Ray starts (the ``no_ray`` stand-in fails the test if it does), with nothing already written lost."""
import json
import signal
import sqlite3
import subprocess
import sys
import threading

import pytest

from necksearch.files import write_text_atomic
from necksearch.search.core.settings import SETTINGS_FILE, SearchSettings
from tests.search.helpers import cli_error


@pytest.fixture(autouse=True)
def _no_ray(no_ray):
    """Every test here: Ray must not start."""


def search_error(capsys, *argv):
    return cli_error(capsys, "search", *argv)


# ---------------------------------------------------------------- unwritable output locations

def test_a_runs_dir_under_a_file(capsys, tmp_path):
    (tmp_path / "file").write_text("x")
    line = search_error(capsys, "--runs-dir", tmp_path / "file" / "runs", "--name", "a")
    assert "--runs-dir" in line and "is a file, not a directory" in line


def test_a_runs_dir_nobody_can_write(capsys):
    line = search_error(capsys, "--runs-dir", "/proc/necksearch-runs", "--name", "a")
    assert "--runs-dir /proc/necksearch-runs: cannot write in /proc" in line


def test_a_full_disk_leaves_the_old_file_whole(tmp_path, monkeypatch):
    """What a write that fails half-way (ENOSPC) does to a run's record: nothing."""
    import errno
    import pathlib
    path = tmp_path / "search.json"
    path.write_text('{"num_trials": 9}\n')
    real = pathlib.Path.write_text

    def fill_disk(self, text, *args, **kwargs):
        real(self, text[: len(text) // 2], *args, **kwargs)
        raise OSError(errno.ENOSPC, "No space left on device", str(self))
    monkeypatch.setattr(pathlib.Path, "write_text", fill_disk)
    with pytest.raises(OSError):
        write_text_atomic(path, '{"num_trials": 3}\n')
    monkeypatch.undo()
    assert path.read_text() == '{"num_trials": 9}\n' and [p.name for p in tmp_path.iterdir()] == ["search.json"]


def test_an_os_error_naming_a_file_is_one_line(capsys, monkeypatch, tmp_path):
    """Whatever the machine refuses mid-run (a disk filling up under the study) ends in the file and the reason."""
    import errno
    study = tmp_path / "runs" / "x" / "study.db"

    def disk_full(settings, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(study))
    monkeypatch.setattr("necksearch.search.engine.run.run_search", disk_full)
    line = search_error(capsys, "--runs-dir", tmp_path / "runs", "--name", "x")
    assert line == f"necksearch: error: {study}: No space left on device"


# ---------------------------------------------------------------- absurd sizes

def test_an_image_size_that_would_exhaust_memory(capsys, tmp_path):
    line = search_error(capsys, "--runs-dir", tmp_path, "--name", "big", "--image-size", "100000")
    assert "--image-size must be between 32 and 4096" in line
    assert not (tmp_path / "big").exists()


def test_a_graph_width_that_would_exhaust_memory(capsys, tmp_path):
    graph = tmp_path / "wide.yaml"
    from necksearch.graph.presets import PRESET_DIR
    graph.write_text((PRESET_DIR / "fpn.yaml").read_text().replace("channels: 256", "channels: 1000000"))
    line = cli_error(capsys, "show", graph)
    assert "channels" in line and "between 1 and 4096" in line


# ---------------------------------------------------------------- names with path separators

@pytest.mark.parametrize("name", ["a/b", "../up", "..", "/abs"])
def test_a_search_name_with_a_path_separator(capsys, tmp_path, name):
    assert "--name" in search_error(capsys, "--runs-dir", tmp_path, "--name", name)
    assert list(tmp_path.iterdir()) == []


def test_a_fidelity_name_with_a_path_separator(capsys, tmp_path):
    line = cli_error(capsys, "fidelity", "fpn", "pafpn", "--runs-dir", tmp_path, "--name", "../escape")
    assert "--name '../escape'" in line and list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- a run directory edited by hand

def test_search_settings_edited_into_nonsense(capsys, tmp_path):
    path = SearchSettings(name="edited", runs_dir=str(tmp_path)).save()
    record = json.loads(path.read_text())
    path.write_text(json.dumps(dict(record, num_trials="many")))
    before = path.read_text()
    line = search_error(capsys, "--resume", "--name", "edited", "--runs-dir", tmp_path)
    assert str(path) in line and "--num-trials" in line and path.read_text() == before


def test_a_cost_record_edited_into_nonsense(capsys, tmp_path, search_data_root):
    SearchSettings(name="costed", runs_dir=str(tmp_path), data_root=str(search_data_root)).save()
    cost = tmp_path / "costed" / "cost.json"
    cost.write_text("{not json")
    line = search_error(capsys, "--resume", "--name", "costed", "--runs-dir", tmp_path)
    assert str(cost) in line and cost.read_text() == "{not json"


# ---------------------------------------------------------------- a study database from another project

def test_an_sqlite_database_of_another_program_is_refused_and_untouched(capsys, tmp_path, search_data_root):
    other = tmp_path / "crm.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE customers (id INTEGER, name TEXT)")
    before = other.read_bytes()
    line = search_error(capsys, "--runs-dir", tmp_path / "runs", "--name", "s", "--data-root", search_data_root,
                        "--storage", other)
    assert f"--storage {other}" in line and "customers" in line and "not an Optuna study storage" in line
    assert other.read_bytes() == before and not (tmp_path / "runs" / "s").exists()


def test_a_file_that_is_not_a_database(capsys, tmp_path, search_data_root):
    fake = tmp_path / "notes.db"
    fake.write_text("these are my notes, not a database\n" * 100)
    line = search_error(capsys, "--runs-dir", tmp_path / "runs", "--name", "s", "--data-root", search_data_root,
                        "--storage", fake)
    assert f"--storage {fake}: not an SQLite database" in line


def test_a_study_of_the_same_name_from_another_search(capsys, tmp_path, search_data_root):
    import optuna
    shared = tmp_path / "shared.db"
    optuna.create_study(study_name="s", storage=f"sqlite:///{shared}")
    line = search_error(capsys, "--runs-dir", tmp_path / "runs", "--name", "s", "--data-root", search_data_root,
                        "--storage", shared)
    assert "already holds a study named 's'" in line and "--resume" in line


# ---------------------------------------------------------------- Ctrl-C during setup

#: What a search prints once its inputs are checked, Ray is up and the preflight has passed, as it starts timing the
#: fixed points' iterations: the last step of setup before anything of the run is written.
SETUP_LINE = "measuring the cost of a training iteration"


@pytest.mark.slow
def test_ctrl_c_during_setup_is_one_line_and_leaves_no_run(tmp_path, search_data_root):
    with open(tmp_path / "stderr.txt", "w+", encoding="utf-8") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "necksearch", "search", "--name", "cc", "--runs-dir",
                                    str(tmp_path), "--data-root", str(search_data_root), "--image-size", "64"],
                                   stdout=subprocess.PIPE, stderr=stderr, text=True)
        out = []
        in_setup = threading.Event()

        def read_stdout():
            for line in process.stdout:
                out.append(line)
                if SETUP_LINE in line:
                    in_setup.set()
        reader = threading.Thread(target=read_stdout, daemon=True)
        reader.start()
        try:
            for _ in range(600):  # seconds; a loaded machine takes long to import and start Ray
                if in_setup.wait(timeout=1) or process.poll() is not None:
                    break
            assert in_setup.is_set(), (f"no {SETUP_LINE!r} line (exit {process.poll()}): {''.join(out)[-3000:]}\n"
                                       f"{(tmp_path / 'stderr.txt').read_text(encoding='utf-8')[-3000:]}")
            process.send_signal(signal.SIGINT)
            process.wait(timeout=300)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        reader.join(timeout=60)
        stderr.seek(0)
        err = stderr.read()
    assert process.returncode == 2, err[-3000:]
    lines = err.strip().splitlines()
    assert lines[-1].startswith("necksearch: error: interrupted (Ctrl-C)") and "Traceback" not in err, err[-3000:]
    assert not (tmp_path / "cc" / SETTINGS_FILE).exists()
