"""Flight SQL over plain pyarrow.flight: the commands built by hand
(flightsql_wire), so every byte the server sees and sends is under test."""

from __future__ import annotations

import threading
import time

import pyarrow as pa
import pyarrow.flight as flight
import pytest

import flightsql_wire as wire

OPTS = flight.FlightCallOptions(timeout=60)
REUSE = "arrow-flight-reuse-connection://?"


def desc(cmd: bytes) -> flight.FlightDescriptor:
    return flight.FlightDescriptor.for_command(cmd)


def put(client, cmd: bytes, data: pa.Table | None, schema: pa.Schema | None = None) -> bytes:
    """DoPut one command with `data` (or an empty stream of `schema`); returns
    the app_metadata of the first PutResult."""
    schema = data.schema if data is not None else (schema or pa.schema([]))
    writer, reader = client.do_put(desc(cmd), schema, options=OPTS)
    if data is not None:
        writer.write_table(data)
    writer.done_writing()
    buf = reader.read()
    writer.close()
    return buf.to_pybytes() if buf is not None else b""


def ingest(client, table: str, data: pa.Table, if_not_exist=wire.IF_NOT_EXIST_CREATE,
           if_exists=wire.IF_EXISTS_APPEND) -> int:
    meta = put(client, wire.statement_ingest(table, if_not_exist, if_exists), data)
    return wire.parse_update_result(meta)


def fetch_endpoint(client, endpoint) -> pa.Table:
    uris = [loc.uri.decode() if isinstance(loc.uri, bytes) else loc.uri for loc in endpoint.locations]
    real = [u for u in uris if u != REUSE]
    if not real:
        return client.do_get(endpoint.ticket, options=OPTS).read_all()
    # A location the server advertises must be one a client can follow.
    other = flight.FlightClient(real[0])
    try:
        return other.do_get(endpoint.ticket, options=OPTS).read_all()
    finally:
        other.close()


def fetch_all(client, info) -> pa.Table:
    parts = [fetch_endpoint(client, ep) for ep in info.endpoints]
    if not parts:
        return info.schema.empty_table()
    return pa.concat_tables(parts)


def run(client, cmd: bytes) -> tuple[flight.FlightInfo, pa.Table]:
    info = client.get_flight_info(desc(cmd), OPTS)
    return info, fetch_all(client, info)


def query(client, sql: str) -> pa.Table:
    return run(client, wire.statement_query(sql))[1]


def sample(n: int = 5, offset: int = 0) -> pa.Table:
    ids = list(range(offset, offset + n))
    return pa.table({
        "id": pa.array(ids, pa.int64()),
        "name": pa.array([f"n{i}" for i in ids], pa.string()),
        "score": pa.array([i * 1.5 for i in ids], pa.float64()),
        "ok": pa.array([i % 2 == 0 for i in ids], pa.bool_()),
        "ts": pa.array([1_700_000_000_000_000 + i for i in ids], pa.timestamp("us", tz="UTC")),
    })


# --- statements and ingest -------------------------------------------------


def test_ingest_then_query_roundtrip(flight_client, table_name):
    data = sample(7)
    assert ingest(flight_client, table_name, data) == 7

    info, got = run(flight_client, wire.statement_query(f"SELECT * FROM {table_name} ORDER BY id"))
    assert len(info.endpoints) >= 1
    assert info.schema.names == data.schema.names
    assert got.num_rows == 7
    assert got.column("id").to_pylist() == list(range(7))
    assert got.column("name").to_pylist() == [f"n{i}" for i in range(7)]
    assert got.column("score").to_pylist() == [i * 1.5 for i in range(7)]
    assert got.column("ok").to_pylist() == [i % 2 == 0 for i in range(7)]
    assert got.column("ts").cast(pa.int64()).to_pylist() == [1_700_000_000_000_000 + i for i in range(7)]


def test_flight_info_and_get_schema_agree(flight_client, table_name):
    ingest(flight_client, table_name, sample(3))
    cmd = wire.statement_query(f"SELECT id, name, score, ok FROM {table_name}")
    info = flight_client.get_flight_info(desc(cmd), OPTS)
    schema = flight_client.get_schema(desc(cmd), OPTS).schema
    assert schema.names == ["id", "name", "score", "ok"]
    assert [f.type for f in schema] == [pa.int64(), pa.string(), pa.float64(), pa.bool_()]
    assert info.schema.equals(schema)


