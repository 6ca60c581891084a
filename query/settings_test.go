package query

import (
	"context"
	"testing"
)

// The settings lockDown applies reach the connections queries run on, not
// only the connection that applied them: DuckDB scopes a plain SET of
// some options (the parquet extension's) to the connection.
func TestSettingsReachQueryConnections(t *testing.T) {
	cfg := Config{CacheDir: t.TempDir(), TempDir: t.TempDir(), Threads: 2}
	e, err := Open(cfg, oneTable{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	s, err := e.begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	for name, want := range map[string]string{
		"parquet_metadata_cache":    "true",
		"enable_external_access":    "false",
		"autoload_known_extensions": "false",
		"produce_arrow_string_view": "false",
		"lock_configuration":        "true",
	} {
		got, err := s.callString("SELECT current_setting('"+name+"')::VARCHAR || $1::VARCHAR", "", "setting")
		if err != nil {
			t.Fatalf("read %s: %v", name, err)
		}
		if got != want {
			t.Errorf("%s = %q on a query connection, want %q", name, got, want)
		}
	}
}
