package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/bcrypt"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	olapv1 "github.com/miniodb/miniodb/api/proto/olap/v1"
)

const testJWTSecret = "test-secret-test-secret-test-secret!"

// secureConfig writes a config with security.mode auth: root (admin),
// alice (read+write on events only), rob (reader role), an API key that
// may write events, and the given extra YAML.
func secureConfig(t *testing.T, dir, extra string) string {
	t.Helper()
	hash := func(pw string) string {
		h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		return string(h)
	}
	sum := sha256.Sum256([]byte("key-events-0123456789"))
	cfg := fmt.Sprintf(`security:
  mode: auth
  jwt_secret: %q
  users:
    - {name: root, password_hash: %q, roles: [admin]}
    - {name: alice, password_hash: %q, grants: ["write:events"]}
    - {name: rob, password_hash: %q, roles: [reader]}
  api_keys:
    - {name: events-loader, key_sha256: %q, grants: ["write:events"]}
%s`, testJWTSecret, hash("root-pw"), hash("alice-pw"), hash("rob-pw"), hex.EncodeToString(sum[:]), extra)
	p := filepath.Join(dir, "config.yaml")
	writeFile(t, p, cfg)
	return p
}

// login runs the Flight handshake with Basic credentials and returns a
// context carrying the bearer token it answered.
func login(t *testing.T, c *flightsql.Client, user, pw string) context.Context {
	t.Helper()
	ctx, err := c.Client.AuthenticateBasicToken(context.Background(), user, pw)
	if err != nil {
		t.Fatalf("handshake as %s: %v", user, err)
	}
	md, _ := metadata.FromOutgoingContext(ctx)
	if v := md.Get("authorization"); len(v) == 0 || !strings.HasPrefix(v[0], "Bearer ") {
		t.Fatalf("handshake answered %v, want a bearer token", v)
	}
	return ctx
}

func bearer(tok string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok)
}

func hsToken(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(testJWTSecret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// count runs SELECT count(*)-like sql as the caller of ctx.
func count(t *testing.T, ctx context.Context, c *flightsql.Client, sql string) (int64, error) {
	t.Helper()
	_, recs, err := queryAll(ctx, c, sql)
	if err != nil {
		return 0, err
	}
	defer releaseRecs(recs)
	if len(recs) == 0 || recs[0].NumRows() != 1 {
		t.Fatalf("%s: %d batches", sql, len(recs))
	}
	return intValue(t, recs[0].Column(0), 0), nil
}

func TestSecurityFlightAuthentication(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, filepath.Join(dir, "data"), "--config", secureConfig(t, dir, ""))
	c := s.client()
	ctx := context.Background()

	_, err := c.Execute(ctx, "SELECT 1")
	wantCode(t, err, codes.Unauthenticated)
	_, err = c.Client.AuthenticateBasicToken(ctx, "root", "wrong-password-xyzzy")
	wantCode(t, err, codes.Unauthenticated)
	_, err = c.Client.AuthenticateBasicToken(ctx, "nobody", "root-pw")
	wantCode(t, err, codes.Unauthenticated)
	_, err = c.Execute(bearer("not-a-key"), "SELECT 1")
	wantCode(t, err, codes.Unauthenticated)

	root := login(t, c, "root", "root-pw")
	if _, err := ingestRecs(root, c, "events", modeCreate, idBatch(0, 5)); err != nil {
		t.Fatal(err)
	}
	// basic credentials on a call, an API key, and JWTs signed by an issuer
	basicCtx := metadata.AppendToOutgoingContext(ctx, "authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("rob:rob-pw")))
	now := time.Now()
	for name, cctx := range map[string]context.Context{
		"basic_per_call": basicCtx,
		"api_key":        bearer("key-events-0123456789"),
		"jwt_hs256":      bearer(hsToken(t, jwt.MapClaims{"sub": "svc", "exp": now.Add(time.Minute).Unix(), "grants": []string{"read:ev*"}})),
		"jwt_in_skew":    bearer(hsToken(t, jwt.MapClaims{"sub": "svc", "exp": now.Add(-5 * time.Second).Unix(), "roles": []string{"reader"}})),
	} {
		n, err := count(t, cctx, c, "SELECT count(*) FROM events")
		if err != nil || n != 5 {
			t.Errorf("%s: count %d, %v", name, n, err)
		}
	}
	expired := bearer(hsToken(t, jwt.MapClaims{"sub": "svc", "exp": now.Add(-time.Hour).Unix(), "roles": []string{"admin"}}))
	_, err = c.Execute(expired, "SELECT 1")
	wantCode(t, err, codes.Unauthenticated)
	forged, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "x", "exp": now.Add(time.Hour).Unix(), "roles": []string{"admin"}}).SignedString([]byte("some-other-secret-some-other-secret"))
	_, err = c.Execute(bearer(forged), "SELECT 1")
	wantCode(t, err, codes.Unauthenticated)

	// the grpc health probe needs no credentials
	hc := healthpb.NewHealthClient(mustConn(t, s.addr))
	if r, err := hc.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil || r.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health: %v %v", r, err)
	}
	if strings.Contains(s.logs.String(), "wrong-password-xyzzy") || strings.Contains(s.logs.String(), "rob-pw") {
		t.Fatal("a password reached the log")
	}
}

