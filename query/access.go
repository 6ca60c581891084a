package query

import (
	"context"
	"fmt"
)

// Access is what a statement touches, for authorization.
type Access struct {
	Kind Kind
	// Table is the table a DDL or DML statement changes ("" for a query).
	Table string
	// Reads are the tables the statement reads (a query, or the source
	// query of INSERT and CREATE TABLE AS), as package sandbox finds them.
	Reads []string
}

// Access classifies a statement and lists the tables it touches without
// looking any table up or defining views, so that a caller can refuse it
// before an answer could reveal whether a table exists. Errors are those
// of Describe (ErrInvalid, ErrRefused).
func (e *Engine) Access(ctx context.Context, sql string) (*Access, error) {
	s, err := e.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer s.close()
	c, err := s.classify(sql)
	if err != nil {
		return nil, err
	}
	var src string
	a := &Access{}
	switch d := c.ddl.(type) {
	case nil:
		a.Kind = KindQuery
		for _, t := range c.analysis.Tables {
			a.Reads = append(a.Reads, t.Name)
		}
		return a, nil
	case *createTable:
		a.Kind, a.Table, src = KindCreateTable, d.name, d.asQuery
	case *dropTable:
		a.Kind, a.Table = KindDropTable, d.name
	case *insertInto:
		a.Kind, a.Table, src = KindInsert, d.name, d.query
	default:
		return nil, fmt.Errorf("%w: unexpected statement", ErrInternal)
	}
	if src != "" {
		an, _, err := s.analyze(src)
		if err != nil {
			return nil, err
		}
		for _, t := range an.Tables {
			a.Reads = append(a.Reads, t.Name)
		}
	}
	return a, nil
}
