package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	olapv1 "github.com/miniodb/miniodb/api/proto/olap/v1"
	"github.com/miniodb/miniodb/query/sandbox"
)

// TestSandboxOverRowAPIs replays the sandbox's hostile statement list over
// the seed's row APIs: REST POST /v1/query (JSON and Arrow answers) and
// OlapService Query. Every statement must be refused (403 or 400,
// PermissionDenied or InvalidArgument); none may run. DDL is refused here
// too: these doors only run queries.
func TestSandboxOverRowAPIs(t *testing.T) {
	data, err := os.ReadFile("../../query/sandbox/testdata/hostile.sql")
	if err != nil {
		t.Fatal(err)
	}
	stmts := sandbox.ParseStatementFile(string(data))
	if len(stmts) < 60 {
		t.Fatalf("only %d hostile statements", len(stmts))
	}
	s := startAPIServer(t, filepath.Join(t.TempDir(), "data"))
	b := idBatch(0, 3)
	defer b.Release()
	if _, err := ingestRecs(context.Background(), s.flight, "t", modeCreate, b); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range stmts {
		if readsOurSchema(stmt) {
			continue
		}
		body, _ := json.Marshal(map[string]string{"sql": stmt})
		for _, accept := range []string{"application/json", "application/vnd.apache.arrow.stream"} {
			req, _ := http.NewRequest("POST", "http://"+s.rest+"/v1/query", strings.NewReader(string(body)))
			req.Header.Set("Accept", accept)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			msg, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusBadRequest {
				t.Errorf("REST (%s) %q: %d %s", accept, stmt, resp.StatusCode, msg)
			}
		}
		_, err := s.olap.Query(context.Background(), &olapv1.QueryRequest{Sql: stmt})
		if c := status.Code(err); c != codes.PermissionDenied && c != codes.InvalidArgument {
			t.Errorf("OlapService Query %q: %v", stmt, err)
		}
	}
	if got := queryInts(t, s.flight, "SELECT count(*) FROM t")[0]; got != 3 {
		t.Fatalf("table t has %d rows after the hostile statements, want 3", got)
	}
	t.Logf("%d hostile statements refused over REST (2 formats) and OlapService", len(stmts))
}
