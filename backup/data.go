package backup

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/objstore"
)

// DataConfig configures DataBackup.
type DataConfig struct {
	// Enabled says whether a table's objects are backed up; default its
	// config's backup_enabled.
	Enabled func(t catalog.Table) bool
	// Observe counts each copied object ("success") or failed copy
	// ("error") of a table; may be nil.
	Observe func(table, status string)
	// Live, when set (the node's ingest service), adds the durable
	// buffered rows to what a recovery by id finds present; without it
	// only the catalog's files count.
	Live LiveReader
}

// DataBackup copies the committed Parquet objects of backup_enabled tables
// to the backup bucket under the same keys, and recovers them from there.
//
// The queue is the difference between the catalog and the backup bucket:
// a pass copies every referenced object the backup bucket lacks, so a
// failed copy is retried by the next pass and a restart skips nothing.
// Objects are never deleted from the backup bucket (retention and
// compaction act on the primary only), which is what makes recovery after
// a drop, a retention pass or an operator's mistake possible.
type DataBackup struct {
	cfg  DataConfig
	cat  catalog.Catalog
	src  objstore.Bucket
	dst  objstore.Bucket
	swap FileSwapper
	// recovering serializes this node's recoveries: two at once would both
	// find the same rows missing and add them twice.
	recovering sync.Mutex
}

// NewDataBackup returns the data backup from src (the primary) to dst.
func NewDataBackup(cfg DataConfig, cat catalog.Catalog, src, dst objstore.Bucket, swap FileSwapper) *DataBackup {
	if cfg.Enabled == nil {
		cfg.Enabled = func(t catalog.Table) bool { return t.Config.BackupEnabled }
	}
	return &DataBackup{cfg: cfg, cat: cat, src: src, dst: dst, swap: swap}
}

// DataResult is what one pass copied.
type DataResult struct {
	// Selected counts the files the pass looked at (after the table, day
	// and id filters), Copied those it copied now (the rest were backed up
	// already or failed).
	Selected int `json:"selected"`
	Copied   int `json:"copied"`
	Failed   int `json:"failed"`
}

// PassOptions narrow a pass; the zero value copies every backup_enabled
// table's missing objects.
type PassOptions struct {
	// Table, when set, is the one table copied, backup_enabled or not.
	Table string
	// Day, when set, keeps the files of that day (yyyy-mm-dd).
	Day string
	// ID, when set, keeps the files that may hold a row with that id (the
	// table's shard_key column, else "id"): those whose min/max stats of
	// it include the id, and those without such stats. Rows still in the
	// buffer are in no object yet. Tables without an id column are
	// skipped, or refused (ErrInvalid) when named by Table.
	ID string
}

// Pass copies the missing objects of the tables and files opts selects.
func (d *DataBackup) Pass(ctx context.Context, opts PassOptions) (DataResult, error) {
	var res DataResult
	if err := validDay("day", opts.Day); err != nil {
		return res, err
	}
	tables, err := d.cat.Tables(ctx)
	if err != nil {
		return res, fmt.Errorf("data backup: %w", err)
	}
	var errs []error
	found := false
	for _, t := range tables {
		if opts.Table != "" && !strings.EqualFold(t.Name, opts.Table) || opts.Table == "" && !d.cfg.Enabled(t) {
			continue
		}
		found = true
		keep, err := d.passFilter(t, opts)
		if err != nil {
			if opts.Table != "" {
				return res, err
			}
			continue // no id column: it holds no row with that id
		}
		files, err := d.cat.Files(ctx, t.Name)
		if errors.Is(err, catalog.ErrTableNotFound) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		have, err := keysUnder(ctx, d.dst, "tables/"+t.Name+"/")
		if err != nil {
			return res, fmt.Errorf("data backup: list backup bucket: %w", err)
		}
		for _, f := range files {
			if !keep(f) {
				continue
			}
			res.Selected++
			if have[f.Key] {
				continue
			}
			if err := copyObject(ctx, d.src, d.dst, f.Key, f.Bytes); err != nil {
				res.Failed++
				d.observe(t.Name, "error")
				errs = append(errs, err)
				continue
			}
			res.Copied++
			d.observe(t.Name, "success")
		}
	}
	if opts.Table != "" && !found {
		return res, fmt.Errorf("%w: %s", catalog.ErrTableNotFound, opts.Table)
	}
	return res, errors.Join(errs...)
}

// passFilter says which files of t a pass with opts copies.
func (d *DataBackup) passFilter(t catalog.Table, opts PassOptions) (func(catalog.File) bool, error) {
	dayOK := func(f catalog.File) bool { return opts.Day == "" || f.Day == opts.Day }
	if opts.ID == "" {
		return dayOK, nil
	}
	col, err := idColumn(t)
	if err != nil {
		return nil, err
	}
	m := &idMatcher{ids: map[string]bool{opts.ID: true}}
	return func(f catalog.File) bool { return dayOK(f) && m.mayHold(f.StatsFor(col)) }, nil
}

func (d *DataBackup) observe(table, status string) {
	if d.cfg.Observe != nil {
		d.cfg.Observe(table, status)
	}
}

func keysUnder(ctx context.Context, b objstore.BucketReader, prefix string) (map[string]bool, error) {
	out := map[string]bool{}
	err := b.List(ctx, prefix, func(o objstore.ObjectInfo) error {
		out[o.Key] = true
		return nil
	})
	return out, err
}

