package objstore

// CacheStats is the read cache's state, for metrics and GetStats.
type CacheStats struct {
	Bytes      int64 // held on disk
	MaxBytes   int64 // the configured bound
	Objects    int64 // entries, filled or being filled
	Pinned     int64 // entries in use by a query
	Hits       int64 // Acquire found the object already cached (or being filled)
	Misses     int64 // Acquire had to download the object
	Evictions  int64 // objects removed to stay within MaxBytes
	FillErrors int64 // downloads that failed
}

// cacheCounters are the cache's event counts; they change under Cache.mu.
type cacheCounters struct {
	hits, misses, evictions, fillErrors int64
}

// Stats returns the cache's current state.
func (c *Cache) Stats() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := CacheStats{Bytes: c.bytes, MaxBytes: c.cfg.MaxBytes, Objects: int64(len(c.entries)),
		Hits: c.counters.hits, Misses: c.counters.misses, Evictions: c.counters.evictions, FillErrors: c.counters.fillErrors}
	for _, e := range c.entries {
		if e.pins > 0 {
			st.Pinned++
		}
	}
	return st
}
