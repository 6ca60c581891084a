package query

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/duckarrow"
)

// Catalog and Schema are the names the service presents for its one
// catalog and schema. Statements may qualify table names with them
// (main.t, miniodb.main.t); any other qualifier names nothing.
const (
	Catalog = "miniodb"
	Schema  = "main"
)

// createTable is a parsed CREATE TABLE.
type createTable struct {
	name        string
	ifNotExists bool
	columns     []columnDef
	config      catalog.TableConfig
	asQuery     string // CREATE TABLE ... AS <query>: the query text
}

// columnDef is one column of a CREATE TABLE; typ is the type rendered
// from our own tokens, never the user's raw text.
type columnDef struct {
	name string
	typ  string
}

// dropTable is a parsed DROP TABLE.
type dropTable struct {
	name     string
	ifExists bool
}

// insertInto is a parsed INSERT INTO t [(cols)] [BY NAME|POSITION] <query>.
type insertInto struct {
	name    string
	columns []string // nil: every column, in table order
	byName  bool
	query   string // the source query text (VALUES or SELECT), checked by the sandbox
}

// parser reads the DDL/DML grammar of docs in doc.go one token at a time,
// so that the source query of an INSERT can be handed on as text.
type parser struct {
	lx  lexer
	tok token
}

func newParser(sql string) (*parser, error) {
	p := &parser{lx: lexer{src: sql}}
	return p, p.advance()
}

