package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"golang.org/x/term"
)

// countingReader counts the rows handed to the ingest stream.
type countingReader struct {
	array.RecordReader
	rows    int64
	onBatch func(rows int64)
}

func (r *countingReader) Next() bool {
	if !r.RecordReader.Next() {
		return false
	}
	r.rows += r.RecordBatch().NumRows()
	r.onBatch(r.rows)
	return true
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progress draws a one-line progress bar; it is silent when disabled.
type progress struct {
	w       io.Writer
	total   int64 // -1 when unknown
	enabled bool
	start   time.Time
	last    time.Time
	drawn   bool
}

func newProgress(w io.Writer, total int64, enabled bool) *progress {
	return &progress{w: w, total: total, enabled: enabled, start: time.Now()}
}

// update redraws the line at most ten times a second.
func (p *progress) update(rows int64) {
	now := time.Now()
	if !p.enabled || now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last, p.drawn = now, true
	fmt.Fprint(p.w, "\r"+p.line(rows, now.Sub(p.start))+"\x1b[K")
}

func (p *progress) line(rows int64, elapsed time.Duration) string {
	rate := float64(rows) / max(elapsed.Seconds(), 1e-3)
	if p.total <= 0 {
		return fmt.Sprintf("%d rows  %.0f rows/s", rows, rate)
	}
	frac := min(float64(rows)/float64(p.total), 1)
	const width = 30
	done := int(frac * width)
	return fmt.Sprintf("[%s%s] %3.0f%%  %d / %d rows  %.0f rows/s",
		strings.Repeat("=", done), strings.Repeat(" ", width-done), frac*100, rows, p.total, rate)
}

// clear erases the bar so that the summary starts on a clean line.
func (p *progress) clear() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}
