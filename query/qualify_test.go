package query

import (
	"strings"
	"testing"
)

func TestUnqualify(t *testing.T) {
	table := func(cat, sch string) string {
		return `{"type":"BASE_TABLE","catalog_name":"` + cat + `","schema_name":"` + sch + `","table_name":"t","query_location":18446744073709551615}`
	}
	tests := []struct {
		name    string
		js      string
		changed bool
	}{
		{"bare", table("", ""), false},
		{"schema", table("", "main"), true},
		{"catalog_schema", table("miniodb", "main"), true},
		{"any_case", table("MinioDB", "MAIN"), true},
		{"other_schema", table("", "information_schema"), false},
		{"other_catalog", table("memory", "main"), false},
		{"temp_catalog", table("temp", "main"), false},
		{"nested", `{"statements":[{"node":{"from_table":{"left":` + table("", "main") + `,"right":` + table("system", "main") + `}}}]}`, true},
		{"not_json", `{`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, changed := unqualify(tc.js)
			if changed != tc.changed {
				t.Fatalf("unqualify changed = %v, want %v (%s)", changed, tc.changed, out)
			}
			if !changed {
				return
			}
			if !strings.Contains(out, `"catalog_name":"","query_location":18446744073709551615,"schema_name":""`) {
				t.Fatalf("output %s", out)
			}
			if tc.name == "nested" && !strings.Contains(out, `"catalog_name":"system"`) {
				t.Fatalf("another catalog's qualifier was removed: %s", out)
			}
		})
	}
}
