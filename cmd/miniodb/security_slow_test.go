package main

import (
	"bufio"
	"context"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// endless is a result far larger than any socket and flow-control buffer.
const endless = "SELECT repeat('x', 1000) AS s FROM range(100000000)"

// kbBatch is n rows of one 1000-byte string: about n KB.
func kbBatch(n int) arrow.RecordBatch {
	schema := arrow.NewSchema([]arrow.Field{{Name: "s", Type: arrow.BinaryTypes.String}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	v := strings.Repeat("y", 1000)
	for range n {
		b.Field(0).(*array.StringBuilder).Append(v)
	}
	return b.NewRecordBatch()
}

// TestSecurityOversizeDoPut: a DoPut message over server.max_message_bytes
// is refused with grpc-go's RESOURCE_EXHAUSTED naming the limit, writes nothing,
// and the node keeps taking and serving data.
func TestSecurityOversizeDoPut(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	writeFile(t, cfg, "server:\n  max_message_bytes: 1048576\n")
	s := startServer(t, filepath.Join(dir, "data"), "--config", cfg)
	c := s.client()
	ctx := context.Background()
	small := kbBatch(100)
	defer small.Release()
	if _, err := ingestRecs(ctx, c, "w", modeCreate, small); err != nil {
		t.Fatal(err)
	}
	big := kbBatch(3000) // ~3 MB in one message
	defer big.Release()
	_, err := ingestRecs(ctx, c, "w", modeAppend, big)
	wantCode(t, err, codes.ResourceExhausted, "larger than max", "1048576")
	t.Logf("oversize DoPut: %v", err)
	if _, err := ingestRecs(ctx, c, "w", modeAppend, small); err != nil {
		t.Fatalf("after the oversize message: %v", err)
	}
	if got := queryInts(t, c, "SELECT count(*) FROM w"); got[0] != 200 {
		t.Fatalf("table w has %d rows, want 200", got[0])
	}
}

// TestSecurityStalledReaderDeadline: a client opens a DoGet and never
// reads. With one query slot on the node, the next query runs once the
// stalled client's deadline has passed: the deadline ends the stream and
// frees the query, with no help from the idle timeout (default 10m).
func TestSecurityStalledReaderDeadline(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	writeFile(t, cfg, "query:\n  max_concurrent: 1\n")
	s := startServer(t, filepath.Join(dir, "data"), "--config", cfg)
	stalled := s.client()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	info, err := stalled.Execute(ctx, endless)
	if err != nil {
		t.Fatal(err)
	}
	rdr, err := stalled.DoGet(ctx, info.Endpoint[0].Ticket)
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Release()
	// The stalled stream holds the node's only query slot until its deadline.
	next, cancelNext := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancelNext()
	if n, err := count(t, next, s.client(), "SELECT 42"); err != nil || n != 42 {
		t.Fatalf("the next query behind a stalled reader: %d %v", n, err)
	}
	if ctx.Err() == nil {
		t.Fatal("the next query ran before the stalled client's deadline: the slot was not held")
	}
}

// TestSecurityStalledReaderIdle: with server.stream_idle_timeout, a client
// that never reads (no deadline, Flight DoGet or REST) has its stream
// ended by the server, and the query slot it held serves the next query.
func TestSecurityStalledReaderIdle(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	writeFile(t, cfg, "server:\n  stream_idle_timeout: 2s\nquery:\n  max_concurrent: 1\n")
	s := startAPIServer(t, filepath.Join(dir, "data"), "--config", cfg)

	stalled := s.client()
	info, err := stalled.Execute(context.Background(), endless)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	rdr, err := stalled.DoGet(context.Background(), info.Endpoint[0].Ticket)
	if err != nil {
		t.Fatal(err)
	}
	next, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if n, err := count(t, next, s.client(), "SELECT 42"); err != nil || n != 42 {
		t.Fatalf("the next query behind a stalled Flight reader: %d %v", n, err)
	}
	t.Logf("Flight: the next query ran %s after the stalled DoGet", time.Since(start).Round(time.Millisecond))
	// The stalled client gets what was in flight, then the end of its stream.
	var rows int64
	for rdr.Next() {
		rows += rdr.RecordBatch().NumRows()
	}
	if code := status.Code(rdr.Err()); code != codes.Unavailable && code != codes.Canceled {
		t.Fatalf("stalled reader ended with %v after %d rows", rdr.Err(), rows)
	}
	rdr.Release()

	// REST: a raw connection that sends the request and never reads.
	conn, err := net.Dial("tcp", s.rest)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"sql":"` + endless + `"}`
	req := "POST /v1/query HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n" + body
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	next2, cancel2 := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel2()
	time.Sleep(200 * time.Millisecond) // let the REST query take the slot first
	if n, err := count(t, next2, s.client(), "SELECT 43"); err != nil || n != 43 {
		t.Fatalf("the next query behind a stalled REST reader: %d %v", n, err)
	}
	t.Logf("REST: the next query ran %s after the stalled request", time.Since(start).Round(time.Millisecond))
	line, _ := bufio.NewReader(conn).ReadString('\n')
	if !strings.HasPrefix(line, "HTTP/1.1 200") {
		t.Fatalf("REST answered %q", line)
	}
}
