package query

import (
	"context"
	"os"
	execpkg "os/exec"
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
		"TimeZone":                  "UTC",
		"Calendar":                  "gregorian",
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

// Times with a zone are answered in UTC and the Gregorian calendar
// whatever the host's zone and locale: the test runs itself again with TZ
// and LANG naming others (DuckDB takes its defaults once per process).
func TestAnswersIgnoreHostZoneAndCalendar(t *testing.T) {
	if os.Getenv("MINIODB_TEST_LOCALE_CHILD") == "" {
		cmd := execpkg.Command(os.Args[0], "-test.run=^TestAnswersIgnoreHostZoneAndCalendar$", "-test.count=1")
		cmd.Env = append(os.Environ(), "TZ=America/New_York", "LANG=th_TH.UTF-8", "LC_ALL=th_TH.UTF-8", "MINIODB_TEST_LOCALE_CHILD=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("with TZ=America/New_York LANG=th_TH.UTF-8: %v\n%s", err, out)
		}
		return
	}
	cfg := Config{CacheDir: t.TempDir(), TempDir: t.TempDir(), Threads: 2}
	e, err := Open(cfg, oneTable{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	const ts = "TIMESTAMPTZ '2024-01-01 02:00:00+00'"
	st, err := e.Query(context.Background(), "SELECT "+ts+" AS ts, CAST("+ts+" AS DATE) AS d, strftime("+ts+", '%H') AS h, "+
		"date_part('year', "+ts+") AS y", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if !st.Next() {
		t.Fatalf("no row: %v", st.Err())
	}
	r := st.RecordBatch()
	if got := r.Schema().Field(0).Type.String(); got != "timestamp[us, tz=UTC]" {
		t.Errorf("type %s, want timestamp[us, tz=UTC]", got)
	}
	for i, want := range []string{"2024-01-01T02:00:00Z", "2024-01-01", "02", "2024"} {
		if got := r.Column(i).ValueStr(0); got != want {
			t.Errorf("%s = %q, want %q", r.Schema().Field(i).Name, got, want)
		}
	}
}
