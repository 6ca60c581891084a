package wal

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
)

// TestFormatGolden pins the on-disk format described in doc.go and
// docs/format/wal.md. The golden bytes were computed independently of this
// package (bitwise CRC-32C, polynomial 0x82f63b78). If this test fails, the
// format changed: bump the magic's version and update both documents.
func TestFormatGolden(t *testing.T) {
	for _, tc := range []struct {
		name    string
		lsn     uint64
		payload string
		golden  string
	}{{
		name:    "lsn_1_hello",
		lsn:     1,
		payload: "hello",
		//        magic    length   crc32c   lsn              payload
		golden: "4d574c31" + "05000000" + "f8508a53" + "0100000000000000" + "68656c6c6f",
	}, {
		name:   "empty_payload",
		lsn:    0x0102030405060708,
		golden: "4d574c31" + "00000000" + "1c02f926" + "0807060504030201",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got := hex.EncodeToString(appendRecord(nil, tc.lsn, []byte(tc.payload)))
			if got != tc.golden {
				t.Fatalf("record bytes\n got %s\nwant %s", got, tc.golden)
			}
		})
	}
}

// TestFormatGoldenSegmentFile checks that a fresh WAL writes exactly the
// golden record into a segment named after LSN 1.
func TestFormatGoldenSegmentFile(t *testing.T) {
	dir := t.TempDir()
	w := openT(t, Options{Dir: dir, NoSync: true})
	appendWait(t, w, []byte("hello"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "0000000000000001.wal"))
	if err != nil {
		t.Fatal(err)
	}
	const golden = "4d574c3105000000f8508a53010000000000000068656c6c6f"
	if got := hex.EncodeToString(b); got != golden {
		t.Fatalf("segment bytes\n got %s\nwant %s", got, golden)
	}
}

func TestSegmentNames(t *testing.T) {
	for _, tc := range []struct {
		name  string
		first uint64
		ok    bool
	}{
		{"0000000000000001.wal", 1, true},
		{"00000000000000ff.wal", 255, true},
		{"ffffffffffffffff.wal", 1<<64 - 1, true},
		{"00000000000000FF.wal", 0, false},
		{"0000000000000001.wal.tmp", 0, false},
		{"000000000000001.wal", 0, false},
		{"000000000000000g.wal", 0, false},
		{"0000000000000001.log", 0, false},
	} {
		first, ok := parseSegName(tc.name)
		if ok != tc.ok || first != tc.first {
			t.Errorf("parseSegName(%q) = %d, %v; want %d, %v", tc.name, first, ok, tc.first, tc.ok)
		}
		if tc.ok && segName(tc.first) != tc.name {
			t.Errorf("segName(%d) = %q, want %q", tc.first, segName(tc.first), tc.name)
		}
	}
}
