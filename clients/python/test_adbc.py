"""The ADBC Flight SQL driver's DB-API, as a Python user drives it."""

from __future__ import annotations

import adbc_driver_manager
import adbc_driver_manager.dbapi as dbapi
import pandas as pd
import pyarrow as pa
import pytest

from conftest import connect

# ADBC info codes (adbc.h).
VENDOR_SQL = 3
VENDOR_SUBSTRAIT = 4


def events(n: int = 5, offset: int = 0) -> pa.Table:
    ids = list(range(offset, offset + n))
    return pa.table({
        "id": pa.array(ids, pa.int64()),
        "kind": pa.array(["a" if i % 2 else "b" for i in ids], pa.string()),
        "amount": pa.array([i / 4 for i in ids], pa.float64()),
    })


def ingest(conn, table: str, data: pa.Table, mode: str = "create_append") -> int:
    with conn.cursor() as cur:
        return cur.adbc_ingest(table, data, mode=mode)


def rows(conn, sql: str, params=None) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def arrow(conn, sql: str, params=None) -> pa.Table:
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetch_arrow_table()


def update(conn, sql: str) -> int:
    """ExecuteUpdate (CommandStatementUpdate), returning the affected-row count."""
    with conn.cursor() as cur:
        cur.adbc_statement.set_sql_query(sql)
        return cur.adbc_statement.execute_update()


# --- connecting and querying ----------------------------------------------


def test_readme_example(server, table_name):
    conn = connect(server.uri)
    conn.cursor().adbc_ingest(table_name, pa.table({"id": [1, 2, 3], "v": ["a", "b", "c"]}), mode="create_append")
    cur = conn.cursor()
    cur.execute(f"SELECT count(*) AS n FROM {table_name}")
    assert cur.fetch_arrow_table().to_pydict() == {"n": [3]}
    cur.close()
    conn.close()


def test_connect_with_dbapi_default_autocommit_off(server):
    """dbapi.connect() defaults to autocommit=False; a server without
    transactions must still let the connection work (the driver falls back)."""
    import adbc_driver_flightsql.dbapi as flight_sql

    with pytest.warns(Warning, match="(?i)autocommit"):
        conn = flight_sql.connect(server.uri)
    try:
        assert rows(conn, "SELECT 42 AS answer") == [(42,)]
    finally:
        conn.close()


def test_select_literals(conn):
    assert rows(conn, "SELECT 1 AS one, 'x' AS s, 2.5 AS d") == [(1, "x", 2.5)]


def test_fetch_arrow_table(conn, table_name):
    ingest(conn, table_name, events(6))
    t = arrow(conn, f"SELECT id, kind, amount FROM {table_name} ORDER BY id")
    assert t.schema.names == ["id", "kind", "amount"]
    assert t.schema.field("kind").type == pa.string()  # Utf8, not Utf8View
    assert t.equals(events(6))


def test_fetch_df_pandas(conn, table_name):
    ingest(conn, table_name, events(4))
    with conn.cursor() as cur:
        cur.execute(f"SELECT id, kind, amount FROM {table_name} ORDER BY id")
        df = cur.fetch_df()
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == ["id", "kind", "amount"]
    assert df["id"].tolist() == [0, 1, 2, 3]
    assert df["kind"].tolist() == ["b", "a", "b", "a"]
    assert df["amount"].tolist() == [0.0, 0.25, 0.5, 0.75]
    assert str(df["id"].dtype) == "int64"


def test_fetchone_fetchmany_description(conn, table_name):
    ingest(conn, table_name, events(5))
    with conn.cursor() as cur:
        cur.execute(f"SELECT id, kind FROM {table_name} ORDER BY id")
        assert [d[0] for d in cur.description] == ["id", "kind"]
        assert cur.fetchone() == (0, "b")
        assert cur.fetchmany(2) == [(1, "a"), (2, "b")]
        assert cur.fetchall() == [(3, "a"), (4, "b")]
        assert cur.fetchone() is None


