package ingest

import (
	"errors"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

func TestCheckTableName(t *testing.T) {
	for _, tt := range []struct {
		name string
		ok   bool
	}{
		{"users", true}, {"A", true}, {"t_1", true},
		{"a123456789012345678901234567890123456789012345678901234567890123", true},
		{"a1234567890123456789012345678901234567890123456789012345678901234", false},
		{"", false}, {"1t", false}, {"_t", false}, {"t-1", false}, {"t.x", false}, {"tä", false},
		{"duckdb_settings", false}, {"PG_class", false}, {"sqlite_master", false},
	} {
		err := checkTableName(tt.name)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrInvalid)) {
			t.Errorf("checkTableName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestEvolve(t *testing.T) {
	f := func(name string, typ arrow.DataType) arrow.Field {
		return arrow.Field{Name: name, Type: typ, Nullable: true}
	}
	have := arrow.NewSchema([]arrow.Field{f("id", arrow.PrimitiveTypes.Int64), f("v", arrow.BinaryTypes.String)}, nil)
	tests := []struct {
		name    string
		in      []arrow.Field
		want    []string
		changed bool
		err     bool
	}{
		{"same", []arrow.Field{f("id", arrow.PrimitiveTypes.Int64)}, []string{"id", "v"}, false, false},
		{"new_column", []arrow.Field{f("score", arrow.PrimitiveTypes.Float64)}, []string{"id", "v", "score"}, true, false},
		{"case_insensitive_match", []arrow.Field{f("ID", arrow.PrimitiveTypes.Int64)}, []string{"id", "v"}, false, false},
		{"type_conflict", []arrow.Field{f("id", arrow.BinaryTypes.String)}, nil, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed, err := evolve("t", have, arrow.NewSchema(tt.in, nil))
			if tt.err {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("err = %v, want ErrInvalid", err)
				}
				return
			}
			if err != nil || changed != tt.changed || got.NumFields() != len(tt.want) {
				t.Fatalf("evolve = %v, %v, %v", got, changed, err)
			}
			for i, n := range tt.want {
				if got.Field(i).Name != n || !got.Field(i).Nullable {
					t.Fatalf("field %d = %+v, want nullable %s", i, got.Field(i), n)
				}
			}
		})
	}
}
