package ingest

import (
	"context"
	"encoding/binary"
	"math"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cespare/xxhash/v2"

	"github.com/miniodb/miniodb/catalog"
)

// groupKey is where a row goes: its partition and its day (days since the
// Unix epoch, UTC).
type groupKey struct {
	partition int
	day       int32
}

type group struct {
	batches        []arrow.RecordBatch
	rows           int64
	minLSN, maxLSN uint64
}

type groups struct {
	order []groupKey
	byKey map[groupKey]*group
}

func (g *groups) add(k groupKey, rec arrow.RecordBatch, lsn uint64) {
	gr := g.byKey[k]
	if gr == nil {
		gr = &group{minLSN: lsn}
		g.byKey[k] = gr
		g.order = append(g.order, k)
	}
	gr.batches = append(gr.batches, rec)
	gr.rows += rec.NumRows()
	gr.minLSN, gr.maxLSN = min(gr.minLSN, lsn), max(gr.maxLSN, lsn)
}

func (g *groups) release() {
	for _, gr := range g.byKey {
		releaseAll(gr.batches)
	}
}

// split conforms every buffered batch to the table schema and cuts it into
// (partition, day) groups.
func (s *Service) split(schema *arrow.Schema, cfg catalog.TableConfig, entries []*entry) *groups {
	shardCol := columnIndex(schema, cfg.ShardKey, "id")
	timeCol := timeColumnIndex(schema, cfg.TimeColumn)
	out := &groups{byKey: map[groupKey]*group{}}
	for _, e := range entries {
		arrivalDay := int32(e.arrival.Unix() / 86400)
		for j, b := range e.batches {
			// Without a shard key, batches go round-robin, so one large
			// ingest spreads over the partitions and flushes in parallel.
			rr := int((e.lsn + uint64(j)) % uint64(s.cfg.Partitions))
			rec := conform(s.mem, b, schema)
			keys := rowKeys(rec, shardCol, timeCol, s.cfg.Partitions, rr, arrivalDay)
			splitBatch(s.mem, rec, keys, e.lsn, out)
			rec.Release()
		}
	}
	return out
}

// rowKeys returns one key per row, or a single key when all rows share it.
func rowKeys(rec arrow.RecordBatch, shardCol, timeCol, parts, rr int, arrivalDay int32) []groupKey {
	n := int(rec.NumRows())
	if shardCol < 0 && timeCol < 0 {
		return []groupKey{{rr, arrivalDay}}
	}
	keys := make([]groupKey, n)
	for i := range keys {
		keys[i] = groupKey{rr, arrivalDay}
	}
	if shardCol >= 0 {
		col := rec.Column(shardCol)
		for i := range keys {
			keys[i].partition = partitionOf(col, i, parts)
		}
	}
	if timeCol >= 0 {
		col := rec.Column(timeCol)
		for i := range keys {
			if d, ok := dayOf(col, i); ok {
				keys[i].day = d
			}
		}
	}
	return keys
}

// SplitByOwner cuts a batch by the node that owns each row's partition:
// the partition of the row's shard key column (shardKey, default "id"),
// or partition rr for every row when the batch has no such column. owner
// maps a partition to a node. The batches returned are the caller's to
// release.
func SplitByOwner(mem memory.Allocator, rec arrow.RecordBatch, shardKey string, parts, rr int, owner func(partition int) string) map[string]arrow.RecordBatch {
	col := columnIndex(rec.Schema(), shardKey, "id")
	if col < 0 || rec.NumRows() == 0 {
		rec.Retain()
		return map[string]arrow.RecordBatch{owner(rr % parts): rec}
	}
	rows := map[string][]int32{}
	var order []string
	c := rec.Column(col)
	for i := range int(rec.NumRows()) {
		o := owner(partitionOf(c, i, parts))
		if _, ok := rows[o]; !ok {
			order = append(order, o)
		}
		rows[o] = append(rows[o], int32(i))
	}
	out := make(map[string]arrow.RecordBatch, len(order))
	if len(order) == 1 {
		rec.Retain()
		out[order[0]] = rec
		return out
	}
	for _, o := range order {
		out[o] = take(mem, rec, rows[o])
	}
	return out
}

