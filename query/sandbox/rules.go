package sandbox

import (
	"regexp"
	"strings"
)

// The maps and slices below are built once and never modified.

// tableNameRE is the service's rule for table names.
var tableNameRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]{0,63}$`)

// systemTablePrefixes are the prefixes of DuckDB's introspection views that
// unqualified names resolve to (system.main.duckdb_tables,
// system.main.sqlite_master, system.pg_catalog.pg_settings, ...).
var systemTablePrefixes = []string{"duckdb_", "sqlite_", "pragma_", "pg_"}

// allowedTableFunctions only generate rows from their arguments.
var allowedTableFunctions = map[string]bool{
	"range":           true,
	"generate_series": true,
	"unnest":          true,
}

// deniedFunctions leak host information, configuration or session state,
// run or parse SQL, touch files, sequences or logs, change state, or sleep.
var deniedFunctions = map[string]bool{
	// configuration and session state
	"current_setting":        true,
	"getvariable":            true,
	"getenv":                 true,
	"current_database":       true,
	"current_catalog":        true,
	"current_schema":         true,
	"current_schemas":        true,
	"in_search_path":         true,
	"current_connection_id":  true,
	"current_query_id":       true,
	"current_transaction_id": true,
	"txid_current":           true,
	"get_block_size":         true,
	"inet_client_addr":       true,
	"inet_client_port":       true,
	"inet_server_addr":       true,
	"inet_server_port":       true,
	"obj_description":        true,
	"shobj_description":      true,
	"col_description":        true,
	"which_secret":           true,
	"load_aws_credentials":   true,
	// running or parsing SQL
	"query":                       true,
	"query_table":                 true,
	"sql_auto_complete":           true,
	"json_serialize_sql":          true,
	"json_deserialize_sql":        true,
	"json_execute_serialized_sql": true,
	"json_serialize_plan":         true,
	"check_peg_parser":            true,
	"enable_peg_parser":           true,
	"disable_peg_parser":          true,
	// files
	"glob":      true,
	"sniff_csv": true,
	// sequences
	"nextval": true,
	"currval": true,
	"setval":  true,
	"lastval": true,
	// state changes and delays
	"setseed":              true,
	"write_log":            true,
	"sleep_ms":             true,
	"checkpoint":           true,
	"force_checkpoint":     true,
	"enable_logging":       true,
	"disable_logging":      true,
	"truncate_duckdb_logs": true,
	"enable_profiling":     true,
	"disable_profiling":    true,
}

// deniedFunctionPrefixes are function families refused as a whole.
var deniedFunctionPrefixes = []string{
	"__",       // DuckDB internals
	"duckdb_",  // catalog and engine introspection
	"pragma_",  // PRAGMA as functions
	"read_",    // file readers
	"parquet_", // file metadata
	"pg_",      // PostgreSQL catalog helpers, pg_sleep (see allowedPGFunctions)
	"iceberg_", "delta_", "ducklake_", "sqlite_", "postgres_", "mysql_", "odbc_", "http_",
}

// allowedPGFunctions are harmless members of the pg_ family.
var allowedPGFunctions = map[string]bool{
	"pg_typeof":        true,
	"pg_size_pretty":   true,
	"pg_collation_for": true,
}

// grammarFunctions are the functions DuckDB's grammar itself emits with the
// schema "main" (SystemFuncName in libpg_query's grammar) for syntax such
// as [1,2], {'a': 1}, MAP {...}, ROW(...), EXTRACT, TRIM, SUBSTRING,
// OVERLAY, POSITION, LIKE ... ESCAPE, SIMILAR TO, list comprehensions,
// UNPACK, AT TIME ZONE, COLLATION FOR and OVERLAPS. TREAT(x AS type) also
// emits main.<type name>; it is not listed, so TREAT is refused.
var grammarFunctions = map[string]bool{
	"__internal_position_operator": true,
	"date_part":                    true,
	"ilike_escape":                 true,
	"like_escape":                  true,
	"list_apply":                   true,
	"list_filter":                  true,
	"list_value":                   true,
	"ltrim":                        true,
	"map":                          true,
	"not_ilike_escape":             true,
	"not_like_escape":              true,
	"overlaps":                     true,
	"overlay":                      true,
	"pg_collation_for":             true,
	"position":                     true, // __internal_position_operator, renamed by the transformer
	"row":                          true,
	"rtrim":                        true,
	"similar_escape":               true,
	"struct_extract":               true,
	"struct_pack":                  true,
	"substring":                    true,
	"timezone":                     true,
	"trim":                         true,
	"unpack":                       true,
}

// deniedFunction reports whether a function, given by lower-cased name, is
// refused.
func deniedFunction(name string) bool {
	if deniedFunctions[name] || strings.HasSuffix(name, "_privilege") {
		return true
	}
	if allowedPGFunctions[name] {
		return false
	}
	for _, p := range deniedFunctionPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// grammarQualified reports whether a qualified call is one the grammar
// itself produces for syntax sugar.
func grammarQualified(catalog, schema, name string) bool {
	return catalog == "" && schema == "main" && grammarFunctions[name]
}

// systemTableName reports whether a table name belongs to DuckDB's
// introspection views.
func systemTableName(name string) bool {
	lower := asciiLower(name)
	for _, p := range systemTablePrefixes {
		if strings.HasPrefix(lower, p) {
			return true
		}
	}
	return false
}

// asciiLower lower-cases ASCII letters only, as DuckDB does for identifiers.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}

// isASCII reports whether s has only ASCII characters.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// qualifiedName joins the non-empty parts of a qualified name with dots.
func qualifiedName(parts ...string) string {
	var kept []string
	for _, p := range parts {
		if p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, ".")
}
