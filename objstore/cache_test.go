package objstore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func newTestCache(t *testing.T, max int64) (*Cache, *FileBucket) {
	t.Helper()
	b, err := NewFileBucket(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCache(CacheConfig{Dir: t.TempDir(), MaxBytes: max}, b)
	if err != nil {
		t.Fatal(err)
	}
	return c, b
}

func TestCacheFillsOnDemandOnce(t *testing.T) {
	ctx := context.Background()
	c, b := newTestCache(t, 1<<20)
	b.Put(ctx, "t/a", strings.NewReader("aaaa"), 4)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			paths, release, err := c.Acquire(ctx, []string{"t/a"})
			if err != nil {
				t.Error(err)
				return
			}
			defer release()
			got, _ := os.ReadFile(paths[0])
			if string(got) != "aaaa" {
				t.Errorf("cached content %q", got)
			}
		}()
	}
	wg.Wait()
	if c.Bytes() != 4 {
		t.Fatalf("cache holds %d bytes, want 4", c.Bytes())
	}
}

func TestCacheMissingObject(t *testing.T) {
	c, _ := newTestCache(t, 1<<20)
	_, _, err := c.Acquire(context.Background(), []string{"nope"})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("Acquire missing = %v, want ErrNotFound", err)
	}
}

func TestCacheEvictsLeastRecentlyUsedUnpinned(t *testing.T) {
	ctx := context.Background()
	c, b := newTestCache(t, 10)
	for _, k := range []string{"a", "b", "c"} {
		b.Put(ctx, k, strings.NewReader("12345"), 5)
	}
	_, relA, err := c.Acquire(ctx, []string{"a"})
	if err != nil {
		t.Fatal(err)
	}
	_, relB, _ := c.Acquire(ctx, []string{"b"})
	relB()
	_, relC, _ := c.Acquire(ctx, []string{"c"}) // over the bound: b (unpinned, LRU) goes, a is pinned
	defer relC()
	if _, err := os.Stat(c.Path("b")); !os.IsNotExist(err) {
		t.Fatalf("b should have been evicted, stat err = %v", err)
	}
	if _, err := os.Stat(c.Path("a")); err != nil {
		t.Fatalf("pinned a was evicted: %v", err)
	}
	relA()
}

func TestCacheAddAndRescan(t *testing.T) {
	c, _ := newTestCache(t, 1<<20)
	src := filepath.Join(t.TempDir(), "x")
	os.WriteFile(src, []byte("local"), 0o644)
	if err := c.Add("t/x", src); err != nil {
		t.Fatal(err)
	}
	// Acquire must not need the bucket: the object is not there.
	paths, release, err := c.Acquire(context.Background(), []string{"t/x"})
	if err != nil {
		t.Fatal(err)
	}
	release()
	c2, err := NewCache(CacheConfig{Dir: c.Dir(), MaxBytes: 1 << 20}, nil)
	if err != nil || c2.Bytes() != 5 {
		t.Fatalf("rescan: bytes=%d err=%v", c2.Bytes(), err)
	}
	if got, _ := os.ReadFile(paths[0]); string(got) != "local" {
		t.Fatalf("content %q", got)
	}
}

// Fills are not fsynced, so a reopened folder is adopted only when its
// files are known whole: the same boot of the machine filled it (the
// process crashed or stopped), or a Close synced it. After a reboot
// without a Close it starts empty and fills again from the bucket.
func TestCacheAdoptsOnlyWholeFiles(t *testing.T) {
	for _, tc := range []struct {
		name          string
		close, reboot bool
		adopted       bool
	}{
		{name: "process crash", adopted: true},
		{name: "clean stop", close: true, adopted: true},
		{name: "clean stop, then reboot", close: true, reboot: true, adopted: true},
		{name: "machine crash", reboot: true, adopted: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			c, b := newTestCache(t, 1<<20)
			b.Put(ctx, "t/a", strings.NewReader("aaaa"), 4)
			_, release, err := c.Acquire(ctx, []string{"t/a"})
			if err != nil {
				t.Fatal(err)
			}
			release()
			if tc.close {
				if err := c.Close(); err != nil {
					t.Fatal(err)
				}
			}
			if tc.reboot {
				// The folder says another boot filled it.
				os.WriteFile(filepath.Join(c.Dir(), bootFile), []byte("an earlier boot"), 0o644)
			}
			c2, err := NewCache(CacheConfig{Dir: c.Dir(), MaxBytes: 1 << 20}, b)
			if err != nil {
				t.Fatal(err)
			}
			want := int64(0)
			if tc.adopted {
				want = 4
			}
			if c2.Bytes() != want {
				t.Fatalf("reopened cache holds %d bytes, want %d", c2.Bytes(), want)
			}
			paths, release, err := c2.Acquire(ctx, []string{"t/a"})
			if err != nil {
				t.Fatal(err)
			}
			defer release()
			if got, _ := os.ReadFile(paths[0]); string(got) != "aaaa" {
				t.Fatalf("content %q", got)
			}
			if st := c2.Stats(); (st.Misses == 0) != tc.adopted {
				t.Fatalf("misses %d after reopening, adopted %v", st.Misses, tc.adopted)
			}
			// A later crash must not count as synced.
			if _, err := os.Stat(filepath.Join(c.Dir(), syncedFile)); err == nil {
				t.Fatal("the synced mark outlived the reopening")
			}
		})
	}
}
