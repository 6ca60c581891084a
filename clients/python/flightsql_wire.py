"""Flight SQL command messages, encoded and decoded by hand.

pyarrow.flight speaks plain Arrow Flight; Flight SQL rides on it as protobuf
messages packed in a google.protobuf.Any (FlightSql.proto). The raw tests need
only a handful of them, so this module writes the protobuf wire format
directly (varints, length-delimited fields) instead of depending on generated
code. Field numbers are those of arrow/format/FlightSql.proto and Flight.proto.
"""

from __future__ import annotations

import struct

SQL_PREFIX = "type.googleapis.com/arrow.flight.protocol.sql."

# TableDefinitionOptions enums (CommandStatementIngest).
IF_NOT_EXIST_CREATE = 1
IF_NOT_EXIST_FAIL = 2
IF_EXISTS_FAIL = 1
IF_EXISTS_APPEND = 2
IF_EXISTS_REPLACE = 3


# --- encoding --------------------------------------------------------------


def _varint(n: int) -> bytes:
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _key(field: int, wire_type: int) -> bytes:
    return _varint(field << 3 | wire_type)


def f_varint(field: int, value: int) -> bytes:
    return _key(field, 0) + _varint(value)


def f_bytes(field: int, value: bytes | str) -> bytes:
    if isinstance(value, str):
        value = value.encode()
    return _key(field, 2) + _varint(len(value)) + value


def f_double(field: int, value: float) -> bytes:
    return _key(field, 1) + struct.pack("<d", value)


def pack_any(type_name: str, body: bytes) -> bytes:
    """Wrap a message body in google.protobuf.Any {type_url=1, value=2}."""
    return f_bytes(1, SQL_PREFIX + type_name) + f_bytes(2, body)


# --- decoding --------------------------------------------------------------


def _read_varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = n = 0
    while True:
        b = buf[i]
        i += 1
        n |= (b & 0x7F) << shift
        if not b & 0x80:
            return n, i
        shift += 7


def decode(buf: bytes) -> dict[int, list]:
    """Decode one message level: field number -> list of raw values
    (int for varint/fixed, bytes for length-delimited)."""
    out: dict[int, list] = {}
    i = 0
    while i < len(buf):
        key, i = _read_varint(buf, i)
        field, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _read_varint(buf, i)
        elif wt == 1:
            v = buf[i : i + 8]
            i += 8
        elif wt == 2:
            n, i = _read_varint(buf, i)
            v = bytes(buf[i : i + n])
            i += n
        elif wt == 5:
            v = buf[i : i + 4]
            i += 4
        else:
            raise ValueError(f"unsupported wire type {wt} for field {field}")
        out.setdefault(field, []).append(v)
    return out


def unpack_any(buf: bytes) -> tuple[str, bytes]:
    """Return (type_url, value) of a google.protobuf.Any."""
    d = decode(buf)
    return d.get(1, [b""])[0].decode(), d.get(2, [b""])[0]


def to_signed64(n: int) -> int:
    return n - (1 << 64) if n >= 1 << 63 else n


# --- Flight SQL commands ---------------------------------------------------


def statement_query(sql: str) -> bytes:
    return pack_any("CommandStatementQuery", f_bytes(1, sql))


def statement_update(sql: str) -> bytes:
    return pack_any("CommandStatementUpdate", f_bytes(1, sql))


def statement_ingest(
    table: str,
    if_not_exist: int = IF_NOT_EXIST_CREATE,
    if_exists: int = IF_EXISTS_APPEND,
    schema: str | None = None,
    catalog: str | None = None,
) -> bytes:
    opts = f_varint(1, if_not_exist) + f_varint(2, if_exists)
    body = f_bytes(1, opts) + f_bytes(2, table)
    if schema is not None:
        body += f_bytes(3, schema)
    if catalog is not None:
        body += f_bytes(4, catalog)
    return pack_any("CommandStatementIngest", body)


def get_sql_info(*codes: int) -> bytes:
    return pack_any("CommandGetSqlInfo", b"".join(f_varint(1, c) for c in codes))


def get_catalogs() -> bytes:
    return pack_any("CommandGetCatalogs", b"")


def get_db_schemas(catalog: str | None = None, pattern: str | None = None) -> bytes:
    body = b""
    if catalog is not None:
        body += f_bytes(1, catalog)
    if pattern is not None:
        body += f_bytes(2, pattern)
    return pack_any("CommandGetDbSchemas", body)


def get_tables(
    catalog: str | None = None,
    schema_pattern: str | None = None,
    table_pattern: str | None = None,
    table_types: tuple[str, ...] = (),
    include_schema: bool = False,
) -> bytes:
    body = b""
    if catalog is not None:
        body += f_bytes(1, catalog)
    if schema_pattern is not None:
        body += f_bytes(2, schema_pattern)
    if table_pattern is not None:
        body += f_bytes(3, table_pattern)
    for t in table_types:
        body += f_bytes(4, t)
    if include_schema:
        body += f_varint(5, 1)
    return pack_any("CommandGetTables", body)


