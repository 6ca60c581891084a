package query

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	bindings "github.com/duckdb/duckdb-go-bindings"
)

// bindParams binds row r of params to the statement's parameters by
// position: column i is parameter $i+1. A nil params binds nothing.
func bindParams(stmt bindings.PreparedStatement, params arrow.RecordBatch, r int64) error {
	n := int(bindings.NParams(stmt))
	if params == nil {
		return nil
	}
	if int(params.NumCols()) != n {
		return fmt.Errorf("%w: the statement has %d parameters, %d values were bound", ErrInvalid, n, params.NumCols())
	}
	if r >= params.NumRows() {
		return fmt.Errorf("%w: no parameter values were bound", ErrInvalid)
	}
	bindings.ClearBindings(stmt)
	for i, col := range params.Columns() {
		if err := bindValue(stmt, bindings.IdxT(i+1), col, int(r)); err != nil {
			return fmt.Errorf("%w: parameter $%d (%s): %v", ErrInvalid, i+1, params.Schema().Field(i).Name, err)
		}
	}
	return nil
}

// bindValue binds one Arrow value; DuckDB casts it to the parameter's type.
func bindValue(stmt bindings.PreparedStatement, idx bindings.IdxT, col arrow.Array, i int) error {
	if col.IsNull(i) || col.DataType().ID() == arrow.NULL {
		return state(bindings.BindNull(stmt, idx))
	}
	switch c := col.(type) {
	case *array.Boolean:
		return state(bindings.BindBoolean(stmt, idx, c.Value(i)))
	case *array.Int8:
		return state(bindings.BindInt8(stmt, idx, c.Value(i)))
	case *array.Int16:
		return state(bindings.BindInt16(stmt, idx, c.Value(i)))
	case *array.Int32:
		return state(bindings.BindInt32(stmt, idx, c.Value(i)))
	case *array.Int64:
		return state(bindings.BindInt64(stmt, idx, c.Value(i)))
	case *array.Uint8:
		return state(bindings.BindUInt8(stmt, idx, c.Value(i)))
	case *array.Uint16:
		return state(bindings.BindUInt16(stmt, idx, c.Value(i)))
	case *array.Uint32:
		return state(bindings.BindUInt32(stmt, idx, c.Value(i)))
	case *array.Uint64:
		return state(bindings.BindUInt64(stmt, idx, c.Value(i)))
	case *array.Float32:
		return state(bindings.BindFloat(stmt, idx, c.Value(i)))
	case *array.Float64:
		return state(bindings.BindDouble(stmt, idx, c.Value(i)))
	case *array.String:
		return state(bindings.BindVarchar(stmt, idx, c.Value(i)))
	case *array.LargeString:
		return state(bindings.BindVarchar(stmt, idx, c.Value(i)))
	case *array.StringView:
		return state(bindings.BindVarchar(stmt, idx, c.Value(i)))
	case *array.Binary:
		return state(bindings.BindBlob(stmt, idx, c.Value(i)))
	case *array.LargeBinary:
		return state(bindings.BindBlob(stmt, idx, c.Value(i)))
	case *array.FixedSizeBinary:
		return state(bindings.BindBlob(stmt, idx, c.Value(i)))
	case *array.Dictionary:
		return bindValue(stmt, idx, c.Dictionary(), c.GetValueIndex(i))
	}
	return bindTemporal(stmt, idx, col, i)
}

func bindTemporal(stmt bindings.PreparedStatement, idx bindings.IdxT, col arrow.Array, i int) error {
	switch c := col.(type) {
	case *array.Date32:
		return state(bindings.BindDate(stmt, idx, bindings.NewDate(int32(c.Value(i)))))
	case *array.Date64:
		return state(bindings.BindDate(stmt, idx, bindings.NewDate(int32(floorDiv(int64(c.Value(i)), 86_400_000)))))
	case *array.Time32:
		unit := c.DataType().(*arrow.Time32Type).Unit
		return state(bindings.BindTime(stmt, idx, bindings.NewTime(int64(c.Value(i))*int64(unit.Multiplier()/1000))))
	case *array.Time64:
		unit := c.DataType().(*arrow.Time64Type).Unit
		return state(bindings.BindTime(stmt, idx, bindings.NewTime(toMicros(int64(c.Value(i)), unit))))
	case *array.Timestamp:
		return bindTimestamp(stmt, idx, c, i)
	case *array.MonthDayNanoInterval:
		v := c.Value(i)
		return state(bindings.BindInterval(stmt, idx, bindings.NewInterval(v.Months, v.Days, v.Nanoseconds/1000)))
	case *array.DayTimeInterval:
		v := c.Value(i)
		return state(bindings.BindInterval(stmt, idx, bindings.NewInterval(0, v.Days, int64(v.Milliseconds)*1000)))
	case *array.MonthInterval:
		return state(bindings.BindInterval(stmt, idx, bindings.NewInterval(int32(c.Value(i)), 0, 0)))
	case *array.Decimal128:
		return bindDecimal(stmt, idx, c, i)
	}
	return fmt.Errorf("type %s is not supported as a parameter", col.DataType())
}

