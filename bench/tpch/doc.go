// Package tpch provides reproducible TPC-H data and the reference answers
// that the service's query results are checked against.
//
// # Data
//
// [Ensure] runs the embedded gen.py with a given Python interpreter. gen.py
// loads DuckDB's tpch extension from the duckdb-extension-tpch wheel (never
// from the network), runs dbgen at the requested scale factor and writes
//
//	DIR/<table>.parquet      one zstd Parquet file per table, in dbgen's row order
//	DIR/queries/qNN.sql      the 22 queries, as tpch_queries() returns them
//	DIR/.complete            written last: "sf=<sf>" and the package versions
//
// Column types are dbgen's: BIGINT keys, DECIMAL(15,2) money and quantities,
// DATE dates, VARCHAR text. The Python packages are pinned exactly in
// requirements.txt (duckdb and duckdb-extension-tpch, both 1.5.5; the
// extension wheel requires that exact duckdb). With them pinned the output is
// byte-for-byte identical between runs for a given SF. A directory whose
// .complete is missing, or records another SF, is regenerated.
//
// # Reference answers
//
// [Reference] runs a query in an in-process DuckDB (duckdb-go through
// database/sql) over views named like the tables that read DIR/<table>.parquet.
// [Canonicalize] turns the Arrow records a client receives into the same
// canonical [Result], and [Compare] reports the first difference.
//
// # Canonical form
//
// Every value becomes a [Value] of one [Kind]:
//
//   - NULL stays NULL, distinct from every other value (including "").
//   - Integer types of any width, and decimals of scale 0 (DuckDB exports
//     HUGEINT to Arrow as decimal128(38,0)), become exact integers.
//   - Decimals of scale > 0 and floats become float64; a decimal is converted
//     by exact rational rounding, so database/sql's duckdb.Decimal and Arrow's
//     decimal128 give the very same float64.
//   - DATE becomes "2006-01-02", TIME "15:04:05.999999999", TIMESTAMP (any unit,
//     with or without time zone) "2006-01-02 15:04:05.999999999" in UTC, with
//     trailing fractional zeros dropped. Dates, times and timestamps are kinds
//     of their own: a date never equals the string of its text.
//   - VARCHAR (utf8, large utf8, string view, dictionary of strings) becomes a
//     string, BOOLEAN a bool.
//
// # Comparison and tolerance
//
// Two results match when they have the same number of columns, the same number
// of rows and the same multiset of rows; when ordered is set, row i of one must
// also match row i of the other. Exact integers compare exactly. When either
// side of a pair is a float the two compare as float64 and are equal when
// |a-b| <= RelTol*max(|a|,|b|) or |a-b| <= AbsTol (RelTol = 1e-9,
// AbsTol = 1e-12), which absorbs the summation-order differences of parallel
// double aggregates (avg) while catching any real change of a decimal sum.
// Everything else compares exactly. Column names are reported but not
// compared.
//
// For the multiset comparison both sides are sorted with the same key: first
// the columns holding no floats, then the float columns. Rows that agree on
// every exact column and differ only by less than the tolerance in two or more
// float columns could pair up wrongly; TPC-H answers have no such rows.
package tpch
