package api

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	olapv1 "github.com/miniodb/miniodb/api/proto/olap/v1"
)

func wantCode(t *testing.T, err error, code codes.Code, mention ...string) {
	t.Helper()
	if status.Code(err) != code {
		t.Fatalf("got %v, want %s", err, code)
	}
	for _, m := range mention {
		if !strings.Contains(status.Convert(err).Message(), m) {
			t.Errorf("message %q does not name %q", status.Convert(err).Message(), m)
		}
	}
}

// TestOlapService calls every RPC as the seed's Go example does, then the
// failures.
func TestOlapService(t *testing.T) {
	e := newEnv(t, envOpts{maxRequest: 32 << 10})
	ctx := context.Background()
	c := e.olap

	_, err := c.CreateTable(ctx, &olapv1.CreateTableRequest{TableName: "users", IfNotExists: true, Config: &olapv1.TableConfig{
		BufferSize: 1000, FlushIntervalSeconds: 30, RetentionDays: 365, BackupEnabled: true,
		Properties: map[string]string{"description": "用户数据表", "owner": "user-service"}}})
	if err != nil {
		t.Fatal(err)
	}
	var hdr metadata.MD
	wr, err := c.Write(ctx, &olapv1.WriteRequest{Table: "users", Id: "user-123", Timestamp: timestamppb.Now(),
		Payload: &structpb.Struct{Fields: map[string]*structpb.Value{"name": structpb.NewStringValue("John"), "age": structpb.NewNumberValue(30)}}},
		grpc.Header(&hdr))
	if err != nil || !wr.Success || wr.RowsWritten != 1 {
		t.Fatalf("Write = %v, %v", wr, err)
	}
	if len(hdr.Get(RequestIDHeader)) != 1 {
		t.Errorf("response header %s missing: %v", RequestIDHeader, hdr)
	}
	qr, err := c.Query(ctx, &olapv1.QueryRequest{Sql: "SELECT COUNT(*) AS n, max(name) AS name FROM users WHERE age > 25"})
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(qr.ResultJson), &rows); err != nil || len(rows) != 1 || rows[0]["n"] != 1.0 || rows[0]["name"] != "John" {
		t.Fatalf("result_json = %s (%v)", qr.ResultJson, err)
	}
	if qr.RowCount != 1 || len(qr.Columns) != 2 || qr.Columns[0].Type != "int64" {
		t.Errorf("row_count %d, columns %v", qr.RowCount, qr.Columns)
	}

	lt, err := c.ListTables(ctx, &olapv1.ListTablesRequest{})
	if err != nil || lt.Total != 1 || lt.Tables[0].Name != "users" || lt.Tables[0].CreatedAt == nil {
		t.Fatalf("ListTables = %v, %v", lt, err)
	}
	dt, err := c.DescribeTable(ctx, &olapv1.DescribeTableRequest{TableName: "users"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg := dt.TableInfo.Config; cfg.BufferSize != 1000 || cfg.RetentionDays != 365 || !cfg.BackupEnabled || cfg.Properties["owner"] != "user-service" {
		t.Errorf("config = %v", cfg)
	}
	if dt.Stats.RecordCount != 1 || dt.Stats.BufferedRows != 1 {
		t.Errorf("stats = %v", dt.Stats)
	}
	hc, err := c.HealthCheck(ctx, &olapv1.HealthCheckRequest{})
	if err != nil || hc.Status != "healthy" || len(hc.Components) != 4 {
		t.Fatalf("HealthCheck = %v, %v", hc, err)
	}
	gs, err := c.GetStats(ctx, &olapv1.GetStatsRequest{})
	if err != nil || gs.BufferStats.BufferedRows != 1 || gs.QueryStats.TotalQueries < 1 || gs.WalStats.LastLsn == 0 {
		t.Fatalf("GetStats = %v, %v", gs, err)
	}
	gn, err := c.GetNodes(ctx, &olapv1.GetNodesRequest{})
	if err != nil || gn.Total != 1 || gn.Nodes[0].Id != "node-t" || gn.Nodes[0].Status != "healthy" {
		t.Fatalf("GetNodes = %v, %v", gn, err)
	}

	_, err = c.TriggerBackup(ctx, &olapv1.TriggerBackupRequest{Table: "users"})
	wantCode(t, err, codes.Unimplemented, "not available")
	tb, err := c.TriggerBackup(ctx, &olapv1.TriggerBackupRequest{})
	if err != nil || !tb.Success || !strings.Contains(tb.Message, "metadata backup backup_") {
		t.Fatalf("TriggerBackup = %v, %v", tb, err)
	}
	_, err = c.RecoverData(ctx, &olapv1.RecoverDataRequest{RecoveryMode: &olapv1.RecoverDataRequest_IdRange{IdRange: &olapv1.IdRangeFilter{Ids: []string{"x"}}}})
	wantCode(t, err, codes.Unimplemented, "not available")

	_, err = c.DropTable(ctx, &olapv1.DropTableRequest{TableName: "users"})
	wantCode(t, err, codes.FailedPrecondition, "cascade")
	dr, err := c.DropTable(ctx, &olapv1.DropTableRequest{TableName: "users", Cascade: true})
	if err != nil || !dr.Success {
		t.Fatalf("DropTable = %v, %v", dr, err)
	}
	_, err = c.DescribeTable(ctx, &olapv1.DescribeTableRequest{TableName: "users"})
	wantCode(t, err, codes.NotFound, "users")
}

func TestOlapServiceErrors(t *testing.T) {
	e := newEnv(t, envOpts{maxRequest: 32 << 10})
	ctx := context.Background()
	c := e.olap
	num := func(f float64) *structpb.Struct {
		return &structpb.Struct{Fields: map[string]*structpb.Value{"v": structpb.NewNumberValue(f)}}
	}
	if _, err := c.Write(ctx, &olapv1.WriteRequest{Table: "t", Id: "1", Payload: num(1)}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		call func() error
		code codes.Code
		msg  string
	}{
		{"write_bad_table_name", func() error {
			_, err := c.Write(ctx, &olapv1.WriteRequest{Table: "bad name", Id: "1"})
			return err
		}, codes.InvalidArgument, "bad name"},
		{"write_type_conflict", func() error {
			_, err := c.Write(ctx, &olapv1.WriteRequest{Table: "t", Id: "2", Payload: &structpb.Struct{Fields: map[string]*structpb.Value{"v": structpb.NewBoolValue(true)}}})
			return err
		}, codes.InvalidArgument, `column "v" has type int64`},
		{"write_payload_collides", func() error {
			_, err := c.Write(ctx, &olapv1.WriteRequest{Table: "t", Id: "2", Payload: &structpb.Struct{Fields: map[string]*structpb.Value{"id": structpb.NewStringValue("x")}}})
			return err
		}, codes.InvalidArgument, "collides"},
		{"write_oversized", func() error {
			_, err := c.Write(ctx, &olapv1.WriteRequest{Table: "t", Id: strings.Repeat("x", 40<<10)})
			return err
		}, codes.ResourceExhausted, "server.max_request_bytes"},
		{"query_empty", func() error { _, err := c.Query(ctx, &olapv1.QueryRequest{}); return err }, codes.InvalidArgument, "sql is empty"},
		{"query_unknown_table", func() error {
			_, err := c.Query(ctx, &olapv1.QueryRequest{Sql: "SELECT * FROM nope"})
			return err
		}, codes.NotFound, "nope"},
		{"query_refused", func() error {
			_, err := c.Query(ctx, &olapv1.QueryRequest{Sql: "COPY t TO '/tmp/x.csv'"})
			return err
		}, codes.PermissionDenied, ""},
		{"create_table_empty_name", func() error {
			_, err := c.CreateTable(ctx, &olapv1.CreateTableRequest{})
			return err
		}, codes.InvalidArgument, "table_name is empty"},
		{"create_table_exists", func() error {
			_, err := c.CreateTable(ctx, &olapv1.CreateTableRequest{TableName: "t"})
			return err
		}, codes.AlreadyExists, "t"},
		{"create_table_reserved_prefix", func() error {
			_, err := c.CreateTable(ctx, &olapv1.CreateTableRequest{TableName: "duckdb_x"})
			return err
		}, codes.InvalidArgument, "reserved"},
		{"drop_unknown", func() error {
			_, err := c.DropTable(ctx, &olapv1.DropTableRequest{TableName: "nope"})
			return err
		}, codes.NotFound, "nope"},
		{"describe_unknown", func() error {
			_, err := c.DescribeTable(ctx, &olapv1.DescribeTableRequest{TableName: "nope"})
			return err
		}, codes.NotFound, "nope"},
		{"list_bad_pattern", func() error {
			_, err := c.ListTables(ctx, &olapv1.ListTablesRequest{Pattern: "["})
			return err
		}, codes.InvalidArgument, "pattern"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantCode(t, tt.call(), tt.code, tt.msg) })
	}
	// The row that succeeded is the only one.
	qr, err := c.Query(ctx, &olapv1.QueryRequest{Sql: "SELECT count(*) AS n FROM t"})
	if err != nil || qr.ResultJson != `[{"n":1}]` {
		t.Fatalf("after the failures: %v, %v", qr, err)
	}
}

