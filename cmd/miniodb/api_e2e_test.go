package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	olapv1 "github.com/miniodb/miniodb/api/proto/olap/v1"
)

// apiServer is a node with its REST address, an OlapService client on the
// gRPC port (the one Flight SQL uses) and a Flight SQL client.
type apiServer struct {
	*server
	rest   string
	olap   olapv1.OlapServiceClient
	health healthpb.HealthClient
	flight *flightsql.Client
}

func startAPIServer(t *testing.T, dataDir string, args ...string) *apiServer {
	t.Helper()
	srv := startServer(t, dataDir, append([]string{"--rest-addr", freeAddr(t)}, args...)...)
	s := &apiServer{server: srv, rest: srv.restAddr()}
	conn, err := grpc.NewClient(s.addr, bounded(grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	s.olap, s.health, s.flight = olapv1.NewOlapServiceClient(conn), healthpb.NewHealthClient(conn), s.client()
	return s
}

// call sends a REST request and decodes a JSON answer into out (if not
// nil), returning the status.
func (s *apiServer) call(t *testing.T, method, path, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+s.rest+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode
}

// metricsText is the /metrics of the node whose REST address is rest.
func metricsText(t testing.TB, rest string) string {
	t.Helper()
	resp, err := http.Get("http://" + rest + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// waitMetrics waits until /metrics holds every line prefix in want (a
// Flight query is counted when its stream's context ends, just after the
// client has read it).
func (s *apiServer) waitMetrics(t *testing.T, want []string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b := metricsText(t, s.rest)
		var missing []string
		for _, w := range want {
			if !strings.Contains(b, w) {
				missing = append(missing, w)
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("/metrics lacks %q", missing)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitLog waits until one line of the server's log holds every part (the
// log reaches the test through a pipe, after the response).
func (s *apiServer) waitLog(t *testing.T, parts ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, line := range strings.Split(s.logs.String(), "\n") {
			n := 0
			for _, p := range parts {
				if strings.Contains(line, p) {
					n++
				}
			}
			if n == len(parts) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Errorf("no server log line holds %q", parts)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestAPIOnePortEveryPath: OlapService, Flight SQL and REST on one node see
// the same tables and rows; metrics, health and logs cover all three.
func TestAPIOnePortEveryPath(t *testing.T) {
	s := startAPIServer(t, t.TempDir())
	ctx := context.Background()
	if _, err := s.olap.CreateTable(ctx, &olapv1.CreateTableRequest{TableName: "users", IfNotExists: true,
		Config: &olapv1.TableConfig{BufferSize: 1000, FlushIntervalSeconds: 30, RetentionDays: 365, BackupEnabled: true}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.olap.Write(ctx, &olapv1.WriteRequest{Table: "users", Id: "user-123", Timestamp: timestamppb.Now(),
		Payload: &structpb.Struct{Fields: map[string]*structpb.Value{"name": structpb.NewStringValue("John"), "age": structpb.NewNumberValue(30)}}}); err != nil {
		t.Fatal(err)
	}
	if code := s.call(t, "POST", "/v1/data", `[{"table":"users","id":"u2","payload":{"name":"Ann","age":41}}]`, nil); code != 200 {
		t.Fatalf("REST write: %d", code)
	}
	batch := idBatch(0, 100)
	defer batch.Release()
	if _, err := ingestRecs(ctx, s.flight, "events", modeCreate, batch); err != nil {
		t.Fatal(err)
	}
	// Each path reads what the others wrote.
	if got := queryInts(t, s.flight, "SELECT count(*) FROM users WHERE age > 25"); got[0] != 2 {
		t.Errorf("Flight SQL sees %d users, want 2", got[0])
	}
	qr, err := s.olap.Query(ctx, &olapv1.QueryRequest{Sql: "SELECT count(*) AS n FROM events"})
	if err != nil || qr.ResultJson != `[{"n":100}]` {
		t.Errorf("OlapService query of Flight rows: %v, %v", qr, err)
	}
	var res struct {
		Rows []map[string]any `json:"rows"`
	}
	if code := s.call(t, "POST", "/v1/query", `{"sql":"SELECT u.name FROM users u WHERE u.id = 'user-123'"}`, &res); code != 200 || len(res.Rows) != 1 || res.Rows[0]["name"] != "John" {
		t.Errorf("REST query: %d %v", code, res.Rows)
	}
	var list struct {
		Total int `json:"total"`
	}
	if s.call(t, "GET", "/v1/tables", "", &list); list.Total != 2 {
		t.Errorf("tables listed: %d, want 2 (users, events)", list.Total)
	}
	s.waitMetrics(t, []string{
		`miniodb_requests_total{method="write",status="success",table="users"} 2`,
		`miniodb_requests_total{method="flight_do_put",status="success",table="events"} 1`,
		`miniodb_requests_total{method="flight_do_get",status="success",table="users"} 1`,
		`miniodb_data_points_total{table="events"} 100`,
		`miniodb_query_latency_seconds_count{sql_type="select",table="events"} 1`,
		`miniodb_query_latency_seconds_count{sql_type="select",table="users"} 2`,
		`miniodb_table_record_count{table="events"} 100`,
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		r, err := s.health.Check(ctx, &healthpb.HealthCheckRequest{Service: "olap.v1.OlapService"})
		if err == nil && r.Status == healthpb.HealthCheckResponse_SERVING {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("gRPC health: %v, %v", r, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var h struct {
		Status string `json:"status"`
	}
	if code := s.call(t, "GET", "/v1/health", "", &h); code != 200 || h.Status != "healthy" {
		t.Errorf("/v1/health: %d %v", code, h)
	}
	for _, want := range []string{`"grpc.method":"DoPut"`, `"grpc.service":"olap.v1.OlapService"`, `"http.path":"/v1/query"`, `"request_id":"`} {
		s.waitLog(t, want)
	}
}

// TestAPITableManagementConfig: the config file's table_management rules
// hold on the Flight SQL, OlapService and REST paths; per-table settings
// from the catalog and from the tables: section drive flushes and show in
// DescribeTable; the slow-query log follows log.slow_query_threshold.
func TestAPITableManagementConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "miniodb.yaml")
	writeFile(t, cfg, `
table_management:
  auto_create_tables: false
  default_table: app_default
  max_tables: 3
  table_name_pattern: "^app_[a-z_]+$"
tables:
  app_users:
    buffer_size: 5
    retention_days: 30
    properties:
      owner: file
log:
  slow_query_threshold: 1ns
`)
	s := startAPIServer(t, filepath.Join(dir, "data"), "--config", cfg)
	ctx := context.Background()
	batch := idBatch(0, 10)
	defer batch.Release()
	_, err := ingestRecs(ctx, s.flight, "app_flight", modeCreate, batch)
	wantCode(t, err, codes.NotFound, "auto_create_tables is false")
	_, err = s.olap.Write(ctx, &olapv1.WriteRequest{Table: "app_users", Id: "1"})
	wantCode(t, err, codes.NotFound, "auto_create_tables is false")

	type errBody struct {
		Message string `json:"message"`
	}
	var eb errBody
	if code := s.call(t, "POST", "/v1/tables", `{"table_name":"users"}`, &eb); code != 400 || !strings.Contains(eb.Message, "table_name_pattern") {
		t.Errorf("name outside the pattern: %d %v", code, eb)
	}
	for _, body := range []string{`{"table_name":"app_users"}`, `{"table_name":"app_orders","config":{"buffer_size":3}}`, `{"table_name":"app_default"}`} {
		if code := s.call(t, "POST", "/v1/tables", body, nil); code != 200 {
			t.Fatalf("create %s: %d", body, code)
		}
	}
	if code := s.call(t, "POST", "/v1/tables", `{"table_name":"app_fourth"}`, &eb); code != 429 || !strings.Contains(eb.Message, "max_tables") {
		t.Errorf("over max_tables: %d %v", code, eb)
	}
	_, err = ingestRecs(ctx, s.flight, "app_flight", modeCreateAppend, batch)
	wantCode(t, err, codes.NotFound)
	qty := qtyBatch(10)
	defer qty.Release()
	if _, err := ingestRecs(ctx, s.flight, "app_orders", modeAppend, qty); err != nil {
		t.Errorf("Flight append into an existing table: %v", err)
	}
	if code := s.call(t, "POST", "/v1/data", `{"id":"d1","payload":{"x":1}}`, nil); code != 200 {
		t.Errorf("write to the default table: %d", code)
	}
	var desc struct {
		TableInfo struct {
			Config struct {
				BufferSize    int               `json:"buffer_size"`
				RetentionDays int               `json:"retention_days"`
				Properties    map[string]string `json:"properties"`
			} `json:"config"`
			Stats struct {
				FileCount int `json:"file_count"`
			} `json:"stats"`
		} `json:"table_info"`
	}
	s.call(t, "GET", "/v1/tables/app_users", "", &desc)
	if c := desc.TableInfo.Config; c.BufferSize != 5 || c.RetentionDays != 30 || c.Properties["owner"] != "file" {
		t.Errorf("app_users config in force %+v, want the tables: section's", c)
	}
	// 6 rows > buffer_size 5 (tables: section), 10 Flight rows > 3 (catalog).
	var rows []string
	for i := range 6 {
		rows = append(rows, fmt.Sprintf(`{"table":"app_users","id":"%d"}`, i))
	}
	s.call(t, "POST", "/v1/data", "["+strings.Join(rows, ",")+"]", nil)
	for _, table := range []string{"app_users", "app_orders"} {
		deadline := time.Now().Add(30 * time.Second)
		for {
			s.call(t, "GET", "/v1/tables/"+table, "", &desc)
			if desc.TableInfo.Stats.FileCount > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s was not flushed by its buffer_size", table)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	s.call(t, "POST", "/v1/query", `{"sql":"SELECT count(*) FROM app_orders"}`, nil)
	s.waitLog(t, `"msg":"slow query"`, `"sql":"SELECT count(*) FROM app_orders"`)
}

// TestAPITablesSurviveRestart: a table made through the API keeps its
// config and rows across a restart.
func TestAPITablesSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	s := startAPIServer(t, dir)
	if code := s.call(t, "POST", "/v1/tables", `{"table_name":"keep","config":{"buffer_size":7,"retention_days":9,"properties":{"a":"b"}}}`, nil); code != 200 {
		t.Fatal(code)
	}
	s.call(t, "POST", "/v1/data", `{"table":"keep","id":"1","payload":{"v":1.5}}`, nil)
	s.stop()
	s.restart()
	var desc struct {
		TableInfo struct {
			Config map[string]any `json:"config"`
			Stats  struct {
				RecordCount int `json:"record_count"`
			} `json:"stats"`
		} `json:"table_info"`
	}
	if code := s.call(t, "GET", "/v1/tables/keep", "", &desc); code != 200 {
		t.Fatal(code)
	}
	c := desc.TableInfo.Config
	if c["buffer_size"] != 7.0 || c["retention_days"] != 9.0 || c["properties"].(map[string]any)["a"] != "b" || desc.TableInfo.Stats.RecordCount != 1 {
		t.Errorf("after restart: %v", desc.TableInfo)
	}
}

// qtyBatch is n rows of one int64 column, qty.
func qtyBatch(n int64) arrow.RecordBatch {
	b := array.NewInt64Builder(memory.DefaultAllocator)
	defer b.Release()
	for i := range n {
		b.Append(i)
	}
	col := b.NewArray()
	defer col.Release()
	return array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "qty", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil), []arrow.Array{col}, n)
}

func TestServeCheckConfigREST(t *testing.T) {
	tests := []struct {
		args []string
		ok   bool
	}{
		{[]string{"--rest-addr", "0.0.0.0:8081"}, false},
		{[]string{"--rest-addr", "0.0.0.0:8081", "--insecure", "--grpc-addr", "0.0.0.0:8080"}, true},
		{[]string{"--rest-addr", "nonsense"}, false},
		{[]string{"--rest-addr", ""}, true},
	}
	for _, tt := range tests {
		cmd := newRootCmd()
		cmd.SetOut(io.Discard)
		cmd.SetArgs(append([]string{"serve", "--check-config"}, tt.args...))
		if err := cmd.Execute(); (err == nil) != tt.ok {
			t.Errorf("%v: %v, want ok=%v", tt.args, err, tt.ok)
		}
	}
	for _, yaml := range []string{"table_management:\n  table_name_pattern: \"[\"\n", "table_management:\n  max_tables: -1\n", "metrics:\n  enabled: true\n  path: metrics\n"} {
		path := filepath.Join(t.TempDir(), "c.yaml")
		writeFile(t, path, yaml)
		c, err := loadConfig(path, nil)
		if err == nil {
			err = c.Validate()
		}
		if err == nil {
			t.Errorf("%q validated", yaml)
		}
	}
	if c, err := loadConfig(filepath.Join("..", "..", "config.example.yaml"), nil); err != nil || c.Validate() != nil {
		t.Errorf("config.example.yaml: %v", err)
	}
	c, err := loadConfig("", []string{"MINIODB_TABLE_MANAGEMENT_MAX_TABLES=5", "MINIODB_SERVER_REST_PORT=127.0.0.1:9999", "MINIODB_LOG_SLOW_QUERY_THRESHOLD=250ms"})
	if err != nil || c.TableManagement.MaxTables != 5 || c.Server.RESTPort != "127.0.0.1:9999" || c.Log.SlowQueryThreshold != 250*time.Millisecond {
		t.Errorf("environment: %+v %v", c, err)
	}
	if d := defaultConfig(); d.Server.RESTPort != "127.0.0.1:8081" || !d.TableManagement.AutoCreateTables || d.TableManagement.DefaultTable != "default" || d.Metrics.Path != "/metrics" {
		t.Errorf("defaults: %+v", d)
	}
}