// bindTimestamp keeps the value's unit (DuckDB has TIMESTAMP_S, _MS, _NS);
// a zoned timestamp becomes TIMESTAMPTZ (microseconds).
func bindTimestamp(stmt bindings.PreparedStatement, idx bindings.IdxT, c *array.Timestamp, i int) error {
	t := c.DataType().(*arrow.TimestampType)
	v := int64(c.Value(i))
	if t.TimeZone != "" {
		return state(bindings.BindTimestampTZ(stmt, idx, bindings.NewTimestamp(toMicros(v, t.Unit))))
	}
	var val bindings.Value
	switch t.Unit {
	case arrow.Second:
		val = bindings.CreateTimestampS(bindings.NewTimestampS(v))
	case arrow.Millisecond:
		val = bindings.CreateTimestampMS(bindings.NewTimestampMS(v))
	case arrow.Nanosecond:
		val = bindings.CreateTimestampNS(bindings.NewTimestampNS(v))
	default:
		return state(bindings.BindTimestamp(stmt, idx, bindings.NewTimestamp(v)))
	}
	defer bindings.DestroyValue(&val)
	return state(bindings.BindValue(stmt, idx, val))
}

func bindDecimal(stmt bindings.PreparedStatement, idx bindings.IdxT, c *array.Decimal128, i int) error {
	t := c.DataType().(*arrow.Decimal128Type)
	if t.Precision > 38 || t.Scale < 0 || t.Scale > t.Precision {
		return fmt.Errorf("decimal(%d,%d) is out of DuckDB's range", t.Precision, t.Scale)
	}
	v := c.Value(i)
	d := bindings.NewDecimal(uint8(t.Precision), uint8(t.Scale), bindings.NewHugeInt(v.LowBits(), v.HighBits()))
	return state(bindings.BindDecimal(stmt, idx, d))
}

func toMicros(v int64, unit arrow.TimeUnit) int64 {
	switch unit {
	case arrow.Second:
		return v * 1_000_000
	case arrow.Millisecond:
		return v * 1000
	case arrow.Nanosecond:
		return floorDiv(v, 1000)
	}
	return v
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func state(s bindings.State) error {
	if s == bindings.StateError {
		return fmt.Errorf("DuckDB refused the value")
	}
	return nil
}

// paramSchema describes the statement's parameters as Arrow fields named
// after them ("1", "2", ... or the $name). A parameter whose type DuckDB
// cannot infer from the statement (SELECT ?) is typed null: any value
// may be bound to it.
func paramSchema(conn bindings.Connection, stmt bindings.PreparedStatement) (*arrow.Schema, error) {
	n := int(bindings.NParams(stmt))
	fields := make([]arrow.Field, 0, n)
	for i := 1; i <= n; i++ {
		name := bindings.ParameterName(stmt, bindings.IdxT(i))
		lt := bindings.ParamLogicalType(stmt, bindings.IdxT(i))
		typ, err := arrowTypeOf(conn, lt)
		bindings.DestroyLogicalType(&lt)
		if err != nil {
			return nil, err
		}
		fields = append(fields, arrow.Field{Name: name, Type: millisForJDBC(typ), Nullable: true})
	}
	return arrow.NewSchema(fields, nil), nil
}

// millisForJDBC advertises timestamp and time parameters in milliseconds.
//
// NOTE: the Flight SQL JDBC driver up to 18.3 writes java.sql.Timestamp and
// Time values as epoch milliseconds into whatever vector the parameter
// schema names, so a microsecond parameter would receive a value 1000 times
// too small. Milliseconds are what JDBC carries anyway; other clients send
// their own types, which bindValue converts by their real unit.
func millisForJDBC(t arrow.DataType) arrow.DataType {
	switch t := t.(type) {
	case *arrow.TimestampType:
		return &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: t.TimeZone}
	case *arrow.Time64Type:
		return arrow.FixedWidthTypes.Time32ms
	}
	return t
}

func arrowTypeOf(conn bindings.Connection, lt bindings.LogicalType) (arrow.DataType, error) {
	switch bindings.GetTypeId(lt) {
	case bindings.TypeInvalid, bindings.TypeAny, bindings.TypeSQLNull:
		return arrow.Null, nil
	}
	var opts bindings.ArrowOptions
	bindings.ConnectionGetArrowOptions(conn, &opts)
	defer bindings.DestroyArrowOptions(&opts)
	s, ed := bindings.NewArrowSchema(opts, []bindings.LogicalType{lt}, []string{"p"})
	if err := errorData(ed); err != nil {
		return nil, err
	}
	return s.Field(0).Type, nil
}