def test_results_are_utf8_not_utf8view(flight_client, table_name):
    ingest(flight_client, table_name, sample(3))
    got = query(flight_client, f"SELECT name, upper(name) AS up, name || '!' AS bang FROM {table_name}")
    for field in got.schema:
        assert field.type == pa.string(), f"{field.name} is {field.type}, want utf8"
    assert sorted(got.column("bang").to_pylist()) == ["n0!", "n1!", "n2!"]


def test_endpoints_are_followable(flight_client, table_name):
    ingest(flight_client, table_name, sample(4))
    info = flight_client.get_flight_info(desc(wire.statement_query(f"SELECT id FROM {table_name}")), OPTS)
    for ep in info.endpoints:
        for loc in ep.locations:
            uri = loc.uri.decode() if isinstance(loc.uri, bytes) else loc.uri
            assert uri == REUSE or uri.split("://")[0] in ("grpc", "grpc+tcp", "grpc+tls"), uri
    assert sorted(fetch_all(flight_client, info).column("id").to_pylist()) == [0, 1, 2, 3]


def test_ingest_modes(flight_client, table_name):
    C, F = wire.IF_NOT_EXIST_CREATE, wire.IF_NOT_EXIST_FAIL
    assert ingest(flight_client, table_name, sample(2), C, wire.IF_EXISTS_FAIL) == 2
    with pytest.raises(pa.ArrowException, match=table_name):  # ALREADY_EXISTS
        ingest(flight_client, table_name, sample(2), C, wire.IF_EXISTS_FAIL)
    assert ingest(flight_client, table_name, sample(3, 10), F, wire.IF_EXISTS_APPEND) == 3
    assert query(flight_client, f"SELECT count(*) AS n FROM {table_name}").column("n")[0].as_py() == 5
    assert ingest(flight_client, table_name, sample(1, 100), C, wire.IF_EXISTS_REPLACE) == 1
    assert query(flight_client, f"SELECT id FROM {table_name}").column("id").to_pylist() == [100]
    with pytest.raises(pa.ArrowKeyError, match=f"{table_name}_missing"):  # NOT_FOUND
        ingest(flight_client, f"{table_name}_missing", sample(1), F, wire.IF_EXISTS_APPEND)


def test_ingest_adds_new_column_as_nullable(flight_client, table_name):
    ingest(flight_client, table_name, pa.table({"id": pa.array([1], pa.int64())}))
    ingest(flight_client, table_name, pa.table({"id": pa.array([2], pa.int64()), "extra": ["x"]}))
    got = query(flight_client, f"SELECT id, extra FROM {table_name} ORDER BY id")
    assert got.to_pydict() == {"id": [1, 2], "extra": [None, "x"]}


def test_errors_carry_status_and_name_the_culprit(flight_client):
    with pytest.raises(pa.ArrowInvalid, match="(?i)syntax"):
        flight_client.get_flight_info(desc(wire.statement_query("SELEC 1")), OPTS)
    with pytest.raises(pa.ArrowKeyError, match="no_such_table_xyz"):
        flight_client.get_flight_info(desc(wire.statement_query("SELECT * FROM no_such_table_xyz")), OPTS)
    with pytest.raises(pa.ArrowInvalid, match="1bad"):
        ingest(flight_client, "1bad", sample(1))


def test_64k_row_batches_pass_both_ways(flight_client, table_name):
    """One 65,536-row batch of ~9 MiB: over gRPC's 4 MiB default both ways."""
    n = 65_536
    pad = "x" * 120
    big = pa.table({
        "id": pa.array(range(n), pa.int64()),
        "payload": pa.array([f"{i:08d}{pad}" for i in range(n)], pa.string()),
    })
    assert big.nbytes > 8 * 1024 * 1024
    writer, reader = flight_client.do_put(desc(wire.statement_ingest(table_name)), big.schema, options=OPTS)
    writer.write_batch(big.combine_chunks().to_batches(max_chunksize=n)[0])
    writer.done_writing()
    assert wire.parse_update_result(reader.read().to_pybytes()) == n
    writer.close()

    got = query(flight_client, f"SELECT id, payload FROM {table_name}")
    assert got.num_rows == n
    assert sum(got.column("id").to_pylist()) == n * (n - 1) // 2
    assert got.schema.field("payload").type == pa.string()
    # The server may choose its batch size; a client with default limits must read it all.
    agg = query(flight_client, f"SELECT string_agg(payload, '') AS s FROM {table_name}")
    assert len(agg.column("s")[0].as_py()) == n * (8 + len(pad))