def test_aggregate_join_and_order(conn, table_name):
    ingest(conn, table_name, events(10))
    got = rows(conn, f"""
        SELECT e.kind, count(*) AS n, sum(e.amount) AS total
        FROM {table_name} e JOIN {table_name} f ON e.id = f.id
        GROUP BY e.kind ORDER BY e.kind""")
    assert got == [("a", 5, sum(i / 4 for i in range(1, 10, 2))), ("b", 5, sum(i / 4 for i in range(0, 10, 2)))]


def test_query_errors(conn):
    with pytest.raises(dbapi.Error, match="no_such_table_py"):
        rows(conn, "SELECT * FROM no_such_table_py")
    with pytest.raises(dbapi.Error, match="(?i)syntax"):
        rows(conn, "SELEC 1")


# --- parameters -------------------------------------------------------------


def test_parameters_positional(conn, table_name):
    ingest(conn, table_name, events(10))
    assert rows(conn, f"SELECT id FROM {table_name} WHERE id = ?", (3,)) == [(3,)]
    assert rows(conn, f"SELECT id FROM {table_name} WHERE kind = ? AND id < ? ORDER BY id", ("a", 6)) == \
        [(1,), (3,), (5,)]
    # Same statement, new values: the prepared handle is reused.
    with conn.cursor() as cur:
        sql = f"SELECT count(*) FROM {table_name} WHERE id >= ?"
        cur.execute(sql, (8,))
        assert cur.fetchall() == [(2,)]
        cur.execute(sql, (0,))
        assert cur.fetchall() == [(10,)]


def test_parameters_typed(conn):
    got = rows(conn, "SELECT ? + 1 AS i, ? || '!' AS s, ? * 2 AS d, ? AS b", (41, "hi", 1.25, True))
    assert got == [(42, "hi!", 2.5, True)]


def test_executemany_insert(conn, table_name):
    ingest(conn, table_name, events(1))
    with conn.cursor() as cur:
        cur.executemany(f"INSERT INTO {table_name} (id, kind, amount) VALUES (?, ?, ?)",
                        [(100, "z", 1.0), (101, "z", 2.0), (102, "z", 3.0)])
    assert rows(conn, f"SELECT id, amount FROM {table_name} WHERE kind = 'z' ORDER BY id") == \
        [(100, 1.0), (101, 2.0), (102, 3.0)]


# --- bulk ingest ------------------------------------------------------------


def test_adbc_ingest_modes(conn, table_name):
    assert ingest(conn, table_name, events(3), mode="create") == 3
    with pytest.raises(dbapi.Error, match=table_name):
        ingest(conn, table_name, events(3), mode="create")
    assert ingest(conn, table_name, events(2, 10), mode="append") == 2
    assert rows(conn, f"SELECT count(*) FROM {table_name}") == [(5,)]
    assert ingest(conn, table_name, events(1, 50), mode="create_append") == 1
    assert rows(conn, f"SELECT count(*) FROM {table_name}") == [(6,)]
    assert ingest(conn, table_name, events(2, 90), mode="replace") == 2
    assert rows(conn, f"SELECT id FROM {table_name} ORDER BY id") == [(90,), (91,)]
    with pytest.raises(dbapi.Error, match=f"{table_name}_nope"):
        ingest(conn, f"{table_name}_nope", events(1), mode="append")
    assert ingest(conn, f"{table_name}_new", events(2), mode="replace") == 2  # replace creates
    assert ingest(conn, f"{table_name}_ca", events(2), mode="create_append") == 2  # and so does create_append


