package wal

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
// golden record into a segment named after LSN 1: with direct I/O followed
// by the padding record that ends the group on a 4096-byte boundary.
func TestFormatGoldenSegmentFile(t *testing.T) {
	const record = "4d574c3105000000f8508a53010000000000000068656c6c6f"
	// "MWLP", filler length 4063 = 4096 - 25 (the record) - 8, then zeros.
	padded := record + "4d574c50df0f0000" + strings.Repeat("00", 4063)
	for _, buffered := range []bool{true, false} {
		t.Run(fmt.Sprintf("buffered=%v", buffered), func(t *testing.T) {
			dir := t.TempDir()
			w := openT(t, Options{Dir: dir, NoSync: true, BufferedIO: buffered})
			direct := w.direct
			appendWait(t, w, []byte("hello"))
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if !buffered && !direct {
				t.Logf("%s refuses O_DIRECT: the WAL writes through the page cache", dir)
			}
			b, err := os.ReadFile(filepath.Join(dir, "0000000000000001.wal"))
			if err != nil {
				t.Fatal(err)
			}
			want := record
			if direct {
				want = padded
			}
			if got := hex.EncodeToString(b); got != want {
				t.Fatalf("segment bytes (direct %v)\n got %s\nwant %s", direct, got, want)
			}
		})
	}
}

// A padding record: "MWLP", the u32 filler length, zeros up to the boundary.
func TestFormatGoldenPad(t *testing.T) {
	for _, tc := range []struct {
		len, align int
		want       string // hex of the bytes appended
	}{
		{0, 16, ""},
		{16, 16, ""},
		{3, 16, "4d574c5005000000" + "0000000000"},
		{8, 16, "4d574c5000000000"},
		{9, 16, "4d574c500f000000" + strings.Repeat("00", 15)}, // 9+8 > 16: to the next boundary, 32
	} {
		buf := appendPad(make([]byte, tc.len), tc.align)
		if got := hex.EncodeToString(buf[tc.len:]); got != tc.want || len(buf)%tc.align != 0 {
			t.Errorf("appendPad(%d bytes, %d) appended %s, want %s", tc.len, tc.align, got, tc.want)
		}
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
