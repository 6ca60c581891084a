package objstore

import (
	"context"
	"strings"
	"testing"
)

func TestCacheStats(t *testing.T) {
	ctx := context.Background()
	c, b := newTestCache(t, 6)
	b.Put(ctx, "t/a", strings.NewReader("aaaa"), 4)
	b.Put(ctx, "t/b", strings.NewReader("bbbb"), 4)
	acquire := func(keys ...string) (func(), error) {
		_, release, err := c.Acquire(ctx, keys)
		return release, err
	}
	rel, err := acquire("t/a") // miss
	if err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.Pinned != 1 || st.Objects != 1 || st.Bytes != 4 || st.MaxBytes != 6 {
		t.Errorf("while pinned: %+v", st)
	}
	rel()
	rel, _ = acquire("t/a") // hit
	rel()
	rel, _ = acquire("t/b") // miss; evicts a (4 + 4 > 6)
	rel()
	if _, err := acquire("t/missing"); err == nil {
		t.Fatal("a missing object was acquired")
	}
	want := CacheStats{Bytes: 4, MaxBytes: 6, Objects: 1, Hits: 1, Misses: 3, Evictions: 1, FillErrors: 1}
	if st := c.Stats(); st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
}
