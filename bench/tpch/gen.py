#!/usr/bin/env python3
"""Generate the TPC-H data set and queries for the miniodb benchmarks.

    python gen.py --sf 0.01 --out DIR

writes DIR/<table>.parquet (zstd) for the 8 TPC-H tables, as DuckDB's tpch
extension (dbgen) produces them, DIR/queries/q01.sql .. q22.sql from the
extension's tpch_queries(), and last DIR/.complete. The extension is the one
shipped in the duckdb-extension-tpch wheel (see requirements.txt); it is
loaded from that wheel's file, never downloaded. Output is deterministic for
a given SF.
"""

import argparse
import importlib.metadata
import os
import pathlib
import shutil
import sys

TABLES = [
    "region", "nation", "part", "supplier",
    "partsupp", "customer", "orders", "lineitem",
]
MARKER = ".complete"
HINT = ("install the pinned packages: pip install -r bench/tpch/requirements.txt "
        "(`make test` does this into .venv)")


def fail(msg):
    print(f"gen.py: {msg}", file=sys.stderr)
    sys.exit(3)


def import_duckdb():
    try:
        import duckdb
        import duckdb_extension_tpch
    except ImportError as e:
        fail(f"missing Python package ({e}); {HINT}")
    return duckdb, duckdb_extension_tpch


def extension_path(duckdb, ext_pkg):
    """The tpch extension file built for the installed duckdb version."""
    want = "v" + duckdb.__version__
    path = pathlib.Path(ext_pkg.__file__).parent / "extensions" / want / "tpch.duckdb_extension"
    if not path.is_file():
        have = importlib.metadata.version("duckdb-extension-tpch")
        fail(f"duckdb {duckdb.__version__} does not match duckdb-extension-tpch {have}; {HINT}")
    return path


def connect(duckdb, ext):
    con = duckdb.connect(config={
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
    })
    con.execute(f"LOAD '{ext}'")
    return con


def write_tables(con, out):
    for t in TABLES:
        final = out / f"{t}.parquet"
        tmp = out / f"{t}.parquet.tmp"
        con.execute(f"COPY {t} TO '{tmp}' (FORMAT parquet, COMPRESSION zstd)")
        os.replace(tmp, final)


def write_queries(con, out):
    qdir = out / "queries"
    if qdir.exists():
        shutil.rmtree(qdir)
    qdir.mkdir()
    rows = con.execute("SELECT query_nr, query FROM tpch_queries() ORDER BY query_nr").fetchall()
    if len(rows) != 22:
        fail(f"tpch_queries() returned {len(rows)} queries, want 22")
    for nr, sql in rows:
        (qdir / f"q{nr:02d}.sql").write_text(sql.strip() + "\n")


def write_marker(out, sf, duckdb):
    ext = importlib.metadata.version("duckdb-extension-tpch")
    text = f"sf={sf!r}\nduckdb={duckdb.__version__}\nduckdb-extension-tpch={ext}\n"
    tmp = out / (MARKER + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, out / MARKER)


def generate(sf, out):
    duckdb, ext_pkg = import_duckdb()
    ext = extension_path(duckdb, ext_pkg)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).unlink(missing_ok=True)
    con = connect(duckdb, ext)
    con.execute(f"CALL dbgen(sf={sf!r})")
    write_tables(con, out)
    write_queries(con, out)
    con.close()
    write_marker(out, sf, duckdb)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sf", type=float, required=True, help="TPC-H scale factor, e.g. 0.01")
    p.add_argument("--out", type=pathlib.Path, required=True, help="output directory")
    args = p.parse_args()
    if not args.sf > 0:
        fail(f"--sf must be > 0, got {args.sf}")
    generate(args.sf, args.out)


if __name__ == "__main__":
    main()
