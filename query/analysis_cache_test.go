package query

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

// A query described twice, the second time from the analysis cache, gets
// the same description and access list, and still runs; refused texts and
// DDL are classified again every time, never kept.
func TestAnalysisCacheRepeatsAndRefusals(t *testing.T) {
	cfg := Config{CacheDir: t.TempDir(), TempDir: t.TempDir(), Threads: 2}
	e, err := Open(cfg, oneTable{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	for _, sql := range []string{"SELECT id, s FROM t WHERE id > 1", "SELECT upper(s) AS u FROM main.t"} {
		first, err := e.Describe(ctx, sql, nil)
		if err != nil {
			t.Fatalf("Describe(%q): %v", sql, err)
		}
		if _, ok := e.analyzed.get(sql); !ok {
			t.Fatalf("%q: analysis not kept", sql)
		}
		again, err := e.Describe(ctx, sql, nil)
		if err != nil {
			t.Fatalf("Describe(%q) again: %v", sql, err)
		}
		if !again.Result.Equal(first.Result) || again.ScanOf != first.ScanOf || again.Kind != first.Kind {
			t.Errorf("%q: second description %+v differs from first %+v", sql, again, first)
		}
		acc, err := e.Access(ctx, sql)
		if err != nil || !slices.Equal(acc.Reads, []string{"t"}) {
			t.Errorf("Access(%q) = %+v, %v; want reads [t]", sql, acc, err)
		}
		st, err := e.Query(ctx, sql, nil)
		if err != nil {
			t.Fatalf("Query(%q): %v", sql, err)
		}
		for st.Next() {
		}
		if st.Err() != nil {
			t.Errorf("Query(%q): %v", sql, st.Err())
		}
		st.Close()
	}
	// The qualified name is run as DuckDB prints it with bare names, from
	// the cache too.
	if a, _ := e.analyzed.get("SELECT upper(s) AS u FROM main.t"); strings.Contains(a.run, "main.") {
		t.Errorf("cached run SQL %q keeps the qualified name", a.run)
	}
	refused := "SELECT * FROM read_csv('/etc/passwd')"
	for range 2 {
		if _, err := e.Describe(ctx, refused, nil); !errors.Is(err, ErrRefused) {
			t.Fatalf("Describe(%q) = %v, want ErrRefused", refused, err)
		}
	}
	st, err := e.Describe(ctx, "DROP TABLE IF EXISTS t", nil)
	if err != nil || st.Kind != KindDropTable {
		t.Fatalf("Describe(DROP TABLE) = %+v, %v", st, err)
	}
	for _, sql := range []string{refused, "DROP TABLE IF EXISTS t"} {
		if _, ok := e.analyzed.get(sql); ok {
			t.Errorf("%q was kept in the analysis cache", sql)
		}
	}
}

// The cache is bounded in entries and skips long texts.
func TestAnalysisCacheBounds(t *testing.T) {
	var c analysisCache
	for i := range startOverEntries + 10 {
		c.put(strings.Repeat("x", i+1), analyzed{run: "r"})
	}
	if n := c.len(); n > startOverEntries {
		t.Errorf("%d entries, want at most %d", n, startOverEntries)
	}
	long := strings.Repeat("y", maxCachedSQL+1)
	c.put(long, analyzed{run: long})
	if _, ok := c.get(long); ok {
		t.Error("a text longer than maxCachedSQL was kept")
	}
}
