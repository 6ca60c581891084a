"""Live-server fixtures for the Python interop suite.

The suite runs against a real `miniodb serve` child process: one per test
session (plus a throw-away one for tests that may leave it busy), on a free
loopback port, over a fresh temporary --data-dir. The binary is $MINIODB_BIN,
or bin/miniodb at the repository root (built by `make build`). A missing
binary fails the run: it is never a reason to skip.

When a test fails, the tail of the server's log is attached to its report.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

try:  # Linux: the server dies with the test process, even on SIGKILL of pytest.
    import ctypes

    _libc = ctypes.CDLL(None, use_errno=True)

    def _die_with_parent() -> None:
        _libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
except (OSError, AttributeError):  # pragma: no cover - non-Linux
    _die_with_parent = None

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


def binary_path() -> Path:
    p = Path(os.environ.get("MINIODB_BIN") or REPO_ROOT / "bin" / "miniodb")
    if not p.is_absolute():
        p = REPO_ROOT / p
    return p


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One `miniodb serve` child process."""

    def __init__(self, name: str, extra_args: tuple[str, ...] = ()):
        self.name = name
        self.extra_args = extra_args
        self.data_dir = Path(tempfile.mkdtemp(prefix=f"miniodb-py-{name}-"))
        self.log_path = self.data_dir.parent / (self.data_dir.name + ".log")
        self.proc: subprocess.Popen | None = None
        self.port = 0

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def uri(self) -> str:
        return f"grpc://{self.addr}"

    def start(self) -> "Server":
        exe = binary_path()
        if not exe.exists():
            pytest.fail(
                f"miniodb binary not found at {exe}: run `make build` or set MINIODB_BIN",
                pytrace=False,
            )
        last = ""
        # A port picked free can be taken before the server binds it: retry then.
        for _ in range(5):
            self.port = _free_port()
            log = open(self.log_path, "ab")
            args = [str(exe), "serve", "--data-dir", str(self.data_dir / "data"),
                    "--grpc-addr", self.addr, "--rest-addr", "127.0.0.1:0", *self.extra_args]
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
            log.close()
            if self._wait_listening():
                return self
            last = self.log_tail()
            if "address already in use" not in last:
                break
        pytest.fail(f"miniodb serve did not start on {self.addr}:\n{last}", pytrace=False)

    def _wait_listening(self) -> bool:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return True
            except OSError:
                time.sleep(0.05)
        self.kill()
        return False

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> int | None:
        """SIGTERM (drain + flush), SIGKILL if it does not exit in time."""
        if not self.alive():
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self) -> None:
        if self.alive():
            self.proc.kill()
            self.proc.wait()

    def log_tail(self, limit: int = 6000) -> str:
        """The log's notable lines (anything but info/debug: errors, warnings,
        panics and stack traces), then its last few lines."""
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        quiet = ('"level":"info"', '"level":"debug"')
        notable = "\n".join(l for l in lines if not any(q in l for q in quiet))[-limit:]
        return notable + "\n-- last lines --\n" + "\n".join(lines[-5:])[-2000:]

    def cleanup(self) -> None:
        shutil.rmtree(self.data_dir, ignore_errors=True)
        try:
            self.log_path.unlink()
        except OSError:
            pass


_servers: list[Server] = []


@pytest.fixture(scope="session")
def server():
    s = Server("main").start()
    _servers.append(s)
    yield s
    s.stop()
    s.cleanup()
    _servers.remove(s)


@pytest.fixture
def scratch_server():
    """A server of its own for a test that may leave it busy (e.g. a long
    query the test tries to cancel); SIGKILLed afterwards."""
    s = Server("scratch").start()
    _servers.append(s)
    yield s
    s.kill()
    s.cleanup()
    _servers.remove(s)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed:
        for s in _servers:
            report.sections.append((f"miniodb serve ({s.name}, {s.addr}) log tail", s.log_tail()))
    return report


_seq = itertools.count(1)


@pytest.fixture
def table_name(request) -> str:
    """A fresh table name per test, within ^[a-zA-Z][a-zA-Z0-9_]{0,63}$."""
    base = re.sub(r"[^a-zA-Z0-9_]", "_", request.node.name.removeprefix("test_"))
    return f"py_{base[:40]}_{next(_seq)}"


@pytest.fixture
def flight_client(server):
    import pyarrow.flight as flight

    c = flight.FlightClient(server.uri)
    c.wait_for_available(timeout=10)
    yield c
    c.close()


@pytest.fixture
def conn(server):
    """An ADBC Flight SQL DB-API connection with autocommit (no transactions)."""
    c = connect(server.uri)
    yield c
    c.close()


# Every RPC the ADBC driver makes is bounded, so a hung server fails a test
# instead of hanging the run.
RPC_TIMEOUT_S = "60"


def connect(uri: str, **kwargs):
    import adbc_driver_flightsql as fs
    import adbc_driver_flightsql.dbapi as flight_sql

    db_kwargs = {
        fs.DatabaseOptions.TIMEOUT_QUERY.value: RPC_TIMEOUT_S,
        fs.DatabaseOptions.TIMEOUT_FETCH.value: RPC_TIMEOUT_S,
        fs.DatabaseOptions.TIMEOUT_UPDATE.value: RPC_TIMEOUT_S,
        **kwargs.pop("db_kwargs", {}),
    }
    kwargs.setdefault("autocommit", True)
    return flight_sql.connect(uri, db_kwargs=db_kwargs, **kwargs)
