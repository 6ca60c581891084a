package shard

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/oklog/ulid/v2"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/ingest"
)

// LocalIngester is this node's write path (ingest.Service).
type LocalIngester interface {
	Ingest(ctx context.Context, req ingest.Request) (int64, error)
	PrepareTable(ctx context.Context, req ingest.Request) (ingest.Placement, error)
	Stage(ctx context.Context, req ingest.Request) (*ingest.Staged, error)
	Resolve(ctx context.Context, gid string, commit bool) error
}

// PartSender sends owners their parts of a split ingest (flight.Peers).
type PartSender interface {
	Prepare(ctx context.Context, node, addr, gid, table, incarnation string, schema *arrow.Schema, batches <-chan arrow.RecordBatch) (int64, error)
	Resolve(ctx context.Context, node, addr, gid string, commit bool) error
}

// RingSource is the current placement (Members).
type RingSource interface {
	Ring() *Ring
}

// Router places an ingest's rows on the owners of their partitions: rows
// this node owns go to its own buffer, the others are streamed to their
// owners as the batches arrive. An ingest that touched one owner (this
// node) commits as before; one that touched several commits in two
// phases (ingest/twophase.go): every owner prepares its part, the outcome
// is recorded in Decisions, and only then does any part become visible.
// The client is acknowledged when every owner has made its part durable;
// if an owner fails before the outcome, nothing is kept anywhere and the
// ingest fails (UNAVAILABLE when the owner could not be reached).
//
// A replace is not split: its rows stay on this node (a table's new
// content is one transaction of one node).
type Router struct {
	Self      string
	Local     LocalIngester
	Peers     PartSender
	Members   RingSource
	Decisions catalog.Decisions
	// DecisionTTL is how long the register keeps an outcome nobody
	// forgot (ingest.Config.DecisionTTL).
	DecisionTTL time.Duration
	Log         *zap.Logger

	rr atomic.Uint64 // round robin of batches without a shard key
}

// Ingest implements the write path of flight.Ingester.
func (r *Router) Ingest(ctx context.Context, req ingest.Request) (int64, error) {
	ring := r.Members.Ring()
	if req.IfExists == ingest.Replace || ring == nil || len(ring.Nodes()) < 2 {
		return r.Local.Ingest(ctx, req)
	}
	pl, err := r.Local.PrepareTable(ctx, req)
	if err != nil {
		return 0, err
	}
	sp := &split{r: r, ring: ring, gid: ulid.Make().String(), table: req.Table, inc: pl.Incarnation, schema: req.Batches.Schema(), parts: map[string]*part{}}
	g, gctx := errgroup.WithContext(ctx)
	sp.g, sp.ctx = g, gctx
	rerr := sp.route(req.Batches, pl.ShardKey)
	sp.closeParts()
	// An owner's failure cancels the routing: its error is the cause.
	if err = g.Wait(); err == nil {
		err = rerr
	}
	if err != nil {
		sp.abort(context.WithoutCancel(ctx))
		return 0, err
	}
	return sp.commit(context.WithoutCancel(ctx))
}

// split is one ingest on its way to its owners.
type split struct {
	r      *Router
	ring   *Ring
	g      *errgroup.Group
	ctx    context.Context
	gid    string
	table  string
	inc    string // the table's incarnation the rows are for
	schema *arrow.Schema

	mu    sync.Mutex
	parts map[string]*part // by node id
	local *ingest.Staged
}

// part is one owner's stream.
type part struct {
	node catalog.Node
	ch   chan arrow.RecordBatch
	rows int64
}

// route reads the request's batches and sends every row to its owner.
func (sp *split) route(batches ingest.BatchReader, shardKey string) error {
	parts := sp.ring.Partitions()
	owner := func(p int) string {
		n, _ := sp.ring.Owner(p)
		return n.ID
	}
	for batches.Next() {
		rec := batches.RecordBatch()
		if rec.NumRows() == 0 {
			continue
		}
		rr := int(sp.r.rr.Add(1) % uint64(parts))
		byOwner := ingest.SplitByOwner(memory.DefaultAllocator, rec, shardKey, parts, rr, owner)
		for node, b := range byOwner {
			p, err := sp.part(node)
			if err != nil {
				releaseBatches(byOwner)
				return err
			}
			select {
			case p.ch <- b:
				delete(byOwner, node)
			case <-sp.ctx.Done():
				releaseBatches(byOwner)
				return sp.ctx.Err()
			}
		}
	}
	if err := batches.Err(); err != nil {
		return fmt.Errorf("%w: table %q: read batch: %v", ingest.ErrInvalid, sp.table, err)
	}
	return nil
}

func releaseBatches(m map[string]arrow.RecordBatch) {
	for _, b := range m {
		b.Release()
	}
}

// part returns the stream to node, starting it on first use.
func (sp *split) part(node string) (*part, error) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if p, ok := sp.parts[node]; ok {
		return p, nil
	}
	var n catalog.Node
	for _, x := range sp.ring.Nodes() {
		if x.ID == node {
			n = x
		}
	}
	if n.ID == "" {
		return nil, fmt.Errorf("%w: partition owner %s is not in the ring", ErrNodeUnavailable, node)
	}
	p := &part{node: n, ch: make(chan arrow.RecordBatch, 2)}
	sp.parts[node] = p
	if node == sp.r.Self {
		sp.g.Go(func() error {
			rdr := &chanReader{ctx: sp.ctx, schema: sp.schema, ch: p.ch}
			st, err := sp.r.Local.Stage(sp.ctx, ingest.Request{Table: sp.table, IfMissing: ingest.FailIfMissing, IfExists: ingest.Append,
				Batches: rdr, Incarnation: sp.inc})
			rdr.close()
			if err != nil {
				return err
			}
			sp.mu.Lock()
			sp.local = st
			sp.mu.Unlock()
			p.rows = st.Rows()
			return nil
		})
		return p, nil
	}
	sp.g.Go(func() error {
		n, err := sp.r.Peers.Prepare(sp.ctx, p.node.ID, p.node.Addr, sp.gid, sp.table, sp.inc, sp.schema, p.ch)
		if err != nil {
			return fmt.Errorf("%w: owner %s of part of the rows: %w", ErrNodeUnavailable, p.node.ID, err)
		}
		p.rows = n
		return nil
	})
	return p, nil
}

