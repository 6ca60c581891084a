package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"google.golang.org/protobuf/types/known/structpb"

	olapv1 "github.com/miniodb/miniodb/api/proto/olap/v1"
)

// kind is the JSON-level type of one payload value.
type kind uint8

const (
	kindNull kind = iota
	kindInt
	kindFloat
	kindBool
	kindString
	kindJSON // a nested object or array, kept as its JSON text
	kindTime // the row's timestamp
)

func (k kind) String() string {
	return [...]string{"null", "integer", "number with a fraction", "boolean", "string", "object or array", "timestamp"}[k]
}

// value is one payload value, typed as JSON types it.
type value struct {
	kind kind
	i    int64
	f    float64
	b    bool
	s    string // string, JSON text, or the literal of a number
	t    time.Time
}

// row is one row of the seed's write API: {table, id, timestamp, payload}.
type row struct {
	table  string
	id     string
	ts     time.Time // zero: the time the server received it
	fields map[string]value
}

// maxSafeInt is the largest integer a float64 holds exactly (2^53).
const maxSafeInt = 1 << 53

// numberValue types a protobuf number: integral values within int64 are
// integers, everything else a double.
func numberValue(f float64) value {
	if f == math.Trunc(f) && math.Abs(f) < math.MaxInt64 {
		return value{kind: kindInt, i: int64(f), f: f, s: strconv.FormatFloat(f, 'f', -1, 64)}
	}
	return value{kind: kindFloat, f: f, s: strconv.FormatFloat(f, 'g', -1, 64)}
}

func protoValue(v *structpb.Value) (value, error) {
	switch x := v.GetKind().(type) {
	case nil:
		// NOTE: what a client sends when its library dropped the value, e.g.
		// @grpc/proto-loader given {string_value: ...}: its Struct types
		// spell the fields stringValue, numberValue, boolValue.
		return value{}, errors.New("the value has no kind set (with @grpc/proto-loader write stringValue, numberValue, boolValue, structValue, listValue or nullValue)")
	case *structpb.Value_NullValue:
		return value{}, nil
	case *structpb.Value_NumberValue:
		return numberValue(x.NumberValue), nil
	case *structpb.Value_StringValue:
		return value{kind: kindString, s: x.StringValue}, nil
	case *structpb.Value_BoolValue:
		return value{kind: kindBool, b: x.BoolValue}, nil
	}
	b, err := json.Marshal(v.AsInterface()) // encoding/json sorts object keys
	if err != nil {
		return value{}, err
	}
	return value{kind: kindJSON, s: string(b)}, nil
}

// rowFromProto converts an OlapService WriteRequest.
func rowFromProto(req *olapv1.WriteRequest) (row, error) {
	r := row{table: req.GetTable(), id: req.GetId(), fields: map[string]value{}}
	if ts := req.GetTimestamp(); ts != nil {
		if err := ts.CheckValid(); err != nil {
			return r, invalidf("timestamp: %v", err)
		}
		r.ts = ts.AsTime()
	}
	for name, v := range req.GetPayload().GetFields() {
		val, err := protoValue(v)
		if err != nil {
			return r, invalidf("payload field %q: %v", name, err)
		}
		r.fields[name] = val
	}
	return r, nil
}

// jsonValue types a value decoded with UseNumber.
func jsonValue(raw json.RawMessage) (value, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return value{}, errors.New("empty value")
	}
	switch raw[0] {
	case 'n':
		return value{}, nil
	case 't', 'f':
		return value{kind: kindBool, b: raw[0] == 't'}, nil
	case '"':
		var s string
		err := json.Unmarshal(raw, &s)
		return value{kind: kindString, s: s}, err
	case '{', '[':
		var x any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&x); err != nil {
			return value{}, err
		}
		b, err := json.Marshal(x) // compact, keys sorted
		return value{kind: kindJSON, s: string(b)}, err
	}
	lit := string(raw)
	if i, err := strconv.ParseInt(lit, 10, 64); err == nil {
		return value{kind: kindInt, i: i, f: float64(i), s: lit}, nil
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		return value{}, fmt.Errorf("number %s: %w", lit, err)
	}
	return value{kind: kindFloat, f: f, s: lit}, nil // a fraction, an exponent, or an integer beyond int64
}