def test_concurrent_queries_on_one_table(scratch_server):
    """Eight clients query one buffered table at once, five times over.
    On a server of its own: a failure here has crashed the server before."""
    import concurrent.futures

    c = flight.FlightClient(scratch_server.uri)
    ingest(c, "py_conc", pa.table({"id": pa.array(range(100), pa.int64())}))

    def one(k: int):
        client = flight.FlightClient(scratch_server.uri)
        try:
            return query(client, f"SELECT count(*) AS n FROM py_conc WHERE id % 4 = {k % 4}").column("n")[0].as_py()
        finally:
            client.close()

    for _ in range(5):
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            assert list(pool.map(one, range(8))) == [25] * 8
    c.close()


# --- metadata commands -----------------------------------------------------

STRING = {0, 1, 2, 504, 513, 514, 529, 530, 531}
BOOL = {3, 4, 5, 9, 10, 11, 500, 501, 502, 506, 515, 516, 518, 519, 520, 521, 523, 524, 527, 532,
        536, 537, 539, 556, 563, 565, 566, 572, 573, 574, 575, 576}
# 562 (default isolation) is an int32 in FlightSql.proto's comment, but the JDBC driver reads it
# as a Long and would fail a cast on anything else: the driver wins.
INT64 = set(range(541, 556)) | set(range(557, 562)) | {562}
INT32 = {8, 100, 101, 503, 505, 507, 522, 525, 526, 528, 533, 534, 535, 538, 540, 564,
         567, 568, 569, 570, 571}
STRING_LIST = {508, 509, 510, 511, 512}
INT_MAP = {517}
# Union member of each kind in the GetSqlInfo value column (FlightSql.proto).
KIND_CODE = {"string": 0, "bool": 1, "int64": 2, "int32": 3, "string_list": 4, "map": 5}


def sql_info(client, *codes: int) -> dict[int, tuple[int, object]]:
    _, t = run(client, wire.get_sql_info(*codes))
    assert t.schema.field("info_name").type == pa.uint32()
    assert pa.types.is_union(t.schema.field("value").type)
    out = {}
    for name, value in zip(t.column("info_name").to_pylist(), t.column("value")):
        out[name] = (value.type_code, value.as_py())
    return out


def test_sql_info_has_every_value_drivers_read(flight_client):
    info = sql_info(flight_client)
    expected = {}
    for kind, codes in (("string", STRING), ("bool", BOOL), ("int64", INT64), ("int32", INT32),
                        ("string_list", STRING_LIST), ("map", INT_MAP)):
        for c in codes:
            expected[c] = KIND_CODE[kind]
    missing = sorted(set(expected) - set(info))
    assert not missing, f"GetSqlInfo lacks codes {missing}"
    wrong = {c: info[c][0] for c, k in expected.items() if info[c][0] != k}
    assert not wrong, f"GetSqlInfo values of the wrong union member (code: type_code): {wrong}"

    assert "miniodb" in info[0][1].lower()  # server name
    assert info[1][1] and info[2][1]  # server and Arrow versions
    assert info[3][1] is False  # not read-only
    assert info[4][1] is True  # SQL
    assert info[5][1] is False  # no Substrait
    assert info[8][1] == 0  # FLIGHT_SQL_SERVER_TRANSACTION: none
    assert info[10][1] is True  # bulk ingestion
    assert info[504][1] == '"'
    assert info[563][1] is False  # SQL_TRANSACTIONS_SUPPORTED
    for c in STRING_LIST:
        assert info[c][1], f"SqlInfo {c} is an empty list"
    assert "abs" in {f.lower() for f in info[509][1]}
    assert "lower" in {f.lower() for f in info[510][1]}


def test_sql_info_filter_returns_only_requested(flight_client):
    info = sql_info(flight_client, 0, 8, 504)
    assert set(info) == {0, 8, 504}


def test_get_catalogs_and_db_schemas(flight_client, table_name):
    ingest(flight_client, table_name, sample(1))
    _, cats = run(flight_client, wire.get_catalogs())
    assert cats.schema.names == ["catalog_name"]
    catalogs = cats.column("catalog_name").to_pylist()
    assert catalogs and all(catalogs)

    _, schemas = run(flight_client, wire.get_db_schemas())
    assert schemas.schema.names == ["catalog_name", "db_schema_name"]
    assert schemas.num_rows >= 1
    assert set(schemas.column("catalog_name").to_pylist()) <= set(catalogs)

    first = schemas.column("db_schema_name")[0].as_py()
    _, one = run(flight_client, wire.get_db_schemas(pattern=first))
    assert one.column("db_schema_name").to_pylist() == [first]
    _, none = run(flight_client, wire.get_db_schemas(pattern="no_such_schema_%"))
    assert none.num_rows == 0


