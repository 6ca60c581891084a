package query

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	bindings "github.com/duckdb/duckdb-go-bindings"

	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/duckarrow"
	"github.com/miniodb/miniodb/ingest"
	"github.com/miniodb/miniodb/query/sandbox"
)

// Kind says what a statement does.
type Kind int

const (
	// KindQuery is a read-only SELECT: it returns rows.
	KindQuery Kind = iota + 1
	// KindCreateTable is CREATE TABLE [IF NOT EXISTS] t (...) [WITH (...)]
	// or CREATE TABLE t [WITH (...)] AS <query>.
	KindCreateTable
	// KindDropTable is DROP TABLE [IF EXISTS] t.
	KindDropTable
	// KindInsert is INSERT INTO t [(cols)] [BY NAME] VALUES ... | <query>.
	KindInsert
)

func (k Kind) String() string {
	switch k {
	case KindQuery:
		return "query"
	case KindCreateTable:
		return "CREATE TABLE"
	case KindDropTable:
		return "DROP TABLE"
	case KindInsert:
		return "INSERT"
	}
	return "unknown"
}

// Statement is a checked statement: what it does and its shape.
type Statement struct {
	Kind Kind
	// Table is the table a DDL or DML statement changes.
	Table string
	// Result is the schema of a query's rows; nil for other kinds.
	Result *arrow.Schema
	// Params describes the parameters ($1, $2, ... or ?) in order; it has
	// no fields if the statement has none.
	Params *arrow.Schema
	// Create is set for KindCreateTable.
	Create *TableDef
	// IfExists is DROP TABLE IF EXISTS.
	IfExists bool
	// ScanOf is the table a query only scans, filters and projects (one
	// base table, scalar functions only, nothing that combines rows:
	// sandbox.Analysis.PlainScan), named as the Source's snapshot names
	// it; a cluster may answer such a query in per-node parts. Empty for
	// every other statement.
	ScanOf string
}

// TableDef is the table a CREATE TABLE defines.
type TableDef struct {
	IfNotExists bool
	// Schema is the columns; nil for CREATE TABLE ... AS <query>, whose
	// rows come from Engine.Rows.
	Schema *arrow.Schema
	Config catalog.TableConfig
}

// insertTarget is the TEMP TABLE an INSERT evaluates its rows into; user
// tables cannot start with "_".
const insertTarget = "__mdb_insert"

// Prepare checks a statement and describes it without running it or
// changing anything. The statement is classified with DuckDB's own parser
// (see doc.go); any error is ErrInvalid, ErrRefused or ingest.ErrTableNotFound.
func (e *Engine) Prepare(ctx context.Context, sql string) (*Statement, error) {
	return e.Describe(ctx, sql, nil)
}

// Describe is Prepare for a statement with bound parameter rows (nil:
// none): a query whose result types depend on its parameters is described
// with the first row bound.
func (e *Engine) Describe(ctx context.Context, sql string, params arrow.RecordBatch) (*Statement, error) {
	s, err := e.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer s.close()
	s.typesOnly = true
	c, err := s.classify(sql)
	if err != nil {
		return nil, err
	}
	switch d := c.ddl.(type) {
	case nil:
		if params != nil && params.NumRows() > 0 {
			return s.describeQuery(ctx, c.sql, c.analysis, params)
		}
		key, ok := e.described.key(e.src, c.sql, c.analysis)
		if st, found := e.described.get(key); ok && found {
			return st, nil
		}
		st, err := s.describeQuery(ctx, c.sql, c.analysis, params)
		if err == nil && ok {
			e.described.put(key, st)
		}
		return st, err
	case *createTable:
		return s.describeCreate(ctx, d)
	case *dropTable:
		return &Statement{Kind: KindDropTable, Table: d.name, IfExists: d.ifExists, Params: emptySchema()}, nil
	case *insertInto:
		return s.describeInsert(ctx, d)
	}
	return nil, fmt.Errorf("%w: unexpected statement", ErrInternal)
}

func emptySchema() *arrow.Schema { return arrow.NewSchema(nil, nil) }

// classified is a statement after classification: a query with its
// analysis, or a parsed DDL/DML statement.
type classified struct {
	analysis *sandbox.Analysis
	sql      string // a query: the SQL to run (see session.analyze)
	ddl      any    // *createTable, *dropTable, *insertInto; nil for a query
}

