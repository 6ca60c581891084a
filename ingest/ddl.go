package ingest

import (
	"context"
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/miniodb/miniodb/catalog"
)

// TableSchema returns a table's current schema; ErrTableNotFound if it
// does not exist.
func (s *Service) TableSchema(name string) (*arrow.Schema, error) {
	ts := s.table(name)
	if ts == nil {
		return nil, fmt.Errorf("%w: %q", ErrTableNotFound, name)
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.schema, nil
}

// CreateTable creates an empty table with the given columns (all made
// nullable) and per-table config. If the table exists it returns
// ErrTableExists, or (false, nil) when ifNotExists is set. Like every
// creation it sets the table's FlushedLSN to the end of the WAL, so no
// record of an earlier table of the same name is ever replayed into it.
func (s *Service) CreateTable(ctx context.Context, name string, schema *arrow.Schema, cfg catalog.TableConfig, ifNotExists bool) (bool, error) {
	if err := checkTableName(name); err != nil {
		return false, err
	}
	if err := checkColumns(name, schema); err != nil {
		return false, err
	}
	if err := checkConfig(name, schema, cfg); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false, ErrClosed
	}
	if s.lookupLocked(name) != nil {
		if ifNotExists {
			return false, nil
		}
		return false, fmt.Errorf("%w: %q", ErrTableExists, name)
	}
	_, err := s.createLocked(ctx, name, normalizeSchema(schema), cfg)
	return err == nil, err
}

// checkConfig validates a table config against the table's columns.
func checkConfig(table string, schema *arrow.Schema, cfg catalog.TableConfig) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: table %q: "+format, append([]any{ErrInvalid, table}, args...)...)
	}
	if cfg.BufferSize < 0 || cfg.FlushIntervalSeconds < 0 || cfg.RetentionDays < 0 {
		return bad("buffer_size, flush_interval_seconds and retention_days must not be negative")
	}
	if cfg.ShardKey != "" && columnIndex(schema, cfg.ShardKey, "") < 0 {
		return bad("shard_key %q is not a column", cfg.ShardKey)
	}
	if cfg.TimeColumn != "" {
		i := columnIndex(schema, cfg.TimeColumn, "")
		if i < 0 {
			return bad("time_column %q is not a column", cfg.TimeColumn)
		}
		if timeColumnIndex(schema, cfg.TimeColumn) < 0 {
			return bad("time_column %q has type %s; it must be a timestamp or date", cfg.TimeColumn, schema.Field(i).Type)
		}
	}
	return nil
}

// DropTable removes a table: its catalog entry and file entries (one
// atomic catalog step), its buffered rows and, in the background, its
// objects. If the table does not exist it returns ErrTableNotFound, or
// (false, nil) when ifExists is set.
//
// Exactly once: after the catalog step, replay skips every WAL record of
// the table because the table is unknown, and a table created later under
// the same name starts at the WAL's end. An ingest into the table that is
// still running when it is dropped fails with ErrTableNotFound before it
// writes its COMMIT, so no COMMIT of the old table can follow the new
// table's creation in the WAL.
func (s *Service) DropTable(ctx context.Context, name string, ifExists bool) (bool, error) {
	ts := s.table(name)
	if ts == nil {
		if ifExists {
			return false, nil
		}
		return false, fmt.Errorf("%w: %q", ErrTableNotFound, name)
	}
	ts.flushMu.Lock()
	defer ts.flushMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false, ErrClosed
	}
	if s.tables[ts.name] != ts { // dropped (and maybe re-created) meanwhile
		s.mu.Unlock()
		return s.DropTable(ctx, name, ifExists)
	}
	name = ts.name // the table's own spelling
	ts.mu.Lock()
	removed, err := s.cat.DropTable(ctx, name)
	if err != nil && !errors.Is(err, catalog.ErrTableNotFound) {
		ts.mu.Unlock()
		s.mu.Unlock()
		return false, fmt.Errorf("drop table %s: %w", name, err)
	}
	delete(s.tables, name)
	ts.dropped = true
	gone := ts.takeEntries()
	ts.files = nil
	ts.mu.Unlock()
	s.mu.Unlock()
	s.releaseEntries(gone)
	go s.deleteObjects(removed)
	s.truncateWAL()
	return true, nil
}

// errDropped is the error of an ingest whose table was dropped while it
// ran.
func errDropped(name string) error {
	return fmt.Errorf("%w: %q was dropped during the ingest", ErrTableNotFound, name)
}