def test_adbc_ingest_record_batch_reader_and_types(conn, table_name):
    schema = pa.schema([("id", pa.int32()), ("flag", pa.bool_()), ("when", pa.timestamp("us")),
                        ("day", pa.date32()), ("blob", pa.binary()), ("price", pa.decimal128(10, 2))])
    import datetime as dt
    from decimal import Decimal

    batch = pa.record_batch([
        pa.array([1, 2], pa.int32()),
        pa.array([True, None]),
        pa.array([dt.datetime(2024, 1, 2, 3, 4, 5), dt.datetime(2025, 6, 7)], pa.timestamp("us")),
        pa.array([dt.date(2024, 1, 2), dt.date(2025, 6, 7)], pa.date32()),
        pa.array([b"\x00\x01", b""], pa.binary()),
        pa.array([Decimal("1.25"), Decimal("-3.50")], pa.decimal128(10, 2)),
    ], schema=schema)
    second = batch.set_column(0, "id", pa.array([3, 4], pa.int32()))
    reader = pa.RecordBatchReader.from_batches(schema, [batch, second])
    assert ingest(conn, table_name, reader) == 4
    assert rows(conn, f"SELECT count(*), count(flag), sum(id) FROM {table_name}") == [(4, 2, 10)]
    t = arrow(conn, f"SELECT * FROM {table_name} WHERE id <= 2 ORDER BY id")
    assert t.column("id").type == pa.int32()
    assert t.column("flag").to_pylist() == [True, None]
    assert t.column("day").to_pylist() == [dt.date(2024, 1, 2), dt.date(2025, 6, 7)]
    assert t.column("blob").to_pylist() == [b"\x00\x01", b""]
    assert t.column("price").to_pylist() == [Decimal("1.25"), Decimal("-3.50")]


