package flight

import (
	"context"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql/schema_ref"
	pb "github.com/apache/arrow-go/v18/arrow/flight/gen/flight"
)

// xdbcType is one row of GetXdbcTypeInfo: a type CREATE TABLE accepts.
type xdbcType struct {
	name           string
	dataType       pb.XdbcDataType
	size           int32 // column size: digits, characters or bits (radix 2)
	prefix, suffix string
	params         []string // CREATE TABLE parameters, e.g. precision, scale
	caseSensitive  bool
	unsigned       *bool
	fixedPrecScale bool
	minScale       *int32
	maxScale       *int32
	sqlDataType    pb.XdbcDataType
	subcode        *pb.XdbcDatetimeSubcode
	radix          *int32
}

func ptr[T any](v T) *T { return &v }

// xdbcTypes are ordered by data type, then name, as the protocol asks.
var xdbcTypes = sortedXdbcTypes()

func sortedXdbcTypes() []xdbcType {
	signed, unsigned := ptr(false), ptr(true)
	ten, two := ptr(int32(10)), ptr(int32(2))
	maxLen := int32(math.MaxInt32)
	dt := func(name string, code pb.XdbcDataType, size int32, prefix string, sub pb.XdbcDatetimeSubcode) xdbcType {
		return xdbcType{name: name, dataType: code, size: size, prefix: prefix, suffix: "'",
			sqlDataType: pb.XdbcDataType_XDBC_DATETIME, subcode: ptr(sub)}
	}
	types := []xdbcType{
		{name: "BIGINT", dataType: pb.XdbcDataType_XDBC_BIGINT, size: 19, unsigned: signed, radix: ten},
		{name: "UBIGINT", dataType: pb.XdbcDataType_XDBC_BIGINT, size: 20, unsigned: unsigned, radix: ten},
		{name: "BLOB", dataType: pb.XdbcDataType_XDBC_VARBINARY, size: maxLen, prefix: "'", suffix: "'::BLOB"},
		{name: "UTINYINT", dataType: pb.XdbcDataType_XDBC_TINYINT, size: 3, unsigned: unsigned, radix: ten},
		{name: "TINYINT", dataType: pb.XdbcDataType_XDBC_TINYINT, size: 3, unsigned: signed, radix: ten},
		{name: "BOOLEAN", dataType: pb.XdbcDataType_XDBC_BIT, size: 1},
		{name: "DECIMAL", dataType: pb.XdbcDataType_XDBC_DECIMAL, size: 38, params: []string{"precision", "scale"},
			unsigned: signed, fixedPrecScale: true, minScale: ptr(int32(0)), maxScale: ptr(int32(38)), radix: ten},
		{name: "INTEGER", dataType: pb.XdbcDataType_XDBC_INTEGER, size: 10, unsigned: signed, radix: ten},
		{name: "UINTEGER", dataType: pb.XdbcDataType_XDBC_INTEGER, size: 10, unsigned: unsigned, radix: ten},
		{name: "SMALLINT", dataType: pb.XdbcDataType_XDBC_SMALLINT, size: 5, unsigned: signed, radix: ten},
		{name: "USMALLINT", dataType: pb.XdbcDataType_XDBC_SMALLINT, size: 5, unsigned: unsigned, radix: ten},
		{name: "FLOAT", dataType: pb.XdbcDataType_XDBC_REAL, size: 24, unsigned: signed, radix: two},
		{name: "DOUBLE", dataType: pb.XdbcDataType_XDBC_DOUBLE, size: 53, unsigned: signed, radix: two},
		{name: "VARCHAR", dataType: pb.XdbcDataType_XDBC_VARCHAR, size: maxLen, prefix: "'", suffix: "'", caseSensitive: true},
		dt("DATE", pb.XdbcDataType_XDBC_DATE, 10, "DATE '", pb.XdbcDatetimeSubcode_XDBC_SUBCODE_DATE),
		dt("TIME", pb.XdbcDataType_XDBC_TIME, 15, "TIME '", pb.XdbcDatetimeSubcode_XDBC_SUBCODE_TIME),
		dt("TIMESTAMP", pb.XdbcDataType_XDBC_TIMESTAMP, 26, "TIMESTAMP '", pb.XdbcDatetimeSubcode_XDBC_SUBCODE_TIMESTAMP),
		dt("TIMESTAMP WITH TIME ZONE", pb.XdbcDataType_XDBC_TIMESTAMP, 32, "TIMESTAMPTZ '", pb.XdbcDatetimeSubcode_XDBC_SUBCODE_TIMESTAMP),
	}
	for i := range types {
		if types[i].sqlDataType == 0 {
			types[i].sqlDataType = types[i].dataType
		}
	}
	sortXdbc(types)
	return types
}

func sortXdbc(ts []xdbcType) {
	for i := 1; i < len(ts); i++ {
		for j := i; j > 0 && xdbcLess(ts[j], ts[j-1]); j-- {
			ts[j], ts[j-1] = ts[j-1], ts[j]
		}
	}
}

func xdbcLess(a, b xdbcType) bool {
	if a.dataType != b.dataType {
		return a.dataType < b.dataType
	}
	return a.name < b.name
}

// GetFlightInfoXdbcTypeInfo describes the type list.
func (s *Server) GetFlightInfoXdbcTypeInfo(_ context.Context, _ flightsql.GetXdbcTypeInfo, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.metadataInfo(schema_ref.XdbcTypeInfo, desc)
}

// DoGetXdbcTypeInfo streams the types, or those of one data type.
func (s *Server) DoGetXdbcTypeInfo(ctx context.Context, cmd flightsql.GetXdbcTypeInfo) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	var rows [][]any
	for _, t := range xdbcTypes {
		if dt := cmd.GetDataType(); dt != nil && *dt != int32(t.dataType) {
			continue
		}
		rows = append(rows, t.row())
	}
	return s.streamRows(ctx, schema_ref.XdbcTypeInfo, rows)
}

// row is the type in the column order of schema_ref.XdbcTypeInfo.
func (t xdbcType) row() []any {
	nullable := int32(pb.Nullable_NULLABILITY_NULLABLE)
	searchable := int32(pb.Searchable_SEARCHABLE_FULL)
	var params any
	if t.params != nil {
		params = t.params
	}
	return []any{
		t.name, int32(t.dataType), t.size, orNil(t.prefix), orNil(t.suffix), params,
		nullable, t.caseSensitive, searchable, deref(t.unsigned), t.fixedPrecScale, false,
		t.name, deref(t.minScale), deref(t.maxScale), int32(t.sqlDataType), subcode(t.subcode), deref(t.radix), nil,
	}
}

func orNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func subcode(p *pb.XdbcDatetimeSubcode) any {
	if p == nil {
		return nil
	}
	return int32(*p)
}
