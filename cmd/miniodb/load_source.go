package main

import (
	"bufio"
	"bytes"
	"context"
	stdcsv "encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/csv"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// csvSampleRows is how many CSV data rows column types are inferred from.
const csvSampleRows = 1000

// source is a file being read as record batches.
type source struct {
	rdr   array.RecordReader
	total int64 // rows in the file, -1 when unknown
	close func() error
}

func (s *source) Close() error {
	s.rdr.Release()
	return s.close()
}

// openSource opens a .parquet, .csv or .tsv file for reading in batches of
// batchRows rows.
func openSource(ctx context.Context, path string, batchRows int, delimiter string) (*source, error) {
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".parquet", ".parq", ".pq":
		return openParquet(ctx, path, batchRows)
	case ".csv", ".tsv":
		if delimiter == "" && ext == ".tsv" {
			delimiter = `\t`
		}
		comma, err := parseDelimiter(delimiter)
		if err != nil {
			return nil, err
		}
		return openCSV(path, batchRows, comma)
	default:
		return nil, fmt.Errorf("%s: unsupported file type %q (want .parquet, .csv or .tsv)", path, ext)
	}
}

func openParquet(ctx context.Context, path string, batchRows int) (*source, error) {
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	props := pqarrow.ArrowReadProperties{BatchSize: int64(batchRows)}
	fr, err := pqarrow.NewFileReader(pf, props, memory.DefaultAllocator)
	if err == nil {
		var rr pqarrow.RecordReader
		if rr, err = fr.GetRecordReader(ctx, nil, nil); err == nil {
			return &source{rdr: rr, total: pf.NumRows(), close: pf.Close}, nil
		}
	}
	return nil, fmt.Errorf("read %s: %w", path, errors.Join(err, pf.Close()))
}

func parseDelimiter(s string) (rune, error) {
	switch s {
	case "":
		return ',', nil
	case `\t`, "tab":
		return '\t', nil
	}
	r, size := utf8.DecodeRuneInString(s)
	if size != len(s) || r == utf8.RuneError || r == '"' || r == '\r' || r == '\n' {
		return 0, fmt.Errorf("invalid --csv-delimiter %q: want one character", s)
	}
	return r, nil
}

func openCSV(path string, batchRows int, comma rune) (*source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	in := skipBOM(bufio.NewReaderSize(f, 1<<20))
	schema, replay, err := inferCSVSchema(in, comma, csvSampleRows)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, errors.Join(err, f.Close()))
	}
	rdr := csv.NewReader(replay, schema,
		csv.WithHeader(true), csv.WithComma(comma), csv.WithChunk(batchRows),
		csv.WithNullReader(true, csv.DefaultNullValues...))
	return &source{rdr: &csvErrReader{Reader: rdr, path: path}, total: -1, close: f.Close}, nil
}

// skipBOM drops a UTF-8 byte order mark at the start of r.
func skipBOM(r *bufio.Reader) *bufio.Reader {
	if b, err := r.Peek(3); err == nil && bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		_, _ = r.Discard(3)
	}
	return r
}

// csvErrReader explains parse errors that come from inferred column types.
type csvErrReader struct {
	*csv.Reader
	path string
}

func (r *csvErrReader) Err() error {
	if err := r.Reader.Err(); err != nil {
		return fmt.Errorf("%s: %w (column types were inferred from the first %d rows)", r.path, err, csvSampleRows)
	}
	return nil
}

// inferCSVSchema reads the header and up to sample rows of r and infers a
// type per column. It returns a reader that replays everything it read
// followed by the rest of r.
func inferCSVSchema(r io.Reader, comma rune, sample int) (*arrow.Schema, io.Reader, error) {
	var seen bytes.Buffer
	cr := stdcsv.NewReader(io.TeeReader(r, &seen))
	cr.Comma = comma
	header, err := cr.Read()
	if err != nil {
		return nil, nil, fmt.Errorf("read CSV header: %w", err)
	}
	values := make([][]string, len(header))
	for range sample {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read CSV: %w", err)
		}
		for i, v := range rec {
			if !isCSVNull(v) {
				values[i] = append(values[i], v)
			}
		}
	}
	fields := make([]arrow.Field, len(header))
	for i, name := range header {
		fields[i] = arrow.Field{Name: name, Type: inferCSVType(values[i]), Nullable: true}
	}
	return arrow.NewSchema(fields, nil), io.MultiReader(&seen, r), nil
}

func isCSVNull(v string) bool {
	for _, n := range csv.DefaultNullValues {
		if v == n {
			return true
		}
	}
	return false
}

// inferCSVType returns the first type in the order BIGINT, DOUBLE, BOOLEAN,
// DATE, TIMESTAMP, TIMESTAMPTZ that every value parses as, else VARCHAR.
func inferCSVType(values []string) arrow.DataType {
	candidates := []struct {
		typ   arrow.DataType
		parse func(string) bool
	}{
		{arrow.PrimitiveTypes.Int64, func(v string) bool { _, err := strconv.ParseInt(v, 10, 64); return err == nil }},
		{arrow.PrimitiveTypes.Float64, func(v string) bool { _, err := strconv.ParseFloat(v, 64); return err == nil }},
		{arrow.FixedWidthTypes.Boolean, func(v string) bool { _, err := strconv.ParseBool(v); return err == nil }},
		{arrow.FixedWidthTypes.Date32, func(v string) bool { _, err := time.Parse(time.DateOnly, v); return err == nil }},
		{&arrow.TimestampType{Unit: arrow.Microsecond}, func(v string) bool { return timestampZone(v) == 0 }},
		{&arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, func(v string) bool { return timestampZone(v) == 1 }},
	}
	if len(values) == 0 {
		return arrow.BinaryTypes.String
	}
	for _, c := range candidates {
		if allParse(values, c.parse) {
			return c.typ
		}
	}
	return arrow.BinaryTypes.String
}

func allParse(values []string, parse func(string) bool) bool {
	for _, v := range values {
		if !parse(v) {
			return false
		}
	}
	return true
}

// timestampZone is -1 if v is not a timestamp, 0 for one without a zone,
// 1 for one with a zone or offset.
func timestampZone(v string) int {
	_, zoned, err := arrow.TimestampFromStringInLocation(v, arrow.Microsecond, time.UTC)
	switch {
	case err != nil:
		return -1
	case zoned:
		return 1
	}
	return 0
}
