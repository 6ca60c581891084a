package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"go.uber.org/zap"

	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/ingest/wal"
)

// AdoptResult says what Adopt did.
type AdoptResult struct {
	Objects int   // shipped objects read
	Rows    int64 // rows written to files on node's behalf
	Files   int
}

// Adopt replays the shipped WAL of node, whose lease has expired, into
// Parquet files: every transaction it committed (or prepared, with the
// outcome commit) that its files do not hold yet. The files are written
// and committed as node's (catalog.File.Node, and node's flushed position
// raised to the last shipped LSN), so node itself skips those rows if it
// returns and replays its own WAL, and a node that was only cut off drops
// them from its buffer at its next refresh (and cannot commit a flush
// overlapping them: catalog.CommitFlush refuses it). Then the shipped
// objects are deleted. Two nodes adopting at once are safe: the second
// commit of a table is refused as stale and its files are deleted.
func (s *Service) Adopt(ctx context.Context, node string) (AdoptResult, error) {
	var res AdoptResult
	if node == s.cfg.NodeID {
		return res, fmt.Errorf("node %s cannot adopt its own WAL", node)
	}
	objs, err := listShipped(ctx, s.bucket, node)
	if err != nil || len(objs) == 0 {
		return res, err
	}
	res.Objects = len(objs)
	pending, last, err := s.readShipped(ctx, node, objs)
	if err != nil {
		return res, err
	}
	defer func() {
		for _, p := range pending {
			for _, e := range p.entries {
				e.release()
			}
		}
	}()
	for _, p := range pending {
		n, files, err := s.adoptTable(ctx, node, p, last)
		if err != nil {
			return res, fmt.Errorf("adopt %s's rows of %s: %w", node, p.table.Name, err)
		}
		res.Rows += n
		res.Files += files
	}
	for _, o := range objs {
		if err := s.bucket.Delete(ctx, o.key); err != nil {
			s.log.Warn("delete an adopted WAL object", zap.String("key", o.key), zap.Error(err))
		}
	}
	s.log.Info("adopted the shipped WAL of a node that is down", zap.String("node", node),
		zap.Int("objects", res.Objects), zap.Int64("rows", res.Rows), zap.Int("files", res.Files))
	return res, nil
}

// adoptedTable is what a shipped WAL holds for one table: the committed
// transactions above the table's flushed position for the node.
type adoptedTable struct {
	table   catalog.Table // as the catalog had it when the WAL was read
	entries []*entry
	gids    []string // prepared parts (outcome commit) among entries
}

// readShipped decodes node's shipped records and returns, per table, the
// transactions to adopt, and the highest LSN shipped.
func (s *Service) readShipped(ctx context.Context, node string, objs []shippedObject) (map[string]*adoptedTable, uint64, error) {
	tables := map[string]*adoptedTable{}
	known := map[string]bool{} // table name -> exists in the catalog
	lookup := func(name string) (*adoptedTable, error) {
		if a, ok := tables[name]; ok || known[name] {
			return a, nil
		}
		t, err := s.cat.Table(ctx, name)
		known[name] = true
		if errors.Is(err, catalog.ErrTableNotFound) {
			return nil, nil // dropped since
		}
		if err != nil {
			return nil, err
		}
		a := &adoptedTable{table: t}
		tables[name] = a
		return a, nil
	}
	keep := func(t *txn, lsn uint64, arrival int64, inc string, replace bool, gid string) error {
		a, err := lookup(t.table)
		if err != nil || a == nil {
			releaseAll(t.batches)
			return err
		}
		cur := a.table.Incarnation
		// A replace the catalog never heard of was never acknowledged; one
		// it did hear of made these rows the table's content.
		stale := lsn <= a.table.FlushedLSN(node) || (replace && inc != cur) || (!replace && inc != "" && cur != "" && inc != cur)
		if stale || len(t.batches) == 0 {
			releaseAll(t.batches)
			return nil
		}
		e := &entry{lsn: lsn, firstLSN: t.firstLSN, arrival: time.Unix(0, arrival).UTC(), batches: t.batches, rows: t.rows}
		a.entries = append(a.entries, e)
		if gid != "" {
			a.gids = append(a.gids, gid)
		}
		return nil
	}
	open := pendingTxns{}
	release := func() {
		for _, t := range open {
			releaseAll(t.batches)
		}
		for _, a := range tables {
			for _, e := range a.entries {
				e.release()
			}
		}
	}
	var last uint64
	for _, o := range objs {
		data, err := s.readObject(ctx, o.key)
		if err == nil {
			err = wal.ScanFrames(o.key, data, o.first, func(lsn uint64, payload []byte) error {
				last = max(last, lsn)
				rec, err := decodeRecord(payload, s.mem)
				if err != nil {
					return fmt.Errorf("record %d: %w", lsn, err)
				}
				if t := open.add(lsn, rec); t != nil {
					return keep(t, lsn, rec.arrival, rec.incarnation, rec.replace, "")
				}
				return nil
			})
		}
		if err != nil {
			release()
			return nil, 0, fmt.Errorf("read the shipped WAL of %s: %w", node, err)
		}
	}
	// Prepared parts: their outcome is in the register.
	for id, t := range open {
		delete(open, id)
		if t.gid == "" || s.cfg.Decisions == nil {
			releaseAll(t.batches) // never committed
			continue
		}
		commit, err := s.cfg.Decisions.Decide(ctx, t.gid, false, s.cfg.DecisionTTL)
		if err == nil && commit {
			err = keep(t, last, time.Now().UnixNano(), t.inc, false, t.gid)
		} else {
			releaseAll(t.batches)
		}
		if err != nil {
			release()
			return nil, 0, fmt.Errorf("outcome of split ingest %s: %w", t.gid, err)
		}
	}
	return tables, last, nil
}

func (s *Service) readObject(ctx context.Context, key string) ([]byte, error) {
	rc, err := s.bucket.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// adoptTable writes one table's adopted transactions as node's files and
// commits them with node's flushed position at last.
func (s *Service) adoptTable(ctx context.Context, node string, a *adoptedTable, last uint64) (int64, int, error) {
	if len(a.entries) == 0 {
		return 0, 0, nil
	}
	sort.Slice(a.entries, func(i, j int) bool { return a.entries[i].lsn < a.entries[j].lsn })
	cfg := s.effectiveConfig(&tableState{name: a.table.Name, config: a.table.Config})
	files, written, err := s.writeFiles(ctx, node, a.table.Name, a.table.Incarnation, a.table.Schema, cfg, a.entries)
	if err != nil {
		return 0, 0, err
	}
	defer written.release()
	if len(a.gids) > 0 {
		err = s.cfg.Decisions.CommitAdoption(ctx, a.table.Name, node, files, last, a.gids, s.cfg.DecisionTTL)
	} else {
		err = s.cat.CommitFlush(ctx, a.table.Name, node, files, last)
	}
	if err != nil {
		s.discard(files)
		if errors.Is(err, catalog.ErrStaleFlush) || errors.Is(err, catalog.ErrTableNotFound) {
			return 0, 0, nil // adopted by another node, flushed by node itself, replaced or dropped
		}
		return 0, 0, err
	}
	s.keepHot(files, written)
	var rows int64
	for _, e := range a.entries {
		rows += e.rows
	}
	return rows, len(files), nil
}