func copyObject(ctx context.Context, from, to objstore.Bucket, key string, size int64) error {
	r, err := from.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("copy %s: %w", key, err)
	}
	defer r.Close()
	if err := to.Put(ctx, key, r, size); err != nil {
		return fmt.Errorf("copy %s: %w", key, err)
	}
	return nil
}

// RecoverOptions select what RecoverData brings back. Days are
// yyyy-mm-dd, inclusive; empty means unbounded.
type RecoverOptions struct {
	Table   string
	FromDay string
	ToDay   string
	// ByID recovers rows rather than objects: those whose id (the table's
	// shard_key column, else "id") is one of IDs or matches IDPattern (a
	// glob: * any run of characters, ? one character), of the backed-up
	// objects of days in range, and that the live table lacks. Set by
	// IDs or IDPattern too; with neither it is refused (ErrInvalid).
	ByID      bool
	IDs       []string
	IDPattern string
}

// RecoverResult lists the objects recovered: the backed-up objects copied
// back, or the new objects holding the rows recovered by id.
type RecoverResult struct {
	Keys []string `json:"recovered_keys"`
	Rows int64    `json:"rows"`
}

// Recover brings back what a table lost, from the backup bucket, and adds
// it to the table through FileSwapper (so queries see it at once): the
// rows of its backed-up objects of days in range that the catalog does
// not reference (by id: only the rows with those ids) that the live table
// lacks (see recoverRows). Objects a compaction merged into another
// backed-up object are left out. Idempotent: a second call finds nothing
// missing and does nothing. The table must exist.
func (d *DataBackup) Recover(ctx context.Context, opts RecoverOptions) (RecoverResult, error) {
	var res RecoverResult
	if opts.Table == "" {
		return res, fmt.Errorf("%w: the table to recover is empty", ErrInvalid)
	}
	if err := errors.Join(validDay("start_date", opts.FromDay), validDay("end_date", opts.ToDay)); err != nil {
		return res, err
	}
	if opts.FromDay != "" && opts.ToDay != "" && opts.FromDay > opts.ToDay {
		return res, fmt.Errorf("%w: start_date %s is after end_date %s", ErrInvalid, opts.FromDay, opts.ToDay)
	}
	byID := opts.ByID || len(opts.IDs) > 0 || opts.IDPattern != ""
	m, err := newIDMatcher(opts.IDs, opts.IDPattern, !byID)
	if err != nil {
		return res, err
	}
	d.recovering.Lock()
	defer d.recovering.Unlock()
	tbl, err := d.cat.Table(ctx, opts.Table)
	if err != nil {
		return res, fmt.Errorf("recover: %w", err)
	}
	if byID {
		if _, err := idColumn(tbl); err != nil {
			return res, err
		}
	}
	current, err := d.cat.Files(ctx, tbl.Name)
	if err != nil {
		return res, fmt.Errorf("recover: %w", err)
	}
	lost, err := d.lostObjects(ctx, tbl, current, opts)
	if err != nil {
		return res, err
	}
	return d.recoverRows(ctx, tbl, lost, m)
}

// lostObjects reads the footers of the table's backed-up objects of days
// in range that its catalog does not reference, leaving out the sources
// of a compaction whose merged object is backed up too.
func (d *DataBackup) lostObjects(ctx context.Context, tbl catalog.Table, current []catalog.File, opts RecoverOptions) ([]*footer, error) {
	referenced := map[string]bool{}
	for _, f := range current {
		referenced[f.Key] = true
	}
	var objs []objstore.ObjectInfo
	if err := d.dst.List(ctx, "tables/"+tbl.Name+"/", func(o objstore.ObjectInfo) error {
		// The folder names the day; a compaction merges one day's files.
		day := folderDay(o.Key)
		if strings.HasSuffix(o.Key, ".parquet") && !referenced[o.Key] &&
			(day == "" || (opts.FromDay == "" || day >= opts.FromDay) && (opts.ToDay == "" || day <= opts.ToDay)) {
			objs = append(objs, o)
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("list backup bucket: %w", err)
	}
	var footers []*footer
	merged := map[string]bool{}
	for _, o := range objs {
		f, err := readFooter(ctx, d.dst, o)
		if errors.Is(err, errNotOurs) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, r := range f.replaces {
			merged[path.Dir(o.Key)+"/"+r] = true
		}
		footers = append(footers, f)
	}
	var out []*footer
	for _, f := range footers {
		if merged[f.file.Key] || !strings.EqualFold(f.file.Table, tbl.Name) ||
			opts.FromDay != "" && f.file.Day < opts.FromDay || opts.ToDay != "" && f.file.Day > opts.ToDay {
			continue
		}
		if missing := extraColumn(f.schema, tbl.Schema); missing != "" {
			return nil, fmt.Errorf("%w: backed-up object %s has column %q, which table %s no longer has", ErrInvalid, f.file.Key, missing, tbl.Name)
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].file.Key < out[j].file.Key })
	return out, nil
}

// folderDay is the day of an object's date=<yyyy-mm-dd> folder ("" if none).
func folderDay(key string) string {
	for _, part := range strings.Split(path.Dir(key), "/") {
		if d, ok := strings.CutPrefix(part, "date="); ok {
			return d
		}
	}
	return ""
}

// extraColumn names a column of file that table lacks ("" if none).
func extraColumn(file, table *arrow.Schema) string {
	for _, f := range file.Fields() {
		found := false
		for _, g := range catalog.SchemaOrEmpty(table).Fields() {
			if strings.EqualFold(f.Name, g.Name) {
				found = true
			}
		}
		if !found {
			return f.Name
		}
	}
	return ""
}
