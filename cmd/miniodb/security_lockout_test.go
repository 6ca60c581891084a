package main

import (
	"context"
	"encoding/base64"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	olapv1 "github.com/miniodb/miniodb/api/proto/olap/v1"
)

func basicAuth(user, pw string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pw))
}

// restStats calls GET /v1/stats with an Authorization header.
func restStats(t *testing.T, addr, authz string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+addr+"/v1/stats", nil)
	req.Header.Set("Authorization", authz)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// TestSecurityLoginLockout: after security.login_lockout.max_failures
// failed Basic logins, the user's logins are refused (even with the right
// password) with RESOURCE_EXHAUSTED and retry-after over Flight SQL and
// the OlapService, and 429 with Retry-After over REST, until the lock
// ends; other users log in meanwhile.
func TestSecurityLoginLockout(t *testing.T) {
	dir := t.TempDir()
	s := startAPIServer(t, filepath.Join(dir, "data"), "--config",
		secureConfig(t, dir, "  login_lockout: {max_failures: 3, lockout: 3s}\n"))
	c := s.flight
	ctx := context.Background()
	for range 3 {
		_, err := c.Client.AuthenticateBasicToken(ctx, "alice", "guess")
		wantCode(t, err, codes.Unauthenticated)
	}
	_, err := c.Client.AuthenticateBasicToken(ctx, "alice", "alice-pw")
	wantCode(t, err, codes.ResourceExhausted, "too many failed logins", "security.login_lockout")

	var hdr metadata.MD
	octx := metadata.AppendToOutgoingContext(ctx, "authorization", basicAuth("alice", "alice-pw"))
	_, err = s.olap.GetStats(octx, &olapv1.GetStatsRequest{}, grpc.Header(&hdr))
	wantCode(t, err, codes.ResourceExhausted)
	if v := hdr.Get("retry-after"); len(v) == 0 || v[0] == "0" {
		t.Fatalf("OlapService headers %v", hdr)
	}
	resp := restStats(t, s.rest, basicAuth("alice", "alice-pw"))
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("REST during the lock: %d %v", resp.StatusCode, resp.Header)
	}

	root := login(t, c, "root", "root-pw") // another user is not affected
	if n, err := count(t, root, c, "SELECT 5"); err != nil || n != 5 {
		t.Fatalf("root during alice's lock: %d %v", n, err)
	}
	if resp := restStats(t, s.rest, basicAuth("root", "root-pw")); resp.StatusCode != http.StatusOK {
		t.Fatalf("REST root during alice's lock: %d", resp.StatusCode)
	}

	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := c.Client.AuthenticateBasicToken(ctx, "alice", "alice-pw")
		if err == nil {
			break
		}
		if status.Code(err) != codes.ResourceExhausted || time.Now().After(deadline) {
			t.Fatalf("alice after the lock: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestSecurityLoginLockoutREST: failed REST Basic logins count too, and
// lock the user over every door.
func TestSecurityLoginLockoutREST(t *testing.T) {
	dir := t.TempDir()
	s := startAPIServer(t, filepath.Join(dir, "data"), "--config",
		secureConfig(t, dir, "  login_lockout: {max_failures: 2, lockout: 1m}\n"))
	for range 2 {
		if resp := restStats(t, s.rest, basicAuth("rob", "guess")); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong password: %d", resp.StatusCode)
		}
	}
	resp := restStats(t, s.rest, basicAuth("rob", "rob-pw"))
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("REST during the lock: %d %v", resp.StatusCode, resp.Header)
	}
	_, err := s.flight.Client.AuthenticateBasicToken(context.Background(), "rob", "rob-pw")
	wantCode(t, err, codes.ResourceExhausted, "retry after")
	if resp := restStats(t, s.rest, basicAuth("alice", "alice-pw")); resp.StatusCode != http.StatusOK {
		t.Fatalf("alice during rob's lock: %d", resp.StatusCode)
	}
}