func (p *parser) advance() error {
	t, err := p.lx.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

// expect consumes the keyword kw.
func (p *parser) expect(kw string) error {
	if !p.tok.is(kw) {
		return fmt.Errorf("expected %s, found %s", strings.ToUpper(kw), p.tok)
	}
	return p.advance()
}

// accept consumes the keyword sequence kws if it is next.
func (p *parser) accept(kws ...string) (bool, error) {
	if !p.tok.is(kws[0]) {
		return false, nil
	}
	for _, kw := range kws {
		if err := p.expect(kw); err != nil {
			return false, err
		}
	}
	return true, nil
}

func (p *parser) punct(s string) error {
	if !p.tok.isPunct(s) {
		return fmt.Errorf("expected %q, found %s", s, p.tok)
	}
	return p.advance()
}

// end accepts an optional semicolon, then requires the end of the text.
func (p *parser) end() error {
	if p.tok.isPunct(";") {
		if err := p.advance(); err != nil {
			return err
		}
	}
	if p.tok.kind != tokEOF {
		return fmt.Errorf("unexpected %s after the statement", p.tok)
	}
	return nil
}

// ident reads an identifier, quoted or not.
func (p *parser) ident(what string) (string, error) {
	if p.tok.kind != tokWord && p.tok.kind != tokQuoted {
		return "", fmt.Errorf("expected %s, found %s", what, p.tok)
	}
	s := p.tok.text
	return s, p.advance()
}

// tableName reads [[catalog.]schema.]table; qualifiers must name ours.
func (p *parser) tableName() (string, error) {
	parts := []string{}
	for {
		s, err := p.ident("a table name")
		if err != nil {
			return "", err
		}
		parts = append(parts, s)
		if !p.tok.isPunct(".") || len(parts) == 3 {
			break
		}
		if err := p.advance(); err != nil {
			return "", err
		}
	}
	name := parts[len(parts)-1]
	quals := parts[:len(parts)-1]
	if len(quals) == 2 && !strings.EqualFold(quals[0], Catalog) {
		return "", fmt.Errorf("catalog %q does not exist (the catalog is %q)", quals[0], Catalog)
	}
	if len(quals) > 0 && !strings.EqualFold(quals[len(quals)-1], Schema) {
		return "", fmt.Errorf("schema %q does not exist (the schema is %q)", quals[len(quals)-1], Schema)
	}
	return name, nil
}

// parseDDL parses one statement of the DDL/DML grammar. The result is a
// *createTable, *dropTable or *insertInto.
func parseDDL(sql string) (any, error) {
	p, err := newParser(sql)
	if err != nil {
		return nil, err
	}
	switch {
	case p.tok.is("create"):
		return p.createTable()
	case p.tok.is("drop"):
		return p.dropTable()
	case p.tok.is("insert"):
		return p.insertInto()
	}
	return nil, errUnsupported
}

// errUnsupported is returned for a statement that is none of the forms
// the service executes.
var errUnsupported = fmt.Errorf("only SELECT, CREATE TABLE, DROP TABLE and INSERT INTO statements are supported")

func (p *parser) createTable() (*createTable, error) {
	if err := p.expect("create"); err != nil {
		return nil, err
	}
	if ok, err := p.accept("or", "replace"); ok || err != nil {
		return nil, orErr(err, "CREATE OR REPLACE TABLE is not supported (DROP TABLE first)")
	}
	if p.tok.is("temp") || p.tok.is("temporary") {
		return nil, fmt.Errorf("temporary tables are not supported")
	}
	if !p.tok.is("table") {
		return nil, errUnsupported
	}
	ct := &createTable{}
	if err := p.expect("table"); err != nil {
		return nil, err
	}
	ok, err := p.accept("if", "not", "exists")
	if err != nil {
		return nil, err
	}
	ct.ifNotExists = ok
	if ct.name, err = p.tableName(); err != nil {
		return nil, err
	}
	if p.tok.isPunct("(") {
		if err := p.columnDefs(ct); err != nil {
			return nil, err
		}
	}
	if p.tok.is("with") {
		if err := p.tableOptions(&ct.config); err != nil {
			return nil, err
		}
	}
	if p.tok.is("as") {
		return ct, p.asQuery(ct)
	}
	if len(ct.columns) == 0 {
		return nil, fmt.Errorf("table %q: CREATE TABLE needs a column list or AS <query>", ct.name)
	}
	return ct, p.end()
}

// asQuery takes the rest of the text as the query of CREATE TABLE ... AS.
func (p *parser) asQuery(ct *createTable) error {
	if len(ct.columns) > 0 {
		return fmt.Errorf("table %q: give either a column list or AS <query>, not both", ct.name)
	}
	if err := p.expect("as"); err != nil {
		return err
	}
	ct.asQuery = p.lx.src[p.tok.pos:]
	if p.tok.kind == tokEOF {
		return fmt.Errorf("table %q: AS needs a query", ct.name)
	}
	return nil
}

func (p *parser) columnDefs(ct *createTable) error {
	if err := p.punct("("); err != nil {
		return err
	}
	for {
		col, err := p.columnDef(ct.name)
		if err != nil {
			return err
		}
		ct.columns = append(ct.columns, col)
		if !p.tok.isPunct(",") {
			break
		}
		if err := p.advance(); err != nil {
			return err
		}
	}
	return p.punct(")")
}

// constraintWords end a column's type; only NULL is accepted after it.
var constraintWords = map[string]string{
	"null": "", "not": "NOT NULL is not supported: every column is nullable",
	"primary": "PRIMARY KEY is not supported", "unique": "UNIQUE is not supported",
	"default": "DEFAULT is not supported", "check": "CHECK is not supported",
	"references": "REFERENCES is not supported", "collate": "COLLATE is not supported",
	"constraint": "constraints are not supported", "generated": "generated columns are not supported",
	"as": "generated columns are not supported",
}

func (p *parser) columnDef(table string) (columnDef, error) {
	if p.tok.kind == tokWord && constraintWords[strings.ToLower(p.tok.text)] != "" {
		return columnDef{}, fmt.Errorf("table %q: table constraints are not supported (%s)", table, p.tok.text)
	}
	name, err := p.ident("a column name")
	if err != nil {
		return columnDef{}, err
	}
	typ, err := p.typeExpr()
	if err != nil {
		return columnDef{}, fmt.Errorf("table %q column %q: %w", table, name, err)
	}
	if typ == "" {
		return columnDef{}, fmt.Errorf("table %q column %q: missing type", table, name)
	}
	if p.tok.kind == tokWord {
		msg, stop := constraintWords[strings.ToLower(p.tok.text)]
		switch {
		case stop && msg != "":
			return columnDef{}, fmt.Errorf("table %q column %q: %s", table, name, msg)
		case stop:
			if err := p.advance(); err != nil { // NULL
				return columnDef{}, err
			}
		}
	}
	return columnDef{name: name, typ: typ}, nil
}

// typeExpr reads a type and renders it from the tokens: words (DOUBLE
// PRECISION, TIMESTAMP WITH TIME ZONE), then an optional parenthesised
// argument list (DECIMAL(10,2), STRUCT(a INT), MAP(VARCHAR, INT),
// ENUM('a','b')), then array suffixes ([] or [n]).
func (p *parser) typeExpr() (string, error) {
	var words []string
	for p.tok.kind == tokWord {
		if _, stop := constraintWords[strings.ToLower(p.tok.text)]; stop && len(words) > 0 {
			break
		}
		words = append(words, p.tok.text)
		if err := p.advance(); err != nil {
			return "", err
		}
	}
	out := strings.Join(words, " ")
	if len(words) > 0 && p.tok.isPunct("(") {
		args, err := p.typeArgs()
		if err != nil {
			return "", err
		}
		out += args
	}
	for len(words) > 0 && p.tok.isPunct("[") {
		if err := p.advance(); err != nil {
			return "", err
		}
		out += "["
		if p.tok.kind == tokNumber {
			out += p.tok.text
			if err := p.advance(); err != nil {
				return "", err
			}
		}
		if err := p.punct("]"); err != nil {
			return "", err
		}
		out += "]"
	}
	return out, nil
}

// typeArgs reads "(" arg {"," arg} ")" where an arg is a number, a string
// or [name] type.
func (p *parser) typeArgs() (string, error) {
	if err := p.punct("("); err != nil {
		return "", err
	}
	var args []string
	for {
		a, err := p.typeArg()
		if err != nil {
			return "", err
		}
		args = append(args, a)
		if !p.tok.isPunct(",") {
			break
		}
		if err := p.advance(); err != nil {
			return "", err
		}
	}
	return "(" + strings.Join(args, ", ") + ")", p.punct(")")
}

func (p *parser) typeArg() (string, error) {
	switch p.tok.kind {
	case tokNumber:
		if _, err := strconv.ParseInt(p.tok.text, 10, 32); err != nil {
			return "", fmt.Errorf("bad type argument %s", p.tok)
		}
		s := p.tok.text
		return s, p.advance()
	case tokString:
		s := duckarrow.String(p.tok.text)
		return s, p.advance()
	case tokQuoted: // a STRUCT field name
		name := duckarrow.Ident(p.tok.text)
		if err := p.advance(); err != nil {
			return "", err
		}
		t, err := p.typeExpr()
		if err != nil || t == "" {
			return "", orErr(err, "missing type of field "+name)
		}
		return name + " " + t, nil
	}
	t, err := p.typeExpr()
	if err == nil && t == "" {
		err = fmt.Errorf("unexpected %s in a type", p.tok)
	}
	return t, err
}

// tableOptions reads WITH (key = value, ...) into cfg.
func (p *parser) tableOptions(cfg *catalog.TableConfig) error {
	if err := p.expect("with"); err != nil {
		return err
	}
	if err := p.punct("("); err != nil {
		return err
	}
	seen := map[string]bool{}
	for {
		key, err := p.ident("a table option")
		if err != nil {
			return err
		}
		key = strings.ToLower(key)
		if seen[key] {
			return fmt.Errorf("table option %s given twice", key)
		}
		seen[key] = true
		if err := p.punct("="); err != nil {
			return err
		}
		val := p.tok
		if val.kind == tokEOF || val.kind == tokPunct {
			return fmt.Errorf("table option %s: expected a value, found %s", key, val)
		}
		if err := p.advance(); err != nil {
			return err
		}
		if err := setOption(cfg, key, val); err != nil {
			return err
		}
		if !p.tok.isPunct(",") {
			break
		}
		if err := p.advance(); err != nil {
			return err
		}
	}
	return p.punct(")")
}

// TableOptions are the names accepted in CREATE TABLE ... WITH (...).
var TableOptions = []string{"buffer_size", "flush_interval_seconds", "retention_days", "backup_enabled", "shard_key", "time_column"}

func setOption(cfg *catalog.TableConfig, key string, val token) error {
	switch key {
	case "buffer_size":
		return intOption(&cfg.BufferSize, key, val)
	case "flush_interval_seconds":
		return intOption(&cfg.FlushIntervalSeconds, key, val)
	case "retention_days":
		return intOption(&cfg.RetentionDays, key, val)
	case "backup_enabled":
		switch {
		case val.is("true"), val.kind == tokString && strings.EqualFold(val.text, "true"), val.text == "1":
			cfg.BackupEnabled = true
		case val.is("false"), val.kind == tokString && strings.EqualFold(val.text, "false"), val.text == "0":
			cfg.BackupEnabled = false
		default:
			return fmt.Errorf("table option backup_enabled must be true or false, not %s", val)
		}
	case "shard_key":
		cfg.ShardKey = val.text
	case "time_column":
		cfg.TimeColumn = val.text
	default:
		return fmt.Errorf("unknown table option %q (known: %s)", key, strings.Join(TableOptions, ", "))
	}
	if val.kind == tokNumber && (key == "shard_key" || key == "time_column") {
		return fmt.Errorf("table option %s must name a column, not %s", key, val)
	}
	return nil
}

func intOption(dst *int64, key string, val token) error {
	text := val.text
	if val.kind != tokNumber && val.kind != tokString {
		return fmt.Errorf("table option %s must be a non-negative integer, not %s", key, val)
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("table option %s must be a non-negative integer, not %s", key, val)
	}
	*dst = n
	return nil
}

func (p *parser) dropTable() (*dropTable, error) {
	if err := p.expect("drop"); err != nil {
		return nil, err
	}
	if !p.tok.is("table") {
		return nil, errUnsupported
	}
	if err := p.expect("table"); err != nil {
		return nil, err
	}
	dt := &dropTable{}
	ok, err := p.accept("if", "exists")
	if err != nil {
		return nil, err
	}
	dt.ifExists = ok
	if dt.name, err = p.tableName(); err != nil {
		return nil, err
	}
	if p.tok.is("cascade") || p.tok.is("restrict") {
		if err := p.advance(); err != nil { // nothing depends on a table
			return nil, err
		}
	}
	return dt, p.end()
}

func (p *parser) insertInto() (*insertInto, error) {
	if err := p.expect("insert"); err != nil {
		return nil, err
	}
	if p.tok.is("or") {
		return nil, fmt.Errorf("INSERT OR REPLACE/IGNORE is not supported")
	}
	if err := p.expect("into"); err != nil {
		return nil, err
	}
	ins := &insertInto{}
	var err error
	if ins.name, err = p.tableName(); err != nil {
		return nil, err
	}
	if p.tok.is("as") {
		return nil, fmt.Errorf("table %q: an alias of the INSERT target is not supported", ins.name)
	}
	if p.tok.isPunct("(") && !p.startsQuery(p.lx.pos) {
		if ins.columns, err = p.columnList(); err != nil {
			return nil, err
		}
	}
	if ok, err := p.accept("by"); ok || err != nil {
		if err != nil {
			return nil, err
		}
		switch {
		case p.tok.is("name"):
			ins.byName = true
		case p.tok.is("position"):
		default:
			return nil, fmt.Errorf("expected NAME or POSITION after BY, found %s", p.tok)
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
	if p.tok.is("default") {
		return nil, fmt.Errorf("table %q: DEFAULT VALUES is not supported", ins.name)
	}
	if p.tok.kind == tokEOF {
		return nil, fmt.Errorf("table %q: INSERT needs VALUES or a query", ins.name)
	}
	ins.query = p.lx.src[p.tok.pos:]
	return ins, nil
}

// startsQuery reports whether the text after the "(" at the current token
// begins a parenthesised query rather than a column list.
func (p *parser) startsQuery(after int) bool {
	l := lexer{src: p.lx.src, pos: after}
	t, err := l.next()
	if err != nil {
		return false
	}
	return t.is("select") || t.is("with") || t.is("values") || t.is("from") || t.isPunct("(")
}

func (p *parser) columnList() ([]string, error) {
	if err := p.punct("("); err != nil {
		return nil, err
	}
	var cols []string
	for {
		c, err := p.ident("a column name")
		if err != nil {
			return nil, err
		}
		cols = append(cols, c)
		if !p.tok.isPunct(",") {
			break
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
	return cols, p.punct(")")
}

func orErr(err error, msg string) error {
	if err != nil {
		return err
	}
	return fmt.Errorf("%s", msg)
}
