package query

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	bindings "github.com/duckdb/duckdb-go-bindings"

	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/duckarrow"
	"github.com/miniodb/miniodb/ingest"
	"github.com/miniodb/miniodb/query/sandbox"
)

// session is one query's connection with its views and everything they
// hold: snapshots and pinned cache files.
type session struct {
	e        *Engine
	conn     bindings.Connection
	snaps    []*ingest.Snapshot
	unpins   []func()
	local    map[string]string // object key → its pinned file in the cache (define)
	stopIntr func()

	// typesOnly: the session only describes statements (Engine.Describe),
	// so its views need no more files than the result types do
	// (typeSample).
	typesOnly bool
}

// begin takes a query slot and a fresh connection that ctx's cancellation
// interrupts.
func (e *Engine) begin(ctx context.Context) (*session, error) {
	select {
	case e.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %v", ErrCanceled, ctx.Err())
	}
	s := &session{e: e}
	conn, err := e.connect()
	if err != nil {
		<-e.sem
		return nil, err
	}
	s.conn = conn
	// stopIntr returns once no interrupt can touch the connection any more,
	// so Disconnect never races one.
	s.stopIntr = duckarrow.InterruptOnDone(ctx, conn)
	return s, nil
}

// define creates the views of the tables an analysed statement reads.
func (s *session) define(ctx context.Context, an *sandbox.Analysis) error {
	base := len(s.snaps)
	var keys, names []string
	for _, t := range an.Tables {
		names = append(names, t.Name)
		sn, err := s.snapshot(ctx, t.Name)
		if err != nil {
			return err
		}
		sn.Files = pruneFiles(t.Name, sn.Files, an.Bounds)
		if s.typesOnly {
			sn.Files = typeSample(sn.Files)
		}
		for _, f := range sn.Files {
			keys = append(keys, f.Key)
		}
	}
	// Every file of every table in one Acquire, so that a cold cache
	// downloads them all at once, not table after table (TPC-H Q2 reads
	// five tables).
	if len(keys) > 0 {
		paths, unpin, err := s.e.cache.Acquire(ctx, keys)
		if err != nil {
			return fmt.Errorf("%w: read files of %s: %v", ErrInternal, strings.Join(names, ", "), err)
		}
		s.unpins = append(s.unpins, unpin)
		s.local = make(map[string]string, len(keys))
		for i, k := range keys {
			s.local[k] = paths[i]
		}
	}
	for i, t := range an.Tables {
		if err := s.defineView(ctx, base+i, t.Name, s.snaps[base+i]); err != nil {
			return err
		}
	}
	return nil
}

// typeSample is the first file of each schema among files, in their order:
// all a view needs to have the types it has over every file. DuckDB binds
// read_parquet to its first file's columns, or, when the files' schemas
// differ (union_by_name), to the union of them, which one file of each
// schema gives too. So a describe over a cold cache downloads one file per
// table, not every file: GetFlightInfo of a full scan of SF1 lineitem on
// MinIO after a restart took 100-150 ms, fetching its eight files.
func typeSample(files []catalog.File) []catalog.File {
	var out []catalog.File
	seen := map[string]bool{}
	for _, f := range files {
		if !seen[f.SchemaHash] {
			seen[f.SchemaHash] = true
			out = append(out, f)
		}
	}
	return out
}

func (s *session) close() {
	s.stopIntr()
	bindings.Disconnect(&s.conn) // drops the temp views and tables
	for _, sn := range s.snaps {
		sn.Release()
	}
	for _, u := range s.unpins {
		u()
	}
	<-s.e.sem
}

// analyze parses the statement with DuckDB's own parser and checks it.
//
// It also returns the SQL to run: sql itself, or, when sql names tables as
// main.t or miniodb.main.t, DuckDB's printing of the same statement with
// bare names (qualify.go), which is what the sandbox checked.
//
// A text analysed before is answered from the engine's analysisCache.
func (s *session) analyze(sql string) (*sandbox.Analysis, string, error) {
	if a, ok := s.e.analyzed.get(sql); ok {
		return a.an, a.run, nil
	}
	js, err := s.serialize(sql)
	if err != nil {
		return nil, "", err
	}
	return s.analyzeSerialized(sql, js)
}

// analyzeSerialized is analyze for a statement already serialized; it
// records a successful analysis in the engine's analysisCache.
func (s *session) analyzeSerialized(sql, js string) (*sandbox.Analysis, string, error) {
	run := sql
	if bare, ok := unqualify(js); ok {
		if r, err := s.deserialize(bare); err == nil {
			if js2, err := s.serialize(r); err == nil {
				run, js = r, js2
			}
		}
	}
	an, err := analyzeJSON(js)
	if err != nil {
		return nil, "", err
	}
	s.e.analyzed.put(sql, analyzed{an: an, run: run})
	return an, run, nil
}

