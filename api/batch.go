package api

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// The columns every row of the seed's write API has.
const (
	idColumn   = "id"
	timeColumn = "timestamp"
)

// timeType is the type of the timestamp column of a table the row API
// creates.
var timeType = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}

// rowSchema is the schema of a table created through the row API, before
// its first payload adds columns.
func rowSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: idColumn, Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: timeColumn, Type: timeType, Nullable: true},
	}, nil)
}

// column is how one column of a write batch is built.
type column struct {
	name  string
	typ   arrow.DataType
	widen bool              // an integer column of the table that must become double first
	get   func(i int) value // the value of row i
}

// planColumns decides the columns of rows written to table, whose current
// schema is have (nil when the table does not exist yet): id, timestamp,
// then one column per payload field in name order. A column the table has
// keeps its type (values are converted where that loses nothing; an integer
// column receiving fractions is widened to double); a new column gets the
// type its values share: integers int64, numbers with fractions double,
// booleans bool, strings and nested objects or arrays utf8. Anything else
// is refused, naming the table, column and row.
func planColumns(table string, have *arrow.Schema, rows []row, now time.Time) ([]column, error) {
	lower := make([]map[string]value, len(rows))
	for i := range rows {
		lower[i] = make(map[string]value, len(rows[i].fields))
		for name, v := range rows[i].fields {
			low := strings.ToLower(name)
			if low == idColumn || low == timeColumn {
				return nil, invalidf("table %q row %d: payload field %q collides with the row's %s; rename it", table, i, name, low)
			}
			if name == "" {
				return nil, invalidf("table %q row %d: a payload field has an empty name", table, i)
			}
			if _, dup := lower[i][low]; dup {
				return nil, invalidf("table %q row %d: payload fields differ only in case (%q); columns ignore case", table, i, name)
			}
			lower[i][low] = v
		}
	}
	idx := map[string]arrow.Field{}
	if have != nil {
		for _, f := range have.Fields() {
			idx[strings.ToLower(f.Name)] = f
		}
	}
	cols := []column{
		{name: idColumn, get: func(i int) value {
			if rows[i].id == "" {
				return value{}
			}
			return value{kind: kindString, s: rows[i].id}
		}},
		{name: timeColumn, get: func(i int) value {
			if rows[i].ts.IsZero() {
				return value{kind: kindTime, t: now}
			}
			return value{kind: kindTime, t: rows[i].ts}
		}},
	}
	for _, name := range sortedNames(rows) {
		low := strings.ToLower(name)
		cols = append(cols, column{name: name, get: func(i int) value { return lower[i][low] }})
	}
	out := cols[:0]
	for _, c := range cols {
		f, exists := idx[strings.ToLower(c.name)]
		var err error
		if exists {
			c.name = f.Name
			c.typ, c.widen, err = fitColumn(table, f, rows, c.get)
		} else {
			c.typ, err = inferColumn(table, c.name, rows, c.get)
		}
		if err != nil {
			return nil, err
		}
		if c.typ != nil {
			out = append(out, c)
		}
	}
	return out, nil
}

// inferColumn returns the type of a new column, or nil when every value is
// null (the column is then left out: a missing column reads as NULL).
func inferColumn(table, name string, rows []row, get func(int) value) (arrow.DataType, error) {
	var have kind
	first := -1
	for i := range rows {
		v := get(i)
		if v.kind == kindNull {
			continue
		}
		if first < 0 {
			have, first = v.kind, i
			continue
		}
		merged, ok := mergeKinds(have, v.kind)
		if !ok {
			return nil, invalidf("table %q column %q: row %d sends a %s, row %d a %s", table, name, first, have, i, v.kind)
		}
		have = merged
	}
	switch {
	case first < 0:
		return nil, nil
	case have == kindInt:
		return arrow.PrimitiveTypes.Int64, nil
	case have == kindFloat:
		return arrow.PrimitiveTypes.Float64, nil
	case have == kindBool:
		return arrow.FixedWidthTypes.Boolean, nil
	case have == kindTime:
		return timeType, nil
	}
	return arrow.BinaryTypes.String, nil
}

// mergeKinds is the kind a new column takes for values of kinds a and b:
// integers widen to doubles; JSON text is a string.
func mergeKinds(a, b kind) (kind, bool) {
	switch {
	case a == b:
		return a, true
	case (a == kindInt || a == kindFloat) && (b == kindInt || b == kindFloat):
		return kindFloat, true
	case (a == kindString || a == kindJSON) && (b == kindString || b == kindJSON):
		return kindString, true
	}
	return 0, false
}

// fitColumn checks the values against an existing column of the table.
func fitColumn(table string, f arrow.Field, rows []row, get func(int) value) (arrow.DataType, bool, error) {
	widen := false
	for i := range rows {
		v := get(i)
		err := accepts(f.Type, v)
		if err == errFraction && arrow.IsInteger(f.Type.ID()) {
			widen = true
			continue
		}
		if err != nil {
			return nil, false, invalidf("table %q column %q has type %s; row %d sends %s: %v", table, f.Name, f.Type, i, describe(v), err)
		}
	}
	if !widen {
		return f.Type, false, nil
	}
	return arrow.PrimitiveTypes.Float64, true, nil // every value is a number: accepts refused the rest
}

// errFraction marks a number with a fraction sent to an integer column.
var errFraction = fmt.Errorf("the value has a fraction")

