package query

import (
	"strings"

	"github.com/miniodb/miniodb/ingest"
	"github.com/miniodb/miniodb/query/sandbox"
)

// describeCache keeps what Describe answered for a query without
// parameters: the result schema depends only on the SQL and the schemas of
// the tables it reads, so a repeat with the same table schemas skips
// defining the views and preparing the statement (GetFlightInfo of a
// dashboard's repeated query). The sandbox check is not kept here:
// Describe classifies the SQL before it looks here (from analysisCache
// when the same text passed the sandbox before).
type describeCache struct {
	startOverMap[*Statement]
}

// key is the SQL and the current schema of every table it reads; ok is
// false when a table is unknown (Describe then reports that).
func (c *describeCache) key(src Source, sql string, an *sandbox.Analysis) (string, bool) {
	var b strings.Builder
	b.WriteString(sql)
	for _, t := range an.Tables {
		sc, err := src.TableSchema(t.Name)
		if err != nil {
			return "", false
		}
		b.WriteString("\x00" + strings.ToLower(t.Name) + "\x00" + ingest.SchemaHash(sc))
	}
	return b.String(), true
}
