package ingest

import (
	"context"
	"errors"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/miniodb/miniodb/catalog"
)

// openHooked opens a service over a bbolt catalog and a file bucket in a
// fresh folder, with cfg's policy, observer and overrides.
func openHooked(t *testing.T, cfg Config) *Service {
	t.Helper()
	cat, svc := openService(t, t.TempDir(), cfg)
	t.Cleanup(func() {
		svc.Close(context.Background())
		cat.Close()
	})
	return svc
}

// intBatch is one batch of column col (int64) holding vals.
func intBatch(mem memory.Allocator, col string, vals ...int64) arrow.RecordBatch {
	b := array.NewInt64Builder(mem)
	defer b.Release()
	b.AppendValues(vals, nil)
	arr := b.NewArray()
	defer arr.Release()
	return array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: col, Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil), []arrow.Array{arr}, int64(len(vals)))
}

func ingestInts(svc *Service, table string, missing IfMissing, vals ...int64) error {
	rec := intBatch(memory.DefaultAllocator, "v", vals...)
	defer rec.Release()
	rdr, _ := array.NewRecordReader(rec.Schema(), []arrow.RecordBatch{rec})
	defer rdr.Release()
	_, err := svc.Ingest(context.Background(), Request{Table: table, IfMissing: missing, IfExists: Append, Batches: rdr})
	return err
}

func TestTablePolicy(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrow.PrimitiveTypes.Int64}}, nil)
	create := func(svc *Service, name string) error {
		_, err := svc.CreateTable(context.Background(), name, schema, catalog.TableConfig{}, false)
		return err
	}
	tests := []struct {
		name   string
		policy TablePolicy
		run    func(svc *Service) error
		want   error // nil: success
	}{
		{"auto_create_allowed_by_default", TablePolicy{}, func(s *Service) error { return ingestInts(s, "t", CreateIfMissing, 1) }, nil},
		{"auto_create_off_refuses_ingest", TablePolicy{NoAutoCreate: true}, func(s *Service) error { return ingestInts(s, "t", CreateIfMissing, 1) }, ErrTableNotFound},
		{"auto_create_off_allows_explicit_create", TablePolicy{NoAutoCreate: true}, func(s *Service) error {
			if err := create(s, "t"); err != nil {
				return err
			}
			return ingestInts(s, "t", CreateIfMissing, 1)
		}, nil},
		{"max_tables_on_ingest", TablePolicy{MaxTables: 1}, func(s *Service) error {
			if err := ingestInts(s, "a", CreateIfMissing, 1); err != nil {
				return err
			}
			return ingestInts(s, "b", CreateIfMissing, 1)
		}, ErrTableLimit},
		{"max_tables_on_create", TablePolicy{MaxTables: 1}, func(s *Service) error {
			if err := create(s, "a"); err != nil {
				return err
			}
			return create(s, "b")
		}, ErrTableLimit},
		{"max_tables_counts_drops", TablePolicy{MaxTables: 1}, func(s *Service) error {
			if err := create(s, "a"); err != nil {
				return err
			}
			if _, err := s.DropTable(context.Background(), "a", false); err != nil {
				return err
			}
			return create(s, "b")
		}, nil},
		{"max_tables_appends_still", TablePolicy{MaxTables: 1}, func(s *Service) error {
			if err := ingestInts(s, "a", CreateIfMissing, 1); err != nil {
				return err
			}
			return ingestInts(s, "a", CreateIfMissing, 2)
		}, nil},
		{"pattern_narrows", TablePolicy{NamePattern: regexp.MustCompile(`^app_[a-z]+$`)}, func(s *Service) error { return create(s, "users") }, ErrInvalid},
		{"pattern_allows", TablePolicy{NamePattern: regexp.MustCompile(`^app_[a-z]+$`)}, func(s *Service) error {
			return ingestInts(s, "app_users", CreateIfMissing, 1)
		}, nil},
		{"pattern_cannot_widen_builtin_rule", TablePolicy{NamePattern: regexp.MustCompile(`.*`)}, func(s *Service) error { return create(s, "no-dash") }, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run(openHooked(t, Config{Policy: tt.policy}))
			if (tt.want == nil) != (err == nil) || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestTablePolicyConcurrentCap: racing creations never exceed the cap.
func TestTablePolicyConcurrentCap(t *testing.T) {
	svc := openHooked(t, Config{Policy: TablePolicy{MaxTables: 3}})
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() { ingestInts(svc, "t"+string(rune('a'+i)), CreateIfMissing, 1) })
	}
	wg.Wait()
	if n := len(svc.Tables()); n != 3 {
		t.Fatalf("%d tables, want the cap of 3", n)
	}
}

type flushLog struct {
	mu     sync.Mutex
	events []FlushEvent
}

func (f *flushLog) Flushed(ev FlushEvent) {
	f.mu.Lock()
	f.events = append(f.events, ev)
	f.mu.Unlock()
}

