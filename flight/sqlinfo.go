package flight

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql/schema_ref"
	pb "github.com/apache/arrow-go/v18/arrow/flight/gen/flight"
)

// GetSqlInfo answers every id of the SqlInfo enum: drivers read them at
// connect (ADBC reads FLIGHT_SQL_SERVER_TRANSACTION) and some (DBeaver
// through the JDBC driver) fail on a missing one. Each value has the Go
// type the JDBC driver casts it to: int64 for lengths and the default
// isolation level, int32 for bitmasks and ordinals, bool, string, string
// list, or the SQL_SUPPORTS_CONVERT map.

// Bits of the bitmask values, by enum number.
func bits(ns ...int) int32 {
	var m int32
	for _, n := range ns {
		m |= 1 << n
	}
	return m
}

// sqlInfo returns the value of every SqlInfo id.
func (s *Server) sqlInfo() map[flightsql.SqlInfo]any {
	return map[flightsql.SqlInfo]any{
		flightsql.SqlInfoFlightSqlServerName:                        "MinIODB",
		flightsql.SqlInfoFlightSqlServerVersion:                     s.cfg.Version,
		flightsql.SqlInfoFlightSqlServerArrowVersion:                arrow.PkgVersion,
		flightsql.SqlInfoFlightSqlServerReadOnly:                    false,
		flightsql.SqlInfoFlightSqlServerSql:                         true,
		flightsql.SqlInfoFlightSqlServerSubstrait:                   false,
		flightsql.SqlInfoFlightSqlServerSubstraitMinVersion:         "",
		flightsql.SqlInfoFlightSqlServerSubstraitMaxVersion:         "",
		flightsql.SqlInfoFlightSqlServerTransaction:                 int32(flightsql.SqlTransactionNone),
		flightsql.SqlInfoFlightSqlServerCancel:                      true,
		flightsql.SqlInfoFlightSqlServerBulkIngestion:               true,
		flightsql.SqlInfoFlightSqlServerIngestTransactionsSupported: false,
		flightsql.SqlInfoFlightSqlServerStatementTimeout:            int32(0), // handles never expire: they are stateless
		flightsql.SqlInfoFlightSqlServerTransactionTimeout:          int32(0),

		flightsql.SqlInfoDDLCatalog:                    false,
		flightsql.SqlInfoDDLSchema:                     false,
		flightsql.SqlInfoDDLTable:                      true,
		flightsql.SqlInfoIdentifierCase:                int32(pb.SqlSupportedCaseSensitivity_SQL_CASE_SENSITIVITY_CASE_INSENSITIVE),
		flightsql.SqlInfoIdentifierQuoteChar:           `"`,
		flightsql.SqlInfoQuotedIdentifierCase:          int32(pb.SqlSupportedCaseSensitivity_SQL_CASE_SENSITIVITY_CASE_INSENSITIVE),
		flightsql.SqlInfoAllTablesAreASelectable:       true,
		flightsql.SqlInfoNullOrdering:                  int32(pb.SqlNullOrdering_SQL_NULLS_SORTED_AT_END),
		flightsql.SqlInfoKeywords:                      sqlKeywords,
		flightsql.SqlInfoNumericFunctions:              numericFunctions,
		flightsql.SqlInfoStringFunctions:               stringFunctions,
		flightsql.SqlInfoSystemFunctions:               systemFunctions,
		flightsql.SqlInfoDateTimeFunctions:             datetimeFunctions,
		flightsql.SqlInfoSearchStringEscape:            likeEscape,
		flightsql.SqlInfoExtraNameChars:                "",
		flightsql.SqlInfoSupportsColumnAliasing:        true,
		flightsql.SqlInfoNullPlusNullIsNull:            true,
		flightsql.SqlInfoSupportsConvert:               supportsConvert(),
		flightsql.SqlInfoSupportsTableCorrelationNames: true,
		// true would mean correlation names must differ from table names.
		flightsql.SqlInfoSupportsDifferentTableCorrelationNames: false,
		flightsql.SqlInfoSupportsExpressionsInOrderBy:           true,
		flightsql.SqlInfoSupportsOrderByUnrelated:               true,
		flightsql.SqlInfoSupportedGroupBy:                       bits(int(pb.SqlSupportedGroupBy_SQL_GROUP_BY_UNRELATED), int(pb.SqlSupportedGroupBy_SQL_GROUP_BY_BEYOND_SELECT)),
		flightsql.SqlInfoSupportsLikeEscapeClause:               true,
		flightsql.SqlInfoSupportsNonNullableColumns:             false, // every column is nullable
		flightsql.SqlInfoSupportedGrammar:                       bits(int(pb.SupportedSqlGrammar_SQL_MINIMUM_GRAMMAR), int(pb.SupportedSqlGrammar_SQL_CORE_GRAMMAR)),
		flightsql.SqlInfoANSI92SupportedLevel:                   bits(int(pb.SupportedAnsi92SqlGrammarLevel_ANSI92_ENTRY_SQL), int(pb.SupportedAnsi92SqlGrammarLevel_ANSI92_INTERMEDIATE_SQL)),
		flightsql.SqlInfoSupportsIntegrityEnhancementFacility:   false,
		flightsql.SqlInfoOuterJoinsSupportLevel:                 int32(pb.SqlOuterJoinsSupportLevel_SQL_FULL_OUTER_JOINS),
		flightsql.SqlInfoSchemaTerm:                             "schema",
		flightsql.SqlInfoProcedureTerm:                          "procedure",
		flightsql.SqlInfoCatalogTerm:                            "catalog",
		flightsql.SqlInfoCatalogAtStart:                         true,
		// Statements name tables unqualified, so no tool should qualify them.
		flightsql.SqlInfoSchemasSupportedActions:       int32(0),
		flightsql.SqlInfoCatalogsSupportedActions:      int32(0),
		flightsql.SqlInfoSupportedPositionedCommands:   int32(0),
		flightsql.SqlInfoSelectForUpdateSupported:      false,
		flightsql.SqlInfoStoredProceduresSupported:     false,
		flightsql.SqlInfoSupportedSubqueries:           bits(0, 1, 2, 3),
		flightsql.SqlInfoCorrelatedSubqueriesSupported: true,
		flightsql.SqlInfoSupportedUnions:               bits(int(pb.SqlSupportedUnions_SQL_UNION), int(pb.SqlSupportedUnions_SQL_UNION_ALL)),

		// 0 means no limit (or not known), as JDBC defines it.
		flightsql.SqlInfoMaxBinaryLiteralLen:                                 int64(0),
		flightsql.SqlInfoMaxCharLiteralLen:                                   int64(0),
		flightsql.SqlInfoMaxColumnNameLen:                                    int64(255),
		flightsql.SqlInfoMaxColumnsInGroupBy:                                 int64(0),
		flightsql.SqlInfoMaxColumnsInIndex:                                   int64(0),
		flightsql.SqlInfoMaxColumnsInOrderBy:                                 int64(0),
		flightsql.SqlInfoMaxColumnsInSelect:                                  int64(0),
		flightsql.SqlInfoMaxColumnsInTable:                                   int64(0),
		flightsql.SqlInfoMaxConnections:                                      int64(0),
		flightsql.SqlInfoMaxCursorNameLen:                                    int64(0),
		flightsql.SqlInfoMaxIndexLen:                                         int64(0),
		flightsql.SqlInfoDBSchemaNameLen:                                     int64(64),
		flightsql.SqlInfoMaxProcedureNameLen:                                 int64(0),
		flightsql.SqlInfoMaxCatalogNameLen:                                   int64(64),
		flightsql.SqlInfoMaxRowSize:                                          int64(0),
		flightsql.SqlInfoMaxRowSizeIncludesBlobs:                             false,
		flightsql.SqlInfoMaxStatementLen:                                     int64(0),
		flightsql.SqlInfoMaxStatements:                                       int64(0),
		flightsql.SqlInfoMaxTableNameLen:                                     int64(64),
		flightsql.SqlInfoMaxTablesInSelect:                                   int64(0),
		flightsql.SqlInfoMaxUsernameLen:                                      int64(0),
		flightsql.SqlInfoDefaultTransactionIsolation:                         int64(pb.SqlTransactionIsolationLevel_SQL_TRANSACTION_NONE),
		flightsql.SqlInfoTransactionsSupported:                               false,
		flightsql.SqlInfoSupportedTransactionsIsolationlevels:                bits(int(pb.SqlTransactionIsolationLevel_SQL_TRANSACTION_NONE)),
		flightsql.SqlInfoDataDefinitionCausesTransactionCommit:               true, // every statement commits on its own
		flightsql.SqlInfoDataDefinitionsInTransactionsIgnored:                false,
		flightsql.SqlInfoSupportedResultSetTypes:                             bits(int(pb.SqlSupportedResultSetType_SQL_RESULT_SET_TYPE_FORWARD_ONLY)),
		flightsql.SqlInfoSupportedConcurrenciesForResultSetUnspecified:       bits(int(pb.SqlSupportedResultSetConcurrency_SQL_RESULT_SET_CONCURRENCY_READ_ONLY)),
		flightsql.SqlInfoSupportedConcurrenciesForResultSetForwardOnly:       bits(int(pb.SqlSupportedResultSetConcurrency_SQL_RESULT_SET_CONCURRENCY_READ_ONLY)),
		flightsql.SqlInfoSupportedConcurrenciesForResultSetScrollSensitive:   int32(0),
		flightsql.SqlInfoSupportedConcurrenciesForResultSetScrollInsensitive: int32(0),
		flightsql.SqlInfoBatchUpdatesSupported:                               true, // many parameter rows in one DoPutPreparedStatementUpdate
		flightsql.SqlInfoSavePointsSupported:                                 false,
		flightsql.SqlInfoNamedParametersSupported:                            false,
		flightsql.SqlInfoLocatorsUpdateCopy:                                  false,
		flightsql.SqlInfoStoredFunctionsUsingCallSyntaxSupported:             false,
	}
}

