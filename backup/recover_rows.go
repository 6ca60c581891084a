package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/oklog/ulid/v2"

	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/ingest"
	"github.com/miniodb/miniodb/objstore"
)

// keyRecoveredFrom names, in the footer of a file a recovery wrote (the
// missing rows of a backed-up object some of whose rows were live), that
// object (base name, same folder). Its rows are a subset of the object's:
// a rebuild that also finds the source leaves the recovered file out.
const keyRecoveredFrom = "miniodb.recovered_from"

// LiveReader gives a table's current files and durable buffered rows
// (ingest.Service.Snapshot), so a recovery does not bring back a row that
// is in the buffer.
type LiveReader interface {
	Snapshot(ctx context.Context, table string) (*ingest.Snapshot, error)
}

// idMatcher says whether an id (its text, as the column prints it) is
// wanted; nil wants every id.
type idMatcher struct {
	ids     map[string]bool
	pattern *regexp.Regexp
}

// newIDMatcher builds the matcher of a request: exact ids and/or a glob
// pattern (* any run of characters, ? one character). all wants every id.
func newIDMatcher(ids []string, pattern string, all bool) (*idMatcher, error) {
	if all {
		return nil, nil
	}
	m := &idMatcher{}
	for i, id := range ids {
		if id == "" {
			return nil, fmt.Errorf("%w: ids[%d] is empty", ErrInvalid, i)
		}
		if m.ids == nil {
			m.ids = map[string]bool{}
		}
		m.ids[id] = true
	}
	if pattern != "" {
		var re strings.Builder
		re.WriteString("^")
		for _, r := range pattern {
			switch r {
			case '*':
				re.WriteString(".*")
			case '?':
				re.WriteString(".")
			default:
				re.WriteString(regexp.QuoteMeta(string(r)))
			}
		}
		re.WriteString("$")
		m.pattern = regexp.MustCompile(re.String())
	}
	if m.ids == nil && m.pattern == nil {
		return nil, fmt.Errorf("%w: no ids and no id pattern given: name the ids to recover", ErrInvalid)
	}
	return m, nil
}

func (m *idMatcher) match(id string) bool {
	return m == nil || m.ids[id] || m.pattern != nil && m.pattern.MatchString(id)
}

// mayHold says whether a file whose id column has stats st may hold a
// wanted id; files without stats, and patterns, always may.
func (m *idMatcher) mayHold(st catalog.ColumnStats, ok bool) bool {
	if m == nil || m.pattern != nil || !ok {
		return true
	}
	for id := range m.ids {
		lo, ok1 := catalog.CompareStatsValue(st.Kind, st.Min, id)
		hi, ok2 := catalog.CompareStatsValue(st.Kind, id, st.Max)
		if !ok1 || !ok2 || lo <= 0 && hi <= 0 {
			return true
		}
	}
	return false
}

// idColumn is the name of a table's id column: its shard_key, else "id"
// (matched without case, as the flush does), or ErrInvalid naming the
// table.
func idColumn(t catalog.Table) (string, error) {
	want := t.Config.ShardKey
	if want == "" {
		want = "id"
	}
	for _, f := range catalog.SchemaOrEmpty(t.Schema).Fields() {
		if strings.EqualFold(f.Name, want) {
			return f.Name, nil
		}
	}
	return "", fmt.Errorf("%w: table %s has no id column %q (its shard_key, else \"id\"): rows cannot be selected by id", ErrInvalid, t.Name, want)
}

// rowSet is the rows of one object (or of the live table) whose id is
// wanted, with a key per row that is equal for equal rows.
type rowSet struct {
	src     *footer // nil for the live table
	batches []arrow.RecordBatch
	keys    [][]string
}

func (r *rowSet) release() {
	for _, b := range r.batches {
		b.Release()
	}
}

