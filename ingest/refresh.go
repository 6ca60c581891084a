package ingest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"go.uber.org/zap"

	"github.com/miniodb/miniodb/catalog"
)

// Refresh brings the in-memory tables up to date with a catalog that other
// nodes share: tables they created or dropped, columns they added, configs
// they changed, and the files they flushed, compacted or expired. It reads
// nothing when the catalog version has not moved since the last refresh.
// This node's own flushed position is its own and is left alone.
//
// Each table is refreshed under its flush lock, so a flush of this node is
// either already in the files read or not yet committed.
func (s *Service) Refresh(ctx context.Context) error {
	v, err := s.cat.Version(ctx)
	if err != nil {
		return fmt.Errorf("refresh: %w", err)
	}
	if v == s.syncedVersion.Load() {
		return nil
	}
	tables, err := s.cat.Tables(ctx)
	if err != nil {
		return fmt.Errorf("refresh: %w", err)
	}
	listed := map[string]bool{}
	for _, t := range tables {
		listed[t.Name] = true
		if err := s.refreshTable(ctx, t); err != nil {
			return err
		}
	}
	s.mu.Lock()
	var unlisted []*tableState
	for name, ts := range s.tables {
		if !listed[name] {
			unlisted = append(unlisted, ts)
		}
	}
	s.mu.Unlock()
	for _, ts := range unlisted {
		if err := s.forgetIfDropped(ctx, ts); err != nil {
			return err
		}
	}
	s.syncedVersion.Store(v)
	return nil
}

func (s *Service) refreshTable(ctx context.Context, t catalog.Table) error {
	s.mu.Lock()
	ts := s.tables[t.Name]
	s.mu.Unlock()
	if ts == nil {
		files, err := s.cat.Files(ctx, t.Name)
		if errors.Is(err, catalog.ErrTableNotFound) {
			return nil // dropped again meanwhile
		}
		if err != nil {
			return fmt.Errorf("refresh files of %s: %w", t.Name, err)
		}
		s.mu.Lock()
		if s.lookupLocked(t.Name) == nil && !s.closed {
			s.tables[t.Name] = &tableState{name: t.Name, schema: t.Schema, config: t.Config,
				flushedLSN: t.FlushedLSN(s.cfg.NodeID), incarnation: t.Incarnation, files: files}
		}
		s.mu.Unlock()
		return nil
	}
	ts.flushMu.Lock()
	defer ts.flushMu.Unlock()
	// Read again under the flush lock: a replace by this node (which holds
	// it) may have come after the listing.
	name := t.Name
	t, err := s.cat.Table(ctx, name)
	if errors.Is(err, catalog.ErrTableNotFound) {
		return nil // the next refresh sees the drop
	}
	if err != nil {
		return fmt.Errorf("refresh table %s: %w", name, err)
	}
	files, err := s.cat.Files(ctx, t.Name)
	if errors.Is(err, catalog.ErrTableNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("refresh files of %s: %w", t.Name, err)
	}
	ts.mu.Lock()
	if ts.dropped {
		ts.mu.Unlock()
		return nil
	}
	var gone []*entry
	how := "replaced"
	if t.Incarnation != "" && ts.incarnation != "" && t.Incarnation != ts.incarnation {
		// Replaced or re-created by another node: this node's buffered
		// rows belong to the table that is gone (replay skips them too).
		gone = ts.takeEntries()
		ts.schema = t.Schema
	}
	ts.incarnation = t.Incarnation
	if fl := t.FlushedLSN(s.cfg.NodeID); fl > ts.flushedLSN && len(gone) == 0 {
		// Another node replayed this node's shipped WAL into files
		// (Adopt: it took this node for dead): those rows are not this
		// buffer's any more.
		n := sort.Search(len(ts.entries), func(i int) bool { return ts.entries[i].lsn > fl })
		gone = append([]*entry(nil), ts.entries[:n]...)
		ts.entries = append([]*entry(nil), ts.entries[n:]...)
		for _, e := range gone {
			ts.rows -= e.rows
			ts.bytes -= e.bytes
		}
		ts.flushedLSN = fl
		how = "adopted"
	}
	ts.files = files
	ts.config = t.Config
	// Columns are only ever added: adopt the catalog's schema when it holds
	// every column this node knows.
	if t.Schema != nil && !t.Schema.Equal(ts.schema) && superset(t.Schema, ts.schema) {
		ts.schema = t.Schema
	}
	ts.mu.Unlock()
	if len(gone) > 0 {
		s.discardedElsewhere(t.Name, how, gone)
	}
	return nil
}

// discardedElsewhere frees this node's buffered rows of a table another
// node replaced or dropped, says so, and lets the WAL go of them.
func (s *Service) discardedElsewhere(table, how string, gone []*entry) {
	s.releaseEntries(gone)
	msg := "table " + how + " by another node: this node's buffered rows of the old table are discarded"
	if how == "adopted" {
		msg = "another node replayed this node's shipped WAL into files (it took this node for dead): those buffered rows are dropped here"
	}
	s.log.Warn(msg, zap.String("table", table), zap.Int("transactions", len(gone)))
	s.truncateWAL()
}

// superset reports whether a has every field of b, by name and type.
func superset(a, b *arrow.Schema) bool {
	if b == nil {
		return true
	}
	for _, f := range b.Fields() {
		idx := a.FieldIndices(f.Name)
		if len(idx) != 1 || !arrow.TypeEqual(a.Field(idx[0]).Type, f.Type) {
			return false
		}
	}
	return true
}

// forgetIfDropped drops the local state of a table that the catalog no
// longer lists, after checking under the table's flush lock that it is
// really gone (a table created after the listing is not).
func (s *Service) forgetIfDropped(ctx context.Context, ts *tableState) error {
	ts.flushMu.Lock()
	defer ts.flushMu.Unlock()
	_, err := s.cat.Table(ctx, ts.name)
	if err == nil {
		return nil
	}
	if !errors.Is(err, catalog.ErrTableNotFound) {
		return fmt.Errorf("refresh table %s: %w", ts.name, err)
	}
	s.mu.Lock()
	if s.tables[ts.name] == ts {
		delete(s.tables, ts.name)
	}
	s.mu.Unlock()
	ts.mu.Lock()
	ts.dropped = true
	gone := ts.takeEntries()
	ts.files = nil
	ts.mu.Unlock()
	if len(gone) > 0 {
		s.discardedElsewhere(ts.name, "dropped", gone)
	}
	return nil
}

// sharedTable is table(name), except that with a shared catalog a table
// this node does not know yet is looked for there first: another node may
// have created it since the last refresh.
func (s *Service) sharedTable(ctx context.Context, name string) *tableState {
	if ts := s.table(name); ts != nil || s.cfg.RefreshInterval <= 0 {
		return ts
	}
	if err := s.Refresh(ctx); err != nil {
		s.log.Warn("catalog refresh for an unknown table failed", zap.String("table", name), zap.Error(err))
	}
	return s.table(name)
}

// refresher runs Refresh every interval until stop.
func (s *Service) refresher(interval time.Duration) {
	defer close(s.refreshDone)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), interval*10)
		if err := s.Refresh(ctx); err != nil {
			s.log.Warn("catalog refresh failed", zap.Error(err))
		}
		cancel()
	}
}