// registerSQLInfo hands the values to BaseServer, which serves them.
func (s *Server) registerSQLInfo() {
	for id, v := range s.sqlInfo() {
		if err := s.RegisterSqlInfo(id, v); err != nil {
			panic(fmt.Sprintf("sql info %s: %v", id, err)) // NOTE: a bug in the table above
		}
	}
}

// GetFlightInfoSqlInfo describes the SqlInfo result; the command is the
// ticket.
func (s *Server) GetFlightInfoSqlInfo(_ context.Context, _ flightsql.GetSqlInfo, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.metadataInfo(schema_ref.SqlInfo, desc)
}

// DoGetSqlInfo streams the requested ids (all when none are named). Ids the
// service does not know (a newer protocol's) are left out rather than
// failing the call, so a newer client still connects.
func (s *Server) DoGetSqlInfo(ctx context.Context, cmd flightsql.GetSqlInfo) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	ids := cmd.GetInfo()
	if len(ids) == 0 {
		return s.BaseServer.DoGetSqlInfo(ctx, cmd)
	}
	known := s.sqlInfo()
	var keep []uint32
	for _, id := range ids {
		if _, ok := known[flightsql.SqlInfo(id)]; ok {
			keep = append(keep, id)
		}
	}
	if len(keep) == 0 {
		return s.streamRows(ctx, schema_ref.SqlInfo, nil)
	}
	return s.BaseServer.DoGetSqlInfo(ctx, &pb.CommandGetSqlInfo{Info: keep})
}

