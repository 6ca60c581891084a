package hotcache

import (
	"container/list"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/arrow/memory/mallocator"

	"github.com/miniodb/miniodb/ingest"
)

// Cache is a byte-bounded least-recently-used map from object key to
// record batches. It is safe for concurrent use.
type Cache struct {
	max int64
	mem memory.Allocator

	mu      sync.Mutex
	bytes   int64
	order   *list.List // front: most recently used; values are *entry
	entries map[string]*list.Element
	hits    int64
	misses  int64
}

type entry struct {
	key     string
	batches []arrow.RecordBatch
	bytes   int64
}

// New returns a cache holding at most maxBytes of Arrow buffers (as
// ingest.BatchBytes counts them), allocated from mem; nil: C memory
// (mallocator), outside the Go heap. maxBytes <= 0 makes a cache that
// keeps nothing.
//
// NOTE: the default keeps the cache out of the Go heap on purpose. Go's
// collector lets garbage grow in proportion to the live heap, so a
// gigabyte of cached batches on the heap let every scan's transient
// buffers grow the process by hundreds of megabytes before a collection
// (bench: peak RSS growth of a full scan at SF1, 293 MiB).
func New(maxBytes int64, mem memory.Allocator) *Cache {
	if mem == nil {
		mem = mallocator.NewMallocator()
	}
	return &Cache{max: maxBytes, mem: mem, order: list.New(), entries: map[string]*list.Element{}}
}

// copyRows bounds the batches Put makes: consecutive small batches are
// joined up to this many rows (a scan streams fewer, larger messages), and
// a larger batch is copied as it is.
const copyRows = 65536

// Put keeps a copy of batches under key, evicting the least recently used
// entries to make room; batches larger than the whole cache are not kept.
// The caller keeps its batches.
func (c *Cache) Put(key string, batches []arrow.RecordBatch) {
	if bytesOf(batches) > c.max {
		return // not copied only to be dropped
	}
	f := &Filling{c: c, key: key, room: c.max, evict: true}
	for _, b := range batches {
		f.Add(b)
	}
	f.Done()
}

// insert keeps the copies kept under key, evicting to make room if evict
// is set; otherwise only into free room and only if key is not kept yet.
// What it does not keep it releases.
func (c *Cache) insert(key string, kept []arrow.RecordBatch, evict bool) bool {
	n := bytesOf(kept)
	c.mu.Lock()
	_, dup := c.entries[key]
	if n > c.max || (!evict && (dup || c.bytes+n > c.max)) { // the copies' buffers are rounded up
		c.mu.Unlock()
		release(kept)
		return false
	}
	var evicted []arrow.RecordBatch
	if el, ok := c.entries[key]; ok {
		evicted = append(evicted, c.remove(el).batches...)
	}
	for c.bytes+n > c.max {
		evicted = append(evicted, c.remove(c.order.Back()).batches...)
	}
	c.entries[key] = c.order.PushFront(&entry{key: key, batches: kept, bytes: n})
	c.bytes += n
	c.mu.Unlock()
	release(evicted)
	return true
}

// join copies batches of one schema into one batch of rows rows.
func (c *Cache) join(batches []arrow.RecordBatch, rows int64) (arrow.RecordBatch, error) {
	schema := batches[0].Schema()
	cols := make([]arrow.Array, schema.NumFields())
	defer func() {
		for _, col := range cols {
			if col != nil {
				col.Release()
			}
		}
	}()
	parts := make([]arrow.Array, len(batches))
	for i := range cols {
		for j, b := range batches {
			parts[j] = b.Column(i)
		}
		col, err := array.Concatenate(parts, c.mem)
		if err != nil {
			return nil, err
		}
		cols[i] = col
	}
	return array.NewRecordBatch(schema, cols, rows), nil
}

// Get returns the batches kept under key, retained for the caller, who
// must release each; ok is false if the key is not kept.
func (c *Cache) Get(key string) (batches []arrow.RecordBatch, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[key]
	if !ok {
		c.misses++
		return nil, false
	}
	c.hits++
	c.order.MoveToFront(el)
	e := el.Value.(*entry)
	out := make([]arrow.RecordBatch, len(e.batches))
	for i, b := range e.batches {
		b.Retain()
		out[i] = b
	}
	return out, true
}

// Free is how many bytes the cache can take without evicting anything
// (Fill).
func (c *Cache) Free() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return max(c.max-c.bytes, 0)
}

// Forget drops key's entry, if any.
func (c *Cache) Forget(key string) {
	c.mu.Lock()
	var evicted []arrow.RecordBatch
	if el, ok := c.entries[key]; ok {
		evicted = append(evicted, c.remove(el).batches...)
	}
	c.mu.Unlock()
	release(evicted)
}

// Stats is what the cache holds and how it has been used.
type Stats struct {
	Entries      int
	Bytes        int64
	MaxBytes     int64
	Hits, Misses int64
}

// Stats reports the cache's current size and its hits and misses so far.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Stats{Entries: len(c.entries), Bytes: c.bytes, MaxBytes: c.max, Hits: c.hits, Misses: c.misses}
}

// remove unlinks an entry; the caller releases its batches after unlocking.
func (c *Cache) remove(el *list.Element) *entry {
	e := c.order.Remove(el).(*entry)
	delete(c.entries, e.key)
	c.bytes -= e.bytes
	return e
}

// bytesOf is what batches hold, as ingest.BatchBytes counts it.
func bytesOf(batches []arrow.RecordBatch) int64 {
	var n int64
	for _, b := range batches {
		n += ingest.BatchBytes(b)
	}
	return n
}

func release(batches []arrow.RecordBatch) {
	for _, b := range batches {
		b.Release()
	}
}