// jsonRow is the REST body of one row.
type jsonRow struct {
	Table     string                     `json:"table"`
	ID        json.RawMessage            `json:"id"`
	Timestamp json.RawMessage            `json:"timestamp"`
	Payload   map[string]json.RawMessage `json:"payload"`
}

func rowFromJSON(raw json.RawMessage, n int) (row, error) {
	var jr jsonRow
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&jr); err != nil {
		return row{}, invalidf("row %d: %v (a row is {\"table\", \"id\", \"timestamp\", \"payload\"})", n, err)
	}
	r := row{table: jr.Table, fields: map[string]value{}}
	id, err := jsonValue(jr.ID)
	switch {
	case len(jr.ID) == 0 || id.kind == kindNull:
	case err == nil && id.kind == kindString:
		r.id = id.s
	case err == nil && (id.kind == kindInt || id.kind == kindFloat):
		r.id = id.s
	default:
		return r, invalidf("row %d: id must be a string, not %s", n, jr.ID)
	}
	if len(jr.Timestamp) > 0 && string(jr.Timestamp) != "null" {
		var s string
		if err := json.Unmarshal(jr.Timestamp, &s); err != nil {
			return r, invalidf("row %d: timestamp must be an RFC 3339 string such as \"2024-01-01T10:00:00Z\", not %s", n, jr.Timestamp)
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return r, invalidf("row %d: timestamp %q is not RFC 3339 (e.g. \"2024-01-01T10:00:00Z\")", n, s)
		}
		r.ts = t
	}
	for name, raw := range jr.Payload {
		v, err := jsonValue(raw)
		if err != nil {
			return r, invalidf("row %d: payload field %q: %v", n, name, err)
		}
		r.fields[name] = v
	}
	return r, nil
}

// decodeRows reads the body of POST /v1/data: one row object, a JSON array
// of rows, or newline-delimited rows (NDJSON). It refuses more than maxRows.
func decodeRows(body io.Reader, maxRows int) ([]row, error) {
	br := bufio.NewReader(body)
	first, err := firstByte(br)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(br)
	var raws []json.RawMessage
	switch first {
	case '[':
		if err := dec.Decode(&raws); err != nil {
			return nil, bodyErr(err)
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return nil, invalidf("unexpected data after the array of rows")
		}
	case '{':
		for len(raws) <= maxRows {
			var raw json.RawMessage
			if err := dec.Decode(&raw); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return nil, bodyErr(err)
			}
			raws = append(raws, raw)
		}
	default:
		return nil, invalidf("the body must be a row object, an array of rows or NDJSON rows, not %q...", first)
	}
	if len(raws) == 0 {
		return nil, invalidf("the body holds no rows")
	}
	if len(raws) > maxRows {
		return nil, invalidf("more than %d rows in one request; split it", maxRows)
	}
	rows := make([]row, len(raws))
	for i, raw := range raws {
		if rows[i], err = rowFromJSON(raw, i); err != nil {
			return nil, err
		}
	}
	return rows, nil
}

// firstByte skips white space and returns the next byte without consuming
// it.
func firstByte(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.ReadByte()
		if errors.Is(err, io.EOF) {
			return 0, invalidf("the body is empty; send a row object, an array of rows or NDJSON rows")
		}
		if err != nil {
			return 0, bodyErr(err)
		}
		if !unicode.IsSpace(rune(b)) {
			return b, br.UnreadByte()
		}
	}
}

// bodyErr classifies a decoding error; an oversized body keeps its type so
// that it becomes 413.
func bodyErr(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return err
	}
	return invalidf("malformed JSON: %v", err)
}

// sortedNames returns a row set's payload field names, sorted, with names
// that differ only in case merged (DuckDB matches columns ignoring case).
func sortedNames(rows []row) []string {
	seen := map[string]bool{}
	var names []string
	for _, r := range rows {
		for n := range r.fields {
			if !seen[strings.ToLower(n)] {
				seen[strings.ToLower(n)] = true
				names = append(names, n)
			}
		}
	}
	sort.Strings(names)
	return names
}
