package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/oklog/ulid/v2"
	"go.uber.org/zap"

	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/ingest/wal"
)

// IfMissing says what an ingest does when the table does not exist.
type IfMissing int

// IfExists says what an ingest does when the table exists.
type IfExists int

const (
	// CreateIfMissing creates the table from the batch schema.
	CreateIfMissing IfMissing = iota + 1
	// FailIfMissing refuses with ErrTableNotFound.
	FailIfMissing
)

const (
	// Append adds the rows, evolving the schema by new columns.
	Append IfExists = iota + 1
	// Replace swaps the table's content and schema for the batches.
	Replace
	// FailIfExists refuses with ErrTableExists.
	FailIfExists
)

// BatchReader is the stream of one ingest; flight.MessageReader is one.
type BatchReader interface {
	Schema() *arrow.Schema
	Next() bool
	RecordBatch() arrow.RecordBatch
	Err() error
}

// Request is one bulk ingest.
type Request struct {
	Table     string
	IfMissing IfMissing
	IfExists  IfExists
	Batches   BatchReader
	// Incarnation, if set, is the life of the table the rows are meant
	// for: an owner's part of a split ingest carries the one the
	// receiving node prepared, and an owner holding another re-reads the
	// catalog first (ErrConflict if it still differs).
	Incarnation string
}

// maxEncodeBuf caps the DATA record buffers kept for reuse.
const maxEncodeBuf = 64 << 20

// txn is one ingest on its way into the WAL.
type txn struct {
	id       uint64
	firstLSN uint64
	last     *wal.Pending
	batches  []arrow.RecordBatch
	rows     int64
	bytes    int64
	// Replay only: the table of its records, and for a prepared part of a
	// split ingest its id and the table incarnation it was received for.
	table, gid, inc string
}

// Ingest runs one bulk ingest and returns the number of rows it added, once
// they are durable. Bad input changes nothing.
func (s *Service) Ingest(ctx context.Context, req Request) (int64, error) {
	st, err := s.Stage(ctx, req)
	if err != nil {
		return 0, err
	}
	return st.Rows(), st.Commit(ctx)
}

// Staged is an ingest whose rows are in the WAL as DATA records but not
// committed: no query sees them and a restart forgets them. Commit, Prepare
// or Abort ends it.
type Staged struct {
	s       *Service
	ts      *tableState
	t       *txn
	replace bool
	schema  *arrow.Schema // the request's, for a replace
	inc     string        // the table's incarnation when staged
	timer   *time.Timer   // prepared: resolves the outcome if nobody says it
	gid     string        // prepared: the split ingest's id
}

// Stage checks the request, creates or evolves the table, and writes the
// batches into the WAL without committing them.
func (s *Service) Stage(ctx context.Context, req Request) (*Staged, error) {
	in := req.Batches.Schema()
	ts, replace, err := s.checkAndPrepare(ctx, req, in)
	if err != nil {
		return nil, err
	}
	t, err := s.receive(ctx, req)
	if err != nil {
		return nil, err
	}
	ts.mu.Lock()
	inc := ts.incarnation
	ts.mu.Unlock()
	return &Staged{s: s, ts: ts, t: t, replace: replace, schema: normalizeSchema(in), inc: inc}, nil
}

// Rows is the number of rows staged.
func (st *Staged) Rows() int64 { return st.t.rows }

// Commit makes the staged rows durable and visible (a replace: the table's
// whole content).
func (st *Staged) Commit(ctx context.Context) error {
	if len(st.t.batches) == 0 && !st.replace {
		st.s.endTxn(st.t)
		return nil
	}
	if st.replace {
		return st.s.commitReplace(ctx, st.ts, st.t, st.schema)
	}
	return st.s.commitAppend(ctx, st.ts, st.t)
}

// Abort forgets the staged rows.
func (st *Staged) Abort() { st.s.abort(st.t) }

