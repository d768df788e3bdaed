"""``--storage``: the canonical URL of every accepted form, refusals naming the option, storages that Optuna
can use and reload, and an unreachable database reported in one line without its password."""
from pathlib import Path

import optuna
import pytest

from necksearch.errors import NeckSearchError
from necksearch.search.core.storage import DEFAULT_FILE, open_storage, redact, storage_url

PASSWORD = "s3cretPW"

optuna.logging.set_verbosity(optuna.logging.WARNING)


# ---------------------------------------------------------------------------------------------- storage_url

def test_default_is_the_run_directory_study_db_as_an_absolute_sqlite_url(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    url = storage_url(None, Path("runs") / "search" / "a")
    assert url == f"sqlite:///{tmp_path.resolve() / 'runs' / 'search' / 'a' / DEFAULT_FILE}"
    assert url.startswith("sqlite:////")


@pytest.mark.parametrize("suffix", [".db", ".sqlite", ".sqlite3"])
def test_a_database_file_becomes_an_absolute_sqlite_url(tmp_path, monkeypatch, suffix):
    monkeypatch.chdir(tmp_path)
    assert storage_url(f"sub/study{suffix}", tmp_path / "run") == f"sqlite:///{tmp_path.resolve()}/sub/study{suffix}"
    assert storage_url(str(tmp_path / f"abs{suffix}"), tmp_path) == f"sqlite:///{tmp_path.resolve()}/abs{suffix}"


@pytest.mark.parametrize("suffix", [".log", ".journal", ".jsonl"])
def test_a_journal_file_becomes_an_absolute_path(tmp_path, monkeypatch, suffix):
    monkeypatch.chdir(tmp_path)
    url = storage_url(f"shared/study{suffix}", tmp_path / "run")
    assert url == str(tmp_path.resolve() / "shared" / f"study{suffix}")
    assert "://" not in url and Path(url).is_absolute()


@pytest.mark.parametrize("url", [
    f"postgresql+psycopg2://neck:{PASSWORD}@db.example:5432/studies",
    "postgresql+psycopg2://neck@db.example/studies",
    "mysql+pymysql://neck:pw@db.example/studies",
    "sqlite:////abs/path/study.db",
])
def test_urls_with_a_driver_pass_through_unchanged(tmp_path, url):
    assert storage_url(url, tmp_path) == url


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_postgresql_urls_get_the_installed_driver(tmp_path, scheme):
    url = storage_url(f"{scheme}://neck:{PASSWORD}@db.example:5432/studies", tmp_path)
    assert url == f"postgresql+psycopg2://neck:{PASSWORD}@db.example:5432/studies"


@pytest.mark.parametrize("spec, needle", [
    ("redis://localhost:6379/0", "'redis'"),
    ("http://example.com/study", "'http'"),
    ("study", "suffix"),
    ("study.txt", "suffix"),
    ("dir/study.csv", "suffix"),
])
def test_unknown_forms_are_refused_naming_the_option(tmp_path, spec, needle):
    with pytest.raises(NeckSearchError) as info:
        storage_url(spec, tmp_path)
    assert "--storage" in str(info.value) and needle in str(info.value)


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+psycopg2", "mysql"])
def test_every_accepted_scheme_is_one_sqlalchemy_loads(tmp_path, scheme):
    """SQLAlchemy >= 1.4 refuses 'postgres://' (NoSuchModuleError) and 2.1 maps 'postgresql://' to psycopg 3,
    which is not installed: storage_url must hand open_storage a loadable URL."""
    import sqlalchemy
    url = storage_url(f"{scheme}://neck@db.example/studies", tmp_path)
    sqlalchemy.engine.make_url(url).get_dialect()


# ---------------------------------------------------------------------------------------------- redact

@pytest.mark.parametrize("url, expected", [
    (f"postgresql://neck:{PASSWORD}@h:5432/db", "postgresql://neck:***@h:5432/db"),
    (f"postgresql+psycopg2://neck:{PASSWORD}@h/db", "postgresql+psycopg2://neck:***@h/db"),
    (f"postgresql://neck:p@ss{PASSWORD}@h/db", "postgresql://neck:***@h/db"),
    ("postgresql://neck@h/db", "postgresql://neck@h/db"),
    ("sqlite:////tmp/study.db", "sqlite:////tmp/study.db"),
    ("/tmp/study.log", "/tmp/study.log"),
])
def test_redact(url, expected):
    assert redact(url) == expected


# ---------------------------------------------------------------------------------------------- open_storage

def _use_and_reload(url):
    storage = open_storage(url)
    study = optuna.create_study(study_name="s", storage=storage, direction="maximize")
    study.add_trial(optuna.trial.create_trial(params={"x": 1.0}, distributions={
        "x": optuna.distributions.FloatDistribution(0.0, 2.0)}, value=0.5, user_attrs={"graph_hash": "h"}))
    trial = study.ask()
    study.tell(trial, 0.25)
    again = optuna.load_study(study_name="s", storage=open_storage(url))
    return again.get_trials()


def test_open_storage_sqlite_creates_a_usable_study_file(tmp_path):
    url = storage_url(str(tmp_path / "deep" / "dir" / "study.db"), tmp_path)
    trials = _use_and_reload(url)
    assert (tmp_path / "deep" / "dir" / "study.db").is_file()
    assert [t.value for t in trials] == [0.5, 0.25] and trials[0].user_attrs == {"graph_hash": "h"}
    assert [t.state.name for t in trials] == ["COMPLETE", "COMPLETE"]


def test_open_storage_default_url_creates_the_run_directory(tmp_path):
    url = storage_url(None, tmp_path / "runs" / "new")
    assert len(_use_and_reload(url)) == 2
    assert (tmp_path / "runs" / "new" / DEFAULT_FILE).is_file()


def test_open_storage_journal_creates_a_usable_journal_file(tmp_path):
    url = storage_url(str(tmp_path / "nfs" / "study.log"), tmp_path)
    trials = _use_and_reload(url)
    assert (tmp_path / "nfs" / "study.log").is_file() and (tmp_path / "nfs" / "study.log").stat().st_size > 0
    assert [t.value for t in trials] == [0.5, 0.25] and trials[0].user_attrs == {"graph_hash": "h"}


@pytest.mark.parametrize("scheme", ["postgresql+psycopg2", "postgresql", "postgres"])
def test_unreachable_database_is_one_line_without_the_password(tmp_path, scheme):
    url = storage_url(f"{scheme}://neck:{PASSWORD}@127.0.0.1:1/studies", tmp_path)
    with pytest.raises(NeckSearchError) as info:
        open_storage(url)
    message = str(info.value)
    assert PASSWORD not in message and "\n" not in message
    assert message.startswith("--storage postgresql+psycopg2://neck:***@127.0.0.1:1/studies: "
                              "cannot open the study storage: ")
    assert "OperationalError" in message and "import" not in message.lower()  # it reached for the server
    assert info.value.__cause__ is None  # raised "from None": the driver's exception (with the URL) is not chained
