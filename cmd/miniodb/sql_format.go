package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/csv"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// sink renders the record batches of one result.
type sink interface {
	Write(rec arrow.RecordBatch) error
	// Close writes whatever the format needs at the end (the whole table,
	// the CSV header of an empty result, the IPC end-of-stream marker).
	Close() error
}

func validFormat(format string) bool {
	switch format {
	case "table", "csv", "json", "arrow":
		return true
	}
	return false
}

func newSink(format string, w io.Writer, schema *arrow.Schema) (sink, error) {
	switch format {
	case "table":
		return &tableSink{w: w, schema: schema}, nil
	case "csv":
		return newCSVSink(w, schema), nil
	case "json":
		return newJSONSink(w, schema), nil
	case "arrow":
		return &ipcSink{ipc.NewWriter(w, ipc.WithSchema(schema))}, nil
	}
	return nil, fmt.Errorf("unknown format %q", format)
}

// ---- cell values

const nullText = "NULL"

// cellText is the text of one value in the table format.
func cellText(col arrow.Array, i int) string {
	if col.IsNull(i) {
		return nullText
	}
	if s, ok := decimalText(col, i); ok {
		return s
	}
	return col.ValueStr(i)
}

// decimalText formats a decimal exactly, with all the digits of its scale.
func decimalText(col arrow.Array, i int) (string, bool) {
	dt, ok := col.DataType().(arrow.DecimalType)
	if !ok {
		return "", false
	}
	scale := dt.GetScale()
	switch a := col.(type) {
	case *array.Decimal32:
		return a.Value(i).ToString(scale), true
	case *array.Decimal64:
		return a.Value(i).ToString(scale), true
	case *array.Decimal128:
		return a.Value(i).ToString(scale), true
	case *array.Decimal256:
		return a.Value(i).ToString(scale), true
	}
	return "", false
}

func isNumeric(dt arrow.DataType) bool {
	if _, ok := dt.(arrow.DecimalType); ok {
		return true
	}
	return arrow.IsInteger(dt.ID()) || arrow.IsFloating(dt.ID())
}

// appendJSON appends the JSON encoding of one value: null, true/false,
// integers and finite floats as numbers, decimals as exact strings, NaN and
// infinities as strings, other types as arrow's JSON form of the value
// (strings, ISO dates and timestamps, base64 binary, nested arrays/objects).
func appendJSON(buf []byte, col arrow.Array, i int) ([]byte, error) {
	if col.IsNull(i) {
		return append(buf, "null"...), nil
	}
	if s, ok := decimalText(col, i); ok {
		return strconv.AppendQuote(buf, s), nil
	}
	switch a := col.(type) {
	case *array.Boolean:
		return strconv.AppendBool(buf, a.Value(i)), nil
	case *array.Int64:
		return strconv.AppendInt(buf, a.Value(i), 10), nil
	case *array.Int32:
		return strconv.AppendInt(buf, int64(a.Value(i)), 10), nil
	case *array.String:
		return appendJSONString(buf, a.Value(i))
	case *array.Float64:
		return appendFloat(buf, a.Value(i)), nil
	}
	b, err := json.Marshal(col.GetOneForMarshal(i))
	if err != nil {
		return buf, fmt.Errorf("encode %s value as JSON: %w", col.DataType(), err)
	}
	return append(buf, b...), nil
}

func appendFloat(buf []byte, f float64) []byte {
	s := strconv.FormatFloat(f, 'g', -1, 64)
	switch s {
	case "NaN", "+Inf", "-Inf":
		return strconv.AppendQuote(buf, s)
	}
	return append(buf, s...)
}

func appendJSONString(buf []byte, s string) ([]byte, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return buf, fmt.Errorf("encode string as JSON: %w", err)
	}
	return append(buf, b...), nil
}

// ---- table

// tableSink buffers the whole result to align its columns.
type tableSink struct {
	w      io.Writer
	schema *arrow.Schema
	rows   [][]string
}

// escapeCell shows control characters that would break the table layout.
func escapeCell(s string) string {
	if !strings.ContainsAny(s, "\n\r\t") {
		return s
	}
	s = strings.ReplaceAll(s, "\n", `\n`)
	s = strings.ReplaceAll(s, "\r", `\r`)
	return strings.ReplaceAll(s, "\t", `\t`)
}

func (t *tableSink) Write(rec arrow.RecordBatch) error {
	for i := range int(rec.NumRows()) {
		row := make([]string, rec.NumCols())
		for j, col := range rec.Columns() {
			row[j] = escapeCell(cellText(col, i))
		}
		t.rows = append(t.rows, row)
	}
	return nil
}

func (t *tableSink) Close() error {
	fields := t.schema.Fields()
	header := make([]string, len(fields))
	right := make([]bool, len(fields))
	widths := make([]int, len(fields))
	for j, f := range fields {
		header[j], right[j] = f.Name, isNumeric(f.Type)
		widths[j] = utf8.RuneCountInString(f.Name)
	}
	for _, row := range t.rows {
		for j, cell := range row {
			widths[j] = max(widths[j], utf8.RuneCountInString(cell))
		}
	}
	var b strings.Builder
	writeTableRow(&b, header, widths, right)
	writeTableRule(&b, widths)
	for _, row := range t.rows {
		writeTableRow(&b, row, widths, right)
	}
	fmt.Fprintf(&b, "(%d rows)\n", len(t.rows))
	_, err := io.WriteString(t.w, b.String())
	return err
}

