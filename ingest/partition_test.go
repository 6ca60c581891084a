package ingest

import (
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/miniodb/miniodb/catalog"
)

func TestDayOf(t *testing.T) {
	mem := memory.DefaultAllocator
	ts := func(unit arrow.TimeUnit, v int64) arrow.Array {
		b := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: unit, TimeZone: "UTC"})
		b.Append(arrow.Timestamp(v))
		return b.NewArray()
	}
	d32 := array.NewDate32Builder(mem)
	d32.Append(arrow.Date32(19723))
	tests := []struct {
		name string
		col  arrow.Array
		want string
	}{
		{"timestamp_s", ts(arrow.Second, 1704103200), "2024-01-01"},
		{"timestamp_ms", ts(arrow.Millisecond, 1704103200123), "2024-01-01"},
		{"timestamp_us", ts(arrow.Microsecond, 1704067199999999), "2023-12-31"},
		{"timestamp_ns", ts(arrow.Nanosecond, 1704067200000000000), "2024-01-01"},
		{"before_epoch", ts(arrow.Second, -1), "1969-12-31"},
		{"date32", d32.NewArray(), "2024-01-01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, ok := dayOf(tt.col, 0)
			if !ok || dayString(d) != tt.want {
				t.Fatalf("dayOf = %s (%v), want %s", dayString(d), ok, tt.want)
			}
		})
	}
}

func TestPartitionIsStableAndSpread(t *testing.T) {
	b := array.NewInt64Builder(memory.DefaultAllocator)
	for i := int64(0); i < 8000; i++ {
		b.Append(i)
	}
	col := b.NewArray()
	defer col.Release()
	counts := make([]int, 8)
	for i := 0; i < col.Len(); i++ {
		p := partitionOf(col, i, 8)
		if p != partitionOf(col, i, 8) {
			t.Fatal("partition of the same value changed")
		}
		counts[p]++
	}
	for p, n := range counts {
		if n < 800 || n > 1200 {
			t.Fatalf("partition %d got %d of 8000 ids: %v", p, n, counts)
		}
	}
}

// TestSplitGroupsByPartitionAndDay checks rows land in the (partition, day)
// of their id and timestamp, and that missing columns are filled with NULL.
func TestSplitGroupsByPartitionAndDay(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	in := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "timestamp", Type: &arrow.TimestampType{Unit: arrow.Second, TimeZone: "UTC"}},
	}, nil)
	table := arrow.NewSchema(append(in.Fields(), arrow.Field{Name: "extra", Type: arrow.BinaryTypes.String, Nullable: true}), nil)
	rec, _, err := array.RecordFromJSON(mem, in, strings.NewReader(
		`[{"id": 1, "timestamp": "2024-01-01T10:00:00Z"}, {"id": 1, "timestamp": "2024-01-02T10:00:00Z"},
		  {"id": 2, "timestamp": "2024-01-01T11:00:00Z"}, {"id": 1, "timestamp": "2024-01-01T12:00:00Z"}]`))
	if err != nil {
		t.Fatal(err)
	}
	s := &Service{cfg: Config{Partitions: 4}, mem: mem}
	g := s.split(table, catalog.TableConfig{}, []*entry{{lsn: 7, arrival: time.Unix(0, 0), batches: []arrow.RecordBatch{rec}}})
	defer g.release()
	rec.Release()
	var rows int64
	for k, gr := range g.byKey {
		for _, b := range gr.batches {
			if !b.Schema().Equal(table) || b.Column(2).NullN() != int(b.NumRows()) {
				t.Fatalf("group batch not conformed to the table schema: %v", b.Schema())
			}
			ids := b.Column(0).(*array.Int64)
			for i := 0; i < ids.Len(); i++ {
				if p := partitionOf(ids, i, 4); p != k.partition {
					t.Fatalf("id %d in partition %d, want %d", ids.Value(i), k.partition, p)
				}
				if d, _ := dayOf(b.Column(1), i); d != k.day {
					t.Fatalf("row of day %s in group of day %s", dayString(d), dayString(k.day))
				}
			}
		}
		rows += gr.rows
		if gr.minLSN != 7 || gr.maxLSN != 7 {
			t.Fatalf("group LSNs %d..%d, want 7", gr.minLSN, gr.maxLSN)
		}
	}
	if rows != 4 {
		t.Fatalf("groups hold %d rows, want 4", rows)
	}
}
