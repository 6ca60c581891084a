package main

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	client "github.com/miniodb/miniodb/clients/go"
)

// TestGoClientLive drives the clients/go package against a live server:
// every ingest mode, queries, and DDL/DML through Exec.
func TestGoClientLive(t *testing.T) {
	s := startServer(t, t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), callBound)
	defer cancel()
	c, err := client.Dial(ctx, s.addr, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ingest := func(mode client.IngestMode, from, n int64) (int64, error) {
		b := idBatch(from, n)
		defer b.Release()
		rdr, _ := array.NewRecordReader(b.Schema(), []arrow.RecordBatch{b})
		defer rdr.Release()
		return c.Ingest(ctx, "gc", rdr, mode)
	}
	count := func() int64 {
		t.Helper()
		res, err := c.Query(ctx, "SELECT count(*) FROM gc")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Release()
		var n int64
		for res.Next() {
			n += res.RecordBatch().Column(0).(*array.Int64).Value(0)
		}
		if err := res.Err(); err != nil {
			t.Fatal(err)
		}
		return n
	}
	steps := []struct {
		name string
		mode client.IngestMode
		rows int64
		code codes.Code
		want int64
	}{
		{"append_to_missing", client.ModeAppend, 5, codes.NotFound, -1},
		{"create", client.ModeCreate, 10, codes.OK, 10},
		{"create_again", client.ModeCreate, 10, codes.AlreadyExists, 10},
		{"append", client.ModeAppend, 5, codes.OK, 15},
		{"create_append", client.ModeCreateAppend, 5, codes.OK, 20},
		{"replace", client.ModeReplace, 3, codes.OK, 3},
	}
	for _, st := range steps {
		n, err := ingest(st.mode, 1000, st.rows)
		if status.Code(err) != st.code {
			t.Fatalf("%s: err = %v, want %s", st.name, err, st.code)
		}
		if st.code == codes.OK && n != st.rows {
			t.Fatalf("%s: ingested %d rows, want %d", st.name, n, st.rows)
		}
		if st.want >= 0 {
			if got := count(); got != st.want {
				t.Fatalf("%s: table has %d rows, want %d", st.name, got, st.want)
			}
		}
	}
	if n, err := c.Exec(ctx, "INSERT INTO gc (id, v) VALUES (1, 'a'), (2, 'b')"); err != nil || n != 2 {
		t.Fatalf("INSERT through Exec = %d, %v", n, err)
	}
	if got := count(); got != 5 {
		t.Fatalf("after INSERT: %d rows, want 5", got)
	}
	if _, err := c.Exec(ctx, "DROP TABLE gc"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Query(ctx, "SELECT * FROM gc"); status.Code(err) != codes.NotFound {
		t.Fatalf("query of a dropped table: %v, want NotFound", err)
	}
}
