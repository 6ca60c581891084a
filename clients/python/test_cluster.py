"""Three nodes on one Redis and one MinIO, as Python clients see them: a
bulk ingest through one node places rows on every node, and a plain scan
through another comes back as one endpoint per node, which pyarrow.flight
and the ADBC driver fetch from each node's location.

The real servers: redis-server (Debian's) and the MinIO binary `make deps`
builds ($MINIODB_MINIO). Either missing fails the run; it is never a reason
to skip."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.flight as flight
import pytest

from conftest import Server, _die_with_parent, _free_port, _servers, connect


def _wait_port(port: int, proc: subprocess.Popen, what: str, log: Path) -> None:
    import socket

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"{what} did not start:\n{log.read_text(errors='replace')[-3000:]}", pytrace=False)


class Store:
    """A redis-server or MinIO child process."""

    def __init__(self, what: str, args: list[str], port: int, env: dict | None = None):
        self.dir = Path(tempfile.mkdtemp(prefix=f"miniodb-py-{what}-"))
        self.log = self.dir / "log"
        self.port = port
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(args, cwd=self.dir, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=env, preexec_fn=_die_with_parent)
        _wait_port(port, self.proc, what, self.log)

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster():
    redis_bin = shutil.which("redis-server")
    minio_bin = os.environ.get("MINIODB_MINIO", "")
    if not redis_bin or not minio_bin or not Path(minio_bin).exists():
        pytest.fail(f"redis-server ({redis_bin}) or MinIO ($MINIODB_MINIO={minio_bin!r}) missing: run `make deps`",
                    pytrace=False)
    rport, mport = _free_port(), _free_port()
    redis = Store("redis", [redis_bin, "--port", str(rport), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], rport)
    env = dict(os.environ, MINIO_ROOT_USER="pyadmin", MINIO_ROOT_PASSWORD="pyadmin-secret")
    minio = Store("minio", [minio_bin, "server", "--address", f"127.0.0.1:{mport}", "data"], mport, env)
    nodes = []
    try:
        for i in range(3):
            cfg = Path(tempfile.mkdtemp(prefix="miniodb-py-cfg-")) / "node.yaml"
            cfg.write_text(
                f"server:\n  node_id: py-node-{i}\n"
                f"redis:\n  addr: 127.0.0.1:{rport}\n  namespace: py\n"
                f"minio:\n  endpoint: 127.0.0.1:{mport}\n  access_key_id: pyadmin\n"
                f"  secret_access_key: pyadmin-secret\n  bucket: py-cluster\n"
                "cluster:\n  lease: 2s\nbuffer:\n  flush_interval: 1h\n")
            s = Server(f"node{i}", ("--config", str(cfg))).start()
            _servers.append(s)
            nodes.append(s)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            healthy = _healthy(nodes[0])
            if healthy == 3:
                break
            time.sleep(0.1)
        else:
            pytest.fail(f"three nodes never listed healthy (last: {healthy})", pytrace=False)
        yield nodes
    finally:
        for s in nodes:
            s.stop()
            s.cleanup()
            _servers.remove(s)
        minio.stop()
        redis.stop()


def _healthy(node: Server) -> int:
    """How many nodes node's /v1/nodes lists healthy."""
    port = _rest_port(node)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/nodes", timeout=5) as r:
        import json

        return sum(1 for n in json.load(r)["nodes"] if n["status"] == "healthy")


def _rest_port(node: Server) -> int:
    import re

    m = re.search(r'"rest_addr":"127\.0\.0\.1:(\d+)"', node.log_path.read_text(errors="replace"))
    assert m, "the node did not log its REST address"
    return int(m.group(1))


ROWS = 6000


def _data() -> pa.Table:
    ids = pa.array(range(ROWS), pa.int64())
    return pa.table({"id": ids, "v": pc.cast(ids, pa.string())})


def test_adbc_ingest_and_split_scan(cluster):
    a, b, c = cluster
    with connect(a.uri) as conn, conn.cursor() as cur:
        assert cur.adbc_ingest("py_split", _data(), mode="create") == ROWS
    with connect(c.uri) as conn, conn.cursor() as cur:
        cur.execute("SELECT id, v FROM py_split WHERE id % 3 = 0")
        got = cur.fetch_arrow_table()
        assert got.num_rows == ROWS // 3
        assert pc.sum(got["id"]).as_py() == sum(range(0, ROWS, 3))
        assert len(set(got["id"].to_pylist())) == ROWS // 3
        cur.execute("SELECT count(*), sum(id) FROM py_split")
        assert cur.fetchall() == [(ROWS, ROWS * (ROWS - 1) // 2)]


def test_flight_endpoints_at_every_node(cluster):
    a, b, c = cluster
    with connect(b.uri) as conn, conn.cursor() as cur:
        cur.adbc_ingest("py_endpoints", _data(), mode="create")
    # pyarrow.flight speaks Flight SQL through the raw protocol: the
    # CommandStatementQuery is built by the suite's wire helper.
    from flightsql_wire import statement_query

    client = flight.FlightClient(a.uri)
    info = client.get_flight_info(flight.FlightDescriptor.for_command(statement_query("SELECT id FROM py_endpoints")))
    assert len(info.endpoints) == 3
    locations = {str(loc.uri, "utf-8") if isinstance(loc.uri, bytes) else str(loc.uri)
                 for ep in info.endpoints for loc in ep.locations}
    assert len(locations) == 3
    total, ids = 0, set()
    for ep in info.endpoints:
        uri = ep.locations[0].uri
        uri = uri.decode() if isinstance(uri, bytes) else uri
        target = client if uri.startswith("arrow-flight-reuse-connection") else flight.FlightClient(uri)
        table = target.do_get(ep.ticket).read_all()
        total += table.num_rows
        ids.update(table["id"].to_pylist())
    assert total == ROWS and ids == set(range(ROWS))
