package ingest

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TableNamePattern is the seed's rule for table names.
const TableNamePattern = `^[a-zA-Z][a-zA-Z0-9_]{0,63}$`

var tableNameRE = regexp.MustCompile(TableNamePattern)

// ValidTableName reports whether name follows TableNamePattern.
func ValidTableName(name string) bool { return tableNameRE.MatchString(name) }

// reservedPrefixes are name prefixes DuckDB resolves to its own system
// views; the query sandbox refuses them, so no table may take them.
var reservedPrefixes = []string{"duckdb_", "sqlite_", "pragma_", "pg_"}

func checkTableName(name string) error {
	if !ValidTableName(name) {
		return fmt.Errorf("%w: table name %q must match %s", ErrInvalid, name, TableNamePattern)
	}
	low := strings.ToLower(name)
	for _, p := range reservedPrefixes {
		if strings.HasPrefix(low, p) {
			return fmt.Errorf("%w: table name %q: the prefix %q is reserved", ErrInvalid, name, p)
		}
	}
	return nil
}

// checkColumns validates the incoming schema of table: names present, valid
// UTF-8, at most 255 bytes, unique ignoring case, and types we can store.
func checkColumns(table string, s *arrow.Schema) error {
	if s.NumFields() == 0 {
		return fmt.Errorf("%w: table %q: a batch needs at least one column", ErrInvalid, table)
	}
	seen := map[string]string{}
	for _, f := range s.Fields() {
		if f.Name == "" || len(f.Name) > 255 || !utf8.ValidString(f.Name) || strings.ContainsRune(f.Name, 0) {
			return fmt.Errorf("%w: table %q: column name %q must be 1-255 bytes of UTF-8 without NUL", ErrInvalid, table, f.Name)
		}
		low := strings.ToLower(f.Name)
		if prev, dup := seen[low]; dup {
			return fmt.Errorf("%w: table %q: columns %q and %q differ only in case", ErrInvalid, table, prev, f.Name)
		}
		seen[low] = f.Name
		if err := checkType(f.Type); err != nil {
			return fmt.Errorf("%w: table %q column %q: %v", ErrInvalid, table, f.Name, err)
		}
	}
	return nil
}

func checkType(t arrow.DataType) error {
	switch t := t.(type) {
	case *arrow.BooleanType, *arrow.Int8Type, *arrow.Int16Type, *arrow.Int32Type, *arrow.Int64Type,
		*arrow.Uint8Type, *arrow.Uint16Type, *arrow.Uint32Type, *arrow.Uint64Type,
		*arrow.Float32Type, *arrow.Float64Type, *arrow.Decimal128Type, *arrow.Decimal256Type,
		*arrow.StringType, *arrow.LargeStringType, *arrow.BinaryType, *arrow.LargeBinaryType,
		*arrow.FixedSizeBinaryType, *arrow.Date32Type, *arrow.Date64Type, *arrow.TimestampType,
		*arrow.Time32Type, *arrow.Time64Type:
		return nil
	case *arrow.ListType:
		return checkType(t.Elem())
	case *arrow.LargeListType:
		return checkType(t.Elem())
	case *arrow.StructType:
		for _, f := range t.Fields() {
			if err := checkType(f.Type); err != nil {
				return err
			}
		}
		return nil
	case *arrow.MapType:
		if err := checkType(t.KeyType()); err != nil {
			return err
		}
		return checkType(t.ItemType())
	}
	return fmt.Errorf("type %s is not supported", t)
}

// normalizeSchema makes every field nullable and drops metadata: a table's
// stored schema.
func normalizeSchema(s *arrow.Schema) *arrow.Schema {
	fields := make([]arrow.Field, s.NumFields())
	for i, f := range s.Fields() {
		fields[i] = arrow.Field{Name: f.Name, Type: f.Type, Nullable: true}
	}
	return arrow.NewSchema(fields, nil)
}

// evolve returns the table schema extended by the incoming columns it lacks,
// or ErrInvalid naming the first column whose type conflicts.
func evolve(table string, have, in *arrow.Schema) (*arrow.Schema, bool, error) {
	idx := fieldIndex(have)
	fields := append([]arrow.Field(nil), have.Fields()...)
	for _, f := range in.Fields() {
		i, ok := idx[strings.ToLower(f.Name)]
		if !ok {
			fields = append(fields, arrow.Field{Name: f.Name, Type: f.Type, Nullable: true})
			continue
		}
		if !arrow.TypeEqual(fields[i].Type, f.Type) {
			return nil, false, fmt.Errorf("%w: table %q column %q has type %s, the batch sends %s",
				ErrInvalid, table, fields[i].Name, fields[i].Type, f.Type)
		}
	}
	changed := len(fields) != have.NumFields()
	return arrow.NewSchema(fields, nil), changed, nil
}

func fieldIndex(s *arrow.Schema) map[string]int {
	idx := make(map[string]int, s.NumFields())
	for i, f := range s.Fields() {
		idx[strings.ToLower(f.Name)] = i
	}
	return idx
}

// conform returns rec with exactly the columns of schema, in its order:
// columns the batch lacks are all-null. The result must be released.
func conform(mem memory.Allocator, rec arrow.RecordBatch, schema *arrow.Schema) arrow.RecordBatch {
	if rec.Schema().Equal(schema) {
		rec.Retain()
		return rec
	}
	idx := fieldIndex(rec.Schema())
	cols := make([]arrow.Array, schema.NumFields())
	n := int(rec.NumRows())
	for i, f := range schema.Fields() {
		if j, ok := idx[strings.ToLower(f.Name)]; ok {
			cols[i] = conformColumn(mem, rec.Column(j), f.Type)
		} else {
			cols[i] = array.MakeArrayOfNull(mem, f.Type, n)
		}
	}
	out := array.NewRecordBatch(schema, cols, int64(n))
	for _, c := range cols {
		c.Release()
	}
	return out
}

// Conform returns rec with exactly the columns of schema, in its order,
// as a table's batches are conformed (columns the batch lacks are
// all-null, others are dropped); the result must be released.
func Conform(rec arrow.RecordBatch, schema *arrow.Schema) arrow.RecordBatch {
	return conform(memory.DefaultAllocator, rec, schema)
}
