package objstore

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

// AcceptanceTest checks that a backend keeps the Bucket contract. newBucket
// must return an empty bucket.
func AcceptanceTest(t *testing.T, newBucket func(t *testing.T) Bucket) {
	ctx := context.Background()
	put := func(t *testing.T, b Bucket, key, body string) {
		t.Helper()
		if err := b.Put(ctx, key, strings.NewReader(body), int64(len(body))); err != nil {
			t.Fatalf("Put %s: %v", key, err)
		}
	}
	read := func(t *testing.T) func(io.ReadCloser, error) string {
		return func(rc io.ReadCloser, err error) string {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			b, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
	}

	t.Run("put_get_overwrite", func(t *testing.T) {
		b := newBucket(t)
		put(t, b, "tables/t/a.parquet", "hello")
		put(t, b, "tables/t/a.parquet", "hello world")
		if got := read(t)(b.Get(ctx, "tables/t/a.parquet")); got != "hello world" {
			t.Fatalf("Get = %q", got)
		}
		info, err := b.Stat(ctx, "tables/t/a.parquet")
		if err != nil || info.Size != 11 || info.Key != "tables/t/a.parquet" {
			t.Fatalf("Stat = %+v, %v", info, err)
		}
	})
	t.Run("get_range", func(t *testing.T) {
		b := newBucket(t)
		put(t, b, "k", "0123456789")
		if got := read(t)(b.GetRange(ctx, "k", 2, 3)); got != "234" {
			t.Fatalf("GetRange(2,3) = %q", got)
		}
		if got := read(t)(b.GetRange(ctx, "k", 7, -1)); got != "789" {
			t.Fatalf("GetRange(7,-1) = %q", got)
		}
	})
	t.Run("not_found_is_classified", func(t *testing.T) {
		b := newBucket(t)
		_, err := b.Get(ctx, "missing")
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get missing: %v", err)
		}
		_, err = b.Stat(ctx, "missing")
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("Stat missing: %v", err)
		}
		ok, err := Exists(ctx, b, "missing")
		if ok || err != nil {
			t.Fatalf("Exists missing = %v, %v", ok, err)
		}
		if err := b.Delete(ctx, "missing"); err != nil {
			t.Fatalf("Delete missing: %v", err)
		}
	})
	t.Run("list_by_prefix_in_order", func(t *testing.T) {
		b := newBucket(t)
		for _, k := range []string{"tables/b/2", "tables/a/1", "tables/b/1", "other/x"} {
			put(t, b, k, k)
		}
		var keys []string
		err := b.List(ctx, "tables/b/", func(o ObjectInfo) error {
			keys = append(keys, o.Key)
			return nil
		})
		if err != nil || strings.Join(keys, ",") != "tables/b/1,tables/b/2" {
			t.Fatalf("List = %v, %v", keys, err)
		}
	})
	t.Run("delete", func(t *testing.T) {
		b := newBucket(t)
		put(t, b, "k", "v")
		if err := b.Delete(ctx, "k"); err != nil {
			t.Fatal(err)
		}
		if ok, _ := Exists(ctx, b, "k"); ok {
			t.Fatal("object still exists after Delete")
		}
	})
	t.Run("large_object", func(t *testing.T) {
		b := newBucket(t)
		body := bytes.Repeat([]byte("0123456789abcdef"), 1<<20) // 16 MiB: multipart on S3
		if err := b.Put(ctx, "big", bytes.NewReader(body), int64(len(body))); err != nil {
			t.Fatal(err)
		}
		if got := read(t)(b.Get(ctx, "big")); got != string(body) {
			t.Fatalf("large object differs (len %d)", len(got))
		}
		off := int64(5<<20 - 3) // across the first 5 MiB part boundary
		if got := read(t)(b.GetRange(ctx, "big", off, 7)); got != string(body[off:off+7]) {
			t.Fatalf("GetRange across a part boundary = %q", got)
		}
		if info, err := b.Stat(ctx, "big"); err != nil || info.Size != int64(len(body)) {
			t.Fatalf("Stat big = %+v, %v", info, err)
		}
	})
	t.Run("unknown_size_stream", func(t *testing.T) {
		b := newBucket(t)
		body := bytes.Repeat([]byte("x"), 6<<20+5)
		// io.MultiReader hides Seek and ReadAt: a pure stream.
		if err := b.Put(ctx, "stream", io.MultiReader(bytes.NewReader(body)), -1); err != nil {
			t.Fatal(err)
		}
		if info, err := b.Stat(ctx, "stream"); err != nil || info.Size != int64(len(body)) {
			t.Fatalf("Stat stream = %+v, %v", info, err)
		}
	})
	t.Run("failed_put_keeps_old_object", func(t *testing.T) {
		b := newBucket(t)
		put(t, b, "k", "old")
		for _, size := range []int64{8 << 20, 100} { // multipart and single upload
			broken := io.MultiReader(bytes.NewReader(make([]byte, size/2)), errReader{})
			if err := b.Put(ctx, "k", broken, size); err == nil {
				t.Fatalf("Put of a failing %d-byte reader succeeded", size)
			}
			if got := read(t)(b.Get(ctx, "k")); got != "old" {
				t.Fatalf("after a failed Put the object holds %d bytes, want the old 3", len(got))
			}
		}
		if err := b.Put(ctx, "new", io.MultiReader(errReader{}), 10); err == nil {
			t.Fatal("Put of a failing reader succeeded")
		}
		if ok, err := Exists(ctx, b, "new"); ok || err != nil {
			t.Fatalf("failed Put left an object: %v, %v", ok, err)
		}
	})
}

// errReader fails every read, standing in for a source that breaks mid-way.
type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("source broke") }