def test_adbc_ingest_64k_rows(conn, table_name):
    n = 65_536
    big = pa.table({"id": pa.array(range(n), pa.int64()), "pad": pa.array(["y" * 100] * n)})
    assert ingest(conn, table_name, big) == n
    t = arrow(conn, f"SELECT * FROM {table_name}")
    assert t.num_rows == n
    assert rows(conn, f"SELECT sum(id) FROM {table_name}") == [(n * (n - 1) // 2,)]


# --- metadata ---------------------------------------------------------------


def test_adbc_get_info(conn):
    info = conn.adbc_get_info()
    assert "miniodb" in str(info.get("vendor_name", "")).lower(), info
    assert info.get("vendor_version"), info
    assert info.get("vendor_arrow_version"), info
    assert info.get("driver_name"), info
    # vendor_sql / vendor_substrait are only fetched when asked for by code.
    stream = conn.adbc_connection.get_info([VENDOR_SQL, VENDOR_SUBSTRAIT])
    got = {r["info_name"]: r["info_value"] for r in pa.RecordBatchReader.from_stream(stream).read_all().to_pylist()}
    assert got == {VENDOR_SQL: True, VENDOR_SUBSTRAIT: False}, got


def _objects(conn, depth, **kw) -> list[dict]:
    return conn.adbc_get_objects(depth=depth, **kw).read_all().to_pylist()


def _find_table(catalogs: list[dict], table: str):
    for cat in catalogs:
        for sch in cat["catalog_db_schemas"] or []:
            for tbl in sch["db_schema_tables"] or []:
                if tbl["table_name"] == table:
                    return cat, sch, tbl
    return None


def test_adbc_get_objects_every_depth(conn, table_name):
    ingest(conn, table_name, events(2))

    cats = _objects(conn, "catalogs")
    assert cats and all(c["catalog_name"] for c in cats)
    assert all(c["catalog_db_schemas"] is None for c in cats)

    schemas = _objects(conn, "db_schemas")
    assert any(c["catalog_db_schemas"] for c in schemas)
    for c in schemas:
        for s in c["catalog_db_schemas"] or []:
            assert s["db_schema_name"]
            assert s["db_schema_tables"] is None

    tables = _objects(conn, "tables", table_name_filter=table_name)
    found = _find_table(tables, table_name)
    assert found, tables
    assert found[2]["table_type"] == "TABLE"
    assert found[2]["table_columns"] is None

    for depth in ("columns", "all"):
        found = _find_table(_objects(conn, depth, table_name_filter=table_name), table_name)
        assert found, depth
        cols = found[2]["table_columns"]
        assert [c["column_name"] for c in cols] == ["id", "kind", "amount"]
        assert [c["ordinal_position"] for c in cols] == [1, 2, 3]
        assert cols[0]["xdbc_type_name"].upper() == "BIGINT"
        assert cols[1]["xdbc_type_name"].upper() == "VARCHAR"
        assert cols[0]["xdbc_data_type"] == -5  # BIGINT
        # The driver fills the scope from the server's ARROW:FLIGHT:SQL:* field metadata.
        assert all(c["xdbc_scope_table"] == table_name for c in cols), cols
        assert all(c["xdbc_scope_catalog"] == found[0]["catalog_name"] for c in cols), cols
        assert all(c["xdbc_scope_schema"] == found[1]["db_schema_name"] for c in cols), cols


def test_adbc_get_objects_filters(conn, table_name):
    ingest(conn, f"{table_name}_one", events(1))
    ingest(conn, f"{table_name}_two", events(1))
    tables = _objects(conn, "tables", table_name_filter=f"{table_name}_%")
    names = sorted(t["table_name"] for c in tables for s in c["catalog_db_schemas"] or []
                   for t in s["db_schema_tables"] or [])
    assert names == [f"{table_name}_one", f"{table_name}_two"]

    cols = _objects(conn, "columns", table_name_filter=f"{table_name}_one", column_name_filter="am%")
    _, _, tbl = _find_table(cols, f"{table_name}_one")
    assert [c["column_name"] for c in tbl["table_columns"]] == ["amount"]

    none = _objects(conn, "tables", table_name_filter=f"{table_name}_one", table_types_filter=["VIEW"])
    assert _find_table(none, f"{table_name}_one") is None

    cat, sch, _ = _find_table(_objects(conn, "tables", table_name_filter=f"{table_name}_one"), f"{table_name}_one")
    scoped = _objects(conn, "tables", catalog_filter=cat["catalog_name"],
                      db_schema_filter=sch["db_schema_name"], table_name_filter=f"{table_name}_one")
    assert _find_table(scoped, f"{table_name}_one")
    assert _find_table(_objects(conn, "tables", db_schema_filter="no_such_schema_py",
                                table_name_filter=f"{table_name}_one"), f"{table_name}_one") is None


def test_adbc_get_table_schema(conn, table_name):
    ingest(conn, table_name, events(1))
    schema = conn.adbc_get_table_schema(table_name)
    assert schema.names == ["id", "kind", "amount"]
    assert [f.type for f in schema] == [pa.int64(), pa.string(), pa.float64()]

    cat, sch, _ = _find_table(_objects(conn, "tables", table_name_filter=table_name), table_name)
    scoped = conn.adbc_get_table_schema(table_name, catalog_filter=cat["catalog_name"],
                                        db_schema_filter=sch["db_schema_name"])
    assert scoped.names == schema.names
    with pytest.raises(dbapi.Error) as err:  # the driver's own NOT_FOUND: no GetTables row
        conn.adbc_get_table_schema(f"{table_name}_absent")
    assert err.value.status_code == adbc_driver_manager.AdbcStatusCode.NOT_FOUND


def test_adbc_get_table_types(conn):
    assert "TABLE" in conn.adbc_get_table_types()


def test_current_catalog_and_schema(conn, table_name):
    catalog = conn.adbc_current_catalog
    schema = conn.adbc_current_db_schema
    assert catalog and schema
    ingest(conn, table_name, events(1))
    found = _find_table(_objects(conn, "tables", table_name_filter=table_name), table_name)
    assert found and found[0]["catalog_name"] == catalog and found[1]["db_schema_name"] == schema
    conn.adbc_current_db_schema = schema  # setting the current value is accepted
    assert conn.adbc_current_db_schema == schema
    conn.adbc_current_catalog = catalog
    assert conn.adbc_current_catalog == catalog


def test_adbc_execute_schema(conn, table_name):
    ingest(conn, table_name, events(1))
    with conn.cursor() as cur:
        schema = cur.adbc_execute_schema(f"SELECT id, kind FROM {table_name}")
    assert schema.names == ["id", "kind"]
    assert schema.field("kind").type == pa.string()


def test_adbc_prepare_reports_parameter_schema(conn, table_name):
    ingest(conn, table_name, events(1))
    with conn.cursor() as cur:
        params = cur.adbc_prepare(f"SELECT id FROM {table_name} WHERE id > ? AND kind = ?")
        assert len(params) == 2


def test_poll_flight_info_incremental_execution(conn, table_name):
    """ADBC's incremental execution is PollFlightInfo underneath."""
    ingest(conn, table_name, events(50))
    sql = f"SELECT id FROM {table_name}"
    partitions: list[bytes] = []
    with conn.cursor() as cur:
        cur.adbc_statement.set_options(**{adbc_driver_manager.StatementOptions.INCREMENTAL.value: "true"})
        for _ in range(100):
            parts, _ = cur.adbc_execute_partitions(sql)
            if not parts:
                break
            partitions.extend(parts)
        else:
            pytest.fail("PollFlightInfo never reported completion")
    assert partitions
    ids: list[int] = []
    with conn.cursor() as cur:
        for part in partitions:
            cur.adbc_read_partition(part)
            ids += cur.fetch_arrow_table().column("id").to_pylist()
    assert sorted(ids) == list(range(50))


def test_qualified_table_names(conn, table_name):
    ingest(conn, table_name, events(3))
    catalog, schema = conn.adbc_current_catalog, conn.adbc_current_db_schema
    assert rows(conn, f"SELECT count(*) FROM {schema}.{table_name}") == [(3,)]
    assert rows(conn, f"SELECT count(*) FROM {catalog}.{schema}.{table_name}") == [(3,)]
    assert rows(conn, f'SELECT count(*) FROM "{schema}"."{table_name}"') == [(3,)]
    with pytest.raises(dbapi.Error, match=table_name):
        rows(conn, f"SELECT count(*) FROM no_such_schema_py.{table_name}")


def test_adbc_ingest_into_named_schema(conn, table_name):
    schema = conn.adbc_current_db_schema
    with conn.cursor() as cur:
        assert cur.adbc_ingest(table_name, events(2), mode="create", db_schema_name=schema) == 2
    assert rows(conn, f"SELECT count(*) FROM {table_name}") == [(2,)]
    with pytest.raises(dbapi.Error):
        with conn.cursor() as cur:
            cur.adbc_ingest(f"{table_name}_x", events(1), mode="create", db_schema_name="no_such_schema_py")


def test_concurrent_connections(scratch_server):
    """Several clients query one table at once (its rows still in the buffer).
    On a server of its own: a failure here has crashed the server before."""
    import concurrent.futures

    table = "py_concurrent"
    with connect(scratch_server.uri) as setup:
        ingest(setup, table, events(100))

    def work(k: int) -> list[tuple]:
        with connect(scratch_server.uri) as c:
            return rows(c, f"SELECT count(*), sum(id) FROM {table} WHERE id % 4 = ?", (k % 4,))

    for _ in range(3):
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            got = list(pool.map(work, range(8)))
        assert got == [[(25, sum(i for i in range(100) if i % 4 == k % 4))] for k in range(8)]


# --- DDL and DML ------------------------------------------------------------


def test_ddl_create_insert_drop_via_cursor_execute(conn, table_name):
    """cursor.execute prepares first and expects a result set, even for DDL."""
    with conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {table_name} (id BIGINT, name VARCHAR, score DOUBLE)")
    assert rows(conn, f"SELECT count(*) FROM {table_name}") == [(0,)]
    assert conn.adbc_get_table_schema(table_name).names == ["id", "name", "score"]
    with conn.cursor() as cur:
        cur.execute(f"INSERT INTO {table_name} VALUES (1, 'one', 1.5), (2, 'two', 2.5)")
    with conn.cursor() as cur:
        cur.execute(f"INSERT INTO {table_name} SELECT id + 100, upper(name), score * 2 FROM {table_name}")
    assert rows(conn, f"SELECT id, name, score FROM {table_name} ORDER BY id") == [
        (1, "one", 1.5), (2, "two", 2.5), (101, "ONE", 3.0), (102, "TWO", 5.0)]
    with conn.cursor() as cur:
        cur.execute(f"DROP TABLE {table_name}")
    with pytest.raises(dbapi.Error, match=table_name):
        rows(conn, f"SELECT * FROM {table_name}")
    assert _find_table(_objects(conn, "tables", table_name_filter=table_name), table_name) is None
    with conn.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {table_name}")


def test_execute_update_counts(conn, table_name):
    update(conn, f"CREATE TABLE {table_name} (id BIGINT, name VARCHAR)")
    assert update(conn, f"INSERT INTO {table_name} VALUES (1, 'a'), (2, 'b'), (3, 'c')") == 3
    assert update(conn, f"INSERT INTO {table_name} SELECT id * 10, name FROM {table_name} WHERE id > 1") == 2
    assert rows(conn, f"SELECT count(*) FROM {table_name}") == [(5,)]
    update(conn, f"DROP TABLE {table_name}")
    update(conn, f"DROP TABLE IF EXISTS {table_name}")


def test_create_table_with_table_options(conn, table_name):
    update(conn, f"CREATE TABLE {table_name} (id BIGINT, ts TIMESTAMP) "
                 "WITH (buffer_size = 1000, flush_interval_seconds = 30, retention_days = 7)")
    assert conn.adbc_get_table_schema(table_name).names == ["id", "ts"]
    with pytest.raises(dbapi.Error, match="no_such_option"):
        update(conn, f"CREATE TABLE {table_name}_bad (id BIGINT) WITH (no_such_option = 1)")
    assert _find_table(_objects(conn, "tables", table_name_filter=f"{table_name}_bad"), f"{table_name}_bad") is None


def test_create_table_as_select(conn, table_name):
    ingest(conn, table_name, events(6))
    update(conn, f"CREATE TABLE {table_name}_ctas AS SELECT id, kind FROM {table_name} WHERE id < 3")
    assert rows(conn, f"SELECT id, kind FROM {table_name}_ctas ORDER BY id") == [(0, "b"), (1, "a"), (2, "b")]


def test_drop_then_recreate_starts_empty(conn, table_name):
    ingest(conn, table_name, events(5))
    update(conn, f"DROP TABLE {table_name}")
    update(conn, f"CREATE TABLE {table_name} (id BIGINT, note VARCHAR)")
    assert rows(conn, f"SELECT count(*) FROM {table_name}") == [(0,)]
    assert conn.adbc_get_table_schema(table_name).names == ["id", "note"]
    assert ingest(conn, table_name, pa.table({"id": pa.array([7], pa.int64()), "note": ["x"]}), mode="append") == 1
    assert rows(conn, f"SELECT id, note FROM {table_name}") == [(7, "x")]


def test_create_table_then_ingest_append(conn, table_name):
    update(conn, f"CREATE TABLE {table_name} (id BIGINT, kind VARCHAR, amount DOUBLE)")
    assert ingest(conn, table_name, events(3), mode="append") == 3
    assert rows(conn, f"SELECT count(*) FROM {table_name}") == [(3,)]


def test_ddl_and_dml_refused_outside_the_sandbox(conn, table_name, tmp_path):
    update(conn, f"CREATE TABLE {table_name} (id BIGINT)")  # the path itself works
    target = tmp_path / "copy.csv"
    for sql in (f"COPY (SELECT 1) TO '{target}'", "INSTALL httpfs",
                f"CREATE TABLE {table_name}_f AS SELECT * FROM read_csv('/etc/passwd')"):
        with pytest.raises(dbapi.Error) as err:
            update(conn, sql)
        assert not isinstance(err.value, dbapi.NotSupportedError), err.value
    assert not target.exists()


def test_transactions_are_not_supported(conn):
    conn.commit()  # autocommit: a no-op
    with pytest.raises(adbc_driver_manager.NotSupportedError):
        conn.adbc_connection.set_autocommit(False)
