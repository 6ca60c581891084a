package catalog

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// tableRecord is the stored form of a Table: JSON with the schema as Arrow
// IPC bytes (base64 in JSON), so every backend stores the same document.
type tableRecord struct {
	Name        string            `json:"name"`
	Schema      []byte            `json:"schema"`
	Config      TableConfig       `json:"config"`
	Flushed     map[string]uint64 `json:"flushed,omitempty"`
	Incarnation string            `json:"incarnation,omitempty"`
	CreatedAt   time.Time         `json:"created_at"`
}

func encodeTable(t Table) ([]byte, error) {
	rec := tableRecord{Name: t.Name, Config: t.Config, Flushed: t.Flushed, Incarnation: t.Incarnation, CreatedAt: t.CreatedAt}
	if t.Schema != nil {
		rec.Schema = flight.SerializeSchema(t.Schema, memory.DefaultAllocator)
	}
	return json.Marshal(rec)
}

func decodeTable(b []byte) (Table, error) {
	var rec tableRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return Table{}, fmt.Errorf("decode table: %w", err)
	}
	t := Table{Name: rec.Name, Config: rec.Config, Flushed: rec.Flushed, Incarnation: rec.Incarnation, CreatedAt: rec.CreatedAt}
	if len(rec.Schema) > 0 {
		s, err := flight.DeserializeSchema(rec.Schema, memory.DefaultAllocator)
		if err != nil {
			return Table{}, fmt.Errorf("decode schema of table %s: %w", rec.Name, err)
		}
		t.Schema = s
	}
	return t, nil
}

// SchemaOrEmpty returns s, or an empty schema when s is nil.
func SchemaOrEmpty(s *arrow.Schema) *arrow.Schema {
	if s == nil {
		return arrow.NewSchema(nil, nil)
	}
	return s
}