// classify decides what a statement is. DuckDB's parser speaks first:
// json_serialize_sql serializes exactly the SELECT statements, and the
// sandbox checks those. Only when DuckDB reports "not a SELECT" does our
// own strict grammar look at the text, and only after DuckDB's parser has
// confirmed that it is exactly one well-formed statement.
//
// A query analysed before is answered from the engine's analysisCache:
// only texts that serialized as a SELECT and passed the sandbox are there.
func (s *session) classify(sql string) (*classified, error) {
	if a, ok := s.e.analyzed.get(sql); ok {
		return &classified{analysis: a.an, sql: a.run}, nil
	}
	js, err := s.serialize(sql)
	if err != nil {
		return nil, err
	}
	if !notSelect(js) {
		an, run, err := s.analyzeSerialized(sql, js)
		if err != nil {
			return nil, err
		}
		return &classified{analysis: an, sql: run}, nil
	}
	if err := s.oneStatement(sql); err != nil {
		return nil, err
	}
	d, err := parseDDL(sql)
	if err != nil {
		if errors.Is(err, errUnsupported) {
			return nil, fmt.Errorf("%w: %v", ErrRefused, err)
		}
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return &classified{ddl: d}, nil
}

// notSelect reports whether json_serialize_sql refused the text because a
// statement in it is not a SELECT.
func notSelect(js string) bool {
	var doc struct {
		Error   bool   `json:"error"`
		Message string `json:"error_message"`
	}
	if json.Unmarshal([]byte(js), &doc) != nil {
		return false
	}
	return doc.Error && strings.HasPrefix(doc.Message, "Only SELECT statements can be serialized")
}

// oneStatement asks DuckDB's parser whether sql is exactly one statement.
func (s *session) oneStatement(sql string) error {
	var ex bindings.ExtractedStatements
	defer bindings.DestroyExtracted(&ex)
	n := bindings.ExtractStatements(s.conn, sql, &ex)
	if n == 0 {
		if msg := bindings.ExtractStatementsError(ex); msg != "" {
			return classifyMessage(msg)
		}
		return fmt.Errorf("%w: empty statement", ErrInvalid)
	}
	if n != 1 {
		return fmt.Errorf("%w: exactly one statement is allowed (got %d)", ErrRefused, n)
	}
	return nil
}

func (s *session) describeQuery(ctx context.Context, sql string, an *sandbox.Analysis, params arrow.RecordBatch) (*Statement, error) {
	if err := s.define(ctx, an); err != nil {
		return nil, err
	}
	stmt, err := s.prepare(sql)
	if err != nil {
		return nil, err
	}
	defer bindings.DestroyPrepare(&stmt)
	result, err := describedResult(s.conn, stmt)
	if err != nil {
		return nil, err
	}
	paramTypes, err := paramSchema(s.conn, stmt)
	if err != nil {
		return nil, err
	}
	if params != nil && params.NumRows() > 0 && hasNullColumn(result) {
		if bound := s.boundResult(ctx, sql, params); bound != nil {
			result = bound
		}
	}
	st := &Statement{Kind: KindQuery, Result: result, Params: paramTypes}
	if an.PlainScan(s.e.isNonScalar) != "" && len(s.snaps) > 0 {
		// The name as the source knows the table, which may differ in case
		// from the SQL's (identifiers are case-insensitive).
		st.ScanOf = s.snaps[len(s.snaps)-1].Table
	}
	return st, nil
}

// describeCreate resolves the column types with DuckDB: the columns,
// rendered from our own tokens, define a TEMP TABLE on this connection,
// whose Arrow schema is the new table's.
func (s *session) describeCreate(ctx context.Context, d *createTable) (*Statement, error) {
	if err := checkTable(d.name); err != nil {
		return nil, err
	}
	st := &Statement{Kind: KindCreateTable, Table: d.name, Params: emptySchema(),
		Create: &TableDef{IfNotExists: d.ifNotExists, Config: d.config}}
	if d.asQuery != "" {
		q, err := s.describeSource(ctx, d.asQuery)
		if err != nil {
			return nil, fmt.Errorf("CREATE TABLE %s AS: %w", d.name, err)
		}
		st.Params = q.Params
		return st, nil
	}
	cols := make([]string, len(d.columns))
	for i, c := range d.columns {
		cols[i] = duckarrow.Ident(c.name) + " " + c.typ
	}
	if err := exec(s.conn, fmt.Sprintf("CREATE TEMP TABLE %s (%s)", duckarrow.Ident("__mdb_create"), strings.Join(cols, ", "))); err != nil {
		return nil, fmt.Errorf("table %s: %w", d.name, err)
	}
	stmt, err := s.prepare("SELECT * FROM " + duckarrow.Ident("__mdb_create"))
	if err != nil {
		return nil, err
	}
	defer bindings.DestroyPrepare(&stmt)
	schema, err := preparedSchema(s.conn, stmt)
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", d.name, err)
	}
	st.Create.Schema = schema
	return st, nil
}

// describeSource checks the query part of an INSERT or CREATE TABLE AS: it
// must be one sandboxed SELECT (VALUES is one).
func (s *session) describeSource(ctx context.Context, sql string) (*Statement, error) {
	an, run, err := s.analyze(sql)
	if err != nil {
		return nil, err
	}
	return s.describeQuery(ctx, run, an, nil)
}

func (s *session) describeInsert(ctx context.Context, d *insertInto) (*Statement, error) {
	stmt, _, err := s.prepareInsert(ctx, d)
	if err != nil {
		return nil, err
	}
	defer bindings.DestroyPrepare(&stmt)
	params, err := paramSchema(s.conn, stmt)
	if err != nil {
		return nil, err
	}
	return &Statement{Kind: KindInsert, Table: d.name, Params: params}, nil
}

