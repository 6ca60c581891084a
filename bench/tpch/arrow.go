package tpch

import (
	"fmt"
	"math/big"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Canonicalize turns Arrow records, as a client receives them, into the
// canonical form that Reference returns. Every record must have schema's
// number of columns. The result holds no reference to the records.
func Canonicalize(schema *arrow.Schema, recs []arrow.RecordBatch) (*Result, error) {
	res := &Result{Columns: make([]string, schema.NumFields())}
	for i, f := range schema.Fields() {
		res.Columns[i] = f.Name
	}
	for n, rec := range recs {
		if int(rec.NumCols()) != len(res.Columns) {
			return nil, fmt.Errorf("tpch: record %d has %d columns, schema %d", n, rec.NumCols(), len(res.Columns))
		}
		if err := appendRecord(res, rec); err != nil {
			return nil, err
		}
	}
	return res, nil
}

func appendRecord(res *Result, rec arrow.RecordBatch) error {
	cols := rec.Columns()
	for r := 0; r < int(rec.NumRows()); r++ {
		row := make([]Value, len(cols))
		for c, col := range cols {
			v, err := arrowValue(col, r)
			if err != nil {
				return fmt.Errorf("tpch: column %q: %w", res.Columns[c], err)
			}
			row[c] = v
		}
		res.Rows = append(res.Rows, row)
	}
	return nil
}

// arrowValue canonicalizes element i of arr.
func arrowValue(arr arrow.Array, i int) (Value, error) {
	if arr.IsNull(i) {
		return nullValue(), nil
	}
	if v, ok := arrowScalar(arr, i); ok {
		return v, nil
	}
	if v, ok := arrowInt(arr, i); ok {
		return v, nil
	}
	if v, ok := arrowDecimal(arr, i); ok {
		return v, nil
	}
	if v, ok := arrowTemporal(arr, i); ok {
		return v, nil
	}
	if d, ok := arr.(*array.Dictionary); ok {
		return arrowValue(d.Dictionary(), d.GetValueIndex(i))
	}
	return Value{}, fmt.Errorf("%w: arrow %s", errUnsupported, arr.DataType())
}

// arrowScalar handles booleans, floats and strings. Strings are copied: Arrow
// string values alias the record's buffers, which the caller may release.
func arrowScalar(arr arrow.Array, i int) (Value, bool) {
	switch a := arr.(type) {
	case *array.Boolean:
		return boolValue(a.Value(i)), true
	case *array.Float32:
		return floatValue(float64(a.Value(i))), true
	case *array.Float64:
		return floatValue(a.Value(i)), true
	case *array.String:
		return stringValue(strings.Clone(a.Value(i))), true
	case *array.LargeString:
		return stringValue(strings.Clone(a.Value(i))), true
	case *array.StringView:
		return stringValue(strings.Clone(a.Value(i))), true
	}
	return Value{}, false
}

func arrowInt(arr arrow.Array, i int) (Value, bool) {
	switch a := arr.(type) {
	case *array.Int8:
		return int64Value(int64(a.Value(i))), true
	case *array.Int16:
		return int64Value(int64(a.Value(i))), true
	case *array.Int32:
		return int64Value(int64(a.Value(i))), true
	case *array.Int64:
		return int64Value(a.Value(i)), true
	case *array.Uint8:
		return uint64Value(uint64(a.Value(i))), true
	case *array.Uint16:
		return uint64Value(uint64(a.Value(i))), true
	case *array.Uint32:
		return uint64Value(uint64(a.Value(i))), true
	case *array.Uint64:
		return uint64Value(a.Value(i)), true
	}
	return Value{}, false
}

func arrowDecimal(arr arrow.Array, i int) (Value, bool) {
	dt, ok := arr.DataType().(arrow.DecimalType)
	if !ok {
		return Value{}, false
	}
	var unscaled *big.Int
	switch a := arr.(type) {
	case *array.Decimal32:
		unscaled = big.NewInt(int64(a.Value(i)))
	case *array.Decimal64:
		unscaled = big.NewInt(int64(a.Value(i)))
	case *array.Decimal128:
		unscaled = a.Value(i).BigInt()
	case *array.Decimal256:
		unscaled = a.Value(i).BigInt()
	default:
		return Value{}, false
	}
	return decimalValue(unscaled, dt.GetScale()), true
}

func arrowTemporal(arr arrow.Array, i int) (Value, bool) {
	switch a := arr.(type) {
	case *array.Date32:
		return dateValue(a.Value(i).ToTime()), true
	case *array.Date64:
		return dateValue(a.Value(i).ToTime()), true
	case *array.Time32:
		unit := a.DataType().(*arrow.Time32Type).Unit
		return timeValue(a.Value(i).ToTime(unit)), true
	case *array.Time64:
		unit := a.DataType().(*arrow.Time64Type).Unit
		return timeValue(a.Value(i).ToTime(unit)), true
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return timestampValue(a.Value(i).ToTime(unit)), true
	}
	return Value{}, false
}
