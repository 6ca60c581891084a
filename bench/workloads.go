package bench

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/duckdb/duckdb-go/v2"

	"github.com/miniodb/miniodb/bench/tpch"
	"github.com/miniodb/miniodb/ingest"
)

// batchRows is the batch size clients send and the baseline serves.
const batchRows = 65536

// LoadParquet reads a Parquet file into batches of batchRows rows.
func LoadParquet(path string) (*arrow.Schema, []arrow.RecordBatch, error) {
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return nil, nil, err
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: batchRows, Parallel: true}, memory.DefaultAllocator)
	if err != nil {
		return nil, nil, err
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		return nil, nil, err
	}
	defer rr.Release()
	var out []arrow.RecordBatch
	for rr.Next() {
		rec := rr.RecordBatch()
		rec.Retain()
		out = append(out, rec)
	}
	return rr.Schema(), out, rr.Err()
}

func countRows(batches []arrow.RecordBatch) int64 {
	var n int64
	for _, b := range batches {
		n += b.NumRows()
	}
	return n
}

// Ingest sends batches to table over Flight SQL bulk ingest (create or
// append) and returns when the server has acknowledged them.
func Ingest(ctx context.Context, c *flightsql.Client, table string, schema *arrow.Schema, batches []arrow.RecordBatch) error {
	rdr, err := array.NewRecordReader(schema, batches)
	if err != nil {
		return err
	}
	defer rdr.Release()
	n, err := c.ExecuteIngest(ctx, rdr, &flightsql.ExecuteIngestOpts{Table: table,
		TableDefinitionOptions: &flightsql.TableDefinitionOptions{
			IfNotExist: flightsql.TableDefinitionOptionsTableNotExistOptionCreate,
			IfExists:   flightsql.TableDefinitionOptionsTableExistsOptionAppend}})
	if err != nil {
		return fmt.Errorf("ingest %s: %w", table, err)
	}
	if want := countRows(batches); n != want {
		return fmt.Errorf("ingest %s: acknowledged %d rows, sent %d", table, n, want)
	}
	return nil
}

// QueryResult is what one Flight SQL query returned.
type QueryResult struct {
	Schema     *arrow.Schema
	Recs       []arrow.RecordBatch // kept only when asked
	Rows       int64
	Bytes      int64
	FirstBatch float64 // seconds from the DoGet call to the first batch
	Info       float64 // seconds GetFlightInfo took
}

// Release frees kept batches.
func (r *QueryResult) Release() {
	for _, b := range r.Recs {
		b.Release()
	}
	r.Recs = nil
}

// Query runs sql through GetFlightInfo + DoGet of every endpoint.
func Query(ctx context.Context, c *flightsql.Client, sql string, keep bool) (*QueryResult, error) {
	t := startTimer()
	info, err := c.Execute(ctx, sql)
	if err != nil {
		return nil, fmt.Errorf("execute: %w", err)
	}
	res := &QueryResult{Info: t.seconds()}
	for _, ep := range info.Endpoint {
		if err := readEndpoint(ctx, c, ep, res, keep); err != nil {
			res.Release()
			return nil, err
		}
	}
	return res, nil
}

func readEndpoint(ctx context.Context, c *flightsql.Client, ep *flight.FlightEndpoint, res *QueryResult, keep bool) error {
	t := startTimer()
	rdr, err := c.DoGet(ctx, ep.Ticket)
	if err != nil {
		return fmt.Errorf("doget: %w", err)
	}
	defer rdr.Release()
	res.Schema = rdr.Schema()
	for rdr.Next() {
		rec := rdr.RecordBatch()
		if res.FirstBatch == 0 {
			res.FirstBatch = t.seconds()
		}
		res.Rows += rec.NumRows()
		res.Bytes += ingest.BatchBytes(rec)
		if keep {
			rec.Retain()
			res.Recs = append(res.Recs, rec)
		}
	}
	return rdr.Err()
}

// duckBaseline is an in-process DuckDB with views over a TPC-H folder.
type duckBaseline struct {
	db    *sql.DB
	conn  *sql.Conn
	arrow *duckdb.Arrow
}

