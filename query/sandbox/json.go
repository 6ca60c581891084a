package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// maxDepth bounds the nesting of the decoded document. DuckDB's own limit
// on expression depth (max_expression_depth, 1000 by default) keeps real
// serializations far below it.
const maxDepth = 10000

type jsonKind uint8

const (
	jsonMissing jsonKind = iota
	jsonNull
	jsonBool
	jsonNumber
	jsonString
	jsonArray
	jsonObject
)

// jsonValue is a decoded JSON value that, unlike map[string]any, keeps the
// order of object keys, so walks are deterministic.
type jsonValue struct {
	kind  jsonKind
	text  string       // string contents, number literal, or "true"/"false"
	keys  []string     // object keys, parallel to elems
	elems []*jsonValue // object values or array elements
}

// parseJSON decodes exactly one JSON value.
func parseJSON(b []byte) (*jsonValue, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := readValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("trailing data after the JSON document")
	}
	return v, nil
}

func readValue(dec *json.Decoder, depth int) (*jsonValue, error) {
	if depth > maxDepth {
		return nil, errors.New("JSON nested too deeply")
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		return readComposite(dec, t, depth)
	case string:
		return &jsonValue{kind: jsonString, text: t}, nil
	case json.Number:
		return &jsonValue{kind: jsonNumber, text: t.String()}, nil
	case bool:
		return &jsonValue{kind: jsonBool, text: fmt.Sprint(t)}, nil
	case nil:
		return &jsonValue{kind: jsonNull}, nil
	}
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}

func readComposite(dec *json.Decoder, open json.Delim, depth int) (*jsonValue, error) {
	v := &jsonValue{kind: jsonArray}
	if open == '{' {
		v.kind = jsonObject
	} else if open != '[' {
		return nil, fmt.Errorf("unexpected JSON delimiter %v", open)
	}
	for dec.More() {
		if v.kind == jsonObject {
			key, err := readKey(dec)
			if err != nil {
				return nil, err
			}
			v.keys = append(v.keys, key)
		}
		elem, err := readValue(dec, depth+1)
		if err != nil {
			return nil, err
		}
		v.elems = append(v.elems, elem)
	}
	if _, err := dec.Token(); err != nil { // the closing delimiter
		return nil, err
	}
	return v, nil
}

func readKey(dec *json.Decoder) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", err
	}
	key, ok := tok.(string)
	if !ok {
		return "", fmt.Errorf("unexpected JSON object key %v", tok)
	}
	return key, nil
}

// get returns the value of the first key of an object, or nil.
func (v *jsonValue) get(key string) *jsonValue {
	if v == nil || v.kind != jsonObject {
		return nil
	}
	for i, k := range v.keys {
		if k == key {
			return v.elems[i]
		}
	}
	return nil
}

func (v *jsonValue) kindOf() jsonKind {
	if v == nil {
		return jsonMissing
	}
	return v.kind
}

func (v *jsonValue) str() (string, bool) {
	if v.kindOf() != jsonString {
		return "", false
	}
	return v.text, true
}

func (v *jsonValue) boolean() (bool, bool) {
	if v.kindOf() != jsonBool {
		return false, false
	}
	return v.text == "true", true
}

// absent reports whether v is missing or null.
func (v *jsonValue) absent() bool {
	k := v.kindOf()
	return k == jsonMissing || k == jsonNull
}
