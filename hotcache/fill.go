package hotcache

import (
	"github.com/apache/arrow-go/v18/arrow"

	"github.com/miniodb/miniodb/ingest"
)

// Filling builds an entry batch by batch, for a scan that decodes a file:
// each batch is copied into the cache's memory as it comes (runs of small
// ones joined, as Put does), so the scan does not keep a whole file's
// batches alive until the file ends. Done keeps the entry only in the
// room that was free when the filling began, and never evicts: a scan
// cannot push out what the node flushed a moment ago. A filling that
// outgrows that room stops copying and keeps nothing.
//
// A Filling is used by one goroutine; Done or Abort must be called.
type Filling struct {
	c       *Cache
	key     string
	room    int64
	bytes   int64               // of the batches added
	pending []arrow.RecordBatch // added, retained, not copied yet (fewer than copyRows rows together)
	rows    int64               // of pending
	kept    []arrow.RecordBatch // copies
	off     bool                // nothing more is kept
	evict   bool                // Put's: Done makes room
}

// Fill begins an entry for key in the cache's free room.
func (c *Cache) Fill(key string) *Filling {
	return &Filling{c: c, key: key, room: c.Free()}
}

// Add copies b into the entry (or holds it until a run of small batches
// is complete); the caller keeps b.
func (f *Filling) Add(b arrow.RecordBatch) {
	if f.off || b.NumRows() == 0 {
		return
	}
	if f.bytes += ingest.BatchBytes(b); f.bytes > f.room {
		f.Abort()
		return
	}
	if len(f.pending) > 0 && (f.rows+b.NumRows() > copyRows || !b.Schema().Equal(f.pending[0].Schema())) {
		if !f.copyPending() {
			return
		}
	}
	b.Retain()
	f.pending = append(f.pending, b)
	f.rows += b.NumRows()
}

// copyPending joins the pending batches into one copy.
func (f *Filling) copyPending() bool {
	j, err := f.c.join(f.pending, f.rows)
	release(f.pending)
	f.pending, f.rows = nil, 0
	if err != nil { // a batch Concatenate cannot copy: the file is read from disk instead
		f.Abort()
		return false
	}
	f.kept = append(f.kept, j)
	return true
}

// Done keeps what was added under key if it fits in the free room and
// key is not kept yet (for Put: evicting to make room, replacing key),
// and reports whether it did.
func (f *Filling) Done() bool {
	if f.off {
		return false
	}
	if len(f.pending) > 0 && !f.copyPending() {
		return false
	}
	kept := f.kept
	f.kept, f.off = nil, true
	if len(kept) == 0 {
		return false
	}
	return f.c.insert(f.key, kept, f.evict)
}

// Abort drops what was added; after Done it does nothing.
func (f *Filling) Abort() {
	release(f.pending)
	release(f.kept)
	f.pending, f.kept, f.rows, f.off = nil, nil, 0, true
}
