package client

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// IngestMode says what Ingest does when the target table exists or not.
type IngestMode int

const (
	// ModeCreate creates the table; it fails if the table already exists.
	ModeCreate IngestMode = iota
	// ModeAppend appends to the table; it fails if the table does not exist.
	ModeAppend
	// ModeCreateAppend creates the table if it is missing, else appends.
	ModeCreateAppend
	// ModeReplace creates the table if it is missing, else replaces its
	// contents.
	ModeReplace
)

var modeNames = [...]string{
	ModeCreate:       "create",
	ModeAppend:       "append",
	ModeCreateAppend: "create_append",
	ModeReplace:      "replace",
}

// String returns the mode's name as accepted by ParseIngestMode.
func (m IngestMode) String() string {
	if m < 0 || int(m) >= len(modeNames) {
		return fmt.Sprintf("IngestMode(%d)", int(m))
	}
	return modeNames[m]
}

// ParseIngestMode parses "create", "append", "create_append" or "replace".
func ParseIngestMode(s string) (IngestMode, error) {
	for m, name := range modeNames {
		if name == s {
			return IngestMode(m), nil
		}
	}
	return 0, fmt.Errorf("miniodb: unknown ingest mode %q (want create, append, create_append or replace)", s)
}

// TableDefinitionOptions returns the Flight SQL table definition options
// that implement the mode.
func (m IngestMode) TableDefinitionOptions() (*flightsql.TableDefinitionOptions, error) {
	var (
		notExist flightsql.TableDefinitionOptionsTableNotExistOption
		exists   flightsql.TableDefinitionOptionsTableExistsOption
	)
	switch m {
	case ModeCreate:
		notExist, exists = flightsql.TableDefinitionOptionsTableNotExistOptionCreate, flightsql.TableDefinitionOptionsTableExistsOptionFail
	case ModeAppend:
		notExist, exists = flightsql.TableDefinitionOptionsTableNotExistOptionFail, flightsql.TableDefinitionOptionsTableExistsOptionAppend
	case ModeCreateAppend:
		notExist, exists = flightsql.TableDefinitionOptionsTableNotExistOptionCreate, flightsql.TableDefinitionOptionsTableExistsOptionAppend
	case ModeReplace:
		notExist, exists = flightsql.TableDefinitionOptionsTableNotExistOptionCreate, flightsql.TableDefinitionOptionsTableExistsOptionReplace
	default:
		return nil, status.Errorf(codes.InvalidArgument, "miniodb: invalid ingest mode %v", m)
	}
	return &flightsql.TableDefinitionOptions{IfNotExist: notExist, IfExists: exists}, nil
}

// Ingest streams every record batch of rdr to the server in a single
// DoPut CommandStatementIngest into table, and returns the row count the
// server reports. rdr is read to its end but not released. An empty table
// name or an invalid mode fail with codes.InvalidArgument before any call.
func (c *Client) Ingest(ctx context.Context, table string, rdr array.RecordReader, mode IngestMode) (int64, error) {
	if table == "" {
		return 0, status.Error(codes.InvalidArgument, "miniodb: ingest: empty table name")
	}
	def, err := mode.TableDefinitionOptions()
	if err != nil {
		return 0, err
	}
	req := &flightsql.ExecuteIngestOpts{Table: table, TableDefinitionOptions: def}
	n, err := c.sql.ExecuteIngest(ctx, rdr, req)
	if err != nil {
		return n, fmt.Errorf("miniodb: ingest into %s: %w", table, err)
	}
	return n, nil
}
