package hotcache

import (
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/miniodb/miniodb/ingest"
)

// batch makes a one-column int64 batch of n rows (8n bytes of values).
func batch(mem memory.Allocator, n int) arrow.RecordBatch {
	b := array.NewInt64Builder(mem)
	defer b.Release()
	for i := range n {
		b.Append(int64(i))
	}
	col := b.NewArray()
	defer col.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrow.PrimitiveTypes.Int64}}, nil)
	return array.NewRecordBatch(schema, []arrow.Array{col}, int64(n))
}

func TestCache(t *testing.T) {
	type step struct {
		op   string // put, fill, get, forget
		key  string
		rows int  // put, fill: rows of the batch
		hit  bool // get: expected hit; fill: expected to be kept
	}
	cases := []struct {
		name  string
		max   int64 // in batches of 100 rows
		steps []step
		keys  int // entries at the end
	}{
		{"hit_and_miss", 3, []step{{"put", "a", 100, false}, {"get", "a", 0, true}, {"get", "b", 0, false}}, 1},
		{"evicts_least_recently_used", 2, []step{
			{"put", "a", 100, false}, {"put", "b", 100, false}, {"get", "a", 0, true},
			{"put", "c", 100, false}, {"get", "b", 0, false}, {"get", "a", 0, true}, {"get", "c", 0, true}}, 2},
		{"too_large_is_not_kept", 2, []step{{"put", "a", 100, false}, {"put", "big", 300, false},
			{"get", "big", 0, false}, {"get", "a", 0, true}}, 1},
		{"put_again_replaces", 2, []step{{"put", "a", 100, false}, {"put", "a", 200, false}, {"get", "a", 0, true}}, 1},
		{"forget", 2, []step{{"put", "a", 100, false}, {"forget", "a", 0, false}, {"get", "a", 0, false}}, 0},
		{"zero_keeps_nothing", 0, []step{{"put", "a", 1, false}, {"get", "a", 0, false}}, 0},
		{"fill_into_free_room", 2, []step{{op: "put", key: "a", rows: 100},
			{op: "fill", key: "b", rows: 100, hit: true}, {op: "get", key: "b", hit: true}, {op: "get", key: "a", hit: true}}, 2},
		{"fill_never_evicts", 2, []step{{op: "put", key: "a", rows: 100}, {op: "put", key: "b", rows: 100},
			{op: "fill", key: "c", rows: 100}, {op: "get", key: "c"}, {op: "get", key: "a", hit: true}, {op: "get", key: "b", hit: true}}, 2},
		{"fill_keeps_what_is_kept", 3, []step{{op: "put", key: "a", rows: 100},
			{op: "fill", key: "a", rows: 100}, {op: "get", key: "a", hit: true}}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			per := func() int64 { b := batch(mem, 100); defer b.Release(); return ingest.BatchBytes(b) }()
			c := New(tc.max*per, mem)
			for i, s := range tc.steps {
				switch s.op {
				case "put":
					b := batch(mem, s.rows)
					c.Put(s.key, []arrow.RecordBatch{b})
					b.Release() // the cache holds its own reference
				case "fill":
					free := c.Free()
					b := batch(mem, s.rows)
					f := c.Fill(s.key)
					f.Add(b)
					b.Release()
					if kept := f.Done(); kept != s.hit {
						t.Fatalf("step %d: Fill(%q) kept %v with %d bytes free, want %v", i, s.key, kept, free, s.hit)
					}
				case "get":
					got, ok := c.Get(s.key)
					if ok != s.hit {
						t.Fatalf("step %d: Get(%q) ok = %v, want %v", i, s.key, ok, s.hit)
					}
					for _, b := range got {
						if b.Column(0).(*array.Int64).Value(1) != 1 {
							t.Fatalf("step %d: Get(%q) returned other values", i, s.key)
						}
						b.Release()
					}
				case "forget":
					c.Forget(s.key)
				}
				if st := c.Stats(); st.Bytes > st.MaxBytes {
					t.Fatalf("step %d: %d bytes kept, bound %d", i, st.Bytes, st.MaxBytes)
				}
			}
			if st := c.Stats(); st.Entries != tc.keys {
				t.Fatalf("%d entries, want %d", st.Entries, tc.keys)
			}
			for _, k := range []string{"a", "b", "c", "big"} {
				c.Forget(k)
			}
			mem.AssertSize(t, 0) // every reference the cache took was released
		})
	}
}

