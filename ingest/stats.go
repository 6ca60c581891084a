package ingest

import (
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/miniodb/miniodb/catalog"
)

// TableStats is one table's state for metrics and the table APIs.
type TableStats struct {
	Name   string
	Schema *arrow.Schema
	// Config is the table's own settings as the catalog stores them.
	Config catalog.TableConfig
	// Effective is what the write path honours: Config with the config
	// file's per-table overrides over it and the service defaults for
	// buffer_size and flush_interval_seconds where neither sets them.
	Effective     catalog.TableConfig
	Files         int
	FileRows      int64
	FileBytes     int64
	BufferedRows  int64
	BufferedBytes int64
}

// Stats is the write path's state at one moment.
type Stats struct {
	BufferedBytes int64 // held by buffers and open transactions
	MaxMemory     int64 // above it the largest tables flush
	MaxBuffered   int64 // above it ingest is refused
	BufferSize    int64 // default rows per table before a flush
	FlushInterval time.Duration
	WALBytes      int64
	WALLastLSN    uint64
	WALDurableLSN uint64
	Tables        []TableStats // in name order
}

// Stats returns the current state of the buffers, the WAL and every table.
// Each table is read under its own lock, so the tables are each consistent
// but not taken at one instant together.
func (s *Service) Stats() Stats {
	st := Stats{
		BufferedBytes: s.buffered.Load(), MaxMemory: s.cfg.MaxMemory, MaxBuffered: s.cfg.MaxBuffered,
		BufferSize: s.cfg.BufferSize, FlushInterval: s.cfg.FlushInterval,
		WALBytes: s.wal.Size(), WALLastLSN: s.wal.LastLSN(), WALDurableLSN: s.wal.DurableLSN(),
	}
	s.mu.Lock()
	states := make([]*tableState, 0, len(s.tables))
	for _, ts := range s.tables {
		states = append(states, ts)
	}
	s.mu.Unlock()
	slices.SortFunc(states, func(a, b *tableState) int { return strings.Compare(a.name, b.name) })
	for _, ts := range states {
		st.Tables = append(st.Tables, s.tableStats(ts))
	}
	return st
}

// TableStats returns one table's state; false if the table does not exist.
func (s *Service) TableStats(name string) (TableStats, bool) {
	ts := s.table(name)
	if ts == nil {
		return TableStats{}, false
	}
	return s.tableStats(ts), true
}

func (s *Service) tableStats(ts *tableState) TableStats {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	st := TableStats{Name: ts.name, Schema: ts.schema, Config: ts.config, Effective: s.fullConfig(ts),
		Files: len(ts.files), BufferedRows: ts.rows, BufferedBytes: ts.bytes}
	for _, f := range ts.files {
		st.FileRows += f.Rows
		st.FileBytes += f.Bytes
	}
	return st
}

// fullConfig is effectiveConfig plus the settings the flusher does not use
// (retention, backup, properties) and the service defaults (ts.mu held).
func (s *Service) fullConfig(ts *tableState) catalog.TableConfig {
	c := s.effectiveConfig(ts)
	if o, ok := s.cfg.Overrides[ts.name]; ok {
		if o.RetentionDays > 0 {
			c.RetentionDays = o.RetentionDays
		}
		c.BackupEnabled = c.BackupEnabled || o.BackupEnabled
		if len(o.Properties) > 0 {
			props := maps.Clone(c.Properties)
			if props == nil {
				props = map[string]string{}
			}
			maps.Copy(props, o.Properties)
			c.Properties = props
		}
	}
	if c.BufferSize <= 0 {
		c.BufferSize = s.cfg.BufferSize
	}
	if c.FlushIntervalSeconds <= 0 {
		c.FlushIntervalSeconds = int64(s.cfg.FlushInterval / time.Second)
	}
	return c
}
