package query

import (
	"testing"

	"github.com/miniodb/miniodb/catalog"
	"github.com/miniodb/miniodb/query/sandbox"
)

func TestPruneFiles(t *testing.T) {
	file := func(key, lo, hi string) catalog.File {
		return catalog.File{Key: key, Stats: []catalog.ColumnStats{{Column: "id", Kind: catalog.StatsInt, Min: lo, Max: hi}}}
	}
	files := []catalog.File{file("a", "0", "9"), file("b", "10", "19"), file("c", "20", "29"), {Key: "nostats"}}
	b := func(op, v string) []sandbox.Bound {
		return []sandbox.Bound{{Table: "t", Column: "ID", Op: op, Kind: "int", Value: v}}
	}
	cases := []struct {
		name   string
		bounds []sandbox.Bound
		want   string
	}{
		{"equal_inside", b("=", "15"), "b,nostats"},
		{"equal_on_min", b("=", "20"), "c,nostats"},
		{"equal_outside_all", b("=", "99"), "nostats"},
		{"less", b("<", "10"), "a,nostats"},
		{"less_equal", b("<=", "10"), "a,b,nostats"},
		{"greater", b(">", "19"), "c,nostats"},
		{"greater_equal", b(">=", "19"), "b,c,nostats"},
		{"range", append(b(">=", "12"), b("<", "20")...), "b,nostats"},
		{"other_table", []sandbox.Bound{{Table: "u", Column: "id", Op: "=", Kind: "int", Value: "1"}}, "a,b,c,nostats"},
		{"kind_mismatch", []sandbox.Bound{{Table: "t", Column: "id", Op: "=", Kind: "string", Value: "1"}}, "a,b,c,nostats"},
		{"unparsable", b("=", "99999999999999999999"), "a,b,c,nostats"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := ""
			for i, f := range pruneFiles("T", files, tc.bounds) {
				if i > 0 {
					got += ","
				}
				got += f.Key
			}
			if got != tc.want {
				t.Errorf("kept %s, want %s", got, tc.want)
			}
		})
	}
}
