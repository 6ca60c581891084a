package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	olapv1 "github.com/miniodb/miniodb/api/proto/olap/v1"
)

// restQuery posts sql to /v1/query and returns the status and body.
func restQuery(t *testing.T, addr, sql, accept string) (int, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"sql": sql})
	req, _ := http.NewRequest("POST", "http://"+addr+"/v1/query", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// streamRows runs sql over Flight SQL and returns the rows received before
// the stream ended, and how it ended.
func streamRows(ctx context.Context, t *testing.T, s *apiServer, sql string) (int64, error) {
	t.Helper()
	info, err := s.flight.Execute(ctx, sql)
	if err != nil {
		return 0, err
	}
	rdr, err := s.flight.DoGet(ctx, info.Endpoint[0].Ticket)
	if err != nil {
		return 0, err
	}
	defer rdr.Release()
	var n int64
	for rdr.Next() {
		n += rdr.RecordBatch().NumRows()
	}
	return n, rdr.Err()
}

// TestSecurityResultCap: query.max_result_rows and max_result_bytes end
// a larger result with RESOURCE_EXHAUSTED naming the cap on every door
// (Flight SQL DoGet, OlapService, REST 413 or an "error" member once rows
// were sent), never deliver more than the cap, and leave the node serving.
func TestSecurityResultCap(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	writeFile(t, cfg, "query:\n  max_result_rows: 5000\n  max_result_bytes: 1000000\n")
	s := startAPIServer(t, filepath.Join(dir, "data"), "--config", cfg)
	ctx := context.Background()

	const manyRows = "SELECT range AS n FROM range(100000)"
	n, err := streamRows(ctx, t, s, manyRows)
	wantCode(t, err, codes.ResourceExhausted, "query.max_result_rows", "5000")
	if n == 0 || n > 5000 {
		t.Fatalf("Flight delivered %d rows before the cap of 5000", n)
	}
	t.Logf("Flight: %d rows streamed, then %v", n, err)
	if n, err := streamRows(ctx, t, s, "SELECT range AS n FROM range(5000)"); err != nil || n != 5000 {
		t.Fatalf("a result of exactly the cap: %d rows, %v", n, err)
	}
	const wide = "SELECT repeat('x', 1000) AS s FROM range(3000)" // ~2 MB in the first batch
	n, err = streamRows(ctx, t, s, wide)
	wantCode(t, err, codes.ResourceExhausted, "query.max_result_bytes", "1000000")
	if n != 0 {
		t.Fatalf("Flight delivered %d rows over the byte cap", n)
	}

	_, err = s.olap.Query(ctx, &olapv1.QueryRequest{Sql: manyRows})
	wantCode(t, err, codes.ResourceExhausted, "query.max_result_rows")

	code, body := restQuery(t, s.rest, wide, "")
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(body, "query.max_result_bytes") || !strings.Contains(body, "RESOURCE_EXHAUSTED") {
		t.Fatalf("REST over the byte cap: %d %s", code, body)
	}
	code, body = restQuery(t, s.rest, wide, "application/vnd.apache.arrow.stream")
	if code != http.StatusRequestEntityTooLarge {
		t.Fatalf("REST Arrow over the byte cap: %d %s", code, body)
	}
	code, body = restQuery(t, s.rest, manyRows, "")
	var ans struct {
		RowCount int64 `json:"row_count"`
		Error    struct {
			Status  string `json:"status"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &ans); err != nil || code != 200 ||
		ans.Error.Status != "RESOURCE_EXHAUSTED" || !strings.Contains(ans.Error.Message, "query.max_result_rows") ||
		ans.RowCount == 0 || ans.RowCount > 5000 {
		t.Fatalf("REST over the row cap once rows were sent: %d %.300s", code, body)
	}
	if got := queryInts(t, s.flight, "SELECT 41 + 1"); got[0] != 42 {
		t.Fatalf("after the capped queries: %v", got)
	}
}

// TestSecurityQueryMemoryLimit: a hash aggregate far beyond
// query.memory_limit with spilling off fails with RESOURCE_EXHAUSTED
// naming the limit, over Flight SQL, OlapService and REST, and the node
// keeps its data and keeps serving.
func TestSecurityQueryMemoryLimit(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	writeFile(t, cfg, "query:\n  memory_limit: 64MB\n  max_temp_directory_size: 0B\n")
	s := startAPIServer(t, filepath.Join(dir, "data"), "--config", cfg)
	ctx := context.Background()
	b := idBatch(0, 100)
	defer b.Release()
	if _, err := ingestRecs(ctx, s.flight, "t", modeCreate, b); err != nil {
		t.Fatal(err)
	}
	// 100 ingested rows × 100000 generated: 10M distinct 30-byte strings.
	const hungry = "SELECT count(DISTINCT t.v || '-' || r.range::VARCHAR || repeat('x', 20)) FROM t, range(100000) r"
	_, err := streamRows(ctx, t, s, hungry)
	wantCode(t, err, codes.ResourceExhausted, "query.memory_limit 64MB", "query.max_temp_directory_size 0B")
	t.Logf("Flight: %v", err)
	_, err = s.olap.Query(ctx, &olapv1.QueryRequest{Sql: hungry})
	wantCode(t, err, codes.ResourceExhausted, "query.memory_limit")
	code, body := restQuery(t, s.rest, hungry, "")
	if code != http.StatusTooManyRequests || !strings.Contains(body, "query.memory_limit") {
		t.Fatalf("REST: %d %s", code, body)
	}
	select {
	case <-s.exited:
		t.Fatal("the node exited")
	default:
	}
	if got := queryInts(t, s.flight, "SELECT count(*), count(DISTINCT v) FROM t"); got[0] != 100 || got[1] != 100 {
		t.Fatalf("after the failed queries: %v", got)
	}
}
