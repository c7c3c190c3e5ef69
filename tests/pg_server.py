"""A throwaway PostgreSQL server for the store tests, on loopback, started from the Debian binaries.

``DUNNING_TEST_POSTGRES`` (a URL of a server the tests may create databases on) is used when set.
Otherwise the server is made with ``initdb`` in a temporary folder and started with ``pg_ctl`` on
127.0.0.1 and a free port (as the ``postgres`` user when the tests run as root: PostgreSQL refuses to
run as root), and stopped at the end. When neither works the tests are skipped with the reason, and
under ``CI=true`` that is a failure instead (CI installs Debian's ``postgresql``: .ci/run).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid

import pytest

__all__ = ["postgres_server", "new_database"]


def _binaries() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self) -> None:
        bindir = _binaries()
        if bindir is None:
            raise RuntimeError("no PostgreSQL server binaries (initdb): install Debian's postgresql")
        self.folder = tempfile.mkdtemp(prefix="dunning-pg-")
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError("running as root and there is no 'postgres' user to run the server as") from None
            os.chown(self.folder, pw.pw_uid, pw.pw_gid)
            self.prefix = ["runuser", "-u", "postgres", "--"]
        self.port = _free_port()
        data = os.path.join(self.folder, "data")
        self.pg_ctl = [*self.prefix, os.path.join(bindir, "pg_ctl"), "-D", data]
        subprocess.run([*self.prefix, os.path.join(bindir, "initdb"), "-D", data, "-A", "trust", "-U", "postgres",
                        "--no-sync", "-E", "UTF8"], check=True, capture_output=True)
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder} -c fsync=off"
        subprocess.run([*self.pg_ctl, "-o", options, "-l", os.path.join(self.folder, "log"), "-w", "start"],
                       check=True, capture_output=True)
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        subprocess.run([*self.pg_ctl, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(self.folder, ignore_errors=True)


def postgres_server():
    """A generator for a session fixture: yields the URL of a server, or skips (fails under CI)."""
    given = os.environ.get("DUNNING_TEST_POSTGRES")
    if given:
        yield given
        return
    try:
        import psycopg  # noqa: F401

        server = Server()
    except (RuntimeError, ImportError, subprocess.CalledProcessError, OSError) as e:
        detail = getattr(e, "stderr", b"") or b""
        reason = f"PostgreSQL tests skipped: cannot start a server ({e} {detail.decode(errors='replace')[-300:]})"
        if os.environ.get("CI") == "true":
            pytest.fail(reason.replace("skipped", "required under CI=true"))
        pytest.skip(reason)
    try:
        yield server.url
    finally:
        server.stop()


def new_database(server_url: str) -> str:
    """A new, empty database on the server; its URL."""
    import psycopg

    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = server_url.rpartition("/")
    return f"{base}/{name}"