func writeTableRow(b *strings.Builder, cells []string, widths []int, right []bool) {
	for j, cell := range cells {
		if j > 0 {
			b.WriteString(" | ")
		}
		pad := strings.Repeat(" ", widths[j]-utf8.RuneCountInString(cell))
		if right[j] {
			b.WriteString(pad + cell)
		} else if j < len(cells)-1 {
			b.WriteString(cell + pad)
		} else {
			b.WriteString(cell) // no trailing spaces
		}
	}
	b.WriteByte('\n')
}

func writeTableRule(b *strings.Builder, widths []int) {
	for j, w := range widths {
		if j > 0 {
			b.WriteString("-+-")
		}
		b.WriteString(strings.Repeat("-", w))
	}
	b.WriteByte('\n')
}

// ---- csv

// csvSink uses arrow's CSV writer; types it cannot format (times,
// durations, small decimals, views, structs, ...) fall back to cellText.
type csvSink struct {
	w       *csv.Writer
	schema  *arrow.Schema
	written bool
}

func newCSVSink(w io.Writer, schema *arrow.Schema) *csvSink {
	return &csvSink{schema: schema, w: csv.NewWriter(w, schema,
		csv.WithHeader(true), csv.WithNullWriter(""), csv.WithCustomTypeConverter(csvFallback))}
}

func csvFallback(dt arrow.DataType, col arrow.Array) ([]string, bool) {
	if csvNative(dt) {
		return nil, false
	}
	out := make([]string, col.Len())
	for i := range out {
		if col.IsValid(i) {
			out[i] = cellText(col, i)
		}
	}
	return out, true
}

// csvNative reports whether arrow's CSV writer formats dt itself.
func csvNative(dt arrow.DataType) bool {
	switch dt.(type) {
	case *arrow.BooleanType, *arrow.Int8Type, *arrow.Int16Type, *arrow.Int32Type, *arrow.Int64Type,
		*arrow.Uint8Type, *arrow.Uint16Type, *arrow.Uint32Type, *arrow.Uint64Type,
		*arrow.Float16Type, *arrow.Float32Type, *arrow.Float64Type,
		*arrow.StringType, *arrow.LargeStringType, *arrow.Date32Type, *arrow.Date64Type,
		*arrow.TimestampType, *arrow.Decimal128Type, *arrow.Decimal256Type,
		*arrow.BinaryType, *arrow.LargeBinaryType, *arrow.FixedSizeBinaryType, *arrow.NullType:
		return true
	case arrow.ListLikeType:
		return true // elements go through the converter again
	}
	return false
}

func (c *csvSink) Write(rec arrow.RecordBatch) error {
	c.written = true
	if err := c.w.Write(rec); err != nil {
		return fmt.Errorf("write CSV: %w", err)
	}
	return nil
}

func (c *csvSink) Close() error {
	if !c.written { // an empty result still gets its header
		empty := array.NewRecordBuilder(memory.DefaultAllocator, c.schema)
		rec := empty.NewRecordBatch()
		empty.Release()
		defer rec.Release()
		if err := c.Write(rec); err != nil {
			return err
		}
	}
	if err := c.w.Flush(); err != nil {
		return fmt.Errorf("write CSV: %w", err)
	}
	return nil
}

// ---- json

// jsonSink writes one JSON object per row, keys in column order.
type jsonSink struct {
	w    io.Writer
	keys [][]byte // `"name":` per column
	buf  []byte
}

func newJSONSink(w io.Writer, schema *arrow.Schema) *jsonSink {
	s := &jsonSink{w: w}
	for _, f := range schema.Fields() {
		k, _ := appendJSONString(nil, f.Name) // a Go string always encodes
		s.keys = append(s.keys, append(k, ':'))
	}
	return s
}

func (s *jsonSink) Write(rec arrow.RecordBatch) error {
	for i := range int(rec.NumRows()) {
		buf := append(s.buf[:0], '{')
		for j, col := range rec.Columns() {
			if j > 0 {
				buf = append(buf, ',')
			}
			var err error
			if buf, err = appendJSON(append(buf, s.keys[j]...), col, i); err != nil {
				return err
			}
		}
		s.buf = append(buf, '}', '\n')
		if _, err := s.w.Write(s.buf); err != nil {
			return fmt.Errorf("write JSON: %w", err)
		}
	}
	return nil
}

func (s *jsonSink) Close() error { return nil }

// ---- arrow

type ipcSink struct{ w *ipc.Writer }

func (s *ipcSink) Write(rec arrow.RecordBatch) error {
	if err := s.w.Write(rec); err != nil {
		return fmt.Errorf("write Arrow IPC: %w", err)
	}
	return nil
}

func (s *ipcSink) Close() error {
	if err := s.w.Close(); err != nil {
		return fmt.Errorf("write Arrow IPC: %w", err)
	}
	return nil
}
