package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/oklog/ulid/v2"
	"golang.org/x/sync/errgroup"

	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/ingest"
	"github.com/miniodb/miniodb/objstore"
)

// Footer keys every flushed Parquet object carries (ingest/flush.go).
const (
	keyTable     = "miniodb.table"
	keyPartition = "miniodb.partition"
	keyDay       = "miniodb.day"
	keyMinLSN    = "miniodb.min_lsn"
	keyMaxLSN    = "miniodb.max_lsn"
	keyNode      = "miniodb.node" // whose WAL min/max_lsn are; absent in single-node files
	// keyIncarnation is the table life the rows were written in
	// (catalog.Table.Incarnation); absent in files from before incarnations.
	keyIncarnation = "miniodb.incarnation"
)

// RebuildOptions control Rebuild.
type RebuildOptions struct {
	DryRun bool `json:"dry_run"`
	// Force drops the tables of a catalog that is not empty first (their
	// objects stay and are found again).
	Force bool `json:"force"`
}

// RebuiltTable is one table Rebuild wrote.
type RebuiltTable struct {
	Name    string            `json:"name"`
	Files   int               `json:"files"`
	Rows    int64             `json:"rows"`
	Flushed map[string]uint64 `json:"flushed"`
	// FromBackup: config and creation time came from the latest metadata
	// backup; otherwise they are the defaults.
	FromBackup bool `json:"from_backup"`
}

// RebuildResult says what Rebuild found and wrote.
type RebuildResult struct {
	DryRun   bool           `json:"dry_run"`
	Backup   string         `json:"backup,omitempty"` // the metadata backup used for configs, if any
	Objects  int            `json:"objects"`
	Tables   []RebuiltTable `json:"tables"`
	Ignored  []string       `json:"ignored,omitempty"` // objects under tables/ that are not MinIODB Parquet files
	Warnings []string       `json:"warnings,omitempty"`
}

// Rebuild recreates the catalog from the object store alone: every Parquet
// object under tables/ names its table, partition, day and WAL positions in
// its footer and carries the Arrow schema; rows and bytes come from the
// file itself. Table configs, creation times and tables without files come
// from the newest readable metadata backup, when there is one. A table's
// flushed position of each node is the highest LSN of that node's WAL its
// files cover (or the backup's, if higher), so WAL replay on every node
// applies exactly what no file holds. Files without a node in their footer
// (written before nodes were recorded) count as this node's.
//
// NOTE: objects of a flush that crashed between upload and catalog commit
// are indistinguishable from committed ones and are taken in; their rows
// are then also in the WAL, which replay skips (their LSNs are covered).
func (s *Service) Rebuild(ctx context.Context, opts RebuildOptions) (RebuildResult, error) {
	res := RebuildResult{DryRun: opts.DryRun}
	unlock, err := s.cfg.Locker.TryLock(ctx, restoreLock, s.holder("rebuild-catalog"), s.cfg.LockTTL)
	if err != nil {
		return res, err
	}
	defer unlock()
	current, err := s.cat.Tables(ctx)
	if err != nil {
		return res, fmt.Errorf("read current catalog: %w", err)
	}
	if len(current) > 0 && !opts.Force && !opts.DryRun {
		return res, fmt.Errorf("%w: it has %d tables (%s); rebuild into an empty catalog, or pass force to replace them",
			ErrNotEmpty, len(current), strings.Join(tableNames(current), ", "))
	}
	snap := s.latestSnapshot(ctx, &res)
	files, err := s.scan(ctx, &res)
	if err != nil {
		return res, err
	}
	tables, err := s.assemble(snap, files, &res)
	if err != nil || opts.DryRun {
		return res, err
	}
	if err := s.addStats(ctx, tables); err != nil {
		return res, err
	}
	for _, t := range current {
		if _, err := s.cat.DropTable(ctx, t.Name); err != nil && !errors.Is(err, catalog.ErrTableNotFound) {
			return res, fmt.Errorf("drop table %s: %w", t.Name, err)
		}
	}
	for _, t := range tables {
		if err := putTable(ctx, s.cat, t.table, t.files); err != nil {
			return res, err
		}
	}
	return res, nil
}