// accepts reports whether v converts to t without loss.
func accepts(t arrow.DataType, v value) error {
	if v.kind == kindNull {
		return nil
	}
	switch t.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return acceptsInt(t, v)
	case arrow.FLOAT32, arrow.FLOAT64:
		if v.kind == kindInt || v.kind == kindFloat {
			return nil
		}
	case arrow.BOOL:
		if v.kind == kindBool {
			return nil
		}
	case arrow.STRING, arrow.LARGE_STRING:
		if v.kind == kindString || v.kind == kindJSON || v.kind == kindTime {
			return nil
		}
	case arrow.TIMESTAMP:
		tm, err := timeOf(t, v)
		if err == nil {
			_, err = arrow.TimestampFromTime(tm, t.(*arrow.TimestampType).Unit)
		}
		return err
	case arrow.DATE32:
		_, err := timeOf(t, v)
		return err
	default:
		return fmt.Errorf("the row API cannot write %s columns; use Flight SQL", t)
	}
	return fmt.Errorf("a %s does not fit", v.kind)
}

func acceptsInt(t arrow.DataType, v value) error {
	if v.kind != kindInt && v.kind != kindFloat {
		return fmt.Errorf("a %s does not fit", v.kind)
	}
	if v.kind == kindFloat && (v.f != math.Trunc(v.f) || math.Abs(v.f) >= math.MaxInt64) {
		return errFraction
	}
	n := v.i
	if v.kind == kindFloat {
		n = int64(v.f)
	}
	lo, hi := intRange(t)
	if (lo == 0 && n < 0) || float64(n) < lo || float64(n) > hi {
		return fmt.Errorf("%d is out of range", n)
	}
	return nil
}

func intRange(t arrow.DataType) (float64, float64) {
	bits := float64(t.(arrow.FixedWidthDataType).BitWidth())
	if arrow.IsUnsignedInteger(t.ID()) {
		return 0, math.Pow(2, bits) - 1
	}
	return -math.Pow(2, bits-1), math.Pow(2, bits-1) - 1
}

// timeOf converts a timestamp, or a string in RFC 3339 (or yyyy-mm-dd for
// a date column), to a time.
func timeOf(t arrow.DataType, v value) (time.Time, error) {
	switch v.kind {
	case kindTime:
		return v.t, nil
	case kindString:
		if tm, err := time.Parse(time.RFC3339Nano, v.s); err == nil {
			return tm, nil
		}
		if t.ID() == arrow.DATE32 {
			if tm, err := time.Parse(time.DateOnly, v.s); err == nil {
				return tm, nil
			}
		}
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time", v.s)
	}
	return time.Time{}, fmt.Errorf("a %s is not a time", v.kind)
}

// describe names a value for an error message.
func describe(v value) string {
	s := v.s
	switch v.kind {
	case kindBool:
		s = fmt.Sprint(v.b)
	case kindTime:
		s = v.t.Format(time.RFC3339Nano)
	case kindString:
		s = fmt.Sprintf("%q", v.s)
	}
	if len(s) > 64 {
		s = s[:61] + "..."
	}
	return fmt.Sprintf("a %s (%s)", v.kind, s)
}

// buildBatch makes one Arrow batch of the rows with the planned columns.
// The values were checked by planColumns, so appending cannot fail.
func buildBatch(mem memory.Allocator, cols []column, rows []row) arrow.RecordBatch {
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fields[i] = arrow.Field{Name: c.name, Type: c.typ, Nullable: true}
	}
	b := array.NewRecordBuilder(mem, arrow.NewSchema(fields, nil))
	defer b.Release()
	for i, c := range cols {
		fb := b.Field(i)
		fb.Reserve(len(rows))
		for r := range rows {
			appendValue(fb, c.typ, c.get(r))
		}
	}
	return b.NewRecordBatch()
}

func appendValue(b array.Builder, t arrow.DataType, v value) {
	if v.kind == kindNull {
		b.AppendNull()
		return
	}
	if v.kind == kindTime && (t.ID() == arrow.STRING || t.ID() == arrow.LARGE_STRING) {
		v.s = v.t.UTC().Format(time.RFC3339Nano)
	}
	n := v.i
	if v.kind == kindFloat {
		n = int64(v.f)
	}
	switch b := b.(type) {
	case *array.Int8Builder:
		b.Append(int8(n))
	case *array.Int16Builder:
		b.Append(int16(n))
	case *array.Int32Builder:
		b.Append(int32(n))
	case *array.Int64Builder:
		b.Append(n)
	case *array.Uint8Builder:
		b.Append(uint8(n))
	case *array.Uint16Builder:
		b.Append(uint16(n))
	case *array.Uint32Builder:
		b.Append(uint32(n))
	case *array.Uint64Builder:
		b.Append(uint64(n))
	case *array.Float32Builder:
		b.Append(float32(v.f))
	case *array.Float64Builder:
		b.Append(v.f)
	case *array.BooleanBuilder:
		b.Append(v.b)
	case *array.StringBuilder:
		b.Append(v.s)
	case *array.LargeStringBuilder:
		b.Append(v.s)
	case *array.TimestampBuilder:
		tm, _ := timeOf(t, v)
		ts, _ := arrow.TimestampFromTime(tm, t.(*arrow.TimestampType).Unit)
		b.Append(ts)
	case *array.Date32Builder:
		tm, _ := timeOf(t, v)
		b.Append(arrow.Date32FromTime(tm))
	default:
		panic(fmt.Sprintf("api: no builder for %s", t)) // NOTE: accepts refuses every other type
	}
}
