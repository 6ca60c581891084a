package ingest

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"go.uber.org/zap"
)

// replay rebuilds the buffers from the WAL. A transaction counts only with
// its COMMIT, and only if its table's FlushedLSN is below the COMMIT.
func (s *Service) replay(ctx context.Context) error {
	open := pendingTxns{}
	var applied, skipped int
	err := s.wal.Replay(func(lsn uint64, payload []byte) error {
		if s.shipper != nil {
			if err := s.shipper.replayed(lsn, payload); err != nil {
				return err
			}
		}
		rec, err := decodeRecord(payload, s.mem)
		if err != nil {
			return fmt.Errorf("wal record %d: %w", lsn, err)
		}
		if t := open.add(lsn, rec); t != nil {
			ok, err := s.applyCommit(ctx, lsn, rec, t)
			if err != nil {
				return err
			}
			if ok {
				applied++
			} else {
				skipped++
			}
		}
		return nil
	})
	var prepared []*txn
	for _, t := range open {
		if t.gid != "" && err == nil {
			prepared = append(prepared, t)
			continue
		}
		releaseAll(t.batches) // never committed: the client was not acknowledged
	}
	if err != nil {
		for _, t := range prepared {
			releaseAll(t.batches)
		}
		return fmt.Errorf("replay wal: %w", err)
	}
	if s.shipper != nil {
		if err := s.shipper.shipTail(); err != nil {
			for _, t := range prepared {
				releaseAll(t.batches)
			}
			return fmt.Errorf("ship the WAL's unshipped tail: %w", err)
		}
	}
	// Prepared parts of split ingests, in WAL order: their outcome is in
	// the catalog's register.
	sort.Slice(prepared, func(i, j int) bool { return prepared[i].firstLSN < prepared[j].firstLSN })
	for i, t := range prepared {
		if err := s.resolveAtStart(ctx, t); err != nil {
			for _, rest := range prepared[i+1:] {
				releaseAll(rest.batches)
			}
			return err
		}
	}
	s.log.Info("wal replayed", zap.Int("applied", applied), zap.Int("skipped", skipped), zap.Int("uncommitted", len(open)-len(prepared)), zap.Int("prepared", len(prepared)))
	return nil
}

func (s *Service) applyCommit(ctx context.Context, lsn uint64, rec walRecord, t *txn) (bool, error) {
	ts := s.table(rec.table)
	if ts == nil || lsn <= ts.flushedLSN || staleIncarnation(rec, ts.incarnation) {
		releaseAll(t.batches) // table dropped or replaced since, or rows already in files
		return false, nil
	}
	for _, b := range t.batches {
		t.bytes += BatchBytes(b)
	}
	s.buffered.Add(t.bytes)
	e := t.entry(lsn, time.Unix(0, rec.arrival).UTC())
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if rec.replace {
		return true, s.applyReplaceLocked(ctx, ts, e, rec.schema, rec.incarnation)
	}
	ts.entries = append(ts.entries, e)
	ts.rows += e.rows
	ts.bytes += e.bytes
	return true, nil
}

// pendingTxns gathers the transactions of a WAL read in LSN order (replay,
// Adopt): DATA records by transaction, PREPARE marks, ABORT drops. What
// is left after the read never got a COMMIT.
type pendingTxns map[uint64]*txn

// add takes one decoded record; for a COMMIT it returns the transaction
// the record ends, with the DATA read of it (none if it had none, or if
// its records were truncated away after its flush).
func (p pendingTxns) add(lsn uint64, rec walRecord) *txn {
	t := p[rec.txn]
	switch rec.kind {
	case kindData:
		if t == nil {
			t = &txn{id: rec.txn, firstLSN: lsn, table: rec.table}
			p[rec.txn] = t
		}
		t.batches = append(t.batches, rec.batch)
		t.rows += rec.batch.NumRows()
	case kindPrepare:
		if t != nil {
			t.gid, t.inc = rec.gid, rec.incarnation
		}
	case kindAbort:
		if t != nil {
			releaseAll(t.batches)
			delete(p, rec.txn)
		}
	case kindCommit:
		delete(p, rec.txn)
		if t == nil {
			t = &txn{id: rec.txn, firstLSN: lsn, table: rec.table}
		}
		return t
	}
	return nil
}

func releaseAll(bs []arrow.RecordBatch) {
	for _, b := range bs {
		b.Release()
	}
}

// staleIncarnation reports whether a COMMIT belongs to an earlier life of
// the table than cur, the catalog's: an append of another incarnation (the
// table was replaced or re-created, possibly by another node), or a
// replace older than the one the catalog holds. A replace newer than the
// catalog's is this node's own, durable before the catalog heard of it:
// replay applies it. Records and tables without incarnations are not
// checked.
func staleIncarnation(rec walRecord, cur string) bool {
	if rec.incarnation == "" || cur == "" {
		return false
	}
	if rec.replace {
		return rec.incarnation < cur
	}
	return rec.incarnation != cur
}
