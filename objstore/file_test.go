package objstore

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestFileBucketAcceptance(t *testing.T) {
	AcceptanceTest(t, func(t *testing.T) Bucket {
		b, err := NewFileBucket(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}

func TestFileBucketRejectsEscapingKeys(t *testing.T) {
	b, _ := NewFileBucket(t.TempDir())
	for _, key := range []string{"", "../x", "/etc/passwd", "a/../../x", "a//b"} {
		if err := b.Put(context.Background(), key, strings.NewReader("x"), 1); err == nil {
			t.Errorf("Put(%q) succeeded, want an invalid-key error", key)
		}
	}
}

func TestFileBucketPutFile(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	b, err := NewFileBucket(filepath.Join(root, "bucket"))
	if err != nil {
		t.Fatal(err)
	}
	linked := func(src, key string) bool {
		a, err1 := os.Stat(src)
		o, err2 := os.Stat(filepath.Join(root, "bucket", filepath.FromSlash(key)))
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		return os.SameFile(a, o)
	}
	tests := []struct {
		name, dir, key string
		link           bool
	}{
		{"same filesystem: linked", root, "t/a.parquet", true},
		{"replaces an object", root, "t/a.parquet", true},
		// /dev/shm is a tmpfs on Linux, another filesystem than t.TempDir's.
		{"other filesystem: copied", "/dev/shm", "t/b.parquet", false},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, err := os.CreateTemp(tc.dir, "src")
			if err != nil {
				t.Fatal(err)
			}
			defer os.Remove(src.Name())
			body := strings.Repeat(fmt.Sprintf("body %d ", i), 1000)
			src.WriteString(body)
			src.Close()
			if err := b.PutFile(ctx, tc.key, src.Name()); err != nil {
				t.Fatal(err)
			}
			rc, err := b.Get(ctx, tc.key)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(rc)
			rc.Close()
			if string(got) != body {
				t.Fatalf("object holds %d bytes, want the %d of the file", len(got), len(body))
			}
			if l := linked(src.Name(), tc.key); l != tc.link {
				t.Errorf("object linked to the file: %v, want %v", l, tc.link)
			}
		})
	}
	var keys []string
	b.List(ctx, "", func(o ObjectInfo) error { keys = append(keys, o.Key); return nil })
	if want := []string{"t/a.parquet", "t/b.parquet"}; !slices.Equal(keys, want) {
		t.Errorf("bucket lists %q, want %q (no temporary names left)", keys, want)
	}
	if err := b.PutFile(ctx, "../x", "/dev/null"); err == nil {
		t.Error("PutFile with an escaping key succeeded")
	}
	if err := b.PutFile(ctx, "t/c", filepath.Join(root, "missing")); err == nil {
		t.Error("PutFile of a missing file succeeded")
	}
}
