package ingest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/miniodb/miniodb/catalog"
)

// prepare stages ids into table and prepares them as part gid.
func (e *ddlEnv) prepare(table, gid string, ids ...int64) {
	e.t.Helper()
	rdr, err := idReader(ids...)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rdr.Release()
	ctx := context.Background()
	st, err := e.svc.Stage(ctx, Request{Table: table, IfMissing: FailIfMissing, IfExists: Append, Batches: rdr})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := st.Prepare(ctx, gid); err != nil {
		e.t.Fatal(err)
	}
}

func (e *ddlEnv) reopen(cfg Config) {
	e.t.Helper()
	e.cat, e.svc = openService(e.t, e.dir, cfg)
}

// A prepared part is invisible until its outcome; the outcome, told or
// found in the register (at start-up or after the timeout), is applied
// exactly once, across restarts.
func TestSplitIngestOutcomes(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		// after prepares ids 7, 8 as part "g1" (1, 2 are committed before)
		after func(e *ddlEnv)
		want  []int64
	}{
		{"commit told", func(e *ddlEnv) { must(t, e.svc.Resolve(ctx, "g1", true)) }, []int64{1, 2, 7, 8}},
		{"abort told", func(e *ddlEnv) { must(t, e.svc.Resolve(ctx, "g1", false)) }, []int64{1, 2}},
		{"crash before any outcome: abort at start-up", func(e *ddlEnv) {
			e.crash()
			e.reopen(Config{})
		}, []int64{1, 2}},
		{"crash after the commit was recorded: commit at start-up", func(e *ddlEnv) {
			decide(t, e.cat, "g1", true)
			e.crash()
			e.reopen(Config{})
		}, []int64{1, 2, 7, 8}},
		{"commit told, then crash: replayed once", func(e *ddlEnv) {
			must(t, e.svc.Resolve(ctx, "g1", true))
			e.crash()
			e.reopen(Config{})
		}, []int64{1, 2, 7, 8}},
		{"nobody tells: the timeout records abort", func(e *ddlEnv) {
			e.crash()
			e.reopen(Config{PrepareTimeout: 200 * time.Millisecond})
			e.prepare("t", "g2", 9)
			waitFor(t, func() bool { return e.svc.preparedCount() == 0 })
			must(t, e.svc.Resolve(ctx, "g2", true)) // too late: no effect
		}, []int64{1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := openDDLEnv(t, t.TempDir())
			if _, err := e.svc.CreateTable(ctx, "t", ddlSchema, catalog.TableConfig{}, false); err != nil {
				t.Fatal(err)
			}
			must(t, e.append("t", 1, 2))
			e.prepare("t", "g1", 7, 8)
			if got := e.ids("t"); !slices.Equal(got, []int64{1, 2}) {
				t.Fatalf("prepared rows are visible: %v", got)
			}
			tt.after(e)
			if got := e.ids("t"); !slices.Equal(got, tt.want) {
				t.Fatalf("rows = %v, want %v", got, tt.want)
			}
			// Whatever happened is final: a restart changes nothing, and
			// the register agrees with what was applied.
			e.crash()
			e.reopen(Config{})
			if got := e.ids("t"); !slices.Equal(got, tt.want) {
				t.Fatalf("after a restart rows = %v, want %v", got, tt.want)
			}
			if e.svc.preparedCount() != 0 {
				t.Fatal("a part is still prepared after a restart")
			}
		})
	}
}

// A prepared part keeps its WAL segment alive through flushes of other
// rows, and the commit after them lands in the next flush.
func TestPreparedPartSurvivesFlushes(t *testing.T) {
	ctx := context.Background()
	e := openDDLEnv(t, t.TempDir())
	if _, err := e.svc.CreateTable(ctx, "t", ddlSchema, catalog.TableConfig{}, false); err != nil {
		t.Fatal(err)
	}
	e.prepare("t", "g1", 5, 6)
	must(t, e.append("t", 1))
	must(t, e.svc.FlushAll(ctx))
	e.svc.truncateWAL()
	decide(t, e.cat, "g1", true)
	e.crash()
	e.reopen(Config{})
	must(t, e.svc.FlushAll(ctx))
	sn, err := e.svc.Snapshot(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	defer sn.Release()
	var rows int64
	for _, f := range sn.Files {
		rows += f.Rows
	}
	if rows != 3 || sn.Rows() != 0 {
		t.Fatalf("files hold %d rows and the buffer %d, want 3 and 0", rows, sn.Rows())
	}
}

func decide(t *testing.T, d catalog.Decisions, id string, commit bool) {
	t.Helper()
	got, err := d.Decide(context.Background(), id, commit, time.Hour)
	if err != nil || got != commit {
		t.Fatalf("Decide(%s, %v) = %v, %v", id, commit, got, err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
