"""Session fixtures of the search tests: a tiny synthetic dataset, and a real PostgreSQL server.

``postgres_url`` starts a throw-away PostgreSQL cluster (``initdb`` + ``pg_ctl``) on 127.0.0.1 and a free
port, with trust authentication, and yields ``postgresql://necksearch@127.0.0.1:PORT/necksearch_test``.
The server binaries are looked for on PATH, then under ``/usr/lib/postgresql/*/bin`` (Debian); when there
are none and this process is root, the Debian package is installed (``apt-get install postgresql``).
CI (``CI=true``) never skips: a PostgreSQL that cannot be found, installed or started fails the tests
that need it. Elsewhere they are skipped with the reason.

initdb refuses to run as root, so as root the cluster belongs to the ``postgres`` user (created by the
Debian package) or, if there is none, to a system user ``nsearchpg`` created for it; its data directory
and socket live in a temporary directory owned by that user, removed at the end of the session.
"""
from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import List, Optional

import pytest

from necksearch.data import make_synthetic_coco

PG_USER = "necksearch"          # the cluster's superuser (trust authentication, no password)
PG_DATABASE = "necksearch_test"
FALLBACK_OS_USER = "nsearchpg"  # created only when running as root and there is no ``postgres`` user
INSTALL_TIMEOUT_S = 900
TOOLS = ("initdb", "pg_ctl", "createdb")


@pytest.fixture(scope="session")
def search_data_root(tmp_path_factory) -> Path:
    """The tiny synthetic dataset every search test trains on (16 train / 8 val images of 128×128)."""
    return make_synthetic_coco(tmp_path_factory.mktemp("search-data") / "tiny", seed=0, num_train=16, num_val=8,
                               image_hw=(128, 128))


@pytest.fixture
def no_ray(monkeypatch):
    """``engine.run.start_ray`` replaced by one that raises ``RayStarted``: a user mistake must fail before Ray starts."""
    from necksearch.search.engine import run as run_module
    from tests.search.helpers import RayStarted

    def refuse(resources):
        raise RayStarted("Ray must not start for a user mistake")
    monkeypatch.setattr(run_module, "start_ray", refuse)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A running PostgreSQL server for this test session; yields its database URL, stops it afterwards."""
    bindir = _pg_bindir()
    owner = _os_user()
    base = Path(tempfile.mkdtemp(prefix="necksearch-pg-"))
    data, sockets, log = base / "data", base / "sock", base / "server.log"
    started = False
    try:
        sockets.mkdir()
        if owner is not None:
            for path in (base, sockets):
                os.chown(path, owner.pw_uid, owner.pw_gid)
        _as_owner(owner, [str(bindir / "initdb"), "-D", str(data), "-U", PG_USER, "--auth=trust",
                          "--encoding=UTF8", "--locale=C", "--no-sync"], base)
        port = None
        for _ in range(3):  # a free port can be taken between choosing and binding it: try another
            port = _free_port()
            _write_server_conf(data, port, sockets)
            result = _as_owner(owner, [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60",
                                       "start"], base, check=False)
            if result.returncode == 0:
                started = True
                break
        if not started:
            _fail_or_skip(f"PostgreSQL did not start (pg_ctl start): {_tail(log)}")
        _as_owner(owner, [str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", PG_USER, PG_DATABASE],
                  base)
        yield f"postgresql://{PG_USER}@127.0.0.1:{port}/{PG_DATABASE}"
    finally:
        if started:
            _as_owner(owner, [str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], base, check=False)
        shutil.rmtree(base, ignore_errors=True)


# ---------------------------------------------------------------------- finding or installing PostgreSQL

def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def _fail_or_skip(reason: str) -> None:
    if _in_ci():
        pytest.fail(f"PostgreSQL is required in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def _find_bindir() -> Optional[Path]:
    """The directory holding initdb, pg_ctl and createdb: PATH first, then Debian's versioned directories."""
    initdb = shutil.which("initdb")
    if initdb:
        bindir = Path(initdb).resolve().parent  # Debian symlinks: the real directory holds ``postgres`` too
        if all((bindir / tool).is_file() for tool in TOOLS):
            return bindir
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    return next((c for c in candidates if all((c / tool).is_file() for tool in TOOLS)), None)


def _version_key(path: Path):
    numbers = re.findall(r"\d+", path.parent.name)
    return tuple(int(n) for n in numbers) or (0,)


def _pg_bindir() -> Path:
    bindir = _find_bindir()
    if bindir is not None:
        return bindir
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        _fail_or_skip("no PostgreSQL server binaries (initdb, pg_ctl) on PATH or under /usr/lib/postgresql, "
                      "and no root apt-get to install the Debian package 'postgresql'")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", "postgresql"]):
        try:
            result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            _fail_or_skip(f"{' '.join(command)} took over {INSTALL_TIMEOUT_S} s")
        if result.returncode != 0:
            _fail_or_skip(f"{' '.join(command)} failed ({result.returncode}): {(result.stderr or result.stdout)[-800:]}")
    bindir = _find_bindir()
    if bindir is None:
        _fail_or_skip("apt-get installed 'postgresql' but initdb/pg_ctl are not under /usr/lib/postgresql/*/bin")
    return bindir


# ---------------------------------------------------------------------- running as an unprivileged user

def _os_user() -> Optional[pwd.struct_passwd]:
    """The user that owns the cluster: ``None`` (this process's) unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", FALLBACK_OS_USER):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            pass
    result = subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                             FALLBACK_OS_USER], capture_output=True, text=True)
    if result.returncode != 0:
        _fail_or_skip(f"initdb cannot run as root, and useradd {FALLBACK_OS_USER} failed: {result.stderr.strip()}")
    return pwd.getpwnam(FALLBACK_OS_USER)


def _as_owner(owner: Optional[pwd.struct_passwd], command: List[str], cwd: Path,
              check: bool = True) -> subprocess.CompletedProcess:
    """Run a PostgreSQL tool as ``owner`` (or as this process's user when ``None``)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    kwargs = {}
    if owner is not None:
        kwargs = dict(user=owner.pw_uid, group=owner.pw_gid, extra_groups=[])
        env.update(HOME=str(cwd), USER=owner.pw_name, LOGNAME=owner.pw_name)
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, **kwargs)
    if check and result.returncode != 0:
        _fail_or_skip(f"{' '.join(command)} failed ({result.returncode}): {(result.stderr or result.stdout).strip()[-800:]}")
    return result


def _write_server_conf(data: Path, port: int, sockets: Path) -> None:
    """Listen on 127.0.0.1:``port`` only, the socket in our own directory (not /var/run/postgresql)."""
    conf = data / "necksearch-test.conf"
    conf.write_text(f"listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{sockets}'\n"
                    "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 100\n",
                    encoding="utf-8")
    owner = data.stat()
    os.chown(conf, owner.st_uid, owner.st_gid)
    main = data / "postgresql.conf"
    text = main.read_text(encoding="utf-8")
    include = f"include '{conf.name}'\n"
    if include not in text:
        main.write_text(text + "\n" + include, encoding="utf-8")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return " | ".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"