func (s *Service) checkAndPrepare(ctx context.Context, req Request, in *arrow.Schema) (*tableState, bool, error) {
	if err := checkTableName(req.Table); err != nil {
		return nil, false, err
	}
	if req.IfMissing == 0 || req.IfExists == 0 {
		return nil, false, fmt.Errorf("%w: table %q: the table definition options must say what to do if the table is missing and if it exists", ErrInvalid, req.Table)
	}
	if err := checkColumns(req.Table, in); err != nil {
		return nil, false, err
	}
	return s.prepare(ctx, req, in)
}

// PrepareTable does what Stage does before it reads any batch: it checks
// the request and creates or evolves the table for the request's schema.
// It returns the table's shard key (catalog.TableConfig.ShardKey, with the
// config file's override). A split ingest prepares the table once, on the
// receiving node, before any owner stages its part. A replace is refused:
// it is never split.
func (s *Service) PrepareTable(ctx context.Context, req Request) (Placement, error) {
	if req.IfExists == Replace {
		return Placement{}, fmt.Errorf("%w: table %q: a replace is not split across nodes", ErrInvalid, req.Table)
	}
	ts, _, err := s.checkAndPrepare(ctx, req, req.Batches.Schema())
	if err != nil {
		return Placement{}, err
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return Placement{ShardKey: s.effectiveConfig(ts).ShardKey, Incarnation: ts.incarnation}, nil
}

// Placement is what a split ingest needs to know of its table.
type Placement struct {
	ShardKey    string // the column rows are placed by ("": the default, id)
	Incarnation string // the table's life the rows are for (Request.Incarnation)
}

// prepare checks the request against the table and creates or evolves it.
func (s *Service) prepare(ctx context.Context, req Request, in *arrow.Schema) (*tableState, bool, error) {
	s.sharedTable(ctx, req.Table) // another node may have created it
	if req.Incarnation != "" {
		if err := s.expectIncarnation(ctx, req.Table, req.Incarnation); err != nil {
			return nil, false, err
		}
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, false, ErrClosed
	}
	ts := s.lookupLocked(req.Table)
	exists := ts != nil
	if !exists {
		defer s.mu.Unlock()
		if req.IfMissing == FailIfMissing {
			return nil, false, fmt.Errorf("%w: %q", ErrTableNotFound, req.Table)
		}
		if err := s.cfg.Policy.allowAutoCreate(req.Table); err != nil {
			return nil, false, err
		}
		ts, err := s.createLocked(ctx, req.Table, normalizeSchema(in), catalog.TableConfig{})
		return ts, false, err
	}
	s.mu.Unlock()
	switch req.IfExists {
	case FailIfExists:
		return nil, false, fmt.Errorf("%w: %q", ErrTableExists, req.Table)
	case Replace:
		return ts, true, nil
	}
	return ts, false, s.evolveTable(ctx, ts, in)
}

func (s *Service) createLocked(ctx context.Context, name string, schema *arrow.Schema, cfg catalog.TableConfig) (*tableState, error) {
	if err := s.cfg.Policy.allowCreate(name, len(s.tables)); err != nil {
		return nil, err
	}
	lsn := s.wal.LastLSN()
	t := catalog.Table{Name: name, Schema: schema, Config: cfg, Flushed: map[string]uint64{s.cfg.NodeID: lsn},
		Incarnation: newIncarnation(), CreatedAt: time.Now().UTC()}
	if err := s.cat.CreateTable(ctx, t); err != nil {
		if errors.Is(err, catalog.ErrTableExists) {
			return nil, fmt.Errorf("%w: %q", ErrTableExists, name)
		}
		return nil, fmt.Errorf("create table %s: %w", name, err)
	}
	ts := &tableState{name: name, schema: schema, config: cfg, flushedLSN: lsn, incarnation: t.Incarnation}
	s.tables[name] = ts
	return ts, nil
}

func (s *Service) evolveTable(ctx context.Context, ts *tableState, in *arrow.Schema) error {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.dropped {
		return errDropped(ts.name)
	}
	schema, changed, err := evolve(ts.name, ts.schema, in)
	if err != nil || !changed {
		return err
	}
	if err := s.cat.UpdateTable(ctx, ts.name, schema, ts.config); err != nil {
		return fmt.Errorf("add columns to table %s: %w", ts.name, err)
	}
	ts.schema = schema
	return nil
}

// receive writes every batch of the request into the WAL as a DATA record
// of a new transaction. Reading the next batch off the wire and logging
// the last one overlap: one goroutine decodes, another encodes and appends
// in arrival order (serial, the two took 60% and 40% of an ingest's time).
func (s *Service) receive(ctx context.Context, req Request) (*txn, error) {
	t := s.beginTxn()
	recs := make(chan arrow.RecordBatch, 2)
	logged := make(chan error, 1)
	var failed atomic.Bool
	go func() {
		var err error
		for rec := range recs {
			if err == nil {
				if err = s.appendData(ctx, t, req.Table, rec); err != nil {
					failed.Store(true)
				}
			}
			rec.Release()
		}
		logged <- err
	}()
	for !failed.Load() && req.Batches.Next() {
		rec := req.Batches.RecordBatch()
		rec.Retain()
		recs <- rec
	}
	close(recs)
	if err := <-logged; err != nil {
		s.abort(t)
		return nil, err
	}
	if err := req.Batches.Err(); err != nil {
		s.abort(t)
		return nil, fmt.Errorf("%w: table %q: read batch: %v", ErrInvalid, req.Table, err)
	}
	return t, nil
}

func (s *Service) appendData(ctx context.Context, t *txn, table string, rec arrow.RecordBatch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if rec.NumRows() == 0 {
		return nil
	}
	size := BatchBytes(rec)
	if s.buffered.Load()+size > s.cfg.MaxBuffered {
		s.kickFlusher()
		return fmt.Errorf("%w: %d bytes buffered, cap %d", ErrBackpressure, s.buffered.Load(), s.cfg.MaxBuffered)
	}
	// The record is encoded into a reused buffer: Append copies it.
	buf := s.encodeBufs.Get().(*bytes.Buffer)
	buf.Reset()
	err := appendData(buf, t.id, table, rec)
	var p *wal.Pending
	if err == nil {
		p, err = s.wal.Append(buf.Bytes())
		if err != nil {
			err = walErr(err)
		}
	} else {
		err = fmt.Errorf("%w: table %q: %v", ErrInvalid, table, err)
	}
	if buf.Cap() <= maxEncodeBuf {
		s.encodeBufs.Put(buf)
	}
	if err != nil {
		return err
	}
	s.mu.Lock()
	if t.firstLSN == 0 {
		t.firstLSN = p.LSN
		s.openTxns[t.id] = p.LSN
	}
	s.mu.Unlock()
	rec.Retain()
	t.last = p
	t.batches = append(t.batches, rec)
	t.rows += rec.NumRows()
	t.bytes += size
	s.buffered.Add(size)
	return nil
}

func walErr(err error) error {
	if errors.Is(err, wal.ErrFull) {
		return fmt.Errorf("%w: %v", ErrBackpressure, err)
	}
	if errors.Is(err, wal.ErrClosed) {
		return ErrClosed
	}
	return fmt.Errorf("write-ahead log: %w", err)
}

func (s *Service) beginTxn() *txn {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := uint64(time.Now().UnixNano())
	if id <= s.lastTxn {
		id = s.lastTxn + 1
	}
	s.lastTxn = id
	return &txn{id: id}
}

func (s *Service) endTxn(t *txn) {
	s.mu.Lock()
	delete(s.openTxns, t.id)
	s.mu.Unlock()
}

// abort forgets a transaction; its DATA records stay in the WAL without a
// COMMIT, so replay ignores them.
func (s *Service) abort(t *txn) {
	s.mu.Lock()
	s.abortLocked(t)
	s.mu.Unlock()
}

// abortLocked is abort with s.mu held.
func (s *Service) abortLocked(t *txn) {
	releaseAll(t.batches)
	s.buffered.Add(-t.bytes)
	delete(s.openTxns, t.id)
}

func (t *txn) entry(lsn uint64, arrival time.Time) *entry {
	return &entry{lsn: lsn, firstLSN: t.firstLSN, arrival: arrival, batches: t.batches, rows: t.rows, bytes: t.bytes}
}

// commitAppend writes the COMMIT and adds the transaction to the buffer in
// LSN order (under the table lock); queries and flushes see it once durable.
func (s *Service) commitAppend(ctx context.Context, ts *tableState, t *txn) error {
	arrival := time.Now().UTC()
	ts.mu.Lock()
	if ts.dropped {
		ts.mu.Unlock()
		s.abort(t)
		return errDropped(ts.name)
	}
	inc := ts.incarnation
	p, err := s.wal.Append(encodeCommit(t.id, ts.name, false, arrival.UnixNano(), nil, inc))
	if err != nil {
		ts.mu.Unlock()
		s.abort(t)
		return walErr(err)
	}
	e := t.entry(p.LSN, arrival)
	ts.entries = append(ts.entries, e)
	ts.rows += e.rows
	ts.bytes += e.bytes
	ts.mu.Unlock()
	s.endTxn(t)
	// NOTE: the wait ignores cancellation: a queued COMMIT becomes durable
	// anyway, and memory must not disagree with what a restart would replay.
	if err := p.Wait(context.WithoutCancel(ctx)); err != nil {
		s.dropEntry(ts, e)
		return walErr(err)
	}
	if err := s.stillCurrent(ctx, ts.name, inc); err != nil {
		s.dropEntry(ts, e)
		return err
	}
	ts.mu.Lock()
	full := ts.rows >= s.bufferSize(ts)
	ts.mu.Unlock()
	if full {
		s.kickFlusher()
	}
	return nil
}

// takeEntries empties the table's buffer and returns what it held (ts.mu
// held); releaseEntries frees it.
func (ts *tableState) takeEntries() []*entry {
	gone := ts.entries
	ts.entries, ts.rows, ts.bytes = nil, 0, 0
	return gone
}

// releaseEntries frees entries taken out of a buffer.
func (s *Service) releaseEntries(gone []*entry) {
	for _, e := range gone {
		s.buffered.Add(-e.bytes)
		e.release()
	}
}

// dropEntry takes back an entry whose COMMIT never became durable.
func (s *Service) dropEntry(ts *tableState, e *entry) {
	ts.mu.Lock()
	for i, x := range ts.entries {
		if x == e {
			ts.entries = append(ts.entries[:i], ts.entries[i+1:]...)
			ts.rows -= e.rows
			ts.bytes -= e.bytes
			break
		}
	}
	ts.mu.Unlock()
	s.buffered.Add(-e.bytes)
	e.release()
}

// commitReplace makes the transaction the table's whole content: the COMMIT
// must be durable before the catalog forgets the old files.
func (s *Service) commitReplace(ctx context.Context, ts *tableState, t *txn, schema *arrow.Schema) error {
	ts.flushMu.Lock()
	defer ts.flushMu.Unlock()
	arrival := time.Now().UTC()
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.dropped {
		s.abort(t)
		return errDropped(ts.name)
	}
	inc := newIncarnation()
	p, err := s.wal.Append(encodeCommit(t.id, ts.name, true, arrival.UnixNano(), schema, inc))
	if err == nil {
		err = p.Wait(context.WithoutCancel(ctx))
	}
	if err != nil {
		s.abort(t)
		return walErr(err)
	}
	s.endTxn(t)
	return s.applyReplaceLocked(ctx, ts, t.entry(p.LSN, arrival), schema, inc)
}

// expectIncarnation makes sure this node holds life inc of a table: a
// node that has not refreshed since another dropped, re-created or
// replaced the table re-reads the catalog first.
func (s *Service) expectIncarnation(ctx context.Context, name, inc string) error {
	current := func() bool {
		ts := s.table(name)
		if ts == nil {
			return false
		}
		ts.mu.Lock()
		defer ts.mu.Unlock()
		return ts.incarnation == inc && !ts.dropped
	}
	if current() {
		return nil
	}
	if err := s.Refresh(ctx); err != nil {
		return err
	}
	if !current() {
		return fmt.Errorf("%w: %q changed on another node while the ingest was placed; nothing was added", ErrConflict, name)
	}
	return nil
}

// newIncarnation names a new life of a table: a ULID, so that later ones
// sort after earlier ones.
func newIncarnation() string { return ulid.Make().String() }

// stillCurrent checks, with a catalog other nodes share, that the table an
// append has just made durable was not replaced or dropped by another node
// meanwhile (its incarnation is still inc). If it was, the append is not
// acknowledged: its rows belong to a table that no longer exists, and
// replay skips its COMMIT. A catalog that cannot be read does not fail the
// append (it is durable; the next refresh sorts out a replace).
func (s *Service) stillCurrent(ctx context.Context, table, inc string) error {
	if s.cfg.RefreshInterval <= 0 || inc == "" {
		return nil
	}
	t, err := s.cat.Table(context.WithoutCancel(ctx), table)
	switch {
	case errors.Is(err, catalog.ErrTableNotFound):
		return fmt.Errorf("%w: %q was dropped by another node during the ingest; nothing was added", ErrConflict, table)
	case err != nil:
		s.log.Warn("could not confirm the table's incarnation after an ingest", zap.String("table", table), zap.Error(err))
		return nil
	case t.Incarnation != "" && t.Incarnation != inc:
		return fmt.Errorf("%w: %q was replaced by another node during the ingest; nothing was added", ErrConflict, table)
	}
	return nil
}

// applyReplaceLocked swaps the table content for e (ts.mu held).
func (s *Service) applyReplaceLocked(ctx context.Context, ts *tableState, e *entry, schema *arrow.Schema, inc string) error {
	removed, err := s.cat.ReplaceTable(ctx, ts.name, s.cfg.NodeID, inc, schema, e.lsn-1)
	if err != nil {
		e.release()
		s.buffered.Add(-e.bytes)
		return fmt.Errorf("replace table %s: %w", ts.name, err)
	}
	s.releaseEntries(ts.takeEntries())
	if len(e.batches) > 0 {
		ts.entries = []*entry{e}
		ts.rows, ts.bytes = e.rows, e.bytes
	}
	ts.schema, ts.files, ts.flushedLSN, ts.incarnation = schema, nil, e.lsn-1, inc
	go s.deleteObjects(removed)
	return nil
}

func (s *Service) deleteObjects(files []catalog.File) {
	for _, f := range files {
		if err := s.bucket.Delete(context.Background(), f.Key); err != nil {
			s.log.Warn("delete object", zap.String("key", f.Key), zap.Error(err))
		}
		s.cache.Forget(f.Key)
	}
}

// effectiveConfig is the table's catalog config with the config file's
// overrides applied (ts.mu held or the config otherwise stable).
func (s *Service) effectiveConfig(ts *tableState) catalog.TableConfig {
	c := ts.config
	o, ok := s.cfg.Overrides[ts.name]
	if !ok {
		return c
	}
	if o.BufferSize > 0 {
		c.BufferSize = o.BufferSize
	}
	if o.FlushIntervalSeconds > 0 {
		c.FlushIntervalSeconds = o.FlushIntervalSeconds
	}
	if o.ShardKey != "" {
		c.ShardKey = o.ShardKey
	}
	if o.TimeColumn != "" {
		c.TimeColumn = o.TimeColumn
	}
	return c
}

func (s *Service) bufferSize(ts *tableState) int64 {
	if n := s.effectiveConfig(ts).BufferSize; n > 0 {
		return n
	}
	return s.cfg.BufferSize
}

func sortInfos(ti []TableInfo) {
	sort.Slice(ti, func(i, j int) bool { return ti[i].Name < ti[j].Name })
}