// latestSnapshot returns the newest backup that loads, or an empty one.
func (s *Service) latestSnapshot(ctx context.Context, res *RebuildResult) Snapshot {
	all, err := s.List(ctx)
	if err != nil {
		res.Warnings = append(res.Warnings, fmt.Sprintf("metadata backups not readable, table configs take defaults: %v", err))
		return Snapshot{}
	}
	for _, m := range all {
		_, snap, err := s.Load(ctx, m.Name)
		if err == nil {
			res.Backup = snap.Name
			return snap
		}
		res.Warnings = append(res.Warnings, fmt.Sprintf("skip backup %s: %v", m.Name, err))
	}
	return Snapshot{}
}

// footer is what one object's Parquet footer says.
type footer struct {
	file     catalog.File
	schema   *arrow.Schema
	replaces []string // base names of the objects a compaction merged into this one
	// recoveredFrom is the base name of the object a recovery took this
	// one's rows from.
	recoveredFrom string
}

func (s *Service) scan(ctx context.Context, res *RebuildResult) ([]footer, error) {
	var objs []objstore.ObjectInfo
	err := s.data.List(ctx, "tables/", func(o objstore.ObjectInfo) error {
		if strings.HasSuffix(o.Key, ".parquet") {
			objs = append(objs, o)
		} else {
			res.Ignored = append(res.Ignored, o.Key)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list objects: %w", err)
	}
	out := make([]*footer, len(objs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, o := range objs {
		g.Go(func() error {
			f, err := readFooter(gctx, s.data, o)
			if errors.Is(err, errNotOurs) {
				return nil
			}
			out[i] = f
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	// Sources of a compaction whose grace period had not ended are in
	// the merged file already; rows a recovery took from an object that
	// is still there are in that object.
	merged := map[string]bool{}
	present := map[string]bool{}
	for _, f := range out {
		if f != nil {
			present[f.file.Key] = true
			for _, r := range f.replaces {
				merged[path.Dir(f.file.Key)+"/"+r] = true
			}
		}
	}
	var footers []footer
	for i, f := range out {
		if f == nil || merged[objs[i].Key] || f.recoveredFrom != "" && present[path.Dir(f.file.Key)+"/"+f.recoveredFrom] {
			res.Ignored = append(res.Ignored, objs[i].Key)
			continue
		}
		if f.file.Node == "" {
			f.file.Node = s.cfg.NodeID // a single node's file, from before nodes were recorded
		}
		footers = append(footers, *f)
	}
	res.Objects = len(footers)
	return footers, nil
}

var errNotOurs = errors.New("not a MinIODB Parquet file")

// rangeReaderAt reads an object with ranged GETs.
type rangeReaderAt struct {
	ctx context.Context
	b   objstore.BucketReader
	key string
}

func (r rangeReaderAt) ReadAt(p []byte, off int64) (int, error) {
	rc, err := r.b.GetRange(r.ctx, r.key, off, int64(len(p)))
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	n, err := io.ReadFull(rc, p)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = io.EOF
	}
	return n, err
}

func readFooter(ctx context.Context, b objstore.BucketReader, o objstore.ObjectInfo) (*footer, error) {
	rdr, err := file.NewParquetReader(io.NewSectionReader(rangeReaderAt{ctx, b, o.Key}, 0, o.Size))
	if err != nil {
		return nil, fmt.Errorf("read footer of %s: %w", o.Key, err)
	}
	defer rdr.Close()
	kv := rdr.MetaData().KeyValueMetadata()
	get := func(k string) string {
		if v := kv.FindValue(k); v != nil {
			return *v
		}
		return ""
	}
	table := get(keyTable)
	if table == "" {
		return nil, errNotOurs
	}
	f := catalog.File{Key: o.Key, Table: table, Day: get(keyDay), Rows: rdr.NumRows(), Bytes: o.Size, CreatedAt: objectTime(o)}
	var perr error
	f.Partition, perr = strconv.Atoi(get(keyPartition))
	f.MinLSN, err = strconv.ParseUint(get(keyMinLSN), 10, 64)
	perr = errors.Join(perr, err)
	f.MaxLSN, err = strconv.ParseUint(get(keyMaxLSN), 10, 64)
	f.Node = get(keyNode)
	f.Incarnation = get(keyIncarnation)
	if perr = errors.Join(perr, err); perr != nil {
		return nil, fmt.Errorf("footer of %s: %w", o.Key, perr)
	}
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		return nil, fmt.Errorf("arrow schema of %s: %w", o.Key, err)
	}
	sc, err := fr.Schema()
	if err != nil {
		return nil, fmt.Errorf("arrow schema of %s: %w", o.Key, err)
	}
	sc = plainSchema(sc)
	f.SchemaHash = ingest.SchemaHash(sc)
	var replaces []string
	if v := get(keyReplaces); v != "" {
		replaces = strings.Split(v, ",")
	}
	return &footer{file: f, schema: sc, replaces: replaces, recoveredFrom: get(keyRecoveredFrom)}, nil
}

// objectTime is the creation time in the object's ULID name, else its
// modification time.
func objectTime(o objstore.ObjectInfo) time.Time {
	if id, err := ulid.Parse(strings.TrimSuffix(path.Base(o.Key), ".parquet")); err == nil {
		return ulid.Time(id.Time()).UTC()
	}
	return o.Modified.UTC()
}

// plainSchema drops what the Parquet round trip adds to the schema the
// flush wrote: the file's key-value metadata as schema metadata, and a
// PARQUET:field_id on every field.
func plainSchema(sc *arrow.Schema) *arrow.Schema {
	fields := make([]arrow.Field, len(sc.Fields()))
	for i, f := range sc.Fields() {
		fields[i] = plainField(f)
	}
	return arrow.NewSchema(fields, nil)
}

func plainField(f arrow.Field) arrow.Field {
	if i := f.Metadata.FindKey("PARQUET:field_id"); i >= 0 {
		var keys, vals []string
		for j, k := range f.Metadata.Keys() {
			if j != i {
				keys, vals = append(keys, k), append(vals, f.Metadata.Values()[j])
			}
		}
		f.Metadata = arrow.Metadata{}
		if len(keys) > 0 {
			f.Metadata = arrow.NewMetadata(keys, vals)
		}
	}
	switch t := f.Type.(type) {
	case *arrow.StructType:
		children := make([]arrow.Field, t.NumFields())
		for i, c := range t.Fields() {
			children[i] = plainField(c)
		}
		f.Type = arrow.StructOf(children...)
	case *arrow.ListType:
		f.Type = arrow.ListOfField(plainField(t.ElemField()))
	case *arrow.LargeListType:
		f.Type = arrow.LargeListOfField(plainField(t.ElemField()))
	}
	return f
}

// fileStats recomputes a file's column stats as the flush did, reading
// the file in batches.
//
// NOTE: this reads every object whole, and holds one file's rows in
// memory per worker; a rebuild is a rare repair.
func fileStats(ctx context.Context, b objstore.BucketReader, f catalog.File, schema *arrow.Schema, cfg catalog.TableConfig) ([]catalog.ColumnStats, error) {
	rdr, err := file.NewParquetReader(io.NewSectionReader(rangeReaderAt{ctx, b, f.Key}, 0, f.Bytes))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", f.Key, err)
	}
	defer rdr.Close()
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{BatchSize: 64 << 10}, memory.DefaultAllocator)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", f.Key, err)
	}
	rr, err := fr.GetRecordReader(ctx, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", f.Key, err)
	}
	defer rr.Release()
	// The flush computed the stats over all of the file's rows at once
	// (a column NULL in one batch and set in another has stats), so do
	// the same.
	var batches []arrow.RecordBatch
	defer func() {
		for _, r := range batches {
			r.Release()
		}
	}()
	for rr.Next() {
		rec := rr.RecordBatch()
		rec.Retain()
		batches = append(batches, rec)
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read %s: %w", f.Key, err)
	}
	for i, rec := range batches {
		batches[i] = array.NewRecordBatch(schema, rec.Columns(), rec.NumRows())
		rec.Release()
	}
	return ingest.FileStats(schema, cfg, batches), nil
}

type rebuilt struct {
	table   catalog.Table
	files   []catalog.File
	schemas map[string]*arrow.Schema // by object key: the schema the flush wrote it with
}

func (s *Service) assemble(snap Snapshot, footers []footer, res *RebuildResult) ([]rebuilt, error) {
	byTable := map[string][]footer{}
	for _, f := range footers {
		byTable[f.file.Table] = append(byTable[f.file.Table], f)
	}
	fromSnap := map[string]TableSnapshot{}
	for _, ts := range snap.Tables {
		fromSnap[ts.Name] = ts
		if _, ok := byTable[ts.Name]; !ok {
			byTable[ts.Name] = nil // a table of the backup without files
		}
	}
	names := make([]string, 0, len(byTable))
	for n := range byTable {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]rebuilt, 0, len(names))
	for _, name := range names {
		r, err := assembleTable(name, byTable[name], fromSnap)
		if err != nil {
			return nil, err
		}
		info := RebuiltTable{Name: name, Files: len(r.files), Flushed: r.table.Flushed}
		_, info.FromBackup = fromSnap[name]
		for _, f := range r.files {
			info.Rows += f.Rows
		}
		res.Tables = append(res.Tables, info)
		out = append(out, r)
	}
	return out, nil
}

func assembleTable(name string, fs []footer, fromSnap map[string]TableSnapshot) (rebuilt, error) {
	r := rebuilt{schemas: map[string]*arrow.Schema{}}
	var newest *footer
	for i := range fs {
		f := &fs[i]
		r.files = append(r.files, f.file)
		r.schemas[f.file.Key] = f.schema
		if newest == nil || f.file.CreatedAt.After(newest.file.CreatedAt) {
			newest = f
		}
		if r.table.Flushed == nil {
			r.table.Flushed = map[string]uint64{}
		}
		r.table.Flushed[f.file.Node] = max(r.table.Flushed[f.file.Node], f.file.MaxLSN)
		// Incarnations are ULIDs: the latest life has the greatest.
		r.table.Incarnation = max(r.table.Incarnation, f.file.Incarnation)
		if r.table.CreatedAt.IsZero() || f.file.CreatedAt.Before(r.table.CreatedAt) {
			r.table.CreatedAt = f.file.CreatedAt
		}
	}
	sort.Slice(r.files, func(i, j int) bool { return r.files[i].Key < r.files[j].Key })
	r.table.Name = name
	if newest != nil {
		r.table.Schema = newest.schema
	}
	if ts, ok := fromSnap[name]; ok {
		t, err := ts.Table()
		if err != nil {
			return r, err
		}
		r.table.Config, r.table.CreatedAt = t.Config, t.CreatedAt
		r.table.Incarnation = max(r.table.Incarnation, t.Incarnation)
		for node, lsn := range t.Flushed {
			if r.table.Flushed == nil {
				r.table.Flushed = map[string]uint64{}
			}
			r.table.Flushed[node] = max(r.table.Flushed[node], lsn)
		}
		// Columns only get added: the wider schema is the newer one.
		if t.Schema != nil && (r.table.Schema == nil || len(t.Schema.Fields()) >= len(r.table.Schema.Fields())) {
			r.table.Schema = t.Schema
		}
	}
	return r, nil
}

// addStats recomputes every file's column stats.
func (s *Service) addStats(ctx context.Context, tables []rebuilt) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for _, t := range tables {
		for i := range t.files {
			g.Go(func() error {
				st, err := fileStats(gctx, s.data, t.files[i], t.schemas[t.files[i].Key], t.table.Config)
				t.files[i].Stats = st
				return err
			})
		}
	}
	return g.Wait()
}
