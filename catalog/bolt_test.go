package catalog

import (
	"path/filepath"
	"testing"
)

func TestBoltAcceptance(t *testing.T) {
	AcceptanceTest(t, func(t *testing.T) Catalog {
		c, err := OpenBolt(filepath.Join(t.TempDir(), "catalog.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	})
}
