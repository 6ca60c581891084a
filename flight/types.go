package flight

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"

	"github.com/miniodb/miniodb/query"
)

// dbSchemaNameKey is the spec's spelling of the schema-name column
// metadata key; arrow-go and the JDBC driver use flightsql.SchemaNameKey.
// Both are set.
const dbSchemaNameKey = "ARROW:FLIGHT:SQL:DB_SCHEMA_NAME"

// isNullableKey says whether the column accepts NULL ("1"); the Arrow
// field's nullable flag says the same for clients that read only that.
const isNullableKey = "ARROW:FLIGHT:SQL:IS_NULLABLE"

// sqlTypeName names an Arrow type as DuckDB (and so our SQL) spells it.
func sqlTypeName(t arrow.DataType) string {
	switch t := t.(type) {
	case *arrow.Decimal128Type:
		return fmt.Sprintf("DECIMAL(%d,%d)", t.Precision, t.Scale)
	case *arrow.Decimal256Type:
		return fmt.Sprintf("DECIMAL(%d,%d)", t.Precision, t.Scale)
	case *arrow.TimestampType:
		if t.TimeZone != "" {
			return "TIMESTAMP WITH TIME ZONE"
		}
		return map[arrow.TimeUnit]string{arrow.Second: "TIMESTAMP_S", arrow.Millisecond: "TIMESTAMP_MS",
			arrow.Microsecond: "TIMESTAMP", arrow.Nanosecond: "TIMESTAMP_NS"}[t.Unit]
	case *arrow.ListType:
		return sqlTypeName(t.Elem()) + "[]"
	case *arrow.LargeListType:
		return sqlTypeName(t.Elem()) + "[]"
	case *arrow.FixedSizeListType:
		return fmt.Sprintf("%s[%d]", sqlTypeName(t.Elem()), t.Len())
	case *arrow.MapType:
		return fmt.Sprintf("MAP(%s, %s)", sqlTypeName(t.KeyType()), sqlTypeName(t.ItemType()))
	case *arrow.StructType:
		parts := make([]string, t.NumFields())
		for i, f := range t.Fields() {
			parts[i] = strconv.Quote(f.Name) + " " + sqlTypeName(f.Type)
		}
		return "STRUCT(" + strings.Join(parts, ", ") + ")"
	}
	if n, ok := simpleTypeNames[t.ID()]; ok {
		return n
	}
	return strings.ToUpper(t.Name())
}

var simpleTypeNames = map[arrow.Type]string{
	arrow.NULL: "NULL", arrow.BOOL: "BOOLEAN",
	arrow.INT8: "TINYINT", arrow.INT16: "SMALLINT", arrow.INT32: "INTEGER", arrow.INT64: "BIGINT",
	arrow.UINT8: "UTINYINT", arrow.UINT16: "USMALLINT", arrow.UINT32: "UINTEGER", arrow.UINT64: "UBIGINT",
	arrow.FLOAT16: "FLOAT", arrow.FLOAT32: "FLOAT", arrow.FLOAT64: "DOUBLE",
	arrow.STRING: "VARCHAR", arrow.LARGE_STRING: "VARCHAR", arrow.STRING_VIEW: "VARCHAR",
	arrow.BINARY: "BLOB", arrow.LARGE_BINARY: "BLOB", arrow.BINARY_VIEW: "BLOB", arrow.FIXED_SIZE_BINARY: "BLOB",
	arrow.DATE32: "DATE", arrow.DATE64: "DATE", arrow.TIME32: "TIME", arrow.TIME64: "TIME",
	arrow.INTERVAL_MONTHS: "INTERVAL", arrow.INTERVAL_DAY_TIME: "INTERVAL", arrow.INTERVAL_MONTH_DAY_NANO: "INTERVAL",
	arrow.DURATION: "INTERVAL",
}

// precisionScale is the column size and decimal digits JDBC/ODBC report
// for a numeric type.
func precisionScale(t arrow.DataType) (precision, scale int32, ok bool) {
	switch t := t.(type) {
	case *arrow.Decimal128Type:
		return t.Precision, t.Scale, true
	case *arrow.Decimal256Type:
		return t.Precision, t.Scale, true
	}
	digits := map[arrow.Type]int32{arrow.INT8: 3, arrow.INT16: 5, arrow.INT32: 10, arrow.INT64: 19,
		arrow.UINT8: 3, arrow.UINT16: 5, arrow.UINT32: 10, arrow.UINT64: 20, arrow.FLOAT32: 7, arrow.FLOAT64: 15}
	p, ok := digits[t.ID()]
	return p, 0, ok
}

// columnMetadata describes one column of a table for GetTables with
// include_schema (and for clients that read it from result schemas).
func columnMetadata(table string, f arrow.Field) arrow.Metadata {
	b := flightsql.NewColumnMetadataBuilder()
	b.CatalogName(query.Catalog).SchemaName(query.Schema).TableName(table).TypeName(sqlTypeName(f.Type))
	if p, s, ok := precisionScale(f.Type); ok {
		b.Precision(p).Scale(s)
	}
	isString := f.Type.ID() == arrow.STRING || f.Type.ID() == arrow.LARGE_STRING
	b.IsAutoIncrement(false).IsCaseSensitive(isString).IsReadOnly(false).IsSearchable(true)
	md := b.Metadata()
	keys := append(md.Keys(), dbSchemaNameKey, isNullableKey)
	vals := append(md.Values(), query.Schema, boolFlag(f.Nullable))
	return arrow.NewMetadata(keys, vals)
}

func boolFlag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// describedSchema is a table's schema with column metadata on each field.
func describedSchema(table string, s *arrow.Schema) *arrow.Schema {
	fields := make([]arrow.Field, s.NumFields())
	for i, f := range s.Fields() {
		f.Metadata = columnMetadata(table, f)
		fields[i] = f
	}
	return arrow.NewSchema(fields, nil)
}
