package backup

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/objstore"
)

// FileSwapper replaces files of a table in the catalog and in what queries
// see (an *ingest.Service; a bare catalog.Catalog also fits, for nodes
// that do not serve).
type FileSwapper interface {
	ReplaceFiles(ctx context.Context, table string, remove []string, add []catalog.File) ([]catalog.File, error)
}

// RetentionConfig configures Retention. Zero values take the defaults noted.
type RetentionConfig struct {
	// DefaultDays applies to tables whose config sets no retention_days
	// (tables.default_config); 0 keeps them forever.
	DefaultDays int64
	// Days overrides a table's catalog config (tables.<name>.retention_days).
	Days map[string]int64
	// Grace is how long removed objects stay readable so that queries that
	// planned them finish; default 10m.
	Grace time.Duration
	// Forget drops a deleted object from the local read cache; may be nil.
	Forget func(key string)
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Retention removes files whose day is older than their table's
// retention_days: from the catalog (and the queries' view) first, and
// their objects only after the grace period.
//
// NOTE: objects waiting for their grace period are held in memory; after a
// restart they are unreferenced, and the node's start-up garbage
// collection deletes them (no query can be running then).
type Retention struct {
	cfg    RetentionConfig
	cat    catalog.Catalog
	swap   FileSwapper
	bucket objstore.Bucket

	mu      sync.Mutex
	pending []pendingDelete
}

type pendingDelete struct {
	at  time.Time
	key string
}

// NewRetention returns a retention service over cat (to read tables and
// files), swap (to remove them) and the primary bucket.
func NewRetention(cfg RetentionConfig, cat catalog.Catalog, swap FileSwapper, bucket objstore.Bucket) *Retention {
	if cfg.Grace <= 0 {
		cfg.Grace = 10 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Retention{cfg: cfg, cat: cat, swap: swap, bucket: bucket}
}

// RetentionResult is what one pass removed.
type RetentionResult struct {
	Files   int      `json:"files"`
	Rows    int64    `json:"rows"`
	Tables  []string `json:"tables,omitempty"`
	Deleted int      `json:"objects_deleted"` // objects whose grace period ended
}

// days is a table's retention in days, 0 for none.
func (r *Retention) days(t catalog.Table) int64 {
	if d, ok := r.cfg.Days[t.Name]; ok && d > 0 {
		return d
	}
	if t.Config.RetentionDays > 0 {
		return t.Config.RetentionDays
	}
	return r.cfg.DefaultDays
}

// Pass removes the expired files of every table and deletes the objects
// whose grace period is over. A table changed meanwhile (a flush is fine;
// a replace or drop is not) is left for the next pass.
func (r *Retention) Pass(ctx context.Context) (RetentionResult, error) {
	var res RetentionResult
	now := r.cfg.Now().UTC()
	tables, err := r.cat.Tables(ctx)
	if err != nil {
		return res, fmt.Errorf("retention: %w", err)
	}
	var errs []error
	for _, t := range tables {
		days := r.days(t)
		if days <= 0 {
			continue
		}
		n, rows, err := r.expire(ctx, t.Name, now.AddDate(0, 0, -int(days)).Format(time.DateOnly), now)
		if err != nil {
			errs = append(errs, err)
		}
		if n > 0 {
			res.Files += n
			res.Rows += rows
			res.Tables = append(res.Tables, t.Name)
		}
	}
	res.Deleted = r.deleteDue(ctx, now)
	return res, errors.Join(errs...)
}

// expire removes the files of table whose day is before cutoff.
func (r *Retention) expire(ctx context.Context, table, cutoff string, now time.Time) (int, int64, error) {
	files, err := r.cat.Files(ctx, table)
	if errors.Is(err, catalog.ErrTableNotFound) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("retention of %s: %w", table, err)
	}
	var keys []string
	for _, f := range files {
		if f.Day < cutoff {
			keys = append(keys, f.Key)
		}
	}
	if len(keys) == 0 {
		return 0, 0, nil
	}
	removed, err := r.swap.ReplaceFiles(ctx, table, keys, nil)
	if errors.Is(err, catalog.ErrFilesChanged) || errors.Is(err, catalog.ErrTableNotFound) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("retention of %s: %w", table, err)
	}
	var rows int64
	r.mu.Lock()
	for _, f := range removed {
		rows += f.Rows
		r.pending = append(r.pending, pendingDelete{at: now.Add(r.cfg.Grace), key: f.Key})
	}
	r.mu.Unlock()
	return len(removed), rows, nil
}

// DeleteLater deletes the objects keys once the grace period from now has
// passed (compaction's sources).
func (r *Retention) DeleteLater(keys []string) {
	at := r.cfg.Now().UTC().Add(r.cfg.Grace)
	r.mu.Lock()
	for _, k := range keys {
		r.pending = append(r.pending, pendingDelete{at: at, key: k})
	}
	r.mu.Unlock()
}

// Pending is the number of objects waiting for their grace period.
func (r *Retention) Pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pending)
}

// deleteDue deletes the objects whose grace period ended; failures stay
// queued for the next pass.
func (r *Retention) deleteDue(ctx context.Context, now time.Time) int {
	r.mu.Lock()
	var due, keep []pendingDelete
	for _, p := range r.pending {
		if now.Before(p.at) {
			keep = append(keep, p)
		} else {
			due = append(due, p)
		}
	}
	r.pending = keep
	r.mu.Unlock()
	n := 0
	for _, p := range due {
		if err := r.bucket.Delete(ctx, p.key); err != nil {
			r.mu.Lock()
			r.pending = append(r.pending, p)
			r.mu.Unlock()
			continue
		}
		if r.cfg.Forget != nil {
			r.cfg.Forget(p.key)
		}
		n++
	}
	return n
}

// Run makes a pass every interval until ctx ends, and deletes objects
// whose grace period ended in between; errors go to onErr.
func (r *Retention) Run(ctx context.Context, interval time.Duration, onErr func(error)) {
	t := time.NewTicker(min(interval, r.cfg.Grace))
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if time.Since(last) < interval {
				r.deleteDue(ctx, r.cfg.Now().UTC())
				continue
			}
			last = time.Now()
			if _, err := r.Pass(ctx); err != nil && ctx.Err() == nil && onErr != nil {
				onErr(err)
			}
		}
	}
}