// supportsConvert lists the CAST conversions between the JDBC/ODBC type
// families that DuckDB performs.
func supportsConvert() map[int32][]int32 {
	const (
		bigint    = int32(pb.SqlSupportsConvert_SQL_CONVERT_BIGINT)
		binary    = int32(pb.SqlSupportsConvert_SQL_CONVERT_BINARY)
		bit       = int32(pb.SqlSupportsConvert_SQL_CONVERT_BIT)
		char      = int32(pb.SqlSupportsConvert_SQL_CONVERT_CHAR)
		date      = int32(pb.SqlSupportsConvert_SQL_CONVERT_DATE)
		decimal   = int32(pb.SqlSupportsConvert_SQL_CONVERT_DECIMAL)
		float     = int32(pb.SqlSupportsConvert_SQL_CONVERT_FLOAT)
		integer   = int32(pb.SqlSupportsConvert_SQL_CONVERT_INTEGER)
		longvarb  = int32(pb.SqlSupportsConvert_SQL_CONVERT_LONGVARBINARY)
		longvarc  = int32(pb.SqlSupportsConvert_SQL_CONVERT_LONGVARCHAR)
		numeric   = int32(pb.SqlSupportsConvert_SQL_CONVERT_NUMERIC)
		real      = int32(pb.SqlSupportsConvert_SQL_CONVERT_REAL)
		smallint  = int32(pb.SqlSupportsConvert_SQL_CONVERT_SMALLINT)
		tm        = int32(pb.SqlSupportsConvert_SQL_CONVERT_TIME)
		timestamp = int32(pb.SqlSupportsConvert_SQL_CONVERT_TIMESTAMP)
		tinyint   = int32(pb.SqlSupportsConvert_SQL_CONVERT_TINYINT)
		varbinary = int32(pb.SqlSupportsConvert_SQL_CONVERT_VARBINARY)
		varchar   = int32(pb.SqlSupportsConvert_SQL_CONVERT_VARCHAR)
	)
	numbers := []int32{bigint, bit, char, decimal, float, integer, longvarc, numeric, real, smallint, tinyint, varchar}
	texts := []int32{bigint, bit, char, date, decimal, float, integer, longvarc, numeric, real, smallint, tm, timestamp, tinyint, varchar, binary, varbinary, longvarb}
	m := map[int32][]int32{
		date:      {char, date, longvarc, timestamp, varchar},
		tm:        {char, longvarc, tm, varchar},
		timestamp: {char, date, longvarc, tm, timestamp, varchar},
		binary:    {binary, longvarb, varbinary, char, varchar, longvarc},
		varbinary: {binary, longvarb, varbinary, char, varchar, longvarc},
		longvarb:  {binary, longvarb, varbinary, char, varchar, longvarc},
	}
	for _, n := range []int32{bigint, bit, decimal, float, integer, numeric, real, smallint, tinyint} {
		m[n] = numbers
	}
	for _, t := range []int32{char, varchar, longvarc} {
		m[t] = texts
	}
	return m
}