def test_get_tables_with_schema_metadata(flight_client, table_name):
    ingest(flight_client, table_name, sample(2))
    _, t = run(flight_client, wire.get_tables(table_pattern=table_name, include_schema=True))
    assert t.schema.names == ["catalog_name", "db_schema_name", "table_name", "table_type", "table_schema"]
    assert t.column("table_name").to_pylist() == [table_name]
    assert t.column("table_type").to_pylist() == ["TABLE"]
    schema = pa.ipc.read_schema(pa.py_buffer(t.column("table_schema")[0].as_py()))
    assert schema.names == ["id", "name", "score", "ok", "ts"]
    assert schema.field("id").type == pa.int64()
    assert schema.field("name").type == pa.string()
    for field in schema:
        md = {k.decode(): v.decode() for k, v in (field.metadata or {}).items()}
        assert md.get("ARROW:FLIGHT:SQL:TYPE_NAME"), f"{field.name}: no TYPE_NAME in {md}"
        assert md.get("ARROW:FLIGHT:SQL:TABLE_NAME") == table_name, md
        assert field.nullable, f"{field.name}: ingested columns are nullable"
    id_md = {k.decode(): v.decode() for k, v in schema.field("id").metadata.items()}
    assert id_md["ARROW:FLIGHT:SQL:TYPE_NAME"].upper() == "BIGINT"
    assert int(id_md["ARROW:FLIGHT:SQL:PRECISION"]) > 0, id_md
    assert int(id_md["ARROW:FLIGHT:SQL:SCALE"]) == 0, id_md


def test_get_tables_patterns_and_types(flight_client, table_name):
    p = table_name
    for suffix in ("ab1", "ab2", "xb1"):
        ingest(flight_client, f"{p}_{suffix}", sample(1))

    def names(**kw):
        _, t = run(flight_client, wire.get_tables(**kw))
        return sorted(t.column("table_name").to_pylist())

    assert names(table_pattern=f"{p}_ab%") == [f"{p}_ab1", f"{p}_ab2"]
    assert names(table_pattern=f"{p}__b1") == [f"{p}_ab1", f"{p}_xb1"]
    assert names(table_pattern=f"{p}%") == [f"{p}_ab1", f"{p}_ab2", f"{p}_xb1"]
    assert names(table_pattern=f"{p}_ab1") == [f"{p}_ab1"]
    assert names(table_pattern=f"{p}%", table_types=("TABLE",)) == [f"{p}_ab1", f"{p}_ab2", f"{p}_xb1"]
    assert names(table_pattern=f"{p}%", table_types=("VIEW",)) == []
    assert names(table_pattern=f"{p}%", schema_pattern="no_such_schema") == []
    _, no_schema = run(flight_client, wire.get_tables(table_pattern=f"{p}_ab1"))
    assert "table_schema" not in no_schema.schema.names


def test_get_table_types(flight_client):
    _, t = run(flight_client, wire.get_table_types())
    assert t.schema.names == ["table_type"]
    assert "TABLE" in t.column("table_type").to_pylist()


@pytest.mark.parametrize("kind", ["primary", "exported", "imported", "cross"])
def test_key_metadata_is_empty_but_well_formed(flight_client, table_name, kind):
    ingest(flight_client, table_name, sample(1))
    cmd = {
        "primary": lambda: wire.get_primary_keys(table_name),
        "exported": lambda: wire.get_exported_keys(table_name),
        "imported": lambda: wire.get_imported_keys(table_name),
        "cross": lambda: wire.get_cross_reference(table_name, table_name),
    }[kind]()
    info, t = run(flight_client, cmd)
    assert t.num_rows == 0
    if kind == "primary":
        assert t.schema.names == ["catalog_name", "db_schema_name", "table_name", "column_name",
                                  "key_sequence", "key_name"]
    else:
        assert t.schema.names == ["pk_catalog_name", "pk_db_schema_name", "pk_table_name",
                                  "pk_column_name", "fk_catalog_name", "fk_db_schema_name",
                                  "fk_table_name", "fk_column_name", "key_sequence", "fk_key_name",
                                  "pk_key_name", "update_rule", "delete_rule"]


