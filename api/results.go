package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	olapv1 "github.com/miniodb/miniodb/api/proto/olap/v1"
)

// jsonRows writes Arrow batches as JSON objects, one per row, separated by
// commas (the caller writes the enclosing brackets). Values map as:
// integers and decimals to JSON numbers (exact literals, even beyond 2^53),
// floats to numbers (NaN and infinities to the strings "NaN", "Infinity",
// "-Infinity"), timestamps to RFC 3339 strings (with Z when the column has a
// time zone, without an offset when it has none), dates to yyyy-mm-dd,
// binary to base64, lists and structs to arrays and objects. Columns with
// the same name get suffixes _1, _2, ... so no key repeats.
type jsonRows struct {
	w    io.Writer
	keys [][]byte
	buf  bytes.Buffer
	rows int64
	n    int64 // bytes written
}

func newJSONRows(w io.Writer, schema *arrow.Schema) *jsonRows {
	j := &jsonRows{w: w}
	seen := map[string]int{}
	for _, f := range schema.Fields() {
		name := f.Name
		if k := seen[f.Name]; k > 0 {
			name = fmt.Sprintf("%s_%d", f.Name, k)
		}
		seen[f.Name]++
		key, _ := json.Marshal(name)
		j.keys = append(j.keys, append(key, ':'))
	}
	return j
}

// columns describes a schema for QueryResponse.columns.
func columns(schema *arrow.Schema) []*olapv1.Column {
	out := make([]*olapv1.Column, schema.NumFields())
	for i, f := range schema.Fields() {
		out[i] = &olapv1.Column{Name: f.Name, Type: f.Type.String()}
	}
	return out
}

// write appends the batch's rows.
func (j *jsonRows) write(rec arrow.RecordBatch) error {
	for r := 0; r < int(rec.NumRows()); r++ {
		j.buf.Reset()
		if j.rows > 0 {
			j.buf.WriteByte(',')
		}
		j.buf.WriteByte('{')
		for c, col := range rec.Columns() {
			if c > 0 {
				j.buf.WriteByte(',')
			}
			j.buf.Write(j.keys[c])
			if err := appendJSON(&j.buf, col, r); err != nil {
				return fmt.Errorf("column %q row %d: %w", rec.ColumnName(c), j.rows, err)
			}
		}
		j.buf.WriteByte('}')
		n, err := j.w.Write(j.buf.Bytes())
		j.n += int64(n)
		if err != nil {
			return err
		}
		j.rows++
	}
	return nil
}

func appendJSON(buf *bytes.Buffer, col arrow.Array, i int) error {
	if col.IsNull(i) {
		buf.WriteString("null")
		return nil
	}
	switch c := col.(type) {
	case *array.Int64:
		buf.WriteString(strconv.FormatInt(c.Value(i), 10))
	case *array.Int32:
		buf.WriteString(strconv.FormatInt(int64(c.Value(i)), 10))
	case *array.Float64:
		appendFloat(buf, c.Value(i), 64)
	case *array.Float32:
		appendFloat(buf, float64(c.Value(i)), 32)
	case *array.Boolean:
		buf.WriteString(strconv.FormatBool(c.Value(i)))
	case *array.String:
		return appendMarshal(buf, c.Value(i))
	case *array.LargeString:
		return appendMarshal(buf, c.Value(i))
	case *array.Timestamp:
		typ := c.DataType().(*arrow.TimestampType)
		t := c.Value(i).ToTime(typ.Unit)
		layout := "2006-01-02T15:04:05.999999999"
		if typ.TimeZone != "" {
			layout = time.RFC3339Nano
		}
		return appendMarshal(buf, t.UTC().Format(layout))
	case *array.Date32:
		return appendMarshal(buf, c.Value(i).ToTime().Format(time.DateOnly))
	case *array.Date64:
		return appendMarshal(buf, c.Value(i).ToTime().Format(time.DateOnly))
	case *array.Decimal128, *array.Decimal256:
		buf.WriteString(col.ValueStr(i))
	default:
		return appendMarshal(buf, col.GetOneForMarshal(i))
	}
	return nil
}

func appendFloat(buf *bytes.Buffer, f float64, bits int) {
	switch {
	case math.IsNaN(f):
		buf.WriteString(`"NaN"`)
	case math.IsInf(f, 1):
		buf.WriteString(`"Infinity"`)
	case math.IsInf(f, -1):
		buf.WriteString(`"-Infinity"`)
	default:
		buf.WriteString(strconv.FormatFloat(f, 'g', -1, bits))
	}
}

func appendMarshal(buf *bytes.Buffer, v any) error {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	buf.Truncate(buf.Len() - 1) // Encode ends with a newline
	return nil
}