func splitBatch(mem memory.Allocator, rec arrow.RecordBatch, keys []groupKey, lsn uint64, out *groups) {
	if same(keys) {
		rec.Retain()
		out.add(keys[0], rec, lsn)
		return
	}
	idx := map[groupKey][]int32{}
	var order []groupKey
	for i, k := range keys {
		if _, ok := idx[k]; !ok {
			order = append(order, k)
		}
		idx[k] = append(idx[k], int32(i))
	}
	for _, k := range order {
		out.add(k, take(mem, rec, idx[k]), lsn)
	}
}

func same(keys []groupKey) bool {
	for _, k := range keys[1:] {
		if k != keys[0] {
			return false
		}
	}
	return true
}

func take(mem memory.Allocator, rec arrow.RecordBatch, rows []int32) arrow.RecordBatch {
	b := array.NewInt32Builder(mem)
	b.AppendValues(rows, nil)
	indices := b.NewArray()
	defer indices.Release()
	ctx := compute.WithAllocator(context.Background(), mem)
	cols := make([]arrow.Array, rec.NumCols())
	for i, c := range rec.Columns() {
		col, err := compute.TakeArray(ctx, c, indices)
		if err != nil {
			panic(err) // NOTE: Take only fails for unsupported types, which checkType refuses at ingest
		}
		cols[i] = col
	}
	res := array.NewRecordBatch(rec.Schema(), cols, int64(len(rows)))
	for _, c := range cols {
		c.Release()
	}
	return res
}

func columnIndex(s *arrow.Schema, name, def string) int {
	if name == "" {
		name = def
	}
	for i, f := range s.Fields() {
		if strings.EqualFold(f.Name, name) {
			return i
		}
	}
	return -1
}

func timeColumnIndex(s *arrow.Schema, name string) int {
	i := columnIndex(s, name, "timestamp")
	if i < 0 {
		return -1
	}
	switch s.Field(i).Type.ID() {
	case arrow.TIMESTAMP, arrow.DATE32, arrow.DATE64:
		return i
	}
	return -1
}

func partitionOf(col arrow.Array, i, parts int) int {
	if col.IsNull(i) {
		return 0
	}
	var h uint64
	switch c := col.(type) {
	case *array.Int64:
		h = hashU64(uint64(c.Value(i)))
	case *array.Int32:
		h = hashU64(uint64(int64(c.Value(i))))
	case *array.Uint64:
		h = hashU64(c.Value(i))
	case *array.String:
		h = xxhash.Sum64String(c.Value(i))
	case *array.LargeString:
		h = xxhash.Sum64String(c.Value(i))
	default:
		h = xxhash.Sum64String(col.ValueStr(i))
	}
	return int(h % uint64(parts))
}

func hashU64(v uint64) uint64 {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	return xxhash.Sum64(b[:])
}

// dayOf returns the UTC day of row i of a timestamp or date column.
func dayOf(col arrow.Array, i int) (int32, bool) {
	if col.IsNull(i) {
		return 0, false
	}
	switch c := col.(type) {
	case *array.Date32:
		return int32(c.Value(i)), true
	case *array.Date64:
		return int32(floorDiv(int64(c.Value(i)), 86_400_000)), true
	case *array.Timestamp:
		unit := c.DataType().(*arrow.TimestampType).Unit
		perDay := int64(86400) * int64(time.Second/unit.Multiplier())
		return int32(floorDiv(int64(c.Value(i)), perDay)), true
	}
	return 0, false
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func dayString(day int32) string {
	d := min(max(int64(day), -math.MaxInt32), math.MaxInt32)
	return time.Unix(d*86400, 0).UTC().Format("2006-01-02")
}