def test_get_xdbc_type_info(flight_client):
    _, t = run(flight_client, wire.get_xdbc_type_info())
    for col in ("type_name", "data_type", "column_size", "literal_prefix", "nullable",
                "case_sensitive", "searchable", "sql_data_type"):
        assert col in t.schema.names, col
    names = {n.upper() for n in t.column("type_name").to_pylist()}
    assert {"BIGINT", "VARCHAR", "DOUBLE", "BOOLEAN", "TIMESTAMP"} <= names, names
    # Filtered by JDBC/XDBC type code: BIGINT is -5.
    _, only = run(flight_client, wire.get_xdbc_type_info(-5))
    assert only.num_rows >= 1
    assert set(only.column("data_type").to_pylist()) == {-5}


# --- DDL / DML through CommandStatementUpdate ------------------------------


def update(client, sql: str) -> int:
    return wire.parse_update_result(put(client, wire.statement_update(sql), None))


def test_statement_update_ddl_and_dml(flight_client, table_name):
    update(flight_client, f"CREATE TABLE {table_name} (id BIGINT, name VARCHAR)")
    assert query(flight_client, f"SELECT count(*) AS n FROM {table_name}").column("n")[0].as_py() == 0
    assert update(flight_client, f"INSERT INTO {table_name} VALUES (1, 'a'), (2, 'b')") == 2
    assert update(flight_client, f"INSERT INTO {table_name} SELECT id + 10, name FROM {table_name}") == 2
    got = query(flight_client, f"SELECT id, name FROM {table_name} ORDER BY id")
    assert got.to_pydict() == {"id": [1, 2, 11, 12], "name": ["a", "b", "a", "b"]}
    update(flight_client, f"DROP TABLE {table_name}")
    with pytest.raises(pa.ArrowKeyError, match=table_name):
        query(flight_client, f"SELECT * FROM {table_name}")
    update(flight_client, f"DROP TABLE IF EXISTS {table_name}")
    with pytest.raises(pa.ArrowException, match=table_name):
        update(flight_client, f"DROP TABLE {table_name}")


def test_statement_update_refuses_what_the_sandbox_forbids(flight_client, table_name, tmp_path):
    update(flight_client, f"CREATE TABLE {table_name} (id BIGINT)")  # the path itself works
    target = tmp_path / "copy.csv"
    for sql in (f"COPY (SELECT 1) TO '{target}'",
                f"ATTACH '{tmp_path / 'attach.db'}' AS x",
                "INSTALL httpfs",
                f"CREATE TABLE {table_name}_f AS SELECT * FROM read_csv('/etc/passwd')",
                f"INSERT INTO {table_name} SELECT 1; DROP TABLE {table_name}"):
        with pytest.raises((flight.FlightUnauthorizedError, pa.ArrowInvalid)):
            update(flight_client, sql)
    assert not target.exists()
    assert not list(tmp_path.iterdir())
    assert query(flight_client, f"SELECT count(*) AS n FROM {table_name}").column("n")[0].as_py() == 0


# --- prepared statements ---------------------------------------------------


def action(client, name: str, body: bytes) -> list[bytes]:
    return [r.body.to_pybytes() for r in client.do_action(flight.Action(name, body), OPTS)]


def test_prepared_query_with_parameters(flight_client, table_name):
    ingest(flight_client, table_name, sample(10))
    res = action(flight_client, "CreatePreparedStatement",
                 wire.create_prepared_statement(f"SELECT id, name FROM {table_name} WHERE id >= ? ORDER BY id"))
    assert len(res) == 1
    prep = wire.parse_prepared_result(res[0])
    assert prep["handle"]
    dataset = pa.ipc.read_schema(pa.py_buffer(prep["dataset_schema"]))
    assert dataset.names == ["id", "name"]
    params = pa.ipc.read_schema(pa.py_buffer(prep["parameter_schema"]))
    assert len(params) == 1

    handle = prep["handle"]
    binding = pa.table({params.names[0]: pa.array([7], pa.int64())})
    meta = put(flight_client, wire.prepared_statement_query(handle), binding)
    if meta:  # a stateless server returns a new handle carrying the parameters
        new = wire.parse_put_prepared_result(meta)
        handle = new or handle
    info, got = run(flight_client, wire.prepared_statement_query(handle))
    assert got.to_pydict() == {"id": [7, 8, 9], "name": ["n7", "n8", "n9"]}
    action(flight_client, "ClosePreparedStatement", wire.close_prepared_statement(prep["handle"]))


