package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.uber.org/zap"

	"github.com/miniodb/miniodb/ingest"
)

// exchange is one REST call of a scenario and what it must answer.
type exchange struct {
	name        string
	method      string
	path        string
	contentType string
	body        string
	header      []string // name, value pairs
	status      int
	contains    []string // substrings of the response body
	check       func(t *testing.T, body []byte)
}

func (e *env) run(t *testing.T, v *validator, steps []exchange) {
	t.Helper()
	for _, x := range steps {
		t.Run(x.name, func(t *testing.T) {
			ct := x.contentType
			if ct == "" && x.body != "" {
				ct = "application/json"
			}
			resp, body := e.do(x.method, x.path, ct, x.body, x.header...)
			if resp.StatusCode != x.status {
				t.Fatalf("%s %s = %d %s, want %d", x.method, x.path, resp.StatusCode, clip(string(body), 1000), x.status)
			}
			if resp.Header.Get(RequestIDHeader) == "" {
				t.Errorf("no %s header", RequestIDHeader)
			}
			for _, c := range x.contains {
				if !bytes.Contains(body, []byte(c)) {
					t.Errorf("body %s does not contain %q", clip(string(body), 1000), c)
				}
			}
			if resp.StatusCode >= 400 && !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				t.Errorf("error with Content-Type %q, want JSON", resp.Header.Get("Content-Type"))
			}
			if x.check != nil {
				x.check(t, body)
			}
			req, _ := http.NewRequest(x.method, e.rest.URL+x.path, nil)
			if ct != "" {
				req.Header.Set("Content-Type", ct)
			}
			for i := 0; i+1 < len(x.header); i += 2 {
				req.Header.Set(x.header[i], x.header[i+1])
			}
			v.check(req, []byte(x.body), resp, body)
		})
	}
}

func jsonCheck(want map[string]any) func(t *testing.T, body []byte) {
	return func(t *testing.T, body []byte) {
		t.Helper()
		var got map[string]any
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("body is not a JSON object: %v", err)
		}
		for path, w := range want {
			if g := dig(got, path); !equalJSON(g, w) {
				t.Errorf("%s = %v, want %v", path, g, w)
			}
		}
	}
}