// TestQueryResultLimit: a JSON answer larger than MaxResultBytes is
// refused with ResourceExhausted, not truncated.
func TestQueryResultLimit(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.svc.cfg.MaxResultBytes = 1000
	_, err := e.olap.Query(context.Background(), &olapv1.QueryRequest{Sql: "SELECT range AS n FROM range(10000)"})
	if status.Code(err) == codes.PermissionDenied {
		_, err = e.olap.Query(context.Background(), &olapv1.QueryRequest{Sql: "SELECT 1 AS n FROM (VALUES (1),(2)) a(x), (VALUES (1),(2),(3),(4),(5),(6),(7),(8),(9),(10)) b(y), (VALUES (1),(2),(3),(4),(5),(6),(7),(8),(9),(10)) c(z)"})
	}
	wantCode(t, err, codes.ResourceExhausted, "exceeds 1000 bytes")
}

// TestGRPCHealthService: the standard health service follows the probes.
func TestGRPCHealthService(t *testing.T) {
	fail := make(chan error, 1)
	fail <- nil
	probe := func(context.Context) error {
		err := <-fail
		fail <- err
		return err
	}
	e := newEnv(t, envOpts{checks: []Check{{Name: "catalog", Probe: probe}}})
	stop := e.svc.WatchHealth(e.health, 20*time.Millisecond, "olap.v1.OlapService")
	defer stop()
	hc := healthpb.NewHealthClient(e.conn)
	waitServing := func(want healthpb.HealthCheckResponse_ServingStatus) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			r, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{Service: "olap.v1.OlapService"})
			if err == nil && r.Status == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("health = %v, %v; want %s", r, err, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitServing(healthpb.HealthCheckResponse_SERVING)
	<-fail
	fail <- status.Error(codes.Unavailable, "redis down")
	waitServing(healthpb.HealthCheckResponse_NOT_SERVING)
	resp, body := e.do("GET", "/v1/health", "", "")
	if resp.StatusCode != 503 || !strings.Contains(string(body), "redis down") {
		t.Errorf("/v1/health = %d %s, want 503 naming the fault", resp.StatusCode, body)
	}
	newValidator(t).check(resp.Request, nil, resp, body)
	<-fail
	fail <- nil
	waitServing(healthpb.HealthCheckResponse_SERVING)
}
