package ingest

import (
	"context"
	"fmt"

	"github.com/miniodb/miniodb/catalog"
)

// ReplaceFiles removes the files keyed remove from a table and adds add,
// in the catalog (one atomic step, catalog.ReplaceFiles) and then in what
// new queries see. Ingest and flushes go on meanwhile: a flush only adds
// files of its own. If the table was replaced or dropped in between, the
// catalog step fails with catalog.ErrFilesChanged, or the in-memory step
// finds the sources gone and leaves the new view alone. The objects of the
// removed files are not deleted: queries that planned them may still read
// them, so the caller deletes them after a grace period.
func (s *Service) ReplaceFiles(ctx context.Context, table string, remove []string, add []catalog.File) ([]catalog.File, error) {
	ts := s.table(table)
	if ts == nil {
		return nil, fmt.Errorf("%w: %s", ErrTableNotFound, table)
	}
	removed, err := s.cat.ReplaceFiles(ctx, table, remove, add)
	if err != nil {
		return nil, err
	}
	gone := make(map[string]bool, len(remove))
	for _, k := range remove {
		gone[k] = true
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	keep := make([]catalog.File, 0, len(ts.files)+len(add))
	for _, f := range ts.files {
		if !gone[f.Key] {
			keep = append(keep, f)
		}
	}
	if ts.dropped || len(ts.files)-len(keep) != len(remove) {
		return removed, nil // replaced or dropped meanwhile: its view is already newer
	}
	ts.files = append(keep, add...)
	return removed, nil
}