// add keeps the rows of rec whose id m wants (all of them when m is nil).
func (r *rowSet) add(ctx context.Context, rec arrow.RecordBatch, idCol string, cols []string, m *idMatcher) error {
	rows := selectRows(rec, idCol, m)
	if rows == nil {
		rec.Retain()
	} else if len(rows) == 0 {
		return nil
	} else {
		b := array.NewInt64Builder(memory.DefaultAllocator)
		b.AppendValues(rows, nil)
		idx := b.NewArray()
		b.Release()
		taken, err := take(ctx, rec, idx)
		idx.Release()
		if err != nil {
			return err
		}
		rec = taken
	}
	k := newKeyer(rec, cols)
	keys := make([]string, rec.NumRows())
	for i := range keys {
		keys[i] = k.key(i)
	}
	r.batches = append(r.batches, rec)
	r.keys = append(r.keys, keys)
	return nil
}

// selectRows returns the rows of rec whose id m wants, or nil for all
// rows (m nil).
func selectRows(rec arrow.RecordBatch, idCol string, m *idMatcher) []int64 {
	if m == nil {
		return nil
	}
	out := []int64{}
	ci := fieldIndex(rec.Schema(), idCol)
	if ci < 0 {
		return out // written before the table had its id column: no row has an id
	}
	id := rec.Column(ci)
	for i := range int(rec.NumRows()) {
		if id.IsValid(i) && m.match(id.ValueStr(i)) {
			out = append(out, int64(i))
		}
	}
	return out
}

// take returns the rows of rec at idx.
func take(ctx context.Context, rec arrow.RecordBatch, idx arrow.Array) (arrow.RecordBatch, error) {
	cols := make([]arrow.Array, rec.NumCols())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for i := range cols {
		c, err := compute.TakeArray(ctx, rec.Column(i), idx)
		if err != nil {
			return nil, fmt.Errorf("select rows: %w", err)
		}
		cols[i] = c
	}
	return array.NewRecordBatch(rec.Schema(), cols, int64(idx.Len())), nil
}

// keyer gives each row of a batch a key over the table's columns (absent
// ones are NULL), equal for equal rows, so rows of files written with
// older schemas compare equal to the same rows written later.
type keyer struct {
	rec arrow.RecordBatch
	idx []int
	sb  strings.Builder
}

func newKeyer(rec arrow.RecordBatch, cols []string) *keyer {
	k := &keyer{rec: rec, idx: make([]int, len(cols))}
	for i, c := range cols {
		k.idx[i] = fieldIndex(rec.Schema(), c)
	}
	return k
}

func (k *keyer) key(row int) string {
	k.sb.Reset()
	for _, j := range k.idx {
		if j < 0 || k.rec.Column(j).IsNull(row) {
			k.sb.WriteString("N;")
			continue
		}
		v := k.rec.Column(j).ValueStr(row)
		k.sb.WriteString(strconv.Itoa(len(v)))
		k.sb.WriteByte(':')
		k.sb.WriteString(v)
	}
	return k.sb.String()
}

func fieldIndex(s *arrow.Schema, name string) int {
	for i, f := range s.Fields() {
		if strings.EqualFold(f.Name, name) {
			return i
		}
	}
	return -1
}

