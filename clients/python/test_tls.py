"""TLS and mTLS as Python users connect: pyarrow.flight and the ADBC Flight
SQL driver against TLS-only nodes. The CA and certificates are made at test
time with the openssl command-line tool; no key is committed."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.flight as flight
import pytest

import flightsql_wire as wire
from conftest import Server, _servers, connect

OPTS = flight.FlightCallOptions(timeout=60)


class PKI:
    """A throw-away CA in a temporary folder, issuing P-256 certificates."""

    def __init__(self, name: str):
        if shutil.which("openssl") is None:
            pytest.fail("the TLS tests need the openssl command-line tool", pytrace=False)
        self.dir = Path(tempfile.mkdtemp(prefix=f"miniodb-py-pki-{name}-"))
        self.ca = self.dir / "ca.pem"
        self._run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                  "-keyout", str(self.dir / "ca.key"), "-out", str(self.ca), "-days", "1",
                  "-subj", f"/CN={name}", "-addext", "basicConstraints=critical,CA:TRUE",
                  "-addext", "keyUsage=critical,keyCertSign,digitalSignature")

    def _run(self, *args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    def issue(self, cn: str, server: bool = False) -> tuple[Path, Path]:
        """A certificate and key for cn: a server one for 127.0.0.1 and
        localhost, else a client one."""
        key, csr, crt, ext = (self.dir / f"{cn}{s}" for s in (".key", ".csr", ".pem", ".ext"))
        self._run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                  "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={cn}")
        ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n" if server
                       else "extendedKeyUsage=clientAuth\n")
        self._run("x509", "-req", "-in", str(csr), "-CA", str(self.ca), "-CAkey", str(self.dir / "ca.key"),
                  "-CAcreateserial", "-out", str(crt), "-days", "1", "-extfile", str(ext))
        return crt, key

    def cleanup(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def start(name: str, config: str, pki: PKI) -> Server:
    path = pki.dir / f"{name}.yaml"
    path.write_text(config)
    s = Server(name, ("--config", str(path))).start()
    _servers.append(s)
    return s


def stop(s: Server) -> None:
    s.kill()
    s.cleanup()
    _servers.remove(s)


@pytest.fixture(scope="module")
def pki():
    p = PKI("py-test-ca")
    yield p
    p.cleanup()


@pytest.fixture(scope="module")
def tls_server(pki):
    """A node that speaks TLS only."""
    crt, key = pki.issue("server", server=True)
    s = start("tls", f"security:\n  enable_tls: true\n  tls: {{cert_file: '{crt}', key_file: '{key}'}}\n", pki)
    yield s
    stop(s)


@pytest.fixture(scope="module")
def mtls_server(pki):
    """A node that wants client certificates of the same CA and maps the
    certificate CN py-etl to the admin role (security.client_certs)."""
    crt, key = pki.issue("mserver", server=True)
    s = start("mtls", f"""security:
  mode: auth
  enable_tls: true
  tls: {{cert_file: '{crt}', key_file: '{key}', client_ca_file: '{pki.ca}'}}
  client_certs:
    - {{name: py-etl, roles: [admin]}}
""", pki)
    yield s
    stop(s)


def tls_uri(s: Server) -> str:
    return f"grpc+tls://{s.addr}"


def test_pyarrow_flight_over_tls(tls_server, pki, table_name):
    c = flight.FlightClient(tls_uri(tls_server), tls_root_certs=pki.ca.read_bytes())
    try:
        data = pa.table({"id": pa.array([1, 2, 3], pa.int64())})
        writer, reader = c.do_put(flight.FlightDescriptor.for_command(wire.statement_ingest(table_name)),
                                  data.schema, options=OPTS)
        writer.write_table(data)
        writer.done_writing()
        assert wire.parse_update_result(reader.read().to_pybytes()) == 3
        writer.close()
        info = c.get_flight_info(flight.FlightDescriptor.for_command(
            wire.statement_query(f"SELECT sum(id) AS s FROM {table_name}")), OPTS)
        got = c.do_get(info.endpoints[0].ticket, options=OPTS).read_all()
        assert got.column("s").to_pylist() == [6]
    finally:
        c.close()


def test_adbc_over_tls(tls_server, pki, table_name):
    with connect(tls_uri(tls_server), db_kwargs={"adbc.flight.sql.client_option.tls_root_certs": pki.ca.read_text()}) as conn:
        with conn.cursor() as cur:
            assert cur.adbc_ingest(table_name, pa.table({"v": pa.array(["a", "b"])}), mode="create") == 2
            cur.execute(f"SELECT count(*) FROM {table_name}")
            assert cur.fetchall() == [(2,)]


def test_tls_node_refuses_plaintext_and_unknown_ca(tls_server):
    plain = flight.FlightClient(f"grpc://{tls_server.addr}")
    try:
        with pytest.raises(flight.FlightError):
            plain.get_flight_info(flight.FlightDescriptor.for_command(wire.statement_query("SELECT 1")),
                                  flight.FlightCallOptions(timeout=10))
    finally:
        plain.close()
    other = PKI("py-other-ca")
    try:
        c = flight.FlightClient(tls_uri(tls_server), tls_root_certs=other.ca.read_bytes())
        with pytest.raises(flight.FlightError):
            c.get_flight_info(flight.FlightDescriptor.for_command(wire.statement_query("SELECT 1")),
                              flight.FlightCallOptions(timeout=10))
        c.close()
    finally:
        other.cleanup()


def test_adbc_mtls_certificate_is_the_identity(mtls_server, pki, table_name):
    crt, key = pki.issue("py-etl")
    db_kwargs = {
        "adbc.flight.sql.client_option.tls_root_certs": pki.ca.read_text(),
        "adbc.flight.sql.client_option.mtls_cert_chain": crt.read_text(),
        "adbc.flight.sql.client_option.mtls_private_key": key.read_text(),
    }
    with connect(tls_uri(mtls_server), db_kwargs=db_kwargs) as conn:  # no user, no password
        with conn.cursor() as cur:
            assert cur.adbc_ingest(table_name, pa.table({"id": pa.array([7, 8], pa.int64())}), mode="create") == 2
            cur.execute(f"SELECT max(id) FROM {table_name}")
            assert cur.fetchall() == [(8,)]


def test_mtls_unmapped_certificate_needs_credentials(mtls_server, pki):
    crt, key = pki.issue("py-nobody")
    c = flight.FlightClient(tls_uri(mtls_server), tls_root_certs=pki.ca.read_bytes(),
                            cert_chain=crt.read_bytes(), private_key=key.read_bytes())
    try:
        with pytest.raises(flight.FlightUnauthenticatedError):
            c.get_flight_info(flight.FlightDescriptor.for_command(wire.statement_query("SELECT 1")), OPTS)
    finally:
        c.close()
