package ingest

import (
	"errors"
	"fmt"
	"regexp"
)

// ErrTableLimit marks a table creation refused because the node already
// holds TablePolicy.MaxTables tables.
var ErrTableLimit = errors.New("table limit reached")

// TablePolicy is the operator's rule set for tables: the seed's
// table_management section. It is enforced where tables come into being, so
// every path (Flight SQL ingest and DDL, OlapService, REST) obeys it. The
// zero value allows what the service allowed before: automatic creation, any
// number of tables, any name TableNamePattern accepts.
type TablePolicy struct {
	// NoAutoCreate refuses an ingest that would create a missing table
	// (CreateIfMissing); tables are then made only by an explicit create.
	NoAutoCreate bool
	// MaxTables caps the number of tables; 0 means no cap.
	MaxTables int
	// NamePattern, when set, is a further rule a new table's name must
	// match. It narrows TableNamePattern, never widens it: object keys and
	// SQL identifiers rely on the built-in rule.
	NamePattern *regexp.Regexp
}

// allowAutoCreate checks that an ingest may create the missing table name.
func (p TablePolicy) allowAutoCreate(name string) error {
	if p.NoAutoCreate {
		return fmt.Errorf("%w: %q (table_management.auto_create_tables is false: create the table first)", ErrTableNotFound, name)
	}
	return nil
}

// allowCreate checks a new table's name and the table count (s.mu held by
// the caller, so the count cannot change underneath).
func (p TablePolicy) allowCreate(name string, tables int) error {
	if p.NamePattern != nil && !p.NamePattern.MatchString(name) {
		return fmt.Errorf("%w: table name %q must match table_management.table_name_pattern %s", ErrInvalid, name, p.NamePattern)
	}
	if p.MaxTables > 0 && tables >= p.MaxTables {
		return fmt.Errorf("%w: cannot create table %q: the node holds %d tables, table_management.max_tables is %d",
			ErrTableLimit, name, tables, p.MaxTables)
	}
	return nil
}