// prepareInsert defines the views the source query reads and an empty
// TEMP TABLE shaped like the target, then prepares
//
//	INSERT INTO __mdb_insert ("c1", ...) <source query>
//
// so DuckDB applies its own INSERT rules (column list, positional or BY
// NAME matching, implicit casts, NULL for missing columns) while the rows
// stay on this connection. The source query is the user's text after our
// parsed prefix, and the sandbox has checked it as one SELECT.
//
// It returns the statement and the target's schema, which the rows will
// have.
func (s *session) prepareInsert(ctx context.Context, d *insertInto) (bindings.PreparedStatement, *arrow.Schema, error) {
	var none bindings.PreparedStatement
	schema, err := s.e.src.TableSchema(d.name)
	if err != nil {
		return none, nil, err
	}
	an, source, err := s.analyze(d.query)
	if err != nil {
		return none, nil, fmt.Errorf("INSERT INTO %s: %w", d.name, err)
	}
	if err := s.define(ctx, an); err != nil {
		return none, nil, err
	}
	if err := s.emptyTable(insertTarget, schema); err != nil {
		return none, nil, err
	}
	cols := d.columns
	if cols == nil && !d.byName {
		for _, f := range schema.Fields() {
			cols = append(cols, f.Name)
		}
	}
	sql := "INSERT INTO " + duckarrow.Ident(insertTarget)
	if len(cols) > 0 {
		quoted := make([]string, len(cols))
		for i, c := range cols {
			quoted[i] = duckarrow.Ident(c)
		}
		sql += " (" + strings.Join(quoted, ", ") + ")"
	}
	if d.byName {
		sql += " BY NAME"
	}
	stmt, err := s.prepare(sql + "\n" + source)
	if err != nil {
		return none, nil, fmt.Errorf("INSERT INTO %s: %w", d.name, err)
	}
	if t := bindings.PreparedStatementType(stmt); t != bindings.StatementTypeInsert {
		bindings.DestroyPrepare(&stmt)
		return none, nil, fmt.Errorf("%w: INSERT INTO %s: not an INSERT", ErrRefused, d.name)
	}
	return stmt, schema, nil
}

// describedResult is the prepared statement's result schema, built as
// the stream's will be. A column whose type depends on a parameter not
// bound yet (SELECT ? + 1) is typed null: the protocol calls this schema a
// best guess (see boundResult).
func describedResult(conn bindings.Connection, stmt bindings.PreparedStatement) (*arrow.Schema, error) {
	n := int(bindings.PreparedStatementColumnCount(stmt))
	names := make([]string, n)
	types := make([]bindings.LogicalType, n)
	typed := true
	for i := range n {
		names[i] = bindings.PreparedStatementColumnName(stmt, bindings.IdxT(i))
		types[i] = bindings.PreparedStatementColumnLogicalType(stmt, bindings.IdxT(i))
		typed = typed && knownType(types[i])
	}
	defer func() {
		for i := range types {
			bindings.DestroyLogicalType(&types[i])
		}
	}()
	if typed {
		return preparedSchema(conn, stmt)
	}
	fields := make([]arrow.Field, n)
	for i := range n {
		typ, err := arrowTypeOf(conn, types[i])
		if err != nil {
			return nil, err
		}
		fields[i] = arrow.Field{Name: names[i], Type: typ, Nullable: true}
	}
	return arrow.NewSchema(fields, nil), nil
}

func knownType(lt bindings.LogicalType) bool {
	switch bindings.GetTypeId(lt) {
	case bindings.TypeInvalid, bindings.TypeAny, bindings.TypeSQLNull:
		return false
	}
	return true
}

func hasNullColumn(s *arrow.Schema) bool {
	for _, f := range s.Fields() {
		if f.Type.ID() == arrow.NULL {
			return true
		}
	}
	return s.NumFields() == 0
}

// boundResult is the result schema of a query with its first parameter
// row bound, for a query whose columns DuckDB types only from the values
// (SELECT ? + 1): the query runs as SELECT * FROM (<query>) LIMIT 0, a
// statement the sandbox checks like any other. nil if it cannot tell.
func (s *session) boundResult(ctx context.Context, sql string, params arrow.RecordBatch) *arrow.Schema {
	wrapped := "SELECT * FROM (\n" + sql + "\n) LIMIT 0"
	_, run, err := s.analyze(wrapped)
	if err != nil {
		return nil
	}
	stmt, err := s.prepare(run)
	if err != nil {
		return nil
	}
	st := &Stream{s: s, ctx: ctx, stmt: stmt, params: params}
	defer func() {
		if st.rd != nil {
			st.rd.close()
		}
		bindings.DestroyResult(&st.res)
		bindings.DestroyPrepare(&st.stmt)
	}()
	if st.start() != nil {
		return nil
	}
	return st.rd.schema
}

// checkTable applies the service's table-name rules.
func checkTable(name string) error {
	if !ingest.ValidTableName(name) {
		return fmt.Errorf("%w: table name %q must match %s", ErrInvalid, name, ingest.TableNamePattern)
	}
	return nil
}