func TestSecurityFlightAuthorization(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, filepath.Join(dir, "data"), "--config", secureConfig(t, dir, ""))
	c := s.client()
	root := login(t, c, "root", "root-pw")
	for _, table := range []string{"events", "secret"} {
		if _, err := ingestRecs(root, c, table, modeCreate, idBatch(0, 3)); err != nil {
			t.Fatal(err)
		}
	}
	alice := login(t, c, "alice", "alice-pw")
	if n, err := count(t, alice, c, "SELECT count(*) FROM events"); err != nil || n != 3 {
		t.Fatalf("alice reads events: %d %v", n, err)
	}
	for _, tc := range []struct{ name, sql, table string }{
		{"direct", "SELECT * FROM secret", "secret"},
		{"missing_table_same_answer", "SELECT * FROM nosuch", "nosuch"},
		{"join", "SELECT * FROM events e JOIN secret s ON e.id = s.id", "secret"},
		{"subquery", "SELECT * FROM events WHERE id IN (SELECT id FROM secret)", "secret"},
		{"scalar_subquery", "SELECT (SELECT max(id) FROM SECRET)", "SECRET"},
		{"cte", "WITH x AS (SELECT * FROM secret) SELECT * FROM x", "secret"},
		{"union", "SELECT id FROM events UNION ALL SELECT id FROM secret", "secret"},
		{"qualified", "SELECT * FROM miniodb.main.secret", "secret"},
		{"insert_from_secret", "INSERT INTO events SELECT * FROM secret", "secret"},
		{"drop", "DROP TABLE events", "events"},
		{"drop_missing", "DROP TABLE IF EXISTS nosuch", "nosuch"},
		{"create", "CREATE TABLE t2 (a INTEGER)", "t2"},
		{"ctas", "CREATE TABLE t3 AS SELECT 1 AS a", "t3"},
		{"insert_other", "INSERT INTO secret VALUES (1, 'x')", "secret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Execute(alice, tc.sql)
			wantCode(t, err, codes.PermissionDenied, `"`+tc.table+`"`)
			if strings.Contains(tc.name, "missing") && strings.Contains(err.Error(), "exist") {
				t.Fatalf("refusal tells existence: %v", err)
			}
			_, err = c.ExecuteUpdate(alice, tc.sql)
			wantCode(t, err, codes.PermissionDenied, `"`+tc.table+`"`)
			_, err = c.Prepare(alice, tc.sql)
			wantCode(t, err, codes.PermissionDenied, `"`+tc.table+`"`)
		})
	}
	if n, err := c.ExecuteUpdate(alice, "INSERT INTO events VALUES (10, 'a')"); err != nil || n != 1 {
		t.Fatalf("alice inserts into events: %d %v", n, err)
	}
	_, err := ingestRecs(alice, c, "secret", modeAppend, idBatch(10, 1))
	wantCode(t, err, codes.PermissionDenied, `"secret"`)
	_, err = ingestRecs(alice, c, "events", modeReplace, idBatch(10, 1))
	wantCode(t, err, codes.PermissionDenied, `admin on table "events"`)
	if _, err := ingestRecs(alice, c, "events", modeAppend, idBatch(20, 2)); err != nil {
		t.Fatalf("alice appends to events: %v", err)
	}

	// a ticket planned by root is checked again for whoever fetches it
	info, err := c.Execute(root, "SELECT * FROM secret")
	if err != nil {
		t.Fatal(err)
	}
	rdr, err := c.DoGet(alice, info.Endpoint[0].Ticket)
	if err == nil {
		for rdr.Next() {
		}
		err = rdr.Err()
		rdr.Release()
	}
	wantCode(t, err, codes.PermissionDenied, `"secret"`)

	// GetTables shows only what the caller may read
	if got := tableNames(t, alice, c); !slices.Equal(got, []string{"events"}) {
		t.Fatalf("alice sees %v", got)
	}
	if got := tableNames(t, root, c); !slices.Equal(got, []string{"events", "secret"}) {
		t.Fatalf("root sees %v", got)
	}
	rob := login(t, c, "rob", "rob-pw")
	if n, err := count(t, rob, c, "SELECT count(*) FROM secret"); err != nil || n != 3 {
		t.Fatalf("reader reads secret: %d %v", n, err)
	}
	_, err = ingestRecs(rob, c, "events", modeAppend, idBatch(30, 1))
	wantCode(t, err, codes.PermissionDenied, `write on table "events"`)
}