func TestObserverAndStats(t *testing.T) {
	obs := &flushLog{}
	svc := openHooked(t, Config{Observer: obs, BufferSize: 500, Overrides: map[string]catalog.TableConfig{
		"t": {BufferSize: 10, RetentionDays: 7, BackupEnabled: true, Properties: map[string]string{"owner": "file"}}}})
	ctx := context.Background()
	if _, err := svc.CreateTable(ctx, "t", arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrow.PrimitiveTypes.Int64}}, nil),
		catalog.TableConfig{BufferSize: 99, RetentionDays: 30, Properties: map[string]string{"owner": "table", "team": "x"}}, false); err != nil {
		t.Fatal(err)
	}
	if err := ingestInts(svc, "t", FailIfMissing, 1, 2, 3); err != nil {
		t.Fatal(err)
	}
	st, ok := svc.TableStats("t")
	if !ok || st.BufferedRows != 3 || st.BufferedBytes == 0 || st.Files != 0 {
		t.Fatalf("before flush: %+v", st)
	}
	want := catalog.TableConfig{BufferSize: 10, FlushIntervalSeconds: int64(time.Duration(1<<40) / time.Second), RetentionDays: 7, BackupEnabled: true,
		Properties: map[string]string{"owner": "file", "team": "x"}}
	if e := st.Effective; e.BufferSize != want.BufferSize || e.RetentionDays != want.RetentionDays || !e.BackupEnabled ||
		e.Properties["owner"] != "file" || e.Properties["team"] != "x" || e.FlushIntervalSeconds != want.FlushIntervalSeconds {
		t.Errorf("effective config %+v, want %+v", e, want)
	}
	if st.Config.BufferSize != 99 || st.Config.Properties["owner"] != "table" {
		t.Errorf("own config changed: %+v", st.Config)
	}
	if err := svc.FlushAll(ctx); err != nil {
		t.Fatal(err)
	}
	st, _ = svc.TableStats("t")
	if st.BufferedRows != 0 || st.Files != 1 || st.FileRows != 3 || st.FileBytes == 0 {
		t.Errorf("after flush: %+v", st)
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if len(obs.events) != 1 || obs.events[0].Table != "t" || obs.events[0].Rows != 3 || obs.events[0].Files != 1 || obs.events[0].Err != nil {
		t.Errorf("flush events %+v", obs.events)
	}
	all := svc.Stats()
	if len(all.Tables) != 1 || all.WALLastLSN == 0 || all.WALBytes == 0 || all.BufferSize != 500 {
		t.Errorf("stats %+v", all)
	}
	if _, ok := svc.TableStats("nope"); ok {
		t.Error("TableStats of a missing table")
	}
}

func TestWidenColumn(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	svc := openHooked(t, Config{})
	svc.mem = mem
	ctx := context.Background()
	if err := ingestInts(svc, "t", CreateIfMissing, 1, 2); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		table, col string
		want       error
	}{{"t", "nope", ErrInvalid}, {"nope", "v", ErrTableNotFound}} {
		if err := svc.WidenColumn(ctx, tt.table, tt.col); !errors.Is(err, tt.want) {
			t.Errorf("WidenColumn(%s, %s) = %v, want %v", tt.table, tt.col, err, tt.want)
		}
	}
	if err := svc.WidenColumn(ctx, "t", "V"); err != nil {
		t.Fatal(err)
	}
	if err := svc.WidenColumn(ctx, "t", "v"); err != nil {
		t.Fatalf("widening twice: %v", err)
	}
	schema, _ := svc.TableSchema("t")
	if schema.Field(0).Type.ID() != arrow.FLOAT64 {
		t.Fatalf("column is %s after widening", schema.Field(0).Type)
	}
	sn, err := svc.Snapshot(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	if len(sn.Batches) != 1 || sn.Batches[0].Column(0).(*array.Float64).Value(1) != 2 {
		t.Errorf("buffered integers do not read as doubles: %v", sn.Batches)
	}
	sn.Release()
	if err := ingestInts(svc, "t", CreateIfMissing, 3); !errors.Is(err, ErrInvalid) {
		t.Errorf("an int64 batch into the widened column: %v, want ErrInvalid", err)
	}
	if err := svc.FlushAll(ctx); err != nil {
		t.Fatal(err)
	}
	if err := svc.WidenColumn(ctx, "t", "v"); err != nil {
		t.Fatal(err)
	}
	bad := arrow.NewSchema([]arrow.Field{{Name: "s", Type: arrow.BinaryTypes.String}}, nil)
	if _, err := svc.CreateTable(ctx, "s", bad, catalog.TableConfig{}, false); err != nil {
		t.Fatal(err)
	}
	if err := svc.WidenColumn(ctx, "s", "s"); !errors.Is(err, ErrInvalid) {
		t.Errorf("widening a string column: %v, want ErrInvalid", err)
	}
}