// analyzeJSON checks json_serialize_sql output with the sandbox.
func analyzeJSON(js string) (*sandbox.Analysis, error) {
	an, err := sandbox.Analyze([]byte(js))
	var refused *sandbox.RefusedError
	var syntax *sandbox.SyntaxError
	switch {
	case errors.As(err, &refused):
		return nil, fmt.Errorf("%w: %v", ErrRefused, err)
	case errors.As(err, &syntax):
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	case err != nil:
		return nil, fmt.Errorf("%w: %v", ErrRefused, err)
	}
	return an, nil
}

func (s *session) serialize(sql string) (string, error) {
	return s.callString("SELECT json_serialize_sql($1::VARCHAR)", sql, "parser")
}

// callString runs a one-parameter statement that returns one VARCHAR, such
// as DuckDB's SQL (de)serializer, with arg bound as text.
func (s *session) callString(call, arg, what string) (string, error) {
	var stmt bindings.PreparedStatement
	defer bindings.DestroyPrepare(&stmt)
	if bindings.Prepare(s.conn, call, &stmt) == bindings.StateError {
		return "", fmt.Errorf("%w: prepare %s call: %s", ErrInternal, what, bindings.PrepareError(stmt))
	}
	if bindings.BindVarchar(stmt, 1, arg) == bindings.StateError {
		return "", fmt.Errorf("%w: bind %s argument", ErrInternal, what)
	}
	var res bindings.Result
	defer bindings.DestroyResult(&res)
	if bindings.ExecutePrepared(stmt, &res) == bindings.StateError {
		return "", classify(bindings.ResultErrorType(&res), bindings.ResultError(&res))
	}
	return firstString(&res)
}

// firstString reads the VARCHAR in the first row and column of res.
func firstString(res *bindings.Result) (string, error) {
	rr, err := newChunkReader(res)
	if err != nil {
		return "", err
	}
	defer rr.close()
	rec, err := rr.next()
	if err != nil || rec == nil {
		return "", fmt.Errorf("%w: empty parser result: %v", ErrInternal, err)
	}
	defer rec.Release()
	col, ok := rec.Column(0).(*array.String)
	if !ok || col.Len() == 0 {
		return "", fmt.Errorf("%w: unexpected parser result %s", ErrInternal, rec.Column(0).DataType())
	}
	return strings.Clone(col.Value(0)), nil
}

// snapshot takes a table's snapshot, which the session holds until it
// closes.
func (s *session) snapshot(ctx context.Context, table string) (*ingest.Snapshot, error) {
	sn, err := s.e.src.Snapshot(ctx, table)
	if err != nil {
		if errors.Is(err, ingest.ErrTableNotFound) {
			return nil, err
		}
		// The source's own error (a node that is unavailable, a catalog
		// that is lost) says what is wrong; it keeps its code.
		return nil, fmt.Errorf("rows of %s: %w", table, err)
	}
	s.snaps = append(s.snaps, sn)
	return sn, nil
}

// defineView creates the TEMP VIEW named name over sn's files and batches.
func (s *session) defineView(ctx context.Context, i int, name string, sn *ingest.Snapshot) error {
	from, err := s.tableSource(ctx, i, sn)
	if err != nil {
		return err
	}
	cols := make([]string, sn.Schema.NumFields())
	for j, f := range sn.Schema.Fields() {
		cols[j] = duckarrow.Ident(f.Name)
	}
	view := fmt.Sprintf("CREATE TEMP VIEW %s AS SELECT %s FROM (%s)", duckarrow.Ident(name), strings.Join(cols, ", "), from)
	if err := exec(s.conn, view); err != nil {
		return fmt.Errorf("define view of table %s: %w", name, err)
	}
	return nil
}

// tableSource is the SELECT reading a snapshot: its files, its buffer, or
// both. An empty buffer is left out when the files all carry the table's
// current schema, which saves the buffer copy (below) on every query of a
// flushed table.
func (s *session) tableSource(ctx context.Context, i int, sn *ingest.Snapshot) (string, error) {
	var files string
	if len(sn.Files) > 0 {
		var err error
		if files, err = s.parquetScan(ctx, sn); err != nil {
			return "", err
		}
		if sn.Rows() == 0 && filesHaveSchema(sn) {
			return files, nil
		}
	}
	buf, err := s.bufferRelation(i, sn)
	if err != nil {
		return "", err
	}
	if files == "" {
		return "SELECT * FROM " + buf, nil
	}
	return files + " UNION ALL BY NAME SELECT * FROM " + buf, nil
}

// filesHaveSchema reports whether every file was written with the
// snapshot's schema.
func filesHaveSchema(sn *ingest.Snapshot) bool {
	h := ingest.SchemaHash(sn.Schema)
	for _, f := range sn.Files {
		if f.SchemaHash != h {
			return false
		}
	}
	return true
}