// recoverRows brings back, from the backed-up objects srcs of table t, the
// rows m wants (every row when m is nil) that the live table lacks. Rows
// are compared whole (every column of the table; absent ones are NULL).
// Each row counts as often as the backed-up object holding it most often
// holds it (so an object and a recovered or compacted copy of its rows are
// not added up), less the times the live table holds it. An object all of
// whose rows are missing is copied back whole under its own key; the
// missing rows of any other become one new object next to it
// (keyRecoveredFrom). All are added in one FileSwapper step.
//
// NOTE: the wanted rows of srcs are held in memory while it runs; recover
// a large table a few days at a time.
func (d *DataBackup) recoverRows(ctx context.Context, t catalog.Table, srcs []*footer, m *idMatcher) (RecoverResult, error) {
	var res RecoverResult
	idCol, _ := idColumn(t) // "" when it has none: then m is nil
	cols := make([]string, 0, catalog.SchemaOrEmpty(t.Schema).NumFields())
	for _, f := range catalog.SchemaOrEmpty(t.Schema).Fields() {
		cols = append(cols, f.Name)
	}
	backed, err := d.backedUpRows(ctx, srcs, idCol, cols, m)
	defer func() {
		for _, r := range backed {
			r.release()
		}
	}()
	if err != nil || len(backed) == 0 {
		return res, err
	}
	most := mostCopies(backed)
	live, err := d.liveRows(ctx, t.Name, idCol, cols, m, liveFilter(t, idCol, m, backed), most)
	if err != nil {
		return res, err
	}
	add, err := d.writeMissing(ctx, t, backed, most, live, m == nil)
	if err != nil || len(add) == 0 {
		return res, err
	}
	files := make([]catalog.File, len(add))
	for i, f := range add {
		files[i] = f.File
	}
	if _, err := d.swap.ReplaceFiles(ctx, t.Name, nil, files); err != nil {
		d.deleteNew(add)
		return res, fmt.Errorf("add recovered rows to %s: %w", t.Name, err)
	}
	for _, f := range add {
		res.Keys = append(res.Keys, f.Key)
		res.Rows += f.Rows
	}
	return res, nil
}

// deleteNew deletes the objects a failed recovery wrote. Objects it copied
// back whole stay: another recovery may have added them meanwhile, and
// unreferenced ones are the node's garbage collection's.
func (d *DataBackup) deleteNew(files []newFile) {
	for _, f := range files {
		if f.recovered {
			d.src.Delete(context.Background(), f.Key)
		}
	}
}

// liveFilter says which live files may hold a row equal to a wanted
// backed-up one: with ids, those whose id stats may hold one of them;
// else those whose id stats overlap those of the backed-up rows. Files
// without id stats, and every file of a table without an id column, may.
func liveFilter(t catalog.Table, idCol string, m *idMatcher, backed []*rowSet) func(catalog.File) bool {
	if idCol == "" {
		return func(catalog.File) bool { return true }
	}
	if m != nil {
		return func(f catalog.File) bool { return m.mayHold(f.StatsFor(idCol)) }
	}
	var ranges []catalog.ColumnStats
	for _, rs := range backed {
		st, ok := catalog.File{Stats: ingest.FileStats(rs.batches[0].Schema(), t.Config, rs.batches)}.StatsFor(idCol)
		if !ok {
			return func(catalog.File) bool { return true }
		}
		ranges = append(ranges, st)
	}
	return func(f catalog.File) bool {
		st, ok := f.StatsFor(idCol)
		if !ok {
			return true
		}
		for _, r := range ranges {
			lo, ok1 := catalog.CompareStatsValue(st.Kind, st.Min, r.Max)
			hi, ok2 := catalog.CompareStatsValue(st.Kind, r.Min, st.Max)
			if r.Kind != st.Kind || !ok1 || !ok2 || lo <= 0 && hi <= 0 {
				return true
			}
		}
		return false
	}
}

