package flight

import (
	"context"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql/schema_ref"

	"github.com/miniodb/miniodb/query"
)

// The service presents one catalog (query.Catalog) holding one schema
// (query.Schema) holding every table, all of type TABLE. Metadata calls
// are answered from the ingest service's table list; their FlightInfo
// ticket is the command itself.

// tableType is the one table type.
const tableType = "TABLE"

// metadataInfo is the FlightInfo of a metadata command: the command is the
// ticket.
func (s *Server) metadataInfo(schema *arrow.Schema, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.flightInfo(schema, desc, desc.GetCmd()), nil
}

// GetFlightInfoCatalogs lists the catalogs.
func (s *Server) GetFlightInfoCatalogs(_ context.Context, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.metadataInfo(schema_ref.Catalogs, desc)
}

// DoGetCatalogs streams the one catalog.
func (s *Server) DoGetCatalogs(ctx context.Context) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return s.streamRows(ctx, schema_ref.Catalogs, [][]any{{query.Catalog}})
}

// GetFlightInfoSchemas lists the schemas.
func (s *Server) GetFlightInfoSchemas(_ context.Context, _ flightsql.GetDBSchemas, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.metadataInfo(schema_ref.DBSchemas, desc)
}

// DoGetDBSchemas streams the schema if it passes the filters.
func (s *Server) DoGetDBSchemas(ctx context.Context, cmd flightsql.GetDBSchemas) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	var rows [][]any
	if catalogMatches(cmd.GetCatalog()) && like(query.Schema, cmd.GetDBSchemaFilterPattern()) {
		rows = append(rows, []any{query.Catalog, query.Schema})
	}
	return s.streamRows(ctx, schema_ref.DBSchemas, rows)
}

// catalogMatches applies a catalog filter: nil matches every catalog, ""
// only tables without one (none), else the exact name.
func catalogMatches(filter *string) bool {
	return filter == nil || *filter == query.Catalog
}

// GetFlightInfoTables lists tables, with their schemas if asked.
func (s *Server) GetFlightInfoTables(_ context.Context, cmd flightsql.GetTables, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.metadataInfo(tablesSchema(cmd), desc)
}

func tablesSchema(cmd flightsql.GetTables) *arrow.Schema {
	if cmd.GetIncludeSchema() {
		return schema_ref.TablesWithIncludedSchema
	}
	return schema_ref.Tables
}

// DoGetTables streams the tables that pass the filters, in name order.
// With include_schema each carries its Arrow schema, every field described
// by column metadata (types.go).
func (s *Server) DoGetTables(ctx context.Context, cmd flightsql.GetTables) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	schema := tablesSchema(cmd)
	var rows [][]any
	if catalogMatches(cmd.GetCatalog()) && like(query.Schema, cmd.GetDBSchemaFilterPattern()) && typeWanted(cmd.GetTableTypes()) {
		for _, t := range s.visibleTables(ctx) {
			if !like(t.Name, cmd.GetTableNameFilterPattern()) {
				continue
			}
			row := []any{query.Catalog, query.Schema, t.Name, tableType}
			if cmd.GetIncludeSchema() {
				row = append(row, flight.SerializeSchema(describedSchema(t.Name, t.Schema), s.mem))
			}
			rows = append(rows, row)
		}
	}
	return s.streamRows(ctx, schema, rows)
}

func typeWanted(types []string) bool {
	if len(types) == 0 {
		return true
	}
	for _, t := range types {
		if strings.EqualFold(t, tableType) {
			return true
		}
	}
	return false
}

// GetFlightInfoTableTypes lists the table types.
func (s *Server) GetFlightInfoTableTypes(_ context.Context, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.metadataInfo(schema_ref.TableTypes, desc)
}

// DoGetTableTypes streams the one table type.
func (s *Server) DoGetTableTypes(ctx context.Context) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return s.streamRows(ctx, schema_ref.TableTypes, [][]any{{tableType}})
}

// Tables have no primary or foreign keys: the key commands answer with
// empty, well-formed results.

// GetFlightInfoPrimaryKeys lists a table's primary key columns (none).
func (s *Server) GetFlightInfoPrimaryKeys(_ context.Context, _ flightsql.TableRef, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.metadataInfo(schema_ref.PrimaryKeys, desc)
}

// DoGetPrimaryKeys streams no rows.
func (s *Server) DoGetPrimaryKeys(ctx context.Context, _ flightsql.TableRef) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return s.streamRows(ctx, schema_ref.PrimaryKeys, nil)
}

// GetFlightInfoExportedKeys lists foreign keys referencing a table (none).
func (s *Server) GetFlightInfoExportedKeys(_ context.Context, _ flightsql.TableRef, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.metadataInfo(schema_ref.ExportedKeys, desc)
}

// DoGetExportedKeys streams no rows.
func (s *Server) DoGetExportedKeys(ctx context.Context, _ flightsql.TableRef) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return s.streamRows(ctx, schema_ref.ExportedKeys, nil)
}

// GetFlightInfoImportedKeys lists a table's foreign keys (none).
func (s *Server) GetFlightInfoImportedKeys(_ context.Context, _ flightsql.TableRef, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.metadataInfo(schema_ref.ImportedKeys, desc)
}

// DoGetImportedKeys streams no rows.
func (s *Server) DoGetImportedKeys(ctx context.Context, _ flightsql.TableRef) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return s.streamRows(ctx, schema_ref.ImportedKeys, nil)
}

// GetFlightInfoCrossReference lists foreign keys between two tables (none).
func (s *Server) GetFlightInfoCrossReference(_ context.Context, _ flightsql.CrossTableRef, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.metadataInfo(schema_ref.CrossReference, desc)
}

// DoGetCrossReference streams no rows.
func (s *Server) DoGetCrossReference(ctx context.Context, _ flightsql.CrossTableRef) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return s.streamRows(ctx, schema_ref.CrossReference, nil)
}

// streamRows builds one batch from rows of Go values (string, []byte,
// int32, bool, []string or nil for NULL, one per field) and streams it:
// the helper every metadata DoGet shares.
func (s *Server) streamRows(ctx context.Context, schema *arrow.Schema, rows [][]any) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	b := array.NewRecordBuilder(s.mem, schema)
	defer b.Release()
	for _, row := range rows {
		for i, v := range row {
			appendValue(b.Field(i), v)
		}
	}
	return schema, sendBatches(ctx, b.NewRecordBatch()), nil
}

func appendValue(b array.Builder, v any) {
	if v == nil {
		b.AppendNull()
		return
	}
	switch b := b.(type) {
	case *array.StringBuilder:
		b.Append(v.(string))
	case *array.BinaryBuilder:
		b.Append(v.([]byte))
	case *array.Int32Builder:
		b.Append(v.(int32))
	case *array.BooleanBuilder:
		b.Append(v.(bool))
	case *array.ListBuilder:
		b.Append(true)
		vb := b.ValueBuilder().(*array.StringBuilder)
		for _, s := range v.([]string) {
			vb.Append(s)
		}
	default:
		panic("appendValue: unexpected builder " + b.Type().String()) // NOTE: a bug in a fixed metadata table
	}
}