func tableNames(t *testing.T, ctx context.Context, c *flightsql.Client) []string {
	t.Helper()
	info, err := c.GetTables(ctx, &flightsql.GetTablesOpts{})
	if err != nil {
		t.Fatal(err)
	}
	rdr, err := c.DoGet(ctx, info.Endpoint[0].Ticket)
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Release()
	var out []string
	for rdr.Next() {
		col := rdr.RecordBatch().Column(2).(*array.String)
		for i := range col.Len() {
			out = append(out, col.Value(i))
		}
	}
	if err := rdr.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSecurityRESTAndOlapService(t *testing.T) {
	dir := t.TempDir()
	s := startAPIServer(t, filepath.Join(dir, "data"), "--config", secureConfig(t, dir, ""))
	root := login(t, s.flight, "root", "root-pw")
	for _, table := range []string{"events", "secret"} {
		if _, err := ingestRecs(root, s.flight, table, modeCreate, idBatch(0, 3)); err != nil {
			t.Fatal(err)
		}
	}
	rest := func(user, pw, method, path, body string) (int, string, http.Header) {
		req, _ := http.NewRequest(method, "http://"+s.rest+path, strings.NewReader(body))
		if user != "" {
			req.SetBasicAuth(user, pw)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	code, body, hdr := rest("", "", "POST", "/v1/query", `{"sql":"SELECT 1"}`)
	if code != 401 || hdr.Get("WWW-Authenticate") == "" || !strings.Contains(body, "UNAUTHENTICATED") {
		t.Fatalf("no credentials: %d %s %v", code, body, hdr)
	}
	if code, _, _ := rest("alice", "bad", "GET", "/v1/tables", ""); code != 401 {
		t.Fatalf("bad password: %d", code)
	}
	if code, body, _ := rest("", "", "GET", "/v1/health", ""); code != 200 {
		t.Fatalf("health without credentials: %d %s", code, body)
	}
	for _, tc := range []struct {
		user, method, path, body string
		code                     int
		mention                  string
	}{
		{"alice", "POST", "/v1/query", `{"sql":"SELECT count(*) AS n FROM events"}`, 200, `"n"`},
		{"alice", "POST", "/v1/query", `{"sql":"SELECT * FROM events, secret"}`, 403, `read on table \"secret\"`},
		{"alice", "POST", "/v1/query", `{"sql":"SELECT * FROM nosuch"}`, 403, `\"nosuch\"`},
		{"alice", "GET", "/v1/tables", "", 200, `"events"`},
		{"alice", "GET", "/v1/tables/secret", "", 403, `\"secret\"`},
		{"alice", "GET", "/v1/tables/nosuch", "", 403, `\"nosuch\"`},
		{"alice", "DELETE", "/v1/tables/events", "", 403, `admin on table \"events\"`},
		{"alice", "POST", "/v1/tables", `{"table_name":"t9"}`, 403, `\"t9\"`},
		{"alice", "POST", "/v1/data", `{"table":"secret","id":"1","payload":{"a":1}}`, 403, `write on table \"secret\"`},
		{"alice", "POST", "/v1/data", `{"table":"events","id":"x","payload":{"a":1}}`, 0, ``}, // allowed (the row itself may not fit)
		{"alice", "POST", "/v1/metadata/backup", `{}`, 403, `admin role`},
		{"root", "POST", "/v1/metadata/backup", `{}`, 0, ``}, // whatever the backup service answers, not 401/403
		{"root", "POST", "/v1/query", `{"sql":"SELECT count(*) AS n FROM secret"}`, 200, `"n"`},
	} {
		pw := map[string]string{"alice": "alice-pw", "root": "root-pw"}[tc.user]
		code, body, _ := rest(tc.user, pw, tc.method, tc.path, tc.body)
		if tc.code == 0 {
			if code == 401 || code == 403 {
				t.Errorf("%s %s %s: %d %s", tc.user, tc.method, tc.path, code, body)
			}
			continue
		}
		if code != tc.code || !strings.Contains(body, tc.mention) {
			t.Errorf("%s %s %s: %d %s; want %d mentioning %s", tc.user, tc.method, tc.path, code, body, tc.code, tc.mention)
		}
	}
	if _, body, _ := rest("alice", "alice-pw", "GET", "/v1/tables", ""); strings.Contains(body, "secret") {
		t.Fatalf("alice lists secret: %s", body)
	}

	// OlapService: the gRPC interceptors and the same checks
	_, err := s.olap.Query(context.Background(), &olapv1.QueryRequest{Sql: "SELECT 1"})
	wantCode(t, err, codes.Unauthenticated)
	alice := login(t, s.flight, "alice", "alice-pw")
	_, err = s.olap.Query(alice, &olapv1.QueryRequest{Sql: "SELECT * FROM secret"})
	wantCode(t, err, codes.PermissionDenied, `"secret"`)
	if r, err := s.olap.Query(alice, &olapv1.QueryRequest{Sql: "SELECT count(*) FROM events"}); err != nil || r.RowCount != 1 {
		t.Fatalf("olap query: %v %v", r, err)
	}
	lt, err := s.olap.ListTables(alice, &olapv1.ListTablesRequest{})
	if err != nil || len(lt.Tables) != 1 || lt.Tables[0].Name != "events" {
		t.Fatalf("olap list: %v %v", lt, err)
	}
	_, err = s.olap.DropTable(alice, &olapv1.DropTableRequest{TableName: "secret", Cascade: true})
	wantCode(t, err, codes.PermissionDenied, `"secret"`)
	_, err = s.olap.TriggerBackup(alice, &olapv1.TriggerBackupRequest{})
	wantCode(t, err, codes.PermissionDenied, "admin role")
	_, err = s.olap.TriggerBackup(root, &olapv1.TriggerBackupRequest{})
	if c := statusCode(err); c == codes.PermissionDenied || c == codes.Unauthenticated {
		t.Fatalf("root backup: %v", err)
	}
}

func TestSecurityPublicAddressNeedsAuth(t *testing.T) {
	dir := t.TempDir()
	cfg := secureConfig(t, dir, "")
	cmd := newRootCmd()
	cmd.SetArgs([]string{"serve", "--check-config", "--config", cfg, "--grpc-addr", "0.0.0.0:8080", "--rest-addr", "0.0.0.0:8081"})
	cmd.SetOut(io.Discard)
	if err := cmd.Execute(); err != nil {
		t.Fatalf("a public address with authentication refused: %v", err)
	}
	plain := filepath.Join(dir, "plain.yaml")
	writeFile(t, plain, "security:\n  mode: none\n")
	cmd = newRootCmd()
	cmd.SetArgs([]string{"serve", "--check-config", "--config", plain, "--grpc-addr", "0.0.0.0:8080"})
	cmd.SetOut(io.Discard)
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "--insecure") {
		t.Fatalf("mode none on a public address: %v", err)
	}
}

func mustConn(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, bounded(grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func statusCode(err error) codes.Code { return status.Code(err) }

func TestSecurityConfigFromEnvironment(t *testing.T) {
	cfg, err := loadConfig("", []string{"MINIODB_SECURITY_MODE=auth", "MINIODB_SECURITY_JWT_SECRET=" + testJWTSecret,
		"MINIODB_SECURITY_RATE_LIMIT_REQUESTS_PER_SECOND=2.5", "MINIODB_QUERY_TIMEOUT=3s", "MINIODB_SECURITY_ENABLE_TLS=false"})
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.authEnabled() || cfg.Security.RateLimit.Rate != 2.5 || cfg.Query.Timeout != 3*time.Second {
		t.Fatalf("%+v %+v", cfg.Security, cfg.Query)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
}
