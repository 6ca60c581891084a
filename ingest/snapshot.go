package ingest

import (
	"context"
	"fmt"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/miniodb/miniodb/catalog"
)

// Snapshot is what a query reads of one table: its files and the durable
// part of its buffer, taken together so that no flush is seen half done.
type Snapshot struct {
	Table   string
	Schema  *arrow.Schema
	Files   []catalog.File
	Batches []arrow.RecordBatch // conformed to Schema; released by Release
	// Node and FlushedLSN say where the snapshot cuts Node's WAL: its rows
	// with LSN <= FlushedLSN are in files (catalog.File.Node == Node,
	// MaxLSN <= FlushedLSN), the others in Batches.
	Node       string
	FlushedLSN uint64
	// Incarnation is the table life the buffered rows belong to.
	Incarnation string
}

// Release frees the snapshot's batches.
func (sn *Snapshot) Release() { releaseAll(sn.Batches) }

// Rows returns the rows in the snapshot's batches.
func (sn *Snapshot) Rows() int64 {
	var n int64
	for _, b := range sn.Batches {
		n += b.NumRows()
	}
	return n
}

// Snapshot returns a table's current files and durable buffered rows.
// Every ingest acknowledged before the call is in it.
func (s *Service) Snapshot(ctx context.Context, table string) (*Snapshot, error) {
	ts := s.sharedTable(ctx, table)
	if ts == nil {
		return nil, fmt.Errorf("%w: %q", ErrTableNotFound, table)
	}
	durable := s.wal.DurableLSN()
	ts.mu.Lock()
	sn := &Snapshot{Table: ts.name, Schema: ts.schema, Files: append([]catalog.File(nil), ts.files...),
		Node: s.cfg.NodeID, FlushedLSN: ts.flushedLSN, Incarnation: ts.incarnation}
	n := sort.Search(len(ts.entries), func(i int) bool { return ts.entries[i].lsn > durable })
	var raw []arrow.RecordBatch
	for _, e := range ts.entries[:n] {
		for _, b := range e.batches {
			b.Retain()
			raw = append(raw, b)
		}
	}
	ts.mu.Unlock()
	for _, b := range raw {
		sn.Batches = append(sn.Batches, conform(s.mem, b, sn.Schema))
		b.Release()
	}
	return sn, nil
}