// backedUpRows reads the wanted rows of each backed-up object.
func (d *DataBackup) backedUpRows(ctx context.Context, srcs []*footer, idCol string, cols []string, m *idMatcher) ([]*rowSet, error) {
	var out []*rowSet
	for _, f := range srcs {
		_, batches, err := readAll(ctx, d.dst, f.file)
		if err != nil {
			return out, fmt.Errorf("backup bucket: %w", err)
		}
		rs := &rowSet{src: f}
		for _, b := range batches {
			if err == nil {
				err = rs.add(ctx, b, idCol, cols, m)
			}
			b.Release()
		}
		if len(rs.batches) > 0 {
			out = append(out, rs)
		}
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// liveRows counts the live copies of the rows in most: in the node's
// snapshot (files and durable buffer) and in every file the catalog lists
// (flushes of other nodes), each file read once, files that read rejects
// not at all.
func (d *DataBackup) liveRows(ctx context.Context, table, idCol string, cols []string, m *idMatcher, read func(catalog.File) bool, most map[string]copies) (map[string]int, error) {
	count := map[string]int{}
	add := func(rec arrow.RecordBatch) {
		k := newKeyer(rec, cols)
		one := func(row int) {
			if key := k.key(row); most[key].n > 0 {
				count[key]++
			}
		}
		rows := selectRows(rec, idCol, m)
		if rows == nil {
			for row := range int(rec.NumRows()) {
				one(row)
			}
		}
		for _, row := range rows {
			one(int(row))
		}
	}
	var files []catalog.File
	if d.cfg.Live != nil {
		sn, err := d.cfg.Live.Snapshot(ctx, table)
		switch {
		case errors.Is(err, ingest.ErrTableNotFound):
			// not loaded on this node: its catalog files are all there is
		case err != nil:
			return nil, fmt.Errorf("live rows of %s: %w", table, err)
		default:
			for _, b := range sn.Batches {
				add(b)
			}
			files = sn.Files
			sn.Release()
		}
	}
	listed, err := d.cat.Files(ctx, table)
	if err != nil {
		return nil, fmt.Errorf("live rows of %s: %w", table, err)
	}
	seen := map[string]bool{}
	for _, f := range append(files, listed...) {
		if seen[f.Key] || !read(f) {
			continue
		}
		seen[f.Key] = true
		_, batches, err := readAll(ctx, d.src, f)
		if err != nil {
			return nil, fmt.Errorf("live rows of %s: %w", table, err)
		}
		for _, b := range batches {
			add(b)
		}
		releaseAll(batches)
	}
	return count, nil
}

// copies is how often the backed-up object src holds a row, the most any
// backed-up object does.
type copies struct {
	n   int
	src int
}

// mostCopies returns, for each row, which backed-up object holds it most
// often, and how often: that object provides its copies.
func mostCopies(backed []*rowSet) map[string]copies {
	most := map[string]copies{}
	for i, rs := range backed {
		per := map[string]int{}
		for _, keys := range rs.keys {
			for _, k := range keys {
				per[k]++
			}
		}
		for k, n := range per {
			if c, ok := most[k]; !ok || n > c.n {
				most[k] = copies{n, i}
			}
		}
	}
	return most
}

// writeMissing puts the rows to bring back (see recoverRows) in the
// primary, one object per source object: the source itself when whole
// may copy it and every one of its rows is missing.
func (d *DataBackup) writeMissing(ctx context.Context, t catalog.Table, backed []*rowSet, most map[string]copies, live map[string]int, whole bool) ([]newFile, error) {
	need := map[string]int{}
	for k, c := range most {
		if n := c.n - live[k]; n > 0 {
			need[k] = n
		}
	}
	var add []newFile
	fail := func(err error) ([]newFile, error) {
		d.deleteNew(add)
		return nil, err
	}
	for i, rs := range backed {
		picked, n, err := pick(ctx, rs, func(k string) bool {
			if most[k].src == i && need[k] > 0 {
				need[k]--
				return true
			}
			return false
		})
		if err != nil {
			return fail(err)
		}
		var f newFile
		switch {
		case n == 0:
			continue
		case whole && n == rs.src.file.Rows:
			f, err = d.copyBack(ctx, t, rs)
		default:
			f, err = d.putRecovered(ctx, t, rs.src, picked)
		}
		releaseAll(picked)
		if err != nil {
			return fail(err)
		}
		add = append(add, f)
	}
	sort.Slice(add, func(i, j int) bool { return add[i].Key < add[j].Key })
	return add, nil
}

// pick returns the rows of rs that want takes (it is asked once per row,
// in order), and how many.
func pick(ctx context.Context, rs *rowSet, want func(key string) bool) ([]arrow.RecordBatch, int64, error) {
	var out []arrow.RecordBatch
	var n int64
	for j, keys := range rs.keys {
		b := array.NewInt64Builder(memory.DefaultAllocator)
		for row, k := range keys {
			if want(k) {
				b.Append(int64(row))
			}
		}
		idx := b.NewArray()
		b.Release()
		if idx.Len() > 0 {
			rec, err := take(ctx, rs.batches[j], idx)
			if err != nil {
				idx.Release()
				releaseAll(out)
				return nil, 0, err
			}
			out = append(out, rec)
			n += rec.NumRows()
		}
		idx.Release()
	}
	return out, n, nil
}

// newFile is a file a recovery adds; recovered says it was written anew
// (not copied back under its own key).
type newFile struct {
	catalog.File
	recovered bool
}

// copyBack copies a backed-up object back to the primary under its own
// key, with its stats recomputed as the flush computes them.
func (d *DataBackup) copyBack(ctx context.Context, t catalog.Table, rs *rowSet) (newFile, error) {
	f := rs.src.file
	f.Stats = ingest.FileStats(rs.src.schema, t.Config, rs.batches)
	if err := copyObject(ctx, d.dst, d.src, f.Key, f.Bytes); err != nil {
		return newFile{}, err
	}
	return newFile{File: f}, nil
}

// putRecovered writes rows taken from the backed-up object src as a new
// object next to where src was, with src's partition, day and LSN range.
func (d *DataBackup) putRecovered(ctx context.Context, t catalog.Table, src *footer, rows []arrow.RecordBatch) (newFile, error) {
	schema := rows[0].Schema()
	id := ulid.Make()
	f := catalog.File{Key: path.Dir(src.file.Key) + "/" + id.String() + ".parquet", Table: t.Name,
		Partition: src.file.Partition, Day: src.file.Day, SchemaHash: ingest.SchemaHash(schema),
		MinLSN: src.file.MinLSN, MaxLSN: src.file.MaxLSN, Node: src.file.Node, Incarnation: t.Incarnation,
		CreatedAt: ulid.Time(id.Time()).UTC()}
	for _, r := range rows {
		f.Rows += r.NumRows()
	}
	body, err := writeParquet(schema, rows, map[string]string{
		keyTable: t.Name, keyPartition: strconv.Itoa(f.Partition), keyDay: f.Day,
		keyMinLSN: strconv.FormatUint(f.MinLSN, 10), keyMaxLSN: strconv.FormatUint(f.MaxLSN, 10),
		keyNode: f.Node, keyIncarnation: f.Incarnation, keyRecoveredFrom: path.Base(src.file.Key),
	})
	if err != nil {
		return newFile{}, fmt.Errorf("write rows recovered from %s: %w", src.file.Key, err)
	}
	f.Bytes = int64(len(body))
	f.Stats = ingest.FileStats(schema, t.Config, rows)
	if err := d.src.Put(ctx, f.Key, bytes.NewReader(body), f.Bytes); err != nil {
		return newFile{}, fmt.Errorf("upload %s: %w", f.Key, err)
	}
	return newFile{File: f, recovered: true}, nil
}

// recoveredFrom is the keyRecoveredFrom footer value of a catalog file
// ("" for files a flush or compaction wrote).
func recoveredFrom(ctx context.Context, b objstore.BucketReader, f catalog.File) (string, error) {
	ft, err := readFooter(ctx, b, objstore.ObjectInfo{Key: f.Key, Size: f.Bytes})
	if errors.Is(err, errNotOurs) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return ft.recoveredFrom, nil
}

func releaseAll(recs []arrow.RecordBatch) {
	for _, r := range recs {
		r.Release()
	}
}

// validDay checks an optional yyyy-mm-dd bound.
func validDay(name, day string) error {
	if day == "" {
		return nil
	}
	if _, err := time.Parse(time.DateOnly, day); err != nil {
		return fmt.Errorf("%w: %s %q is not a yyyy-mm-dd day", ErrInvalid, name, day)
	}
	return nil
}
