package hotcache

import (
	"container/list"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/miniodb/miniodb/ingest"
)

// Cache is a byte-bounded least-recently-used map from object key to
// record batches. It is safe for concurrent use.
type Cache struct {
	max int64

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
// ingest.BatchBytes counts them). maxBytes <= 0 makes a cache that keeps
// nothing.
func New(maxBytes int64) *Cache {
	return &Cache{max: maxBytes, order: list.New(), entries: map[string]*list.Element{}}
}

// Put keeps batches under key, evicting the least recently used entries
// to make room; batches larger than the whole cache are not kept. The
// cache retains the batches: the caller keeps its own references.
func (c *Cache) Put(key string, batches []arrow.RecordBatch) {
	var n int64
	for _, b := range batches {
		n += ingest.BatchBytes(b)
	}
	if n > c.max {
		return
	}
	kept := make([]arrow.RecordBatch, len(batches))
	for i, b := range batches {
		b.Retain()
		kept[i] = b
	}
	c.mu.Lock()
	var evicted []*entry
	if el, ok := c.entries[key]; ok {
		evicted = append(evicted, c.remove(el))
	}
	for c.bytes+n > c.max {
		evicted = append(evicted, c.remove(c.order.Back()))
	}
	c.entries[key] = c.order.PushFront(&entry{key: key, batches: kept, bytes: n})
	c.bytes += n
	c.mu.Unlock()
	release(evicted)
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

// Forget drops key's entry, if any.
func (c *Cache) Forget(key string) {
	c.mu.Lock()
	var evicted []*entry
	if el, ok := c.entries[key]; ok {
		evicted = append(evicted, c.remove(el))
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

func release(entries []*entry) {
	for _, e := range entries {
		for _, b := range e.batches {
			b.Release()
		}
	}
}
