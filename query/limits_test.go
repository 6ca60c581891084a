package query

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/miniodb/miniodb/ingest"
)

// noTables is a Source without tables: the tests below read generated rows.
type noTables struct{}

func (noTables) Snapshot(context.Context, string) (*ingest.Snapshot, error) {
	return nil, ingest.ErrTableNotFound
}
func (noTables) TableSchema(string) (*arrow.Schema, error) { return nil, ingest.ErrTableNotFound }

func openEngine(t *testing.T, cfg Config) *Engine {
	t.Helper()
	cfg.CacheDir, cfg.TempDir, cfg.Threads = t.TempDir(), t.TempDir(), 2
	e, err := Open(cfg, noTables{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

// drain runs sql and returns the rows it streamed and how it ended.
func drain(ctx context.Context, t *testing.T, e *Engine, sql string) (int64, error) {
	t.Helper()
	st, err := e.Query(ctx, sql, nil)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	var n int64
	for st.Next() {
		n += st.RecordBatch().NumRows()
	}
	return n, st.Err()
}

func TestResultCap(t *testing.T) {
	e := openEngine(t, Config{MaxResultRows: 5000, MaxResultBytes: 1 << 20})
	ctx := context.Background()
	for _, tc := range []struct {
		name, sql, cap string
		maxRows        int64
	}{
		{"rows_over_cap", "SELECT range FROM range(100000)", "query.max_result_rows", 5000},
		{"bytes_over_cap", "SELECT repeat('x', 1000) FROM range(3000)", "query.max_result_bytes", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := drain(ctx, t, e, tc.sql)
			if !errors.Is(err, ErrResultTooLarge) || !errors.Is(err, ErrResources) || !strings.Contains(err.Error(), tc.cap) {
				t.Fatalf("got %d rows and %v, want ErrResultTooLarge naming %s", n, err, tc.cap)
			}
			if n > tc.maxRows {
				t.Fatalf("%d rows delivered past the cap", n)
			}
		})
	}
	if n, err := drain(ctx, t, e, "SELECT range FROM range(5000)"); err != nil || n != 5000 {
		t.Fatalf("exactly the cap: %d rows, %v", n, err)
	}
}

func TestMemoryLimitExceeded(t *testing.T) {
	e := openEngine(t, Config{MemoryLimit: "64MB", MaxTempSize: "0B"})
	ctx := context.Background()
	_, err := drain(ctx, t, e, "SELECT count(DISTINCT range::VARCHAR || repeat('x', 20)) FROM range(5000000)")
	if !errors.Is(err, ErrResources) || errors.Is(err, ErrResultTooLarge) ||
		!strings.Contains(err.Error(), "query.memory_limit 64MB") || strings.Contains(err.Error(), "SET memory_limit") {
		t.Fatalf("got %v, want ErrResources naming query.memory_limit 64MB", err)
	}
	if n, err := drain(ctx, t, e, "SELECT count(DISTINCT range) FROM range(1000)"); err != nil || n != 1 {
		t.Fatalf("after the failed query: %d %v", n, err)
	}
}

// TestCanceledStream: a query cancelled midway ends with ErrCanceled and
// leaves no goroutine behind (TestMain checks).
func TestCanceledStream(t *testing.T) {
	e := openEngine(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	st, err := e.Query(ctx, "SELECT range FROM range(100000000)", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if !st.Next() {
		t.Fatalf("no first batch: %v", st.Err())
	}
	cancel()
	for st.Next() {
	}
	if !errors.Is(st.Err(), ErrCanceled) {
		t.Fatalf("got %v, want ErrCanceled", st.Err())
	}
}

// TestCanceledBeforeFirstChunk: a query whose first chunk takes minutes
// (a blocking aggregate) stops soon after its context ends, with
// ErrCanceled: the cancellation interrupts DuckDB's execution.
func TestCanceledBeforeFirstChunk(t *testing.T) {
	e := openEngine(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	st, err := e.Query(ctx, "SELECT count(*) FROM range(1000000000000) a WHERE a.range % 7 = 3", nil)
	if err == nil {
		for st.Next() {
		}
		err = st.Err()
		st.Close()
	}
	if !errors.Is(err, ErrCanceled) {
		t.Fatalf("got %v, want ErrCanceled", err)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Fatalf("the query ran %s past a 300ms deadline", el)
	}
}