func (sp *split) closeParts() {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	for _, p := range sp.parts {
		close(p.ch)
	}
}

// commit ends an ingest every owner has staged or prepared: by itself if
// only this node took rows, else by recording the outcome and telling the
// owners.
func (sp *split) commit(ctx context.Context) (int64, error) {
	var rows int64
	for _, p := range sp.parts {
		rows += p.rows
	}
	if _, remote := sp.remote(); !remote {
		if sp.local == nil {
			return 0, nil
		}
		return rows, sp.local.Commit(ctx)
	}
	if sp.local != nil {
		err := sp.local.Prepare(ctx, sp.gid)
		if err != nil {
			sp.local = nil // Prepare let go of it
			sp.abort(ctx)
			return 0, err
		}
	}
	commit, err := sp.r.Decisions.Decide(ctx, sp.gid, true, sp.r.DecisionTTL)
	if err != nil {
		// The owners keep their parts prepared and resolve them from the
		// register once it answers: all or none.
		return 0, fmt.Errorf("%w: record the outcome of ingest %s into %s: %v; its rows appear on every owner or on none, as the register says once it is reachable",
			ErrNodeUnavailable, sp.gid, sp.table, err)
	}
	if !commit {
		sp.resolveAll(ctx, false)
		return 0, fmt.Errorf("%w: an owner gave up waiting for the outcome of ingest %s into %s; nothing was added", ErrNodeUnavailable, sp.gid, sp.table)
	}
	if sp.resolveAll(ctx, true) {
		if err := sp.r.Decisions.Forget(ctx, sp.gid); err != nil {
			sp.r.log().Warn("forget the outcome of a split ingest", zap.String("id", sp.gid), zap.Error(err))
		}
	}
	return rows, nil
}

// remote lists the other owners that took rows.
func (sp *split) remote() ([]*part, bool) {
	var out []*part
	for node, p := range sp.parts {
		if node != sp.r.Self {
			out = append(out, p)
		}
	}
	return out, len(out) > 0
}

// resolveAll tells every owner the outcome and reports whether all of
// them applied it. An owner that did not hear it resolves its part from
// the register after its prepare timeout (or at its restart).
func (sp *split) resolveAll(ctx context.Context, commit bool) bool {
	others, _ := sp.remote()
	errs := make([]error, len(others)+1)
	var wg sync.WaitGroup
	for i, p := range others {
		wg.Go(func() { errs[i] = sp.r.Peers.Resolve(ctx, p.node.ID, p.node.Addr, sp.gid, commit) })
	}
	if sp.local != nil {
		errs[len(others)] = sp.r.Local.Resolve(ctx, sp.gid, commit)
	}
	wg.Wait()
	ok := true
	for _, err := range errs {
		if err != nil {
			ok = false
			sp.r.log().Warn("tell an owner the outcome of a split ingest", zap.String("id", sp.gid), zap.Bool("commit", commit), zap.Error(err))
		}
	}
	return ok
}

// abort ends a failed ingest: the outcome abort is recorded (so a part
// that never hears it aborts too) and the owners are told.
func (sp *split) abort(ctx context.Context) {
	if _, remote := sp.remote(); !remote {
		if sp.local != nil {
			sp.local.Abort()
		}
		return
	}
	if _, err := sp.r.Decisions.Decide(ctx, sp.gid, false, sp.r.DecisionTTL); err != nil {
		sp.r.log().Warn("record the abort of a split ingest", zap.String("id", sp.gid), zap.Error(err))
	}
	if sp.local != nil {
		// Staged but perhaps not prepared: Resolve does not know it then.
		sp.local.Abort()
		sp.local = nil
	}
	sp.resolveAll(ctx, false)
}

func (r *Router) log() *zap.Logger {
	if r.Log == nil {
		return zap.NewNop()
	}
	return r.Log
}

// chanReader is an ingest.BatchReader over a channel.
type chanReader struct {
	ctx    context.Context
	schema *arrow.Schema
	ch     <-chan arrow.RecordBatch
	cur    arrow.RecordBatch
	err    error
}

func (c *chanReader) Schema() *arrow.Schema { return c.schema }

func (c *chanReader) Next() bool {
	if c.cur != nil {
		c.cur.Release()
		c.cur = nil
	}
	select {
	case rec, ok := <-c.ch:
		if !ok {
			return false
		}
		c.cur = rec
		return true
	case <-c.ctx.Done():
		c.err = c.ctx.Err()
		return false
	}
}

func (c *chanReader) RecordBatch() arrow.RecordBatch { return c.cur }

func (c *chanReader) Err() error { return c.err }

// close releases what the reader holds and drains the channel until its
// sender closes it.
func (c *chanReader) close() {
	if c.cur != nil {
		c.cur.Release()
		c.cur = nil
	}
	for rec := range c.ch {
		rec.Release()
	}
}
