package objstore

import (
	"context"
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
