package query

import "sync"

// startOverEntries bounds each of the engine's caches: when one holds
// this many entries it starts over, empty. What they keep is cheap to
// compute again; a bound is what matters.
const startOverEntries = 1024

// startOverMap is a string-keyed cache bounded by startOverEntries, safe
// for concurrent use. The engine keeps pure results in it: query
// analyses (analysisCache), descriptions (describeCache) and whether
// arrow-go reads a schema back
// (Engine.readsBack). Its zero value is ready.
type startOverMap[V any] struct {
	mu      sync.Mutex
	entries map[string]V
}

func (m *startOverMap[V]) get(key string) (V, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.entries[key]
	return v, ok
}

func (m *startOverMap[V]) put(key string, v V) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.entries == nil || len(m.entries) >= startOverEntries {
		m.entries = map[string]V{}
	}
	m.entries[key] = v
}

func (m *startOverMap[V]) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}
