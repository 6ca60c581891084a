package shard

import (
	"context"
	"slices"
)

// Scope narrows what a query reads of a table to one part of it, so that a
// scan split into per-node endpoints reads every row exactly once over all
// its parts. A part is defined by writer node, not by partition: every
// catalog file records the node that wrote it (catalog.File.Node) and every
// node's buffer holds only rows that node acknowledged, so "node W's part"
// is W's files plus W's buffer, cut at the same WAL position.
//
// The zero Scope is the whole table: every node's buffer and every file.
type Scope struct {
	// Buffers are the nodes whose buffered rows the part reads, together
	// with their files up to the position each buffer was cut at.
	Buffers []string
	// Files are further writers whose files the part reads without their
	// buffers: nodes that are no longer live (left, or down with Partial).
	Files []string
	// Partial lets a query answer without the buffered rows of a node that
	// is down or unreachable instead of failing with ErrNodeUnavailable;
	// that node's files are still read.
	Partial bool
}

// Whole reports whether the scope is the whole table (no node lists).
func (s Scope) Whole() bool { return len(s.Buffers) == 0 && len(s.Files) == 0 }

// readsBuffer reports whether the scope includes node's buffer.
func (s Scope) readsBuffer(node string) bool {
	return s.Whole() || slices.Contains(s.Buffers, node)
}

// readsFiles reports whether the scope includes the files node wrote.
func (s Scope) readsFiles(node string) bool {
	return s.Whole() || slices.Contains(s.Buffers, node) || slices.Contains(s.Files, node)
}

type scopeKey struct{}

// WithScope returns a context whose queries read only sc of every table
// (Reader.Snapshot). A query runs in one context, so a scoped ticket must
// name exactly one table: the planner only splits plain scans of one.
func WithScope(ctx context.Context, sc Scope) context.Context {
	return context.WithValue(ctx, scopeKey{}, sc)
}

// scopeFrom is the scope of ctx; the zero (whole-table) Scope if none.
func scopeFrom(ctx context.Context) Scope {
	sc, _ := ctx.Value(scopeKey{}).(Scope)
	return sc
}