def get_table_types() -> bytes:
    return pack_any("CommandGetTableTypes", b"")


def _keys_cmd(name: str, table: str, catalog: str | None, schema: str | None) -> bytes:
    body = b""
    if catalog is not None:
        body += f_bytes(1, catalog)
    if schema is not None:
        body += f_bytes(2, schema)
    return pack_any(name, body + f_bytes(3, table))


def get_primary_keys(table: str, catalog: str | None = None, schema: str | None = None) -> bytes:
    return _keys_cmd("CommandGetPrimaryKeys", table, catalog, schema)


def get_exported_keys(table: str, catalog: str | None = None, schema: str | None = None) -> bytes:
    return _keys_cmd("CommandGetExportedKeys", table, catalog, schema)


def get_imported_keys(table: str, catalog: str | None = None, schema: str | None = None) -> bytes:
    return _keys_cmd("CommandGetImportedKeys", table, catalog, schema)


def get_cross_reference(pk_table: str, fk_table: str) -> bytes:
    return pack_any("CommandGetCrossReference", f_bytes(3, pk_table) + f_bytes(6, fk_table))


def get_xdbc_type_info(data_type: int | None = None) -> bytes:
    body = b"" if data_type is None else f_varint(1, data_type)
    return pack_any("CommandGetXdbcTypeInfo", body)


def create_prepared_statement(sql: str) -> bytes:
    """Body of the CreatePreparedStatement action (an Any, as the spec says)."""
    return pack_any("ActionCreatePreparedStatementRequest", f_bytes(1, sql))


def close_prepared_statement(handle: bytes) -> bytes:
    return pack_any("ActionClosePreparedStatementRequest", f_bytes(1, handle))


def prepared_statement_query(handle: bytes) -> bytes:
    return pack_any("CommandPreparedStatementQuery", f_bytes(1, handle))


def prepared_statement_update(handle: bytes) -> bytes:
    return pack_any("CommandPreparedStatementUpdate", f_bytes(1, handle))


def parse_prepared_result(buf: bytes) -> dict:
    """ActionCreatePreparedStatementResult (inside an Any) as a dict."""
    type_url, body = unpack_any(buf)
    if not type_url.endswith("ActionCreatePreparedStatementResult"):
        raise ValueError(f"unexpected result type {type_url!r}")
    d = decode(body)
    return {
        "handle": d.get(1, [b""])[0],
        "dataset_schema": d.get(2, [b""])[0],
        "parameter_schema": d.get(3, [b""])[0],
        "is_update": bool(d[4][0]) if 4 in d else None,
    }


def parse_update_result(buf: bytes) -> int:
    """DoPutUpdateResult.record_count from a PutResult's app_metadata."""
    return to_signed64(decode(buf).get(1, [0])[0])


def parse_put_prepared_result(buf: bytes) -> bytes | None:
    """DoPutPreparedStatementResult.prepared_statement_handle (None if unset)."""
    d = decode(buf)
    return d[1][0] if 1 in d else None


# --- session options (Flight.proto; plain messages, no Any) ----------------


def set_session_options(**options: str | bool | float | list[str]) -> bytes:
    body = b""
    for name, value in options.items():
        if isinstance(value, bool):
            v = f_varint(2, int(value))
        elif isinstance(value, str):
            v = f_bytes(1, value)
        elif isinstance(value, float):
            v = f_double(4, value)
        elif isinstance(value, list):
            v = f_bytes(5, b"".join(f_bytes(1, s) for s in value))
        else:
            raise TypeError(f"unsupported session option value {value!r}")
        entry = f_bytes(1, name) + f_bytes(2, v)
        body += f_bytes(1, entry)
    return body


def parse_session_options(buf: bytes) -> dict[str, object]:
    """GetSessionOptionsResult -> {name: value}."""
    out: dict[str, object] = {}
    for entry in decode(buf).get(1, []):
        e = decode(entry)
        name = e.get(1, [b""])[0].decode()
        v = decode(e.get(2, [b""])[0])
        if 1 in v:
            out[name] = v[1][0].decode()
        elif 2 in v:
            out[name] = bool(v[2][0])
        elif 4 in v:
            out[name] = struct.unpack("<d", v[4][0])[0]
        elif 5 in v:
            out[name] = [s.decode() for s in decode(v[5][0]).get(1, [])]
        else:
            out[name] = None
    return out


def parse_set_session_errors(buf: bytes) -> dict[str, int]:
    """SetSessionOptionsResult.errors -> {name: ErrorValue}."""
    out: dict[str, int] = {}
    for entry in decode(buf).get(1, []):
        e = decode(entry)
        err = decode(e.get(2, [b""])[0])
        out[e.get(1, [b""])[0].decode()] = err.get(1, [0])[0]
    return out