// openDuck defines one view per TPC-H table over its Parquet files.
func openDuck(ctx context.Context, files map[string][]string) (*duckBaseline, error) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return nil, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	d := &duckBaseline{db: db, conn: conn}
	for _, t := range tpch.Tables() {
		if len(files[t]) == 0 {
			d.Close()
			return nil, fmt.Errorf("no parquet files of %s", t)
		}
		q := fmt.Sprintf("CREATE VIEW %s AS SELECT * FROM read_parquet(['%s'], hive_partitioning = false)", t, strings.Join(files[t], "', '"))
		if _, err := conn.ExecContext(ctx, q); err != nil {
			d.Close()
			return nil, err
		}
	}
	err = conn.Raw(func(dc any) error {
		var err error
		d.arrow, err = duckdb.NewArrowFromConn(dc.(driver.Conn))
		return err
	})
	if err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

func (d *duckBaseline) Close() {
	d.conn.Close()
	d.db.Close()
}

// timed executes sql, drains its Arrow result and returns how long that
// took, in seconds.
func (d *duckBaseline) timed(ctx context.Context, sql string) (float64, error) {
	t := startTimer()
	rr, err := d.arrow.QueryContext(ctx, sql)
	if err != nil {
		return 0, err
	}
	defer rr.Release()
	for rr.Next() {
	}
	return t.seconds(), rr.Err()
}

// pointSchema is the point-lookup table: id rises with timestamp, one day
// per file, so each file holds one narrow id range.
var pointSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "timestamp", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	{Name: "v", Type: arrow.PrimitiveTypes.Float64},
}, nil)

var pointEpoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// pointBatches makes rows rows over days days.
func pointBatches(rows, days int) []arrow.RecordBatch {
	perDay := max(1, rows/days)
	var out []arrow.RecordBatch
	b := array.NewRecordBuilder(memory.DefaultAllocator, pointSchema)
	defer b.Release()
	for start := 0; start < rows; start += batchRows {
		end := min(rows, start+batchRows)
		ids := b.Field(0).(*array.Int64Builder)
		ts := b.Field(1).(*array.TimestampBuilder)
		vs := b.Field(2).(*array.Float64Builder)
		for i := start; i < end; i++ {
			day := min(i/perDay, days-1)
			ids.Append(int64(i))
			ts.Append(arrow.Timestamp(pointEpoch.AddDate(0, 0, day).UnixMicro() + int64(i%perDay)))
			vs.Append(float64(i) * 0.5)
		}
		out = append(out, b.NewRecordBatch())
	}
	return out
}

func randomIDs(n, rows int) []int64 {
	r := rand.New(rand.NewPCG(1, 2))
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = r.Int64N(int64(rows))
	}
	return ids
}

func releaseAll(bs []arrow.RecordBatch) {
	for _, b := range bs {
		b.Release()
	}
}

// generatorFiles are the generated TPC-H files, one per table.
func generatorFiles(dir string) map[string][]string {
	out := map[string][]string{}
	for _, t := range tpch.Tables() {
		out[t] = []string{filepath.Join(dir, t+".parquet")}
	}
	return out
}

// serverFiles hard-links the Parquet files a server wrote for each TPC-H
// table (its read cache holds every file it flushed) into dir, so that a
// baseline can read exactly those files even after the cache is emptied.
func serverFiles(dataDir, dir string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, t := range tpch.Tables() {
		root := filepath.Join(dataDir, "cache", "tables", t)
		err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() || !strings.HasSuffix(p, ".parquet") {
				return err
			}
			dst := filepath.Join(dir, t, fmt.Sprintf("%d.parquet", len(out[t])))
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			if err := os.Link(p, dst); err != nil {
				return err
			}
			out[t] = append(out[t], dst)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("files of %s: %w", t, err)
		}
	}
	return out, nil
}

func removeCache(dataDir string) error { return os.RemoveAll(filepath.Join(dataDir, "cache")) }
