package backup

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

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
	Copied int `json:"copied"`
	Failed int `json:"failed"`
}

// Pass copies the missing objects of every backup_enabled table (only
// table when it is not empty, then regardless of backup_enabled; only the
// files of day when it is not empty).
func (d *DataBackup) Pass(ctx context.Context, table, day string) (DataResult, error) {
	var res DataResult
	tables, err := d.cat.Tables(ctx)
	if err != nil {
		return res, fmt.Errorf("data backup: %w", err)
	}
	var errs []error
	found := false
	for _, t := range tables {
		if table != "" && t.Name != table || table == "" && !d.cfg.Enabled(t) {
			continue
		}
		found = true
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
			if have[f.Key] || day != "" && f.Day != day {
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
	if table != "" && !found {
		return res, fmt.Errorf("%w: %s", catalog.ErrTableNotFound, table)
	}
	return res, errors.Join(errs...)
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
}

// RecoverResult lists the objects recovered.
type RecoverResult struct {
	Keys []string `json:"recovered_keys"`
	Rows int64    `json:"rows"`
}

// Recover copies the backed-up objects of a table whose day is in range
// and that its catalog does not reference back into the primary, and adds
// them to the table (through FileSwapper, so queries see them at once).
// Objects a compaction merged into another backed-up object are left out.
// Idempotent: a second call finds every object referenced and does
// nothing. The table must exist.
func (d *DataBackup) Recover(ctx context.Context, opts RecoverOptions) (RecoverResult, error) {
	var res RecoverResult
	if opts.Table == "" {
		return res, fmt.Errorf("%w: the table to recover is empty", ErrInvalid)
	}
	tbl, err := d.cat.Table(ctx, opts.Table)
	if err != nil {
		return res, err
	}
	current, err := d.cat.Files(ctx, opts.Table)
	if err != nil {
		return res, err
	}
	referenced := map[string]bool{}
	for _, f := range current {
		referenced[f.Key] = true
	}
	var objs []objstore.ObjectInfo
	if err := d.dst.List(ctx, "tables/"+opts.Table+"/", func(o objstore.ObjectInfo) error {
		if strings.HasSuffix(o.Key, ".parquet") {
			objs = append(objs, o)
		}
		return nil
	}); err != nil {
		return res, fmt.Errorf("list backup bucket: %w", err)
	}
	var footers []*footer
	merged := map[string]bool{}
	for _, o := range objs {
		f, err := readFooter(ctx, d.dst, o)
		if errors.Is(err, errNotOurs) {
			continue
		}
		if err != nil {
			return res, err
		}
		for _, r := range f.replaces {
			merged[path.Dir(o.Key)+"/"+r] = true
		}
		footers = append(footers, f)
	}
	var add []catalog.File
	for _, f := range footers {
		k := f.file.Key
		if referenced[k] || merged[k] || f.file.Table != opts.Table ||
			opts.FromDay != "" && f.file.Day < opts.FromDay || opts.ToDay != "" && f.file.Day > opts.ToDay {
			continue
		}
		if missing := extraColumn(f.schema, tbl.Schema); missing != "" {
			return res, fmt.Errorf("%w: backed-up object %s has column %q, which table %s no longer has", ErrInvalid, k, missing, opts.Table)
		}
		st, err := fileStats(ctx, d.dst, f.file, f.schema, tbl.Config)
		if err != nil {
			return res, err
		}
		f.file.Stats = st
		if err := copyObject(ctx, d.dst, d.src, k, f.file.Bytes); err != nil {
			return res, err
		}
		add = append(add, f.file)
	}
	if len(add) == 0 {
		return res, nil
	}
	sort.Slice(add, func(i, j int) bool { return add[i].Key < add[j].Key })
	if _, err := d.swap.ReplaceFiles(ctx, opts.Table, nil, add); err != nil {
		return res, fmt.Errorf("add recovered files to %s: %w", opts.Table, err)
	}
	for _, f := range add {
		res.Keys = append(res.Keys, f.Key)
		res.Rows += f.Rows
	}
	return res, nil
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