// The word lists: DuckDB's reserved keywords (duckdb_keywords(),
// category 'reserved', DuckDB 1.5) and the functions a JDBC/ODBC tool may
// offer, each one callable through the sandbox.
var (
	sqlKeywords = []string{
		"ALL", "ANALYSE", "ANALYZE", "AND", "ANY", "ARRAY", "AS", "ASC", "ASYMMETRIC", "BOTH", "CASE", "CAST",
		"CHECK", "COLLATE", "COLUMN", "CONSTRAINT", "CREATE", "DEFAULT", "DEFERRABLE", "DESC", "DESCRIBE",
		"DISTINCT", "DO", "ELSE", "END", "EXCEPT", "FALSE", "FETCH", "FOR", "FOREIGN", "FROM", "GROUP", "HAVING",
		"IN", "INITIALLY", "INTERSECT", "INTO", "LAMBDA", "LATERAL", "LEADING", "LIMIT", "NOT", "NULL", "OFFSET",
		"ON", "ONLY", "OR", "ORDER", "PIVOT", "PIVOT_LONGER", "PIVOT_WIDER", "PLACING", "PRIMARY", "QUALIFY",
		"REFERENCES", "RETURNING", "SELECT", "SHOW", "SOME", "SUMMARIZE", "SYMMETRIC", "TABLE", "THEN", "TO",
		"TRAILING", "TRUE", "UNION", "UNIQUE", "UNPIVOT", "USING", "VARIADIC", "WHEN", "WHERE", "WINDOW", "WITH",
	}
	numericFunctions = []string{
		"ABS", "ACOS", "ASIN", "ATAN", "ATAN2", "CBRT", "CEIL", "CEILING", "COS", "COT", "DEGREES", "EVEN", "EXP",
		"FACTORIAL", "FLOOR", "GCD", "GREATEST", "ISFINITE", "ISINF", "ISNAN", "LCM", "LEAST", "LN", "LOG", "LOG10",
		"LOG2", "MOD", "PI", "POW", "POWER", "RADIANS", "RANDOM", "ROUND", "SIGN", "SIN", "SQRT", "TAN", "TRUNC",
	}
	stringFunctions = []string{
		"ASCII", "BIT_LENGTH", "CHR", "CONCAT", "CONCAT_WS", "CONTAINS", "ENDS_WITH", "FORMAT", "INSTR",
		"JARO_WINKLER_SIMILARITY", "LCASE", "LEFT", "LENGTH", "LEVENSHTEIN", "LOWER", "LPAD", "LTRIM", "MD5",
		"OCTET_LENGTH", "POSITION", "REGEXP_EXTRACT", "REGEXP_MATCHES", "REGEXP_REPLACE", "REPEAT", "REPLACE",
		"REVERSE", "RIGHT", "RPAD", "RTRIM", "SHA256", "SPLIT_PART", "STARTS_WITH", "STRING_SPLIT", "STRLEN",
		"STRPOS", "SUBSTR", "SUBSTRING", "TRIM", "UCASE", "UPPER",
	}
	systemFunctions   = []string{"COALESCE", "HASH", "IFNULL", "NULLIF", "TYPEOF", "VERSION"}
	datetimeFunctions = []string{
		"AGE", "CURRENT_DATE", "CURRENT_TIME", "CURRENT_TIMESTAMP", "DATE_ADD", "DATE_DIFF", "DATE_PART",
		"DATE_SUB", "DATE_TRUNC", "DATEDIFF", "DATEPART", "DATESUB", "DATETRUNC", "DAYNAME", "DAYOFMONTH",
		"DAYOFWEEK", "DAYOFYEAR", "EPOCH", "EPOCH_MS", "EXTRACT", "HOUR", "LAST_DAY", "MAKE_DATE", "MAKE_TIME",
		"MAKE_TIMESTAMP", "MINUTE", "MONTH", "MONTHNAME", "NOW", "QUARTER", "SECOND", "STRFTIME", "STRPTIME",
		"TIME_BUCKET", "TO_TIMESTAMP", "TODAY", "WEEK", "WEEKDAY", "YEAR", "YEARWEEK",
	}
)
