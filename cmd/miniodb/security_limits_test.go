package main

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	olapv1 "github.com/miniodb/miniodb/api/proto/olap/v1"
)

// slowSQL runs for minutes on 2 cores unless interrupted.
const slowSQL = "SELECT count(*) FROM range(1000000000000) a WHERE a.range % 7 = 3"

func TestSecurityQueryTimeout(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	writeFile(t, cfg, "query:\n  timeout: 700ms\n")
	s := startAPIServer(t, filepath.Join(dir, "data"), "--config", cfg)
	ctx := context.Background()

	start := time.Now()
	_, recs, err := queryAll(ctx, s.flight, slowSQL)
	releaseRecs(recs)
	if c := status.Code(err); c != codes.DeadlineExceeded && c != codes.Canceled {
		t.Fatalf("Flight: %v", err)
	}
	if el := time.Since(start); el > 20*time.Second {
		t.Fatalf("Flight: the query ran %s past a 700ms timeout", el)
	}
	_, err = s.olap.Query(ctx, &olapv1.QueryRequest{Sql: slowSQL})
	if c := status.Code(err); c != codes.DeadlineExceeded && c != codes.Canceled {
		t.Fatalf("OlapService: %v", err)
	}
	resp, err := http.Post("http://"+s.rest+"/v1/query", "application/json", strings.NewReader(`{"sql":"`+slowSQL+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == 200 && !strings.Contains(string(b), `"error"`) {
		t.Fatalf("REST: %d %s", resp.StatusCode, b)
	}
	if got := queryInts(t, s.flight, "SELECT 41 + 1"); got[0] != 42 {
		t.Fatalf("after the timeouts: %v", got)
	}
}

func TestSecurityRateLimit(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	writeFile(t, cfg, "security:\n  rate_limit: {requests_per_second: 0.5, burst: 3, include_loopback: true}\n")
	s := startAPIServer(t, filepath.Join(dir, "data"), "--config", cfg)
	var hdr metadata.MD
	var err error
	for range 6 {
		_, err = s.olap.GetStats(context.Background(), &olapv1.GetStatsRequest{}, grpc.Header(&hdr))
		if err != nil {
			break
		}
	}
	wantCode(t, err, codes.ResourceExhausted, "rate limit")
	if v := hdr.Get("retry-after"); len(v) == 0 || v[0] == "0" {
		t.Fatalf("gRPC headers %v", hdr)
	}
	var resp *http.Response
	for range 6 {
		if resp, err = http.Get("http://" + s.rest + "/v1/stats"); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			break
		}
	}
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" ||
		resp.Header.Get("X-RateLimit-Limit") != "0.5" || resp.Header.Get("X-RateLimit-Remaining") != "0" {
		t.Fatalf("REST: %d %v", resp.StatusCode, resp.Header)
	}
	if resp, err := http.Get("http://" + s.rest + "/v1/health"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("health is limited: %v %v", resp, err)
	}
}

// TestSecurityRateLimitSparesLoopback: without include_loopback, local
// clients are never throttled.
func TestSecurityRateLimitSparesLoopback(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	writeFile(t, cfg, "security:\n  rate_limit: {requests_per_second: 0.5, burst: 1}\n")
	s := startAPIServer(t, filepath.Join(dir, "data"), "--config", cfg)
	for i := range 10 {
		if _, err := s.olap.GetStats(context.Background(), &olapv1.GetStatsRequest{}); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
}

// TestSecurityQueriesPerUser: with query.max_concurrent_per_user 1, a
// user's second query waits for the first (and gives up at its deadline);
// another user's query runs meanwhile.
func TestSecurityQueriesPerUser(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, filepath.Join(dir, "data"), "--config", secureConfig(t, dir, "query:\n  max_concurrent_per_user: 1\n"))
	c := s.client()
	rob := login(t, c, "rob", "rob-pw")
	slowCtx, stopSlow := context.WithCancel(rob)
	info, err := c.Execute(slowCtx, slowSQL)
	if err != nil {
		t.Fatal(err)
	}
	slowDone := make(chan struct{})
	go func() { // DoGet returns once the first batch is ready: after the whole count
		defer close(slowDone)
		if slow, err := c.DoGet(slowCtx, info.Endpoint[0].Ticket); err == nil {
			slow.Next()
			slow.Release()
		}
	}()
	time.Sleep(500 * time.Millisecond) // the slow query holds rob's slot

	waitCtx, cancel := context.WithTimeout(rob, 1500*time.Millisecond)
	defer cancel()
	_, recs, err := queryAll(waitCtx, c, "SELECT 1")
	releaseRecs(recs)
	if c := status.Code(err); c != codes.DeadlineExceeded && c != codes.ResourceExhausted {
		t.Fatalf("rob's second query: %v", err)
	}
	root := login(t, c, "root", "root-pw")
	if n, err := count(t, root, c, "SELECT 7"); err != nil || n != 7 {
		t.Fatalf("root waits for rob: %d %v", n, err)
	}
	stopSlow()
	<-slowDone
	deadline := time.Now().Add(20 * time.Second)
	for {
		n, err := count(t, rob, c, "SELECT 8")
		if err == nil && n == 8 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rob's slot never freed: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
