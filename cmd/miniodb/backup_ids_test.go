package main

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc/codes"

	olapv1 "github.com/miniodb/miniodb/api/proto/olap/v1"
	"github.com/miniodb/miniodb/objstore"
)

// idChecksum is count(*), count(DISTINCT id), sum(id) and sum(length(v))
// of a table, as the node answers it.
func idChecksum(t *testing.T, c *flightsql.Client, table string) []int64 {
	t.Helper()
	return queryInts(t, c, "SELECT count(*), count(DISTINCT id), CAST(sum(id) AS BIGINT), CAST(sum(length(v)) AS BIGINT) FROM "+table)
}

// wantChecksum is idChecksum of rows written by idBatch with these ids.
func wantChecksum(ids ...int64) []int64 {
	distinct := map[int64]bool{}
	var sum, vlen int64
	for _, id := range ids {
		distinct[id] = true
		sum += id
		vlen += int64(len("v" + strconv.FormatInt(id, 10)))
	}
	return []int64{int64(len(ids)), int64(len(distinct)), sum, vlen}
}

func idRange(from, to int64) []int64 {
	var out []int64
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

// On a running node with Redis, MinIO and a MinIO backup bucket, rows
// lost with a dropped table come back by id over gRPC and REST (by ids,
// by id pattern, by day and ids), then the rest by day range, each row
// once: a row written again meanwhile is not doubled, a repeat recovers
// nothing, queries see the rows at once and after a restart. TriggerBackup
// with an id copies only the object holding it. Bad requests get
// InvalidArgument / NotFound (HTTP 400 / 404) naming what is wrong.
func TestBackupRecoverByIDs(t *testing.T) {
	env := newStoreEnv(t)
	backupBucket := env.bucket + "-bk"
	cfg := env.config(t, fmt.Sprintf("buffer:\n  buffer_size: 100\n  flush_interval: 200ms\ntables:\n  events:\n    backup_enabled: true\n"+
		"backup:\n  data_interval: 1h\n  minio:\n    endpoint: %q\n    bucket: %q\n", env.minio.Endpoint, backupBucket))
	s := startAPIServer(t, t.TempDir(), "--config", cfg)
	ctx := context.Background()
	cat := env.catalog(t)
	dst, err := objstore.NewS3Bucket(ctx, objstore.S3Config{Endpoint: env.minio.Endpoint, AccessKeyID: env.minio.AccessKey,
		SecretAccessKey: env.minio.SecretKey, Bucket: backupBucket}, nil)
	if err != nil {
		t.Fatal(err)
	}
	backedUp := func() int {
		n := 0
		dst.List(ctx, "tables/events/", func(objstore.ObjectInfo) error { n++; return nil })
		return n
	}
	for b := range int64(3) {
		ingestIDs(t, s.flight, "events", b*100, 100)
	}
	waitUntil(t, 30*time.Second, "events flushed", func() bool { return catalogRows(t, cat, "events") == 300 })
	files, _ := cat.Files(ctx, "events")
	tb, err := s.olap.TriggerBackup(ctx, &olapv1.TriggerBackupRequest{Table: "events"})
	if err != nil || int(tb.FilesBackedUp) != len(files) || backedUp() != len(files) {
		t.Fatalf("TriggerBackup(events) = %v, %v; %d objects backed up, want %d", tb, err, backedUp(), len(files))
	}

	// The table is dropped (its objects deleted) and written again: id 5
	// as it was, and a new id.
	if _, err := s.flight.ExecuteUpdate(ctx, "DROP TABLE events"); err != nil {
		t.Fatal(err)
	}
	ingestIDs(t, s.flight, "events", 5, 1)
	ingestIDs(t, s.flight, "events", 1000, 1)
	have := []int64{5, 1000}
	today := time.Now().UTC().Format(time.DateOnly)
	byIDs := func(ids ...string) *olapv1.RecoverDataRequest {
		return &olapv1.RecoverDataRequest{Table: "events", RecoveryMode: &olapv1.RecoverDataRequest_IdRange{IdRange: &olapv1.IdRangeFilter{Ids: ids}}}
	}
	steps := []struct {
		name string
		grpc *olapv1.RecoverDataRequest
		rest string
		rows int64
		adds []int64
	}{
		{name: "grpc_ids", grpc: byIDs("1", "2", "5", "250", "999"), rows: 3, adds: []int64{1, 2, 250}},
		{name: "grpc_ids_again", grpc: byIDs("1", "2", "5", "250", "999")},
		{name: "rest_pattern", rest: `{"table":"events","id_range":{"id_pattern":"1?"}}`, rows: 10, adds: idRange(10, 19)},
		{name: "rest_day_and_ids", rest: `{"table":"events","time_range":{"start_date":"` + today + `","end_date":"` + today + `","ids":["3","4","5"]}}`,
			rows: 2, adds: []int64{3, 4}},
		{name: "rest_pattern_again", rest: `{"table":"events","id_range":{"id_pattern":"1?"}}`},
		{name: "grpc_day_range", grpc: &olapv1.RecoverDataRequest{Table: "events",
			RecoveryMode: &olapv1.RecoverDataRequest_TimeRange{TimeRange: &olapv1.TimeRangeFilter{StartDate: today, EndDate: today}}},
			rows: 300 - 16, adds: append(append(append([]int64{0}, idRange(6, 9)...), idRange(20, 249)...), idRange(251, 299)...)},
		{name: "grpc_everything_again", grpc: &olapv1.RecoverDataRequest{Table: "events"}},
	}
	for _, st := range steps {
		var msg string
		var keys int
		if st.grpc != nil {
			rd, err := s.olap.RecoverData(ctx, st.grpc)
			if err != nil || !rd.Success {
				t.Fatalf("%s: RecoverData = %v, %v", st.name, rd, err)
			}
			msg, keys = rd.Message, len(rd.RecoveredKeys)
		} else {
			var rd struct {
				Success       bool
				Message       string
				RecoveredKeys []string `json:"recovered_keys"`
			}
			if code := s.call(t, "POST", "/v1/backup/recover", st.rest, &rd); code != 200 || !rd.Success {
				t.Fatalf("%s: POST /v1/backup/recover = %d %+v", st.name, code, rd)
			}
			msg, keys = rd.Message, len(rd.RecoveredKeys)
		}
		if !strings.Contains(msg, fmt.Sprintf("(%d rows)", st.rows)) || (st.rows == 0) != (keys == 0) {
			t.Fatalf("%s: %d keys, %q; want %d rows", st.name, keys, msg, st.rows)
		}
		have = append(have, st.adds...)
		if got, want := idChecksum(t, s.flight, "events"), wantChecksum(have...); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: count, distinct, sum(id), sum(len(v)) = %v, want %v", st.name, got, want)
		}
	}

	// TriggerBackup with an id copies the one new object holding it.
	ingestIDs(t, s.flight, "events", 2000, 1)
	have = append(have, 2000)
	waitUntil(t, 30*time.Second, "id 2000 flushed", func() bool { return catalogRows(t, cat, "events") == int64(len(have)) })
	before := backedUp()
	tb, err = s.olap.TriggerBackup(ctx, &olapv1.TriggerBackupRequest{Table: "events", Id: "2000"})
	if err != nil || tb.FilesBackedUp != 1 || backedUp() != before+1 {
		t.Fatalf("TriggerBackup(events, id 2000) = %v, %v; backup bucket %d -> %d objects", tb, err, before, backedUp())
	}
	var again olapv1.TriggerBackupResponse
	if code := s.call(t, "POST", "/v1/backup/trigger", `{"table":"events","id":"2000"}`, &again); code != 200 || again.FilesBackedUp != 0 {
		t.Fatalf("POST /v1/backup/trigger again = %d %v", code, &again)
	}

	// Bad requests.
	noID := noIDBatch()
	defer noID.Release()
	if _, err := ingestRecs(ctx, s.flight, "noid", modeCreateAppend, noID); err != nil {
		t.Fatal(err)
	}
	idsOf := func(table string, ids ...string) *olapv1.RecoverDataRequest {
		r := byIDs(ids...)
		r.Table = table
		return r
	}
	for _, c := range []struct {
		name      string
		recover   *olapv1.RecoverDataRequest
		trigger   *olapv1.TriggerBackupRequest
		body      string
		code      codes.Code
		http      int
		mentioned []string
	}{
		{name: "unknown_table", recover: idsOf("nope", "1"), body: `{"table":"nope","id_range":{"ids":["1"]}}`,
			code: codes.NotFound, http: 404, mentioned: []string{"nope"}},
		{name: "empty_id_set", recover: idsOf("events"), body: `{"table":"events","id_range":{"ids":[]}}`,
			code: codes.InvalidArgument, http: 400, mentioned: []string{"id_range", "events"}},
		{name: "empty_id", recover: idsOf("events", "1", ""), body: `{"table":"events","id_range":{"ids":["1",""]}}`,
			code: codes.InvalidArgument, http: 400, mentioned: []string{"ids[1]"}},
		{name: "no_id_column", recover: idsOf("noid", "1"), body: `{"table":"noid","id_range":{"ids":["1"]}}`,
			code: codes.InvalidArgument, http: 400, mentioned: []string{"noid", "id column"}},
		{name: "backup_no_id_column", trigger: &olapv1.TriggerBackupRequest{Table: "noid", Id: "1"}, body: `{"table":"noid","id":"1"}`,
			code: codes.InvalidArgument, http: 400, mentioned: []string{"noid", "id column"}},
		{name: "backup_bad_day", trigger: &olapv1.TriggerBackupRequest{Table: "events", Day: "26-11-2026"}, body: `{"table":"events","day":"26-11-2026"}`,
			code: codes.InvalidArgument, http: 400, mentioned: []string{"26-11-2026"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := "/v1/backup/recover"
			var err error
			if c.trigger != nil {
				path = "/v1/backup/trigger"
				_, err = s.olap.TriggerBackup(ctx, c.trigger)
			} else {
				_, err = s.olap.RecoverData(ctx, c.recover)
			}
			wantCode(t, err, c.code, c.mentioned...)
			var e struct{ Message string }
			if code := s.call(t, "POST", path, c.body, &e); code != c.http {
				t.Fatalf("POST %s = %d %q, want %d", path, code, e.Message, c.http)
			}
			for _, m := range c.mentioned {
				if !strings.Contains(e.Message, m) {
					t.Errorf("POST %s: %q does not name %q", path, e.Message, m)
				}
			}
		})
	}

	s.stop()
	s.restart() // the recovered files are in the catalog, not only in memory
	if got, want := idChecksum(t, s.client(), "events"), wantChecksum(have...); !reflect.DeepEqual(got, want) {
		t.Fatalf("after restart: %v, want %v", got, want)
	}
}

// noIDBatch is one row of a table without an id column.
func noIDBatch() arrow.RecordBatch {
	schema := arrow.NewSchema([]arrow.Field{{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).Append("x")
	return b.NewRecordBatch()
}