// bufferRelation registers the snapshot's batches as an Arrow scan and
// copies them into a TEMP TABLE, returning the relation to read.
//
// NOTE: the copy is deliberate. DuckDB pushes projections and filters into
// arrow_scan, but the stream producer behind the C API's duckdb_arrow_scan
// ignores both, so a scan that reads a subset of columns gets the wrong
// columns and filters are lost; a stream can also be read only once (a
// self-join would see it empty). Copying with SELECT * asks for every column
// once, after which DuckDB reads its own table correctly.
func (s *session) bufferRelation(i int, sn *ingest.Snapshot) (string, error) {
	buf := fmt.Sprintf("__mdb_buf_%d", i)
	if err := s.copyBatches(buf, sn.Schema, sn.Batches); err != nil {
		return "", fmt.Errorf("copy buffer of %s: %w", sn.Table, err)
	}
	return duckarrow.Ident(buf), nil
}

// copyBatches creates TEMP TABLE name holding batches, through an Arrow scan
// (so Arrow types map to DuckDB's the same way everywhere).
func (s *session) copyBatches(name string, schema *arrow.Schema, batches []arrow.RecordBatch) error {
	// DuckDB's duckdb_arrow_scan views are global to the database, not per
	// connection: each needs a name no concurrent query uses.
	scan := fmt.Sprintf("__mdb_scan_%d", s.e.scans.Add(1))
	var copyErr error // DuckDB's, classified
	err := duckarrow.With(s.conn, scan, schema, batches, func() error {
		copyErr = exec(s.conn, fmt.Sprintf("CREATE TEMP TABLE %s AS SELECT * FROM %s", duckarrow.Ident(name), duckarrow.Ident(scan)))
		return copyErr
	})
	if copyErr != nil {
		return copyErr
	}
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInternal, err)
	}
	return nil
}

func (s *session) parquetScan(ctx context.Context, sn *ingest.Snapshot) (string, error) {
	keys := make([]string, len(sn.Files))
	sameSchema := true
	for i, f := range sn.Files {
		keys[i] = f.Key
		sameSchema = sameSchema && f.SchemaHash == sn.Files[0].SchemaHash
	}
	paths, err := s.localFiles(ctx, keys)
	if err != nil {
		return "", fmt.Errorf("%w: read files of %s: %v", ErrInternal, sn.Table, err)
	}
	quoted := make([]string, len(paths))
	for i, p := range paths {
		quoted[i] = duckarrow.String(p)
	}
	// The cache keeps a file under its object key, whose folders read as
	// Hive partitions (shard=0/date=...): DuckDB would add them as columns,
	// replacing a table's own columns of those names.
	opts := ", hive_partitioning = false"
	if !sameSchema {
		opts += ", union_by_name = true"
	}
	return fmt.Sprintf("SELECT * FROM read_parquet([%s]%s)", strings.Join(quoted, ", "), opts), nil
}

// localFiles returns the cached files of keys, pinned until the session
// closes: those define made local, or else fetched now.
func (s *session) localFiles(ctx context.Context, keys []string) ([]string, error) {
	paths := make([]string, len(keys))
	for i, k := range keys {
		p, ok := s.local[k]
		if !ok {
			paths, unpin, err := s.e.cache.Acquire(ctx, keys)
			if err != nil {
				return nil, err
			}
			s.unpins = append(s.unpins, unpin)
			return paths, nil
		}
		paths[i] = p
	}
	return paths, nil
}

func (s *session) prepare(sql string) (bindings.PreparedStatement, error) {
	var stmt bindings.PreparedStatement
	if bindings.Prepare(s.conn, sql, &stmt) == bindings.StateError {
		err := classifyMessage(bindings.PrepareError(stmt))
		bindings.DestroyPrepare(&stmt)
		return stmt, err
	}
	return stmt, nil
}

func preparedSchema(conn bindings.Connection, stmt bindings.PreparedStatement) (*arrow.Schema, error) {
	n := int(bindings.PreparedStatementColumnCount(stmt))
	names := make([]string, n)
	types := make([]bindings.LogicalType, n)
	for i := range n {
		names[i] = bindings.PreparedStatementColumnName(stmt, bindings.IdxT(i))
		types[i] = bindings.PreparedStatementColumnLogicalType(stmt, bindings.IdxT(i))
	}
	defer func() {
		for i := range types {
			bindings.DestroyLogicalType(&types[i])
		}
	}()
	var opts bindings.ArrowOptions
	bindings.ConnectionGetArrowOptions(conn, &opts)
	defer bindings.DestroyArrowOptions(&opts)
	schema, ed := bindings.NewArrowSchema(opts, types, names)
	if err := errorData(ed); err != nil {
		return nil, err
	}
	return schema, nil
}

func errorData(ed bindings.ErrorData) error {
	defer bindings.DestroyErrorData(&ed)
	if !bindings.ErrorDataHasError(ed) {
		return nil
	}
	return classify(bindings.ErrorDataErrorType(ed), bindings.ErrorDataMessage(ed))
}