// A batch handed out by Get stays valid after its entry is evicted.
func TestEvictedWhileRead(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	b := batch(mem, 100)
	c := New(ingest.BatchBytes(b), mem)
	c.Put("a", []arrow.RecordBatch{b})
	b.Release()
	got, ok := c.Get("a")
	if !ok {
		t.Fatal("Get(a) missed")
	}
	other := batch(mem, 100)
	c.Put("b", []arrow.RecordBatch{other}) // evicts a
	other.Release()
	if _, ok := c.Get("a"); ok {
		t.Fatal("a still kept after b evicted it")
	}
	if v := got[0].Column(0).(*array.Int64).Value(99); v != 99 {
		t.Fatalf("evicted batch reads %d, want 99", v)
	}
	got[0].Release()
	c.Forget("b")
	mem.AssertSize(t, 0)
}

// Put copies: runs of small batches become one, values intact, and the
// caller's batches stay the caller's.
func TestPutJoinsSmallBatches(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	theirs := memory.NewCheckedAllocator(memory.NewGoAllocator())
	c := New(1<<30, mem)
	var in []arrow.RecordBatch
	for _, n := range []int{100, 200, copyRows, 50} {
		in = append(in, batch(theirs, n))
	}
	c.Put("a", in)
	for _, b := range in {
		b.Release()
	}
	theirs.AssertSize(t, 0) // the cache kept copies, not the caller's batches
	got, ok := c.Get("a")
	if !ok {
		t.Fatal("Get(a) missed")
	}
	var rows []int64
	for _, b := range got {
		rows = append(rows, b.NumRows())
	}
	if want := []int64{300, copyRows, 50}; !slices.Equal(rows, want) {
		t.Fatalf("batches of %v rows, want %v", rows, want)
	}
	if v := got[0].Column(0).(*array.Int64).Value(150); v != 50 { // row 50 of the second batch
		t.Fatalf("joined batch reads %d at row 150, want 50", v)
	}
	for _, b := range got {
		b.Release()
	}
	c.Forget("a")
	mem.AssertSize(t, 0)
}

// A Filling copies as batches come: it holds on to the caller's batches
// only until a run of small ones is joined, keeps the copies under the
// key at Done, and keeps nothing once it outgrows the free room or is
// aborted.
func TestFillCopiesAsItGoes(t *testing.T) {
	cases := []struct {
		name  string
		room  int // of the cache, in rows
		rows  []int
		abort bool
		kept  []int64 // rows of the kept batches; nil: nothing kept
	}{
		{"joins_runs", 1 << 20, []int{100, 200, copyRows, 50}, false, []int64{300, copyRows, 50}},
		{"outgrows_room", 250, []int{100, 100, 100}, false, nil},
		{"aborted", 1 << 20, []int{100, 200}, true, nil},
		{"empty", 1 << 20, nil, false, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			theirs := memory.NewCheckedAllocator(memory.NewGoAllocator())
			c := New(int64(tc.room)*8, mem)
			f := c.Fill("a")
			for i, n := range tc.rows {
				before := theirs.CurrentAlloc()
				b := batch(theirs, n)
				size := theirs.CurrentAlloc() - before
				f.Add(b)
				b.Release()
				// The third batch does not join the run of the first two,
				// which is copied: the caller's first two are let go.
				if i == 2 && tc.name == "joins_runs" && theirs.CurrentAlloc() != size {
					t.Fatalf("the filling holds %d bytes of the caller's batches, want only the last one's %d", theirs.CurrentAlloc(), size)
				}
			}
			if tc.abort {
				f.Abort()
			}
			if kept := f.Done(); kept != (tc.kept != nil) {
				t.Fatalf("Done() = %v, want %v", kept, tc.kept != nil)
			}
			f.Abort() // after Done: nothing
			theirs.AssertSize(t, 0)
			got, ok := c.Get("a")
			if ok != (tc.kept != nil) {
				t.Fatalf("Get(a) ok = %v", ok)
			}
			var rows []int64
			for _, b := range got {
				rows = append(rows, b.NumRows())
			}
			if !slices.Equal(rows, tc.kept) {
				t.Fatalf("batches of %v rows, want %v", rows, tc.kept)
			}
			if ok && got[0].Column(0).(*array.Int64).Value(150) != 50 { // row 50 of the second batch
				t.Fatal("joined batch holds other values")
			}
			for _, b := range got {
				b.Release()
			}
			c.Forget("a")
			mem.AssertSize(t, 0)
		})
	}
}
