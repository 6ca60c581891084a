package query

import (
	"errors"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/miniodb/miniodb/ingest"
)

// ErrResultTooLarge marks a query whose result exceeds the engine's
// MaxResultRows or MaxResultBytes. It is also an ErrResources.
var ErrResultTooLarge = errors.New("query result too large")

// resultCap counts what a stream has handed out against the caps.
type resultCap struct {
	maxRows, maxBytes int64
	rows, bytes       int64
}

// add counts rec and reports the cap it would exceed, if any. A batch
// that would cross a cap is not delivered: a client never gets more than
// the cap, and never a result it could take for a whole one.
func (c *resultCap) add(rec arrow.RecordBatch) error {
	rows, bytes := c.rows+rec.NumRows(), c.bytes+ingest.BatchBytes(rec)
	switch {
	case c.maxRows > 0 && rows > c.maxRows:
		return fmt.Errorf("%w: %w: more than %d rows (query.max_result_rows) after %d rows were sent; add a LIMIT or raise query.max_result_rows",
			ErrResources, ErrResultTooLarge, c.maxRows, c.rows)
	case c.maxBytes > 0 && bytes > c.maxBytes:
		return fmt.Errorf("%w: %w: more than %d bytes of Arrow data (query.max_result_bytes) after %d rows were sent; add a LIMIT, select fewer columns or raise query.max_result_bytes",
			ErrResources, ErrResultTooLarge, c.maxBytes, c.rows)
	}
	c.rows, c.bytes = rows, bytes
	return nil
}

// memoryError rewrites DuckDB's out-of-memory error, whose advice (SET
// memory_limit, SET threads) a client cannot follow, to name the node's
// settings instead. Other errors are returned as they are.
func (e *Engine) memoryError(err error) error {
	if err == nil || !errors.Is(err, ErrResources) || errors.Is(err, ErrResultTooLarge) {
		return err
	}
	msg := err.Error()
	if i := strings.Index(msg, "\n"); i > 0 {
		msg = msg[:i] // NOTE: drops DuckDB's "Possible solutions" list of SET statements
	}
	limit, spill := e.cfg.MemoryLimit, e.cfg.MaxTempSize
	if limit == "" {
		limit = "DuckDB's default, 80% of RAM"
	}
	if spill == "" {
		spill = "the temp disk's free space"
	}
	return fmt.Errorf("%s; the query needs more than the node's query memory (query.memory_limit %s, shared by running queries) plus spill space (query.max_temp_directory_size %s): reduce what it aggregates or sorts, or raise those settings: %w",
		strings.TrimPrefix(msg, ErrResources.Error()+": "), limit, spill, ErrResources)
}
