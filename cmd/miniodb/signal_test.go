package main

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
)

// startSlowScan ingests rows and starts a scan that the caller reads slowly,
// so the server has a call in flight.
func startSlowScan(t *testing.T, s *server, c *flightsql.Client) *flight.Reader {
	t.Helper()
	rdr := openStream(t, c, "SELECT * FROM big")
	if !rdr.Next() {
		t.Fatalf("no first batch: %v", rdr.Err())
	}
	return rdr
}

func alive(s *server) bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

func TestSigtermDrainsThenSecondSignalExits(t *testing.T) {
	s := startServer(t, t.TempDir())
	c := s.client()
	var recs []arrow.RecordBatch
	for from := int64(0); from < 600_000; from += 60_000 {
		recs = append(recs, wideBatch(from, 60_000))
	}
	n, err := ingestRecs(context.Background(), c, "big", modeCreate, recs...)
	releaseRecs(recs)
	if err != nil || n != 600_000 {
		t.Fatalf("ingest = %d, %v", n, err)
	}

	t.Run("in_flight_call_finishes", func(t *testing.T) {
		rdr := startSlowScan(t, s, c)
		got := rdr.RecordBatch().NumRows()
		s.cmd.Process.Signal(syscall.SIGTERM)
		time.Sleep(500 * time.Millisecond)
		if !alive(s) {
			t.Fatal("server exited while a call was in flight")
		}
		for rdr.Next() {
			got += rdr.RecordBatch().NumRows()
		}
		if err := rdr.Err(); err != nil || got != 600_000 {
			t.Fatalf("drained scan returned %d rows, err %v", got, err)
		}
		rdr.Release()
		select {
		case <-s.exited:
		case <-time.After(60 * time.Second):
			t.Fatal("server did not exit after the drain")
		}
		if code := s.cmd.ProcessState.ExitCode(); code != 0 {
			t.Fatalf("exit code %d after a clean drain", code)
		}
		if len(parquetFiles(t, s.dataDir)) == 0 {
			t.Fatal("buffers were not flushed on SIGTERM")
		}
	})

	t.Run("second_signal_exits_at_once", func(t *testing.T) {
		s.restart()
		c := s.client()
		rdr := startSlowScan(t, s, c)
		defer rdr.Release()
		s.cmd.Process.Signal(syscall.SIGTERM)
		time.Sleep(300 * time.Millisecond)
		if !alive(s) {
			t.Fatal("server exited on the first signal while a call was in flight")
		}
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(5 * time.Second):
			t.Fatal("second SIGTERM did not exit within 5s")
		}
		if code := s.cmd.ProcessState.ExitCode(); code != 2 {
			t.Fatalf("exit code %d after the second signal, want 2", code)
		}
	})
}
