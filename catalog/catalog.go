package catalog

import (
	"context"
	"errors"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// ErrTableNotFound is returned when a named table does not exist.
var ErrTableNotFound = errors.New("catalog: table not found")

// ErrTableExists is returned by CreateTable when the table already exists.
var ErrTableExists = errors.New("catalog: table already exists")

// ErrStaleFlush is returned by CommitFlush when the node's Flushed entry is
// already at or past the flush's LSN, e.g. because the table was replaced
// while the flush was writing its files.
var ErrStaleFlush = errors.New("catalog: flush is older than the table")

// ErrFilesChanged is returned by ReplaceFiles when a file it should remove
// is no longer in the table.
var ErrFilesChanged = errors.New("catalog: files changed meanwhile")

// Table is one table's durable description.
type Table struct {
	Name   string
	Schema *arrow.Schema
	Config TableConfig
	// Flushed maps a node ID to a position in that node's WAL: the node's
	// records of this table with LSN <= it are in Files or obsolete, so its
	// replay skips them. Every node has its own WAL, hence its own entry; a
	// node without one has flushed nothing of the table.
	Flushed map[string]uint64
	// Incarnation names this life of the table: set when it is created
	// and again by every replace, it is in every COMMIT record and every
	// file of that life, so rows of an earlier table of the same name
	// (still in some node's buffer or WAL) can never land in this one.
	// "" on tables and files from before incarnations: no check.
	Incarnation string
	CreatedAt   time.Time
}

// staleFile reports the first file that belongs to another incarnation
// than t's.
func (t Table) staleFile(files []File) (File, bool) {
	if t.Incarnation == "" {
		return File{}, false
	}
	for _, f := range files {
		if f.Incarnation != "" && f.Incarnation != t.Incarnation {
			return f, true
		}
	}
	return File{}, false
}

// overlapping returns a file of node's flush holding rows at or below the
// position the table already covers for node: rows that are in files
// already (another node replayed node's shipped WAL while node was cut
// off). Such a flush must not be committed.
func (t Table) overlapping(files []File, node string) (File, bool) {
	have := t.FlushedLSN(node)
	for _, f := range files {
		if f.Node == node && f.MinLSN != 0 && f.MinLSN <= have {
			return f, true
		}
	}
	return File{}, false
}

// FlushedLSN is node's entry of Flushed (0 if it has none).
func (t Table) FlushedLSN(node string) uint64 { return t.Flushed[node] }

// withFlushed returns a copy of flushed with node's entry set to lsn.
func withFlushed(flushed map[string]uint64, node string, lsn uint64) map[string]uint64 {
	out := make(map[string]uint64, len(flushed)+1)
	for k, v := range flushed {
		out[k] = v
	}
	out[node] = lsn
	return out
}

// TableConfig is the per-table configuration of the seed's table API. Zero
// values mean "use the service default".
type TableConfig struct {
	BufferSize           int64             `json:"buffer_size,omitempty" yaml:"buffer_size"`
	FlushIntervalSeconds int64             `json:"flush_interval_seconds,omitempty" yaml:"flush_interval_seconds"`
	RetentionDays        int64             `json:"retention_days,omitempty" yaml:"retention_days"`
	BackupEnabled        bool              `json:"backup_enabled,omitempty" yaml:"backup_enabled"`
	ShardKey             string            `json:"shard_key,omitempty" yaml:"shard_key"`
	TimeColumn           string            `json:"time_column,omitempty" yaml:"time_column"`
	Properties           map[string]string `json:"properties,omitempty" yaml:"properties"`
}

// File is one Parquet object holding flushed rows of a table.
type File struct {
	Key        string `json:"key"`
	Table      string `json:"table"`
	Partition  int    `json:"partition"`
	Day        string `json:"day"` // yyyy-mm-dd (UTC)
	Rows       int64  `json:"rows"`
	Bytes      int64  `json:"bytes"`
	SchemaHash string `json:"schema_hash"` // files with equal hashes share one Arrow schema
	MinLSN     uint64 `json:"min_lsn"`
	MaxLSN     uint64 `json:"max_lsn"`
	Node       string `json:"node,omitempty"` // whose WAL MinLSN and MaxLSN belong to
	// Incarnation is the table's when the rows were written
	// (Table.Incarnation); CommitFlush refuses a file of another.
	Incarnation string    `json:"incarnation,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	// Stats are min/max of the shard key and time column (stats.go); absent
	// in files flushed before they were recorded.
	Stats []ColumnStats `json:"stats,omitempty"`
}

// Catalog is the contract every backend keeps. All methods are safe for
// concurrent use. Methods that change state are atomic: either every effect
// is visible afterwards or none is.
type Catalog interface {
	// CreateTable records a new table; ErrTableExists if the name is taken.
	CreateTable(ctx context.Context, t Table) error
	// Table returns one table; ErrTableNotFound if it does not exist.
	Table(ctx context.Context, name string) (Table, error)
	// Tables lists every table, sorted by name.
	Tables(ctx context.Context) ([]Table, error)
	// UpdateTable replaces the schema and config of an existing table,
	// leaving its files and FlushedLSN alone. Idempotent.
	UpdateTable(ctx context.Context, name string, schema *arrow.Schema, cfg TableConfig) error
	// ReplaceTable gives an existing table a new schema and incarnation,
	// removes all its files and sets node's Flushed entry to flushedLSN
	// (other nodes' entries stay). It returns the removed files so their
	// objects can be deleted. Idempotent for the same arguments.
	ReplaceTable(ctx context.Context, name, node, incarnation string, schema *arrow.Schema, flushedLSN uint64) ([]File, error)
	// DropTable removes a table and its file entries, returning the files.
	DropTable(ctx context.Context, name string) ([]File, error)
	// CommitFlush atomically adds files to a table and raises node's
	// Flushed entry to flushedLSN; ErrStaleFlush if the entry is already
	// >= flushedLSN, a file belongs to another incarnation of the table,
	// or a file of node holds rows at or below the entry (File.MinLSN),
	// ErrTableNotFound if the table is gone.
	CommitFlush(ctx context.Context, table, node string, files []File, flushedLSN uint64) error
	// ReplaceFiles atomically removes the files keyed remove from a table
	// and adds add, leaving Flushed alone: "replace these files by
	// those", for compaction (merged files in, their sources out) and
	// retention (add empty). Every key of remove must still be a file of
	// the table, else ErrFilesChanged and nothing changes (a concurrent
	// replace, drop or another swap won). It returns the removed entries.
	// Idempotent only in the sense that a repeat fails with
	// ErrFilesChanged; ErrTableNotFound if the table is gone.
	ReplaceFiles(ctx context.Context, table string, remove []string, add []File) ([]File, error)
	// Files lists a table's files sorted by key; ErrTableNotFound if the
	// table does not exist.
	Files(ctx context.Context, table string) ([]File, error)
	// Version is a counter that increases with every change.
	Version(ctx context.Context) (uint64, error)
	Close() error
}
