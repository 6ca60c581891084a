package query

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Tools qualify table names with the catalog and schema the service
// presents (main.t, miniodb.main.t); the sandbox accepts bare names only.
// unqualify edits DuckDB's parse tree, not the text: every BASE_TABLE whose
// schema is ours (and catalog ours or empty) loses its qualifiers, and
// DuckDB prints the tree back to SQL (json_deserialize_sql). That SQL is
// then parsed and checked by the sandbox like any statement, and it is
// what runs. Any other qualifier stays, for the sandbox to refuse.

// unqualify returns the serialized statement with our qualifiers removed,
// and whether there were any.
func unqualify(js string) (string, bool) {
	dec := json.NewDecoder(strings.NewReader(js))
	dec.UseNumber() // query_location is a uint64
	var doc any
	if dec.Decode(&doc) != nil {
		return "", false
	}
	if !stripOurs(doc) {
		return "", false
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if enc.Encode(doc) != nil {
		return "", false
	}
	return buf.String(), true
}

// stripOurs walks every object and array of the tree.
func stripOurs(v any) bool {
	changed := false
	switch v := v.(type) {
	case map[string]any:
		if v["type"] == "BASE_TABLE" {
			cat, _ := v["catalog_name"].(string)
			sch, _ := v["schema_name"].(string)
			if strings.EqualFold(sch, Schema) && (cat == "" || strings.EqualFold(cat, Catalog)) {
				v["catalog_name"], v["schema_name"] = "", ""
				changed = true
			}
		}
		for _, c := range v {
			changed = stripOurs(c) || changed
		}
	case []any:
		for _, c := range v {
			changed = stripOurs(c) || changed
		}
	}
	return changed
}

// deserialize prints a serialized statement back to SQL with DuckDB.
func (s *session) deserialize(js string) (string, error) {
	return s.callString("SELECT json_deserialize_sql($1::JSON)", js, "printer")
}
