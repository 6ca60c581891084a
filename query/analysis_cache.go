package query

import "github.com/miniodb/miniodb/query/sandbox"

// maxCachedSQL is the longest query text the cache keeps, so that the
// bound on entries is also a bound on memory.
const maxCachedSQL = 32 << 10

// analysisCache keeps the sandbox's analysis of the query texts that
// passed it, the longest excepted (maxCachedSQL). Every Flight SQL query is analysed at least twice, at
// GetFlightInfo and again at DoGet (and a third time by Access when
// authorization is on), and each analysis is a json_serialize_sql round
// trip through DuckDB plus the sandbox walk: about 1 ms on a loaded
// 2-core machine, which was a third of the engine's fixed cost per query.
//
// Caching is sound because the analysis is a pure function of the text:
// DuckDB's parser and the sandbox rules do not change while the process
// runs, and the analysis names tables without looking them up (views,
// snapshots and files are still resolved per query). Only successful
// analyses of SELECT statements are kept; a refused or invalid text, and
// DDL/DML, are classified again every time. The entries are shared and
// must not be modified.
type analysisCache struct {
	startOverMap[analyzed]
}

// analyzed is a query text's analysis and the SQL to run for it (see
// session.analyze).
type analyzed struct {
	an  *sandbox.Analysis
	run string
}

func (c *analysisCache) put(sql string, a analyzed) {
	if len(sql) > maxCachedSQL {
		return
	}
	c.startOverMap.put(sql, a)
}