// dig follows a dotted path (numbers index arrays).
func dig(v any, path string) any {
	for _, p := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			i := 0
			for _, c := range p {
				i = i*10 + int(c-'0')
			}
			if i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func equalJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

// TestREST runs every endpoint of the seed's REST API, the failures
// included, and validates each exchange against the OpenAPI document.
func TestREST(t *testing.T) {
	e := newEnv(t, envOpts{maxRequest: 64 << 10})
	v := newValidator(t)
	big := `{"table":"users","id":"x","payload":{"s":"` + strings.Repeat("x", 70<<10) + `"}}`
	e.run(t, v, []exchange{
		{name: "health", method: "GET", path: "/v1/health", status: 200,
			check: jsonCheck(map[string]any{"status": "healthy", "node_id": "node-t", "details.duckdb": "healthy",
				"details.catalog": "healthy", "details.object_store": "healthy", "details.wal_disk": "healthy"})},
		{name: "create_table", method: "POST", path: "/v1/tables", status: 200,
			body:  `{"table_name":"users","config":{"buffer_size":1000,"flush_interval_seconds":30,"retention_days":365,"backup_enabled":true,"properties":{"description":"用户数据表","owner":"user-service"}}}`,
			check: jsonCheck(map[string]any{"success": true, "message": "table users created"})},
		{name: "create_table_again_if_not_exists", method: "POST", path: "/v1/tables", status: 200,
			body: `{"table_name":"users","if_not_exists":true}`, contains: []string{"already exists"}},
		{name: "create_table_exists", method: "POST", path: "/v1/tables", status: 409,
			body: `{"table_name":"users"}`, check: jsonCheck(map[string]any{"code": 6, "status": "ALREADY_EXISTS"})},
		{name: "create_table_bad_name", method: "POST", path: "/v1/tables", status: 400,
			body: `{"table_name":"1users"}`, contains: []string{`"code":3`, "must match"}},
		{name: "create_table_no_name", method: "POST", path: "/v1/tables", status: 400, body: `{}`, contains: []string{"table_name is empty"}},
		{name: "create_table_bad_json", method: "POST", path: "/v1/tables", status: 400, body: `{"table_name":`, contains: []string{"request body"}},
		{name: "create_table_unknown_field", method: "POST", path: "/v1/tables", status: 400, body: `{"name":"x"}`, contains: []string{"unknown field"}},
		{name: "create_table_negative_config", method: "POST", path: "/v1/tables", status: 400,
			body: `{"table_name":"neg","config":{"buffer_size":-1}}`, contains: []string{"must not be negative"}},
		{name: "create_table_shard_key_not_a_column", method: "POST", path: "/v1/tables", status: 400,
			body: `{"table_name":"sk","config":{"shard_key":"user_id"}}`, contains: []string{`shard_key \"user_id\" is not a column`}},
		{name: "create_table_oversized", method: "POST", path: "/v1/tables", status: 413,
			body: `{"table_name":"big","config":{"properties":{"p":"` + strings.Repeat("x", 70<<10) + `"}}}`, contains: []string{"exceeds the limit of 65536 bytes"}},
		{name: "write_one", method: "POST", path: "/v1/data", status: 200,
			body:  `{"table":"users","id":"user-123","timestamp":"2024-01-01T10:00:00Z","payload":{"name":"John Doe","age":30,"score":95.5}}`,
			check: jsonCheck(map[string]any{"success": true, "rows_written": 1})},
		{name: "write_array", method: "POST", path: "/v1/data", status: 200,
			body:  `[{"table":"users","id":"u2","payload":{"name":"Ann","age":41}},{"table":"orders","id":"o1","payload":{"user_id":"u2","amount":9.5}}]`,
			check: jsonCheck(map[string]any{"rows_written": 2})},
		{name: "write_ndjson", method: "POST", path: "/v1/data", contentType: "application/x-ndjson", status: 200,
			body:  "{\"table\":\"users\",\"id\":\"u3\",\"payload\":{\"age\":19}}\n{\"table\":\"users\",\"id\":\"u4\",\"payload\":{\"age\":52,\"vip\":true}}\n",
			check: jsonCheck(map[string]any{"rows_written": 2})},
		{name: "write_default_table", method: "POST", path: "/v1/data", status: 200, body: `{"id":"d1","payload":{"x":1}}`,
			contains: []string{"written to default"}},
		{name: "write_type_conflict", method: "POST", path: "/v1/data", status: 400,
			body: `{"table":"users","id":"bad","payload":{"age":"old"}}`, contains: []string{`column \"age\" has type int64`, `\"old\"`}},
		{name: "write_bad_json", method: "POST", path: "/v1/data", status: 400, body: `{"table":"users",`, contains: []string{"malformed JSON"}},
		{name: "write_empty", method: "POST", path: "/v1/data", status: 400, body: ` `, contentType: "application/json", contains: []string{"empty"}},
		{name: "write_bad_table_name", method: "POST", path: "/v1/data", status: 400, body: `{"table":"no-dash","id":"1"}`, contains: []string{"must match"}},
		{name: "write_oversized", method: "POST", path: "/v1/data", status: 413, body: big, contains: []string{`"code":8`, "RESOURCE_EXHAUSTED"}},
		{name: "query_rows", method: "POST", path: "/v1/query", status: 200,
			body:  `{"sql":"SELECT COUNT(*) AS n FROM users WHERE age > 25"}`,
			check: jsonCheck(map[string]any{"rows": []any{map[string]any{"n": 3}}, "row_count": 1, "columns.0.name": "n", "columns.0.type": "int64"})},
		{name: "query_join", method: "POST", path: "/v1/query", status: 200,
			body:  `{"sql":"SELECT u.name, o.amount FROM users u JOIN orders o ON u.id = o.user_id WHERE u.age > 25"}`,
			check: jsonCheck(map[string]any{"rows": []any{map[string]any{"name": "Ann", "amount": 9.5}}})},
		{name: "query_arrow", method: "POST", path: "/v1/query", status: 200, header: []string{"Accept", ArrowStreamType},
			body: `{"sql":"SELECT id, age FROM users ORDER BY id"}`, check: arrowRows(4)},
		{name: "query_unacceptable", method: "POST", path: "/v1/query", status: 406, header: []string{"Accept", "text/csv"},
			body: `{"sql":"SELECT 1"}`, contains: []string{"application/json"}},
		{name: "query_unknown_table", method: "POST", path: "/v1/query", status: 404, body: `{"sql":"SELECT * FROM nope"}`, contains: []string{"nope"}},
		{name: "query_syntax_error", method: "POST", path: "/v1/query", status: 400, body: `{"sql":"SELEKT 1"}`, contains: []string{"SELEKT"}},
		{name: "query_refused", method: "POST", path: "/v1/query", status: 403, body: `{"sql":"SELECT * FROM read_csv('/etc/passwd')"}`},
		{name: "query_ddl_refused", method: "POST", path: "/v1/query", status: 403, body: `{"sql":"DROP TABLE users"}`},
		{name: "query_empty", method: "POST", path: "/v1/query", status: 400, body: `{"sql":"  "}`, contains: []string{"sql is empty"}},
		{name: "query_bad_body", method: "POST", path: "/v1/query", status: 400, body: `["SELECT 1"]`},
		{name: "list_tables", method: "GET", path: "/v1/tables", status: 200,
			check: jsonCheck(map[string]any{"total": 3, "tables.0.name": "default", "tables.1.name": "orders", "tables.2.name": "users"})},
		{name: "list_tables_pattern", method: "GET", path: "/v1/tables?pattern=us*", status: 200, check: jsonCheck(map[string]any{"total": 1})},
		{name: "list_tables_bad_pattern", method: "GET", path: "/v1/tables?pattern=%5B", status: 400},
		{name: "describe_table", method: "GET", path: "/v1/tables/users", status: 200, check: jsonCheck(map[string]any{
			"table_info.name": "users", "table_info.config.buffer_size": 1000, "table_info.config.retention_days": 365,
			"table_info.config.backup_enabled": true, "table_info.config.properties.owner": "user-service",
			"stats.record_count": 4, "table_info.stats.record_count": 4, "table_info.columns.0.name": "id",
			"table_info.columns.1.name": "timestamp", "table_info.status": "active"})},
		{name: "describe_unknown_table", method: "GET", path: "/v1/tables/nope", status: 404, check: jsonCheck(map[string]any{"code": 5, "status": "NOT_FOUND"})},
		{name: "drop_table_with_rows_refused", method: "DELETE", path: "/v1/tables/orders", status: 412, contains: []string{"cascade=true"}},
		{name: "drop_table_bad_flag", method: "DELETE", path: "/v1/tables/orders?cascade=maybe", status: 400, contains: []string{"cascade"}},
		{name: "drop_table_cascade", method: "DELETE", path: "/v1/tables/orders?cascade=true", status: 200, contains: []string{"dropped"}},
		{name: "drop_unknown_table", method: "DELETE", path: "/v1/tables/orders", status: 404},
		{name: "drop_unknown_table_if_exists", method: "DELETE", path: "/v1/tables/orders?if_exists=true", status: 200, contains: []string{"does not exist"}},
		{name: "query_dropped_table", method: "POST", path: "/v1/query", status: 404, body: `{"sql":"SELECT * FROM orders"}`},
		{name: "stats", method: "GET", path: "/v1/stats", status: 200,
			check: jsonCheck(map[string]any{"node_id": "node-t", "storage_stats.tables": 2, "buffer_stats.buffered_rows": 5, "pools.0.name": "duckdb"})},
		{name: "nodes", method: "GET", path: "/v1/nodes", status: 200,
			check: jsonCheck(map[string]any{"total": 1, "nodes.0.id": "node-t", "nodes.0.status": "healthy", "nodes.0.address": "bufconn"})},
		{name: "pool_status", method: "GET", path: "/v1/pool/status", status: 200, check: jsonCheck(map[string]any{"pools.0.kind": "duckdb", "pools.0.max": 4})},
		{name: "metadata_backup", method: "POST", path: "/v1/metadata/backup", status: 200,
			body:  `{"backup_type":"full","description":"Manual backup before system upgrade"}`,
			check: jsonCheck(map[string]any{"success": true, "backup.tables": 2, "backup.description": "Manual backup before system upgrade"})},
		{name: "metadata_backup_incremental_refused", method: "POST", path: "/v1/metadata/backup", status: 400, body: `{"backup_type":"incremental"}`},
		{name: "metadata_backups", method: "GET", path: "/v1/metadata/backups", status: 200, check: jsonCheck(map[string]any{"total": 1})},
		{name: "metadata_recover_unknown", method: "POST", path: "/v1/metadata/recover", status: 404,
			body: `{"backup_file":"backup_20240115_103000.json","mode":"complete","force_overwrite":false,"backup_current":true}`},
		{name: "metadata_status", method: "GET", path: "/v1/metadata/status", status: 200, check: jsonCheck(map[string]any{"backups": 1, "tables": 2})},
		{name: "metadata_validate_unknown", method: "POST", path: "/v1/metadata/validate", status: 404, body: `{"backup_file":"backup_20240115_103000.json"}`},
		{name: "openapi", method: "GET", path: "/v1/openapi.json", status: 200, contains: []string{`"openapi": "3.0.3"`}},
		{name: "metrics", method: "GET", path: "/metrics", status: 200, contains: []string{
			`miniodb_requests_total{method="write",status="success",table="users"}`, `miniodb_data_points_total{table="users"} 4`,
			`miniodb_table_record_count{table="users"} 4`, `miniodb_buffer_size_bytes{node="node-t",table="users"}`}},
		{name: "unknown_path", method: "GET", path: "/v2/anything", status: 404, check: jsonCheck(map[string]any{"code": 5})},
		{name: "wrong_method", method: "PUT", path: "/v1/data", status: 405, body: "{}", contains: []string{"takes POST"}},
		{name: "request_id_echoed", method: "GET", path: "/v1/stats", status: 200, header: []string{RequestIDHeader, "my-id-1"},
			check: func(t *testing.T, _ []byte) {
				if n := e.logs.FilterField(zap.String("request_id", "my-id-1")).FilterMessage("finished request").Len(); n != 1 {
					t.Errorf("%d log lines with the client's request id, want 1", n)
				}
			}},
	})
}

// arrowRows checks an Arrow IPC stream body of n rows.
func arrowRows(n int64) func(t *testing.T, body []byte) {
	return func(t *testing.T, body []byte) {
		t.Helper()
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		rdr, err := ipc.NewReader(bytes.NewReader(body), ipc.WithAllocator(mem))
		if err != nil {
			t.Fatal(err)
		}
		defer rdr.Release()
		var rows int64
		for rdr.Next() {
			rows += rdr.RecordBatch().NumRows()
			if _, ok := rdr.RecordBatch().Column(0).(*array.String); !ok {
				t.Errorf("id comes back as %s, want utf8", rdr.RecordBatch().Column(0).DataType())
			}
		}
		if err := rdr.Err(); err != nil || rows != n {
			t.Errorf("rows = %d, err = %v; want %d", rows, err, n)
		}
	}
}

// TestRESTTablePolicy: with auto-creation off a write to a missing table
// is refused until the table is created; the table cap holds.
func TestRESTTablePolicy(t *testing.T) {
	e := newEnv(t, envOpts{policy: ingest.TablePolicy{NoAutoCreate: true, MaxTables: 2}})
	v := newValidator(t)
	e.run(t, v, []exchange{
		{name: "write_missing_table", method: "POST", path: "/v1/data", status: 404, body: `{"table":"a","id":"1"}`,
			contains: []string{"auto_create_tables is false"}},
		{name: "create_a", method: "POST", path: "/v1/tables", status: 200, body: `{"table_name":"a"}`},
		{name: "write_created_table", method: "POST", path: "/v1/data", status: 200, body: `{"table":"a","id":"1","payload":{"v":1}}`},
		{name: "create_b", method: "POST", path: "/v1/tables", status: 200, body: `{"table_name":"b"}`},
		{name: "create_c_over_cap", method: "POST", path: "/v1/tables", status: 429, body: `{"table_name":"c"}`,
			contains: []string{"max_tables is 2"}},
	})
}