def test_prepared_update_with_empty_dataset_schema(flight_client, table_name):
    """The JDBC driver's path for DDL/DML: prepare, then DoPut PreparedStatementUpdate."""
    def prepared_update(sql: str, params: pa.Table | None = None) -> int:
        prep = wire.parse_prepared_result(action(flight_client, "CreatePreparedStatement",
                                                 wire.create_prepared_statement(sql))[0])
        if prep["dataset_schema"]:
            assert len(pa.ipc.read_schema(pa.py_buffer(prep["dataset_schema"]))) == 0
        if params is not None:
            pschema = pa.ipc.read_schema(pa.py_buffer(prep["parameter_schema"]))
            assert len(pschema) == params.num_columns
            params = params.rename_columns(pschema.names)
        n = wire.parse_update_result(put(flight_client, wire.prepared_statement_update(prep["handle"]), params))
        action(flight_client, "ClosePreparedStatement", wire.close_prepared_statement(prep["handle"]))
        return n

    prepared_update(f"CREATE TABLE {table_name} (id BIGINT, name VARCHAR)")
    assert prepared_update(f"INSERT INTO {table_name} VALUES (1, 'a')") == 1
    assert prepared_update(f"INSERT INTO {table_name} VALUES (?, ?)",
                           pa.table({"p1": pa.array([2, 3], pa.int64()), "p2": ["b", "c"]})) == 2
    assert query(flight_client, f"SELECT id FROM {table_name} ORDER BY id").column("id").to_pylist() == [1, 2, 3]
    prepared_update(f"DROP TABLE {table_name}")


# --- sessions and cancellation ---------------------------------------------


def test_session_options_catalog_and_schema(flight_client):
    got = wire.parse_session_options(b"".join(action(flight_client, "GetSessionOptions", b"")))
    assert isinstance(got.get("catalog"), str) and got["catalog"], got
    assert isinstance(got.get("schema"), str) and got["schema"], got
    errors = wire.parse_set_session_errors(b"".join(action(
        flight_client, "SetSessionOptions", wire.set_session_options(catalog=got["catalog"], schema=got["schema"]))))
    assert errors == {}
    bad = wire.parse_set_session_errors(b"".join(action(
        flight_client, "SetSessionOptions", wire.set_session_options(schema="no_such_schema_xyz"))))
    assert "schema" in bad, "setting a schema that does not exist must report an error"
    action(flight_client, "CloseSession", b"")


def test_cancel_flight_info_interrupts_running_query(scratch_server):
    c = flight.FlightClient(scratch_server.uri)
    n = 200_000
    tname = "py_cancel_big"
    ingest(c, tname, pa.table({"id": pa.array(range(n), pa.int64())}))
    # ~4e10 pairs: minutes of work unless interrupted.
    sql = f"SELECT count(*) AS n FROM {tname} a, {tname} b WHERE a.id + b.id = -1"
    info = c.get_flight_info(desc(wire.statement_query(sql)), OPTS)
    outcome: dict[str, object] = {}

    def reader():
        t0 = time.monotonic()
        try:
            c.do_get(info.endpoints[0].ticket, options=flight.FlightCallOptions(timeout=120)).read_all()
            outcome["result"] = "completed"
        except Exception as e:  # noqa: BLE001 - any failure is the expected outcome
            outcome["result"] = e
        outcome["seconds"] = time.monotonic() - t0

    th = threading.Thread(target=reader, daemon=True)
    th.start()
    time.sleep(2)
    assert th.is_alive(), f"query finished before cancel: {outcome}"
    body = wire.f_bytes(1, info.serialize())  # CancelFlightInfoRequest{info}
    res = [r.body.to_pybytes() for r in c.do_action(flight.Action("CancelFlightInfo", body), OPTS)]
    status = wire.decode(res[0]).get(1, [0])[0] if res and res[0] else 0
    assert status in (1, 2), f"CancelFlightInfoResult.status = {status}, want CANCELLED(1)/CANCELLING(2)"
    th.join(20)
    assert not th.is_alive(), "DoGet still running 20 s after CancelFlightInfo"
    assert isinstance(outcome["result"], Exception), outcome
    c.close()
