package ingest

import (
	"time"

	"github.com/miniodb/miniodb/catalog"
)

// FlushEvent describes one flush of a table's buffer that ended, well or
// not. A flush that found its table replaced or dropped meanwhile is not
// reported: it neither wrote nor failed anything.
type FlushEvent struct {
	Table string
	Files int
	Rows  int64
	Bytes int64 // Parquet bytes uploaded
	Took  time.Duration
	Err   error
}

// Observer is told about the write path's background events, e.g. to count
// them as metrics. It is called synchronously on the flusher and must
// return quickly.
type Observer interface {
	Flushed(FlushEvent)
}

func (s *Service) observeFlush(table string, start time.Time, files []catalog.File, err error) {
	if s.cfg.Observer == nil {
		return
	}
	ev := FlushEvent{Table: table, Files: len(files), Took: time.Since(start), Err: err}
	for _, f := range files {
		ev.Rows += f.Rows
		ev.Bytes += f.Bytes
	}
	s.cfg.Observer.Flushed(ev)
}
